from django.urls import path

from . import views

app_name = "home"
urlpatterns = [
    path("", views.index_view, name="index"),
    path("workspaces/", views.workspaces_view, name="workspaces"),
    path("w/<slug:ws>/", views.workspace_home_view, name="workspace"),
    path("w/<slug:ws>/search/", views.search_view, name="search"),
    path("w/<slug:ws>/audit/", views.audit_view, name="audit"),
    path("w/<slug:ws>/<slug:section>/", views.section_view, name="section"),
]
