from django.urls import path

from . import views

app_name = "workspaces"
urlpatterns = [
    path("workspaces/new/", views.workspace_create_view, name="workspace_new"),
    path("invite/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
    path("w/<slug:ws>/products/", views.product_list_view, name="product_list"),
    path("w/<slug:ws>/products/<int:product_id>/", views.product_detail_view, name="product_detail"),
    path("w/<slug:ws>/settings/", views.settings_view, name="settings"),
    path("w/<slug:ws>/members/", views.members_view, name="members"),
]
