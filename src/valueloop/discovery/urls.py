from django.urls import path

from . import views

app_name = "discovery"
urlpatterns = [
    path("w/<slug:ws>/problems/", views.problem_list_view, name="problem_list"),
    path("w/<slug:ws>/problems/tree/", views.tree_view, name="tree"),
    path("w/<slug:ws>/problems/<int:problem_id>/", views.problem_detail_view, name="problem_detail"),
]
