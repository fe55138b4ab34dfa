from django.urls import path

from . import views

app_name = "themes"
urlpatterns = [
    path("w/<slug:ws>/themes/", views.theme_list_view, name="theme_list"),
    path("w/<slug:ws>/themes/recluster/", views.recluster_view, name="recluster"),
    path("w/<slug:ws>/themes/skipped/", views.skipped_view, name="skipped"),
    path("w/<slug:ws>/themes/digest/", views.digest_view, name="digest"),
    path("w/<slug:ws>/themes/<int:theme_id>/", views.theme_detail_view, name="theme_detail"),
    path("w/<slug:ws>/themes/<int:theme_id>/rename/", views.theme_rename_view, name="theme_rename"),
    path("w/<slug:ws>/themes/<int:theme_id>/pin/", views.theme_pin_view, name="theme_pin"),
    path("w/<slug:ws>/themes/<int:theme_id>/unpin/", views.theme_unpin_view, name="theme_unpin"),
    path("w/<slug:ws>/themes/<int:theme_id>/merge/", views.theme_merge_view, name="theme_merge"),
    path("w/<slug:ws>/themes/<int:theme_id>/problem/", views.theme_problem_view, name="theme_problem"),
    path("w/<slug:ws>/themes/<int:theme_id>/link-problem/", views.theme_link_problem_view, name="theme_link_problem"),
    path("w/<slug:ws>/themes/<int:theme_id>/move/", views.theme_move_view, name="theme_move"),
    path("w/<slug:ws>/themes/<int:theme_id>/split/", views.theme_split_view, name="theme_split"),
    path("w/<slug:ws>/signals/", views.emerging_view, name="emerging"),
]
