from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "valueloop.home"
    label = "home"
