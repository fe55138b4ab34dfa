from django.urls import path

from . import views

app_name = "research"
urlpatterns = [
    path("w/<slug:ws>/research/interviews/", views.interview_list_view, name="interview_list"),
    path("w/<slug:ws>/research/interviews/<int:interview_id>/", views.interview_detail_view, name="interview_detail"),
    path("w/<slug:ws>/research/interviews/<int:interview_id>/edit/", views.interview_edit_view, name="interview_edit"),
    path(
        "w/<slug:ws>/research/interviews/<int:interview_id>/delete/",
        views.interview_delete_view,
        name="interview_delete",
    ),
    path(
        "w/<slug:ws>/research/interviews/<int:interview_id>/highlights/",
        views.highlight_create_view,
        name="highlight_create",
    ),
    path(
        "w/<slug:ws>/research/highlights/<int:highlight_id>/delete/",
        views.highlight_delete_view,
        name="highlight_delete",
    ),
    path("w/<slug:ws>/research/surveys/", views.surveys_view, name="surveys"),
    path("w/<slug:ws>/research/surveys/import/", views.survey_import_view, name="survey_import"),
]
