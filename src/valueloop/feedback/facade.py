"""What other apps may import from feedback.

Invariants:
- Every function takes the acting ``Actor`` and works inside ``actor.workspace``; an id of another
  workspace is simply absent (lists) or NotFound (``access_feedback``).
- Other apps read feedback as ``FeedbackSummary`` values; ``FeedbackItem`` is exported only so
  that a foreign key can point at it (the evidence app's ``Evidence.feedback``).
- Status "linked" is owned by the evidence app: it calls ``feedback_mark_linked`` when evidence
  points at an item and ``feedback_mark_unlinked`` when the last evidence is removed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse

from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor

from . import selectors, services
from .models import SOURCES, STATUSES, FeedbackItem
from .services import ForeignComment, feedback_from_elsewhere
from .signals import feedback_changed

SOURCE_LABELS = dict(SOURCES)
STATUS_LABELS = dict(STATUSES)


@dataclass(frozen=True)
class FeedbackSummary:
    id: int
    title: str
    text: str
    source: str
    source_label: str
    status: str
    received_at: dt.datetime
    customer_id: int | None
    customer_name: str
    contact_id: int | None
    importance: str
    url: str  # the link to the original (Zendesk ticket, call recording...)
    href: str  # the item's page in Valueloop

    @property
    def label(self) -> str:
        return self.title or self.text[:80]


def summary(item: FeedbackItem, workspace_slug: str) -> FeedbackSummary:
    customer = item.customer if item.customer_id else None
    return FeedbackSummary(
        id=item.pk,
        title=item.title,
        text=item.text,
        source=item.source,
        source_label=SOURCE_LABELS.get(item.source, item.source),
        status=item.status,
        received_at=item.received_at,
        customer_id=item.customer_id,
        customer_name=customer.name if customer else "",
        contact_id=item.contact_id,
        importance=item.importance,
        url=item.url,
        href=reverse("feedback:item_detail", args=[workspace_slug, item.pk]),
    )


def access_feedback(actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ) -> FeedbackItem:
    """The item (for a foreign key, its customer, its text); NotFound outside the workspace."""
    return selectors.access_feedback(actor=actor, id=id, scope=scope)


def feedback_get_many(actor: Actor, ids: list[int]) -> list[FeedbackSummary]:
    slug = actor.workspace.slug
    return [summary(item, slug) for item in selectors.feedback_get_many(actor=actor, ids=ids)]


def feedback_for_customer(actor: Actor, customer_id: int, limit: int = 200) -> list[FeedbackSummary]:
    """The customer's feedback, newest first."""
    slug = actor.workspace.slug
    items = selectors.feedback_for_customer(actor=actor, customer_id=customer_id, limit=limit)
    return [summary(item, slug) for item in items]


def feedback_mark_linked(actor: Actor, ids: list[int]) -> int:
    """Evidence now points at these items: new/triaged ones become "linked". Returns how many."""
    return services.feedback_mark_linked(actor=actor, ids=list(ids))


def feedback_mark_unlinked(actor: Actor, ids: list[int]) -> int:
    """No evidence points at these items any more: "linked" ones go back to "triaged"."""
    return services.feedback_mark_unlinked(actor=actor, ids=list(ids))


def customer_timeline_source(actor: Actor, customer) -> list:
    """The account's feedback for the customer timeline (registered in FeedbackConfig.ready)."""
    from valueloop.customers.facade import TimelineEntry

    if not actor.can(Scope.WORKSPACE_READ):
        return []
    return [
        TimelineEntry(
            at=s.received_at,
            kind="feedback",
            title=f"{s.source_label}: {s.label}",
            url=s.href,
            summary=s.text[:280],
        )
        for s in feedback_for_customer(actor, customer.pk, limit=100)
    ]


__all__ = [
    "FeedbackItem",
    "FeedbackSummary",
    "ForeignComment",
    "access_feedback",
    "customer_timeline_source",
    "feedback_changed",
    "feedback_for_customer",
    "feedback_from_elsewhere",
    "feedback_get_many",
    "feedback_mark_linked",
    "feedback_mark_unlinked",
]
