"""The only module other apps (and the command line) may import from themes.

Invariants: every function works inside the given actor's (or workspace's) workspace; reads never
raise for an item that has no theme yet (they say so); the due-check only queues tasks.
"""

from __future__ import annotations

from valueloop.core.tenancy import Actor

from . import selectors


def theme_for_feedback(*, actor: Actor, feedback_id: int) -> dict:
    """{"state": "theme", "theme": Theme} | {"state": "skipped", "reason": str} | {"state": "waiting"}
    | {"state": "pending"} (not embedded yet) for a feedback item of the actor's workspace."""
    return selectors.item_status_for_feedback(actor=actor, feedback_id=feedback_id)


def scheduled_tick() -> dict[str, int]:
    """The periodic due-check (``valueloop worker`` runs it every few minutes): queues embedding scans,
    re-clusterings and weekly digests that are due in any workspace."""
    from .scheduler import tick

    return tick()


TICK_SECONDS = 300

__all__ = ["TICK_SECONDS", "scheduled_tick", "theme_for_feedback"]
