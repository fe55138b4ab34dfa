import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


def _feedback_changed(sender, *, workspace_id: int, ids: list[int], created: bool, **kwargs) -> None:
    """Feedback was created or edited (after commit): embed it in the background. Never raises."""
    from .tasks import embed_items_task

    try:
        embed_items_task.enqueue(workspace_id, feedback_ids=list(ids) or None, trigger="arrival")
    except Exception:  # the periodic scan picks the items up later
        logger.exception("themes: could not queue embedding for workspace %s", workspace_id)


class ThemesConfig(AppConfig):
    name = "valueloop.themes"
    label = "themes"
    verbose_name = "Themes"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity
        from valueloop.feedback.facade import feedback_changed

        from . import selectors

        register_entity("theme", selectors.theme_ref)
        register_entity("theme_digest", selectors.digest_ref)

        from valueloop.core import search

        search.register(
            search.IndexedKind(
                kind="theme",
                label="Themes",
                table="themes_theme",
                title=("name",),
                body=("emerging_explanation",),
                url_name="themes:theme_detail",
                markdown=False,
                order=60,
            )
        )
        feedback_changed.connect(_feedback_changed, dispatch_uid="themes_feedback_changed")
