from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "valueloop.planning"
    label = "planning"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("feature", selectors.feature_ref)
