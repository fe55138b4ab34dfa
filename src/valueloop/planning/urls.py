from django.urls import path

from . import views

app_name = "planning"
urlpatterns = [
    path("w/<slug:ws>/features/", views.feature_list_view, name="feature_list"),
    path("w/<slug:ws>/features/<int:feature_id>/", views.feature_detail_view, name="feature_detail"),
    path("w/<slug:ws>/features/<int:feature_id>/inputs/", views.feature_inputs_view, name="feature_inputs"),
    path("w/<slug:ws>/features/<int:feature_id>/items/", views.delivery_item_create_view, name="item_create"),
    path(
        "w/<slug:ws>/features/<int:feature_id>/items/<int:delivery_item_id>/",
        views.delivery_item_update_view,
        name="item_update",
    ),
    path(
        "w/<slug:ws>/features/<int:feature_id>/items/<int:delivery_item_id>/delete/",
        views.delivery_item_delete_view,
        name="item_delete",
    ),
    path("w/<slug:ws>/planning/", views.ranking_view, name="ranking"),
    path("w/<slug:ws>/planning/rows/<int:feature_id>/", views.row_view, name="row"),
    path("w/<slug:ws>/planning/history/<int:feature_id>/", views.score_history_view, name="score_history"),
    path("w/<slug:ws>/planning/settings/", views.settings_view, name="settings"),
    path("w/<slug:ws>/planning/economics/", views.economics_view, name="economics"),
    path("w/<slug:ws>/planning/sequence/", views.sequence_view, name="sequence"),
    path("w/<slug:ws>/planning/schedule/", views.schedule_view, name="schedule"),
    path("w/<slug:ws>/planning/teams/<int:team_id>/", views.team_update_view, name="team_update"),
    path("w/<slug:ws>/planning/teams/<int:team_id>/delete/", views.team_delete_view, name="team_delete"),
    path("w/<slug:ws>/planning/forecast/", views.forecast_view, name="forecast"),
    path(
        "w/<slug:ws>/planning/forecast/weeks/<int:throughput_id>/delete/",
        views.throughput_delete_view,
        name="throughput_delete",
    ),
    path("w/<slug:ws>/planning/formulas/", views.formulas_view, name="formulas"),
    path("w/<slug:ws>/planning/formulas/<int:formula_id>/", views.formula_update_view, name="formula_update"),
    path("w/<slug:ws>/planning/formulas/<int:formula_id>/delete/", views.formula_delete_view, name="formula_delete"),
    path("w/<slug:ws>/planning/kano/", views.kano_view, name="kano"),
    path("w/<slug:ws>/planning/opportunities/", views.opportunities_view, name="opportunities"),
    path("w/<slug:ws>/backlog/", views.backlog_view, name="backlog"),
    path("w/<slug:ws>/backlog/move/", views.backlog_move_view, name="backlog_move"),
    path("w/<slug:ws>/backlog/reset/", views.backlog_reset_view, name="backlog_reset"),
]
