from django.urls import path

from . import views

app_name = "events"
urlpatterns = [
    path("w/<slug:ws>/events/", views.overview_view, name="overview"),
    path("w/<slug:ws>/events/upload/", views.upload_view, name="upload"),
    path("w/<slug:ws>/events/source/", views.source_view, name="source"),
    path("w/<slug:ws>/events/source/test/", views.source_test_view, name="source_test"),
]
