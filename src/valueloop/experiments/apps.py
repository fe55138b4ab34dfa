from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "valueloop.experiments"
    label = "experiments"
    verbose_name = "Experiments"
