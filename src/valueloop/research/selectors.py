"""Reads for interviews, highlights and survey responses. Every query starts from the actor's workspace;
an id of another workspace is NotFound (404) before a missing scope is PermissionDenied (403)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from valueloop.core.entities import EntityRef
from valueloop.core.errors import NotFound
from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor
from valueloop.engines import surveys as engine

from .models import Highlight, Interview, SurveyResponse


def interview_ref(workspace, entity_id: int) -> EntityRef | None:
    interview = Interview.objects.filter(workspace=workspace, pk=entity_id).only("title").first()
    if interview is None:
        return None
    return EntityRef(
        "interview",
        interview.pk,
        interview.title,
        reverse("research:interview_detail", args=[workspace.slug, interview.pk]),
    )


def workspace_tz(workspace) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(getattr(workspace, "timezone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


# --- interviews -------------------------------------------------------------------------------


def interview_list(
    *, actor: Actor, search: str = "", customer_id: int | None = None, consent: bool | None = None
) -> QuerySet[Interview]:
    actor.require(Scope.WORKSPACE_READ)
    query = Interview.objects.filter(workspace=actor.workspace).select_related("customer", "interviewer")
    if search:
        query = query.filter(
            Q(title__icontains=search) | Q(notes__icontains=search) | Q(customer__name__icontains=search)
        )
    if customer_id:
        query = query.filter(customer_id=customer_id)
    if consent is not None:
        query = query.filter(consent=consent)
    return (
        query.defer("notes")
        .annotate(
            highlight_count=Count("highlights", distinct=True),
            participant_count=Count("participants", distinct=True),
        )
        .order_by("-happened_on", "-id")
    )


def access_interview(*, actor: Actor, id: int, scope: Scope | None = None, for_update: bool = False) -> Interview:
    query = Interview.objects.filter(workspace=actor.workspace, pk=id).select_related("customer", "interviewer")
    if for_update:
        query = query.select_for_update(of=("self",))
    interview = query.first()
    if interview is None:
        raise NotFound("Interview not found.")
    actor.require(scope or Scope.WORKSPACE_READ)
    return interview


def interview_participants(interview: Interview) -> list:
    return list(interview.participants.select_related("customer").order_by("name", "email", "id"))


def participant_choices(*, actor: Actor, limit: int = 1000) -> tuple[list[tuple[int, str]], list]:
    """Accounts (id, name) and contacts (with their account) for the interview form's pickers."""
    from valueloop.customers.facade import Contact, Customer

    actor.require(Scope.WORKSPACE_READ)
    customers = list(
        Customer.objects.filter(workspace=actor.workspace, archived_at=None)
        .order_by("name", "id")
        .values_list("id", "name")
    )
    contacts = list(
        Contact.objects.filter(workspace=actor.workspace)
        .select_related("customer")
        .order_by("customer__name", "name", "email", "id")[:limit]
    )
    return customers, contacts


def highlight_list(*, actor: Actor, interview_id: int) -> QuerySet[Highlight]:
    interview = access_interview(actor=actor, id=interview_id)
    return Highlight.objects.filter(workspace=actor.workspace, interview=interview).select_related("created_by")


def access_highlight(*, actor: Actor, id: int, scope: Scope | None = None, for_update: bool = False) -> Highlight:
    query = Highlight.objects.filter(workspace=actor.workspace, pk=id).select_related(
        "interview", "interview__customer"
    )
    if for_update:
        query = query.select_for_update(of=("self",))
    highlight = query.first()
    if highlight is None:
        raise NotFound("Highlight not found.")
    actor.require(scope or Scope.WORKSPACE_READ)
    return highlight


# --- surveys ----------------------------------------------------------------------------------


