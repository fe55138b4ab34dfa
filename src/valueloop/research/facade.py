"""What other apps may import from research: highlights as evidence sources, interview participants
for closing the loop, and the account timeline sources.

Invariants: every function works inside the actor's (or the given) workspace; a highlight of another
workspace is NotFound. Quotes from an interview without consent are never handed out as quotable
text (``HighlightSource.quotable`` is False and ``quote`` is empty).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse

from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor

from . import selectors
from .anchoring import plain_quote
from .models import Highlight, Interview, SurveyResponse

__all__ = [
    "Highlight",
    "HighlightSource",
    "Interview",
    "highlight_source",
    "interview_timeline_source",
    "participants_of_highlights",
    "plain_quote",
    "survey_timeline_source",
]


@dataclass(frozen=True)
class HighlightSource:
    id: int
    interview_id: int
    interview_title: str
    happened_on: dt.date
    customer_id: int | None
    consent: bool
    detached: bool
    quote: str  # plain text; empty without consent

    @property
    def quotable(self) -> bool:
        return self.consent and bool(self.quote)

    @property
    def said_at(self) -> dt.datetime:
        d = self.happened_on
        return dt.datetime(d.year, d.month, d.day, 12, tzinfo=dt.UTC)


def highlight_source(actor: Actor, highlight_id: int, *, scope: Scope | None = None) -> HighlightSource:
    """The highlight as an evidence source (NotFound outside the actor's workspace)."""
    highlight = selectors.access_highlight(actor=actor, id=highlight_id, scope=scope)
    interview = highlight.interview
    customer_id = interview.customer_id
    if customer_id is None:
        accounts = {c for c in interview.participants.values_list("customer_id", flat=True) if c}
        customer_id = accounts.pop() if len(accounts) == 1 else None
    return HighlightSource(
        id=highlight.pk,
        interview_id=interview.pk,
        interview_title=interview.title,
        happened_on=interview.happened_on,
        customer_id=customer_id,
        consent=interview.consent,
        detached=highlight.detached,
        quote=plain_quote(highlight.text) if interview.consent else "",
    )


def participants_of_highlights(workspace, highlight_ids) -> list[tuple[int, int]]:
    """(highlight id, contact id) for every participant of the interviews behind those highlights."""
    through = Interview.participants.through
    interview_of = dict(
        Highlight.objects.filter(workspace=workspace, pk__in=list(highlight_ids)).values_list("id", "interview_id")
    )
    if not interview_of:
        return []
    by_interview: dict[int, list[int]] = {}
    for interview_id, contact_id in through.objects.filter(interview_id__in=set(interview_of.values())).values_list(
        "interview_id", "contact_id"
    ):
        by_interview.setdefault(interview_id, []).append(contact_id)
    return [(h, c) for h, i in interview_of.items() for c in by_interview.get(i, [])]


def interview_timeline_source(actor: Actor, customer) -> list:
    """Interviews with the account (or with its contacts) for the customer timeline."""
    from valueloop.customers.facade import TimelineEntry

    if not actor.can(Scope.WORKSPACE_READ):
        return []
    interviews = (
        Interview.objects.filter(workspace=actor.workspace)
        .filter(Q(customer=customer) | Q(participants__customer=customer))
        .distinct()
        .order_by("-happened_on", "-id")[:100]
    )
    slug = actor.workspace.slug
    return [
        TimelineEntry(
            at=i.happened_on,
            kind="interview",
            title=f"Interview: {i.title}" + ("" if i.consent else " (no consent to quote)"),
            url=reverse("research:interview_detail", args=[slug, i.pk]),
            summary=(plain_quote(i.notes)[:280] if i.consent else ""),
        )
        for i in interviews
    ]


def survey_timeline_source(actor: Actor, customer) -> list:
    """The account's NPS/CSAT answers for the customer timeline."""
    from valueloop.customers.facade import TimelineEntry

    if not actor.can(Scope.WORKSPACE_READ):
        return []
    url = reverse("research:surveys", args=[actor.workspace.slug])
    return [
        TimelineEntry(
            at=r.responded_at,
            kind="survey",
            title=f"{r.get_kind_display()} answer: {r.score}/{10 if r.kind == 'nps' else 5}",
            url=url,
            summary=r.comment[:280],
        )
        for r in SurveyResponse.objects.filter(workspace=actor.workspace, customer=customer).order_by("-responded_at")[
            :100
        ]
    ]
