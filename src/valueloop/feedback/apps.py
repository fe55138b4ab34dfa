from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _repair_search_index(sender, using="default", **kwargs) -> None:
    # A table rebuild (an AlterField on SQLite) drops the FTS triggers; put them back.
    from django.db import connections

    from .search import ensure_sqlite_triggers

    ensure_sqlite_triggers(connections[using])


class FeedbackConfig(AppConfig):
    name = "valueloop.feedback"
    label = "feedback"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("feedback", selectors.feedback_ref)

        from valueloop.core import search

        search.register(
            search.IndexedKind(
                kind="feedback",
                label="Feedback",
                table="feedback_feedbackitem",
                title=("title",),
                body=("text",),
                url_name="feedback:item_detail",
                order=30,
            )
        )
        post_migrate.connect(_repair_search_index, sender=self, dispatch_uid="feedback_fts_repair")
        try:
            from valueloop.customers import facade as customers_facade
        except ImportError:
            customers_facade = None
        register = getattr(customers_facade, "register_timeline_source", None)
        if register is not None:
            from .facade import customer_timeline_source

            register(customer_timeline_source)
