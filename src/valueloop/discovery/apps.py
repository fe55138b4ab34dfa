from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "valueloop.discovery"
    label = "discovery"

    def ready(self) -> None:
        from valueloop.core import extensions
        from valueloop.core.entities import register_entity

        from . import facade, selectors

        register_entity("problem", selectors.problem_ref)
        extensions.register("evidence.target_choices", facade.problem_target_choices)
