"""Demo data for themes (see valueloop.demo), the last demo step: the demo's feedback (with the
"whispers" of ``demo_whispers``) and interview highlights embedded and clustered, so that the themes
list, a theme's page and the Signals page (with at least one emerging theme) have something real to
show.

Idempotent: the clustering runs only when no demo run succeeded yet, so a second run creates
nothing. One number is drawn from the shared RNG whatever happens.
"""

from __future__ import annotations

from django.utils import timezone

from . import runs
from .models import ThemeRun, ThemeState


def build(context, *, backend=None) -> None:
    context.rng.random()  # one draw from the shared stream, always
    workspace = context.workspace
    if ThemeRun.objects.filter(workspace=workspace, trigger="demo", status="succeeded").exists():
        return
    from valueloop.engines.embedding import lexical_backend

    # The lexical backend embeds the ~3,000 demo items in a second or two, so `make run` shows themes
    # at once; when the sentence model is installed, the worker re-embeds and re-clusters with it in
    # the background as soon as the server's worker starts (theme ids and PM edits carry over).
    backend = backend or lexical_backend()
    only = None
    if context.scale == "large":
        # The 100,000 items of the large batch are left to the worker's scan, which embeds and assigns them
        # in the background: clustering them here cost the large demo minutes of CPU. The demo's own items
        # (and the whispers) make the same themes as the small demo's.
        from valueloop.feedback.demo import LARGE_PREFIX
        from valueloop.feedback.facade import FeedbackItem

        only = list(
            FeedbackItem.objects.filter(workspace=workspace)
            .exclude(external_id__startswith=f"{LARGE_PREFIX}-")
            .values_list("id", flat=True)
        )
    run = runs.recluster(
        workspace, trigger="demo", user=context.users.get("priya"), backend=backend, only_feedback=only
    )
    if run.status != "succeeded":
        raise RuntimeError(f"themes demo: the clustering failed: {run.error}")
    _curate_whispers(context, workspace)
    if runs.embedding_backend().name != backend.name:
        ThemeState.objects.filter(workspace=workspace).update(next_recluster_at=timezone.now())


def _curate_whispers(context, workspace) -> None:
    """If the engine left the whispers inside a bigger theme, do what a PM would: give them a theme
    of their own (the Signals page then shows it emerging)."""
    from collections import Counter

    from . import services
    from .models import ThemeAssignment

    placed = list(
        ThemeAssignment.objects.filter(
            workspace=workspace, item__feedback__external_id__startswith="demo-whisper-"
        ).values_list("item_id", "theme_id")
    )
    if not placed:
        return
    theme_id, count = Counter(t for _, t in placed).most_common(1)[0]
    size = ThemeAssignment.objects.filter(theme_id=theme_id).count()
    if count >= 0.7 * len(placed) and count >= 0.5 * size:
        return  # the engine found the theme by itself
    services.theme_create(actor=context.actor_for("priya"), name="E-invoicing mandate", item_ids=[i for i, _ in placed])
    runs.refresh_emerging(workspace)
