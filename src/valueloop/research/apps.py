from django.apps import AppConfig


class ResearchConfig(AppConfig):
    name = "valueloop.research"
    label = "research"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("interview", selectors.interview_ref)
        try:
            from valueloop.customers.facade import register_timeline_source
        except ImportError:  # the customers facade is optional: no timeline to feed
            return
        from .facade import interview_timeline_source, survey_timeline_source

        register_timeline_source(interview_timeline_source)
        register_timeline_source(survey_timeline_source)
