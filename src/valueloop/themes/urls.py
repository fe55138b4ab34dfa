from django.urls import path

from . import views

app_name = "themes"
urlpatterns = [
    path("w/<slug:ws>/themes/", views.theme_list_view, name="theme_list"),
    path("w/<slug:ws>/themes/recluster/", views.recluster_view, name="recluster"),
    path("w/<slug:ws>/themes/skipped/", views.skipped_view, name="skipped"),
    path("w/<slug:ws>/themes/digest/", views.digest_view, name="digest"),
    path("w/<slug:ws>/themes/<int:theme_id>/", views.theme_detail_view, name="theme_detail"),
    path("w/<slug:ws>/themes/<int:theme_id>/edit/", views.theme_action_view, name="theme_action"),
    path("w/<slug:ws>/themes/<int:theme_id>/split/", views.theme_split_view, name="theme_split"),
    path("w/<slug:ws>/signals/", views.emerging_view, name="emerging"),
]
