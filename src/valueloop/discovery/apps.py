from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "valueloop.discovery"
    label = "discovery"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("problem", selectors.problem_ref)
