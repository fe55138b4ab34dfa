from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "valueloop.core"
    label = "core"
