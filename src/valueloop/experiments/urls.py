from django.urls import path

from . import views

app_name = "experiments"
urlpatterns = [
    path("w/<slug:ws>/experiments/", views.experiment_list_view, name="experiment_list"),
    path("w/<slug:ws>/experiments/new/", views.experiment_create_view, name="experiment_create"),
    path("w/<slug:ws>/experiments/metrics/", views.metric_list_view, name="metric_list"),
    path("w/<slug:ws>/experiments/metrics/<int:metric_id>/", views.metric_detail_view, name="metric_detail"),
    path("w/<slug:ws>/experiments/metrics/<int:metric_id>/archive/", views.metric_archive_view, name="metric_archive"),
    path("w/<slug:ws>/experiments/metrics/<int:metric_id>/restore/", views.metric_restore_view, name="metric_restore"),
    path("w/<slug:ws>/experiments/metrics/<int:metric_id>/delete/", views.metric_delete_view, name="metric_delete"),
    path("w/<slug:ws>/experiments/<int:experiment_id>/", views.experiment_detail_view, name="experiment_detail"),
    path("w/<slug:ws>/experiments/<int:experiment_id>/edit/", views.experiment_edit_view, name="experiment_edit"),
    path("w/<slug:ws>/experiments/<int:experiment_id>/design/", views.experiment_design_view, name="experiment_design"),
    path(
        "w/<slug:ws>/experiments/<int:experiment_id>/results/",
        views.experiment_results_view,
        name="experiment_results",
    ),
    path("w/<slug:ws>/experiments/<int:experiment_id>/start/", views.experiment_start_view, name="experiment_start"),
    path("w/<slug:ws>/experiments/<int:experiment_id>/stop/", views.experiment_stop_view, name="experiment_stop"),
    path("w/<slug:ws>/experiments/<int:experiment_id>/decide/", views.experiment_decide_view, name="experiment_decide"),
    path("w/<slug:ws>/learnings/", views.learning_list_view, name="learning_list"),
]