def survey_response_list(
    *, actor: Actor, kind: str = "", customer_id: int | None = None, with_comment: bool = False
) -> QuerySet[SurveyResponse]:
    actor.require(Scope.WORKSPACE_READ)
    query = SurveyResponse.objects.filter(workspace=actor.workspace).select_related("customer", "contact")
    if kind:
        query = query.filter(kind=kind)
    if customer_id:
        query = query.filter(customer_id=customer_id)
    if with_comment:
        query = query.exclude(comment="")
    return query.order_by("-responded_at", "-id")


@dataclass
class SurveyRow:
    label: str
    key: str
    n: int
    result: engine.NpsResult | engine.CsatResult | None


@dataclass
class SurveySummary:
    kind: str
    since: dt.datetime | None
    overall: engine.NpsResult | engine.CsatResult | None
    months: list[SurveyRow] = field(default_factory=list)
    segments: list[SurveyRow] = field(default_factory=list)
    total: int = 0


def _result(kind: str, row: dict):
    if not row["n"]:
        return None
    if kind == "nps":
        return engine.nps_from_counts(
            row["promoters"], row["n"] - row["promoters"] - row["detractors"], row["detractors"]
        )
    return engine.csat_from_counts(row["satisfied"], row["n"])


def _counts():
    return {
        "n": Count("id"),
        "promoters": Count("id", filter=Q(score__gte=9)),
        "detractors": Count("id", filter=Q(score__lte=6)),
        "satisfied": Count("id", filter=Q(score__gte=4)),
    }


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    months, current = [], dt.date(first.year, first.month, 1)
    while current <= last:
        months.append(current)
        current = dt.date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return months


def survey_summary(
    *, actor: Actor, kind: str = "nps", months: int = 12, segment_labels: dict | None = None
) -> SurveySummary:
    """NPS (or CSAT) over the last ``months`` months: overall, per month (every month, empty ones
    too) and per segment of the responding account. Counts are aggregated in SQL."""
    actor.require(Scope.WORKSPACE_READ)
    tz = workspace_tz(actor.workspace)
    today = timezone.now().astimezone(tz).date()
    first = dt.date(today.year, today.month, 1)
    for _ in range(max(1, months) - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    since = dt.datetime(first.year, first.month, 1, tzinfo=tz)
    base = SurveyResponse.objects.filter(workspace=actor.workspace, kind=kind, responded_at__gte=since).order_by()
    overall_row = base.aggregate(**_counts())
    summary = SurveySummary(kind=kind, since=since, overall=_result(kind, overall_row), total=overall_row["n"])
    by_month = {
        row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]: row
        for row in base.annotate(month=TruncMonth("responded_at", tzinfo=tz)).values("month").annotate(**_counts())
    }
    for month in _month_starts(first, today):
        row = by_month.get(month, {"n": 0})
        summary.months.append(SurveyRow(month.strftime("%b %Y"), month.isoformat(), row["n"], _result(kind, row)))
    labels = segment_labels or {}
    merged: dict[str, dict] = {}
    for row in base.values("customer__segment").annotate(**_counts()):
        key = row["customer__segment"] or ""  # no account and no segment count together
        into = merged.setdefault(key, {"n": 0, "promoters": 0, "detractors": 0, "satisfied": 0})
        for name in into:
            into[name] += row[name]
    for key, row in sorted(merged.items(), key=lambda kv: (-kv[1]["n"], kv[0])):
        label = labels.get(key) or ("No account / no segment" if not key else key.replace("_", " ").title())
        summary.segments.append(SurveyRow(label, key, row["n"], _result(kind, row)))
    return summary


def highlight_search_describe(actor: Actor, ids: list[int]) -> dict[int, tuple[str, str]]:
    """Highlights open on their interview, at the highlight."""
    rows = Highlight.objects.filter(workspace=actor.workspace, id__in=ids).values_list(
        "id", "interview_id", "interview__title"
    )
    slug = actor.workspace.slug
    return {
        highlight_id: (
            reverse("research:interview_detail", args=[slug, interview_id]) + f"#highlight-{highlight_id}",
            f"in {title}",
        )
        for highlight_id, interview_id, title in rows
    }
