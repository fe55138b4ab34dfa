from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "valueloop.feedback"
    label = "feedback"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("feedback", selectors.feedback_ref)
