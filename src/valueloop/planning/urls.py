from django.urls import path

from . import views

app_name = "planning"
urlpatterns = [
    path("w/<slug:ws>/features/", views.feature_list_view, name="feature_list"),
    path("w/<slug:ws>/features/<int:feature_id>/", views.feature_detail_view, name="feature_detail"),
]
