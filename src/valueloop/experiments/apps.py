from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "valueloop.experiments"
    label = "experiments"
    verbose_name = "Experiments"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("experiment", selectors.experiment_ref)
