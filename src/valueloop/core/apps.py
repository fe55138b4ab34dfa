from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_search_index(sender, using="default", **kwargs) -> None:
    # After every migrate: a table rebuild (an AlterField on SQLite) drops the search triggers, and a kind
    # declared since the last migrate has none yet; put them in place and index the rows they missed.
    from django.db import connections

    from .search import ensure_index

    ensure_index(connections[using])


class CoreConfig(AppConfig):
    name = "valueloop.core"
    label = "core"

    def ready(self):
        from django.core import checks

        from .outbound import check_settings

        checks.register(check_settings)
        # Sent once per migrated app; core's signal comes when all apps' models are in place only if core is
        # migrated last, so listen to every app's signal (ensure_index is idempotent and cheap when nothing is
        # missing).
        post_migrate.connect(_ensure_search_index, dispatch_uid="core_search_ensure_index")
