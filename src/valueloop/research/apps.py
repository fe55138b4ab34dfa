from django.apps import AppConfig


class ResearchConfig(AppConfig):
    name = "valueloop.research"
    label = "research"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("interview", selectors.interview_ref)
