"""When themes work is due: the periodic due-check run by the task worker (``valueloop worker`` calls
``tick`` every few minutes in a background thread; ``valueloop themes-cron --once`` runs it from
cron instead). It only *queues* tasks; the work itself runs in the worker's task loop.

Invariants:
- Safe with several workers: each due job is claimed with one conditional UPDATE on the workspace's
  ``ThemeState`` (the process whose UPDATE changed the row queues the task; the others see it done).
- Per workspace: a scan for items that were never embedded (survey imports, interview highlights, a
  worker that was down) every ``SCAN_EVERY``; a re-clustering when ``next_recluster_at`` is due
  (daily, or soon when many items wait, or right away when asked by hand); this ISO week's digest
  from Monday ``DIGEST_HOUR`` o'clock in the workspace's time zone (the digest itself is idempotent).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone

from . import runs
from .models import ItemEmbedding, Theme, ThemeDigest, ThemeState

logger = logging.getLogger(__name__)

SCAN_EVERY = dt.timedelta(minutes=10)
DIGEST_HOUR = 7
TICK_SECONDS = 300


def _claim(state: ThemeState, field: str, now: dt.datetime, every: dt.timedelta, *, when_null: bool) -> bool:
    due = Q(**{f"{field}__lte": now})
    if when_null:
        due |= Q(**{f"{field}__isnull": True})
    return bool(ThemeState.objects.filter(pk=state.pk).filter(due).update(**{field: now + every}))


def _has_unembedded(workspace) -> bool:
    from valueloop.feedback.facade import FeedbackItem
    from valueloop.research.facade import Highlight

    embedded_fb = ItemEmbedding.objects.filter(workspace=workspace, source="feedback").values("feedback_id")
    embedded_hl = ItemEmbedding.objects.filter(workspace=workspace, source="highlight").values("highlight_id")
    return (
        FeedbackItem.objects.filter(workspace=workspace).exclude(pk__in=embedded_fb).exists()
        or Highlight.objects.filter(workspace=workspace).exclude(pk__in=embedded_hl).exists()
    )


def tick(now: dt.datetime | None = None) -> dict[str, int]:
    """Queue whatever themes work is due in every workspace; returns how many tasks were queued."""
    from valueloop.workspaces.facade import Workspace

    from .tasks import digest_task, embed_items_task, recluster_task

    now = now or timezone.now()
    queued = {"scan": 0, "recluster": 0, "digest": 0}
    for workspace in Workspace.objects.order_by("id"):
        try:
            state = runs.state_for(workspace)
            if _claim(state, "next_scan_at", now, SCAN_EVERY, when_null=True) and _has_unembedded(workspace):
                embed_items_task.enqueue(workspace.pk, trigger="schedule")
                queued["scan"] += 1
            clusterable = ItemEmbedding.objects.filter(workspace=workspace, skip_reason="").exclude(dimension=0)
            ready = state.next_recluster_at is not None or clusterable.count() >= runs.MIN_ITEMS_FOR_THEMES
            if ready and _claim(state, "next_recluster_at", now, runs.RECLUSTER_EVERY, when_null=True):
                recluster_task.enqueue(workspace.pk, trigger="schedule")
                queued["recluster"] += 1
            local = now.astimezone(runs.workspace_tz(workspace))
            if (
                (local.weekday() > 0 or local.hour >= DIGEST_HOUR)
                and Theme.objects.filter(workspace=workspace, status="active").exists()
                and not ThemeDigest.objects.filter(workspace=workspace, week=_week(local.date())).exists()
            ):
                digest_task.enqueue(workspace.pk)
                queued["digest"] += 1
        except Exception:  # one broken workspace must not stop the others
            logger.exception("themes: due-check failed for workspace %s", workspace.pk)
    return queued


def _week(day: dt.date) -> str:
    from .selectors import iso_week

    return iso_week(day)
