from django.urls import path

from . import views

app_name = "flags"
urlpatterns = [
    # GrowthBook's SDK path, at the site root: SDKs call {apiHost}/api/features/{clientKey}.
    path("api/features/<str:client_key>", views.sdk_payload_view, name="sdk_payload"),
    path("w/<slug:ws>/flags/", views.flag_list_view, name="flag_list"),
    path("w/<slug:ws>/flags/approvals/", views.approval_list_view, name="approvals"),
    path("w/<slug:ws>/flags/sdk/", views.sdk_view, name="sdk"),
    # The SDK page's buttons, one URL each (the page itself answers GET only).
    path(
        "w/<slug:ws>/flags/environments/<int:environment_id>/rotate-key/",
        views.sdk_key_rotate_view,
        name="sdk_key_rotate",
    ),
    path(
        "w/<slug:ws>/flags/environments/<int:environment_id>/revoke-key/",
        views.sdk_key_revoke_view,
        name="sdk_key_revoke",
    ),
    path(
        "w/<slug:ws>/flags/environments/<int:environment_id>/approval/",
        views.environment_approval_view,
        name="environment_approval",
    ),
    path(
        "w/<slug:ws>/flags/environments/<int:environment_id>/encryption/",
        views.environment_encryption_view,
        name="environment_encryption",
    ),
    path(
        "w/<slug:ws>/flags/environments/<int:environment_id>/approvers/",
        views.environment_approvers_view,
        name="environment_approvers",
    ),
    path("w/<slug:ws>/flags/groups/", views.group_list_view, name="group_list"),
    path("w/<slug:ws>/flags/groups/<int:group_id>/", views.group_detail_view, name="group_detail"),
    path("w/<slug:ws>/flags/groups/<int:group_id>/delete/", views.group_delete_view, name="group_delete"),
    path("w/<slug:ws>/flags/<int:flag_id>/", views.flag_detail_view, name="flag_detail"),
    path("w/<slug:ws>/flags/<int:flag_id>/archive/", views.flag_archive_view, name="flag_archive"),
    path("w/<slug:ws>/flags/<int:flag_id>/restore/", views.flag_restore_view, name="flag_restore"),
    path("w/<slug:ws>/flags/<int:flag_id>/revisions/", views.revision_list_view, name="flag_revisions"),
    path(
        "w/<slug:ws>/flags/<int:flag_id>/env/<int:environment_id>/",
        views.flag_environment_view,
        name="flag_environment",
    ),
    path(
        "w/<slug:ws>/flags/<int:flag_id>/env/<int:environment_id>/kill/",
        views.kill_switch_view,
        name="kill_switch",
    ),
]
