from django.apps import AppConfig


class CollaborationConfig(AppConfig):
    name = "valueloop.collaboration"
    label = "collaboration"
