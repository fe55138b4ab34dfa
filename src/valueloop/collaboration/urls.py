from django.urls import path

from . import views

app_name = "collaboration"
urlpatterns = [
    path("w/<slug:ws>/comments/", views.comment_create_view, name="comment_create"),
    path("w/<slug:ws>/comments/<int:comment_id>/delete/", views.comment_delete_view, name="comment_delete"),
    path("w/<slug:ws>/follow/", views.follow_view, name="follow"),
    path("w/<slug:ws>/notifications/", views.notifications_view, name="notifications"),
    path("w/<slug:ws>/notifications/read/", views.notifications_read_view, name="notifications_read"),
    path("w/<slug:ws>/notifications/<int:notification_id>/", views.notification_open_view, name="notification_open"),
]
