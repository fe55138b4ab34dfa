from django.apps import AppConfig


class ResearchConfig(AppConfig):
    name = "valueloop.research"
    label = "research"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("interview", selectors.interview_ref)

        from valueloop.core import search

        search.register(
            search.IndexedKind(
                kind="interview",
                label="Interviews",
                table="research_interview",
                title=("title",),
                body=("notes",),
                url_name="research:interview_detail",
                order=50,
            )
        )
        search.register(
            search.IndexedKind(
                kind="highlight",
                label="Highlights",
                table="research_highlight",
                title=(),
                body=("text",),
                describe=selectors.highlight_search_describe,
                markdown=False,
                order=55,
            )
        )
        try:
            from valueloop.customers.facade import register_timeline_source
        except ImportError:  # the customers facade is optional: no timeline to feed
            return
        from .facade import interview_timeline_source, survey_timeline_source

        register_timeline_source(interview_timeline_source)
        register_timeline_source(survey_timeline_source)
