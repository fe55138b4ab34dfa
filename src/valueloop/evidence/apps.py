from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "valueloop.evidence"
    label = "evidence"

    def ready(self) -> None:
        from valueloop.core import extensions
        from valueloop.customers.facade import register_timeline_source

        from .facade import customer_timeline_source, feedback_item_page_context, interview_page_context

        register_timeline_source(customer_timeline_source)
        # Pages of apps below evidence in the value flow show its forms through their extension points.
        extensions.register("feedback.item_page", feedback_item_page_context)
        extensions.register("research.interview_page", interview_page_context)
