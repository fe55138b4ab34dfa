from django.urls import path

from . import views

app_name = "workspaces"
urlpatterns = [
    path("workspaces/new/", views.workspace_create_view, name="workspace_new"),
    path("invite/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
    path("w/<slug:ws>/products/", views.product_list_view, name="product_list"),
    path("w/<slug:ws>/products/<int:product_id>/", views.product_detail_view, name="product_detail"),
    path("w/<slug:ws>/products/<int:product_id>/archive/", views.product_archive_view, name="product_archive"),
    path("w/<slug:ws>/products/<int:product_id>/restore/", views.product_restore_view, name="product_restore"),
    path("w/<slug:ws>/products/<int:product_id>/areas/", views.area_create_view, name="area_create"),
    path(
        "w/<slug:ws>/products/<int:product_id>/areas/<int:area_id>/archive/",
        views.area_archive_view,
        name="area_archive",
    ),
    path(
        "w/<slug:ws>/products/<int:product_id>/areas/<int:area_id>/restore/",
        views.area_restore_view,
        name="area_restore",
    ),
    path("w/<slug:ws>/settings/", views.settings_view, name="settings"),
    path("w/<slug:ws>/members/", views.members_view, name="members"),
    path("w/<slug:ws>/members/invite/", views.invitation_create_view, name="invitation_create"),
    path("w/<slug:ws>/members/<int:member_id>/role/", views.member_role_view, name="member_role"),
    path("w/<slug:ws>/members/<int:member_id>/remove/", views.member_remove_view, name="member_remove"),
    path(
        "w/<slug:ws>/members/<int:member_id>/tokens/revoke/",
        views.member_tokens_revoke_view,
        name="member_tokens_revoke",
    ),
    path(
        "w/<slug:ws>/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke_view,
        name="invitation_revoke",
    ),
]
