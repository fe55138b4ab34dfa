from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "valueloop.evidence"
    label = "evidence"

    def ready(self) -> None:
        try:
            from valueloop.customers.facade import register_timeline_source
        except ImportError:  # the customers facade is optional: no timeline to feed
            return
        from .facade import customer_timeline_source

        register_timeline_source(customer_timeline_source)
