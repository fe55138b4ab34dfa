"""Signals the feedback app sends, so that other apps can react to new or edited feedback without the
feedback app importing them (the themes app embeds new items in the background, for instance).

Invariants:
- ``feedback_changed`` is sent only after the transaction that wrote the items has committed (a rolled
  back import announces nothing), and a receiver that fails never breaks the write that was announced.
- ``ids`` lists the items concerned; it is empty when there were too many to list (a big import):
  receivers then look for what is new themselves.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# Keyword arguments: workspace_id (int), ids (list[int]), created (bool: new items, not edits).
feedback_changed = Signal()

MAX_IDS = 1000


def announce(*, workspace_id: int, ids: list[int], created: bool) -> None:
    """Send ``feedback_changed`` once the current transaction commits."""
    listed = list(ids) if len(ids) <= MAX_IDS else []

    def send() -> None:
        for receiver, result in feedback_changed.send_robust(
            sender=announce, workspace_id=workspace_id, ids=listed, created=created
        ):
            if isinstance(result, Exception):
                logger.error("feedback_changed receiver %r failed: %r", receiver, result)

    transaction.on_commit(send)
