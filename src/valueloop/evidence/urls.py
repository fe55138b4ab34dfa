from django.urls import path

from . import views

app_name = "evidence"
urlpatterns = [
    path("w/<slug:ws>/evidence/targets/", views.target_search_view, name="target_search"),
    path("w/<slug:ws>/evidence/link/", views.link_create_view, name="link_create"),
    path("w/<slug:ws>/evidence/links/<int:evidence_id>/", views.link_update_view, name="link_update"),
    path("w/<slug:ws>/evidence/links/<int:evidence_id>/delete/", views.link_delete_view, name="link_delete"),
    path("w/<slug:ws>/evidence/feature/<int:feature_id>/notify/", views.notify_view, name="notify"),
    path("w/<slug:ws>/evidence/<slug:target_type>/<int:target_id>/", views.target_view, name="target"),
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
]
