from django.urls import path

from . import views

app_name = "feedback"
urlpatterns = [
    path("w/<slug:ws>/feedback/", views.inbox_view, name="inbox"),
    path("w/<slug:ws>/feedback/bulk/", views.bulk_view, name="bulk"),
    path("w/<slug:ws>/feedback/new/", views.item_new_view, name="item_new"),
    path("w/<slug:ws>/feedback/import/", views.import_view, name="import"),
    path("w/<slug:ws>/feedback/import/review/", views.import_review_view, name="import_review"),
    path("w/<slug:ws>/feedback/import/cancel/", views.import_cancel_view, name="import_cancel"),
    path("w/<slug:ws>/feedback/tags/", views.tags_view, name="tags"),
    path("w/<slug:ws>/feedback/tags/<int:tag_id>/rename/", views.tag_rename_view, name="tag_rename"),
    path("w/<slug:ws>/feedback/tags/<int:tag_id>/delete/", views.tag_delete_view, name="tag_delete"),
    path("w/<slug:ws>/feedback/views/", views.view_save_view, name="view_save"),
    path("w/<slug:ws>/feedback/views/<int:view_id>/delete/", views.view_delete_view, name="view_delete"),
    path("w/<slug:ws>/feedback/<int:feedback_id>/", views.item_detail_view, name="item_detail"),
    path("w/<slug:ws>/feedback/<int:feedback_id>/status/", views.item_status_view, name="item_status"),
    path("w/<slug:ws>/feedback/<int:feedback_id>/tags/", views.item_tags_view, name="item_tags"),
]
