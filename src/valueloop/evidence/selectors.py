"""Reads for evidence: the links behind a problem or feature, their roll-up, and the requesters of a
released feature. Every query starts from the actor's workspace; roll-ups are aggregated in SQL
(a target with 10,000 linked items costs a handful of queries, not 10,000 rows in Python)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, F, IntegerField, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Substr
from django.utils import timezone

from valueloop.core.entities import EntityRef, resolve_entity
from valueloop.core.errors import NotFound
from valueloop.core.permissions import Scope
from valueloop.core.selectors import access_row
from valueloop.core.tenancy import Actor

from .models import EVIDENCE_IMPORTANCE, TARGET_TYPES, Evidence, LoopNotification

TARGETS = {value for value, _ in TARGET_TYPES}
IMPORTANCE_LABELS = dict(EVIDENCE_IMPORTANCE)
SORTS = {
    "newest": ("-said_at", "-id"),
    "oldest": ("said_at", "id"),
    "strongest": ("-importance", F("customer__arr_base").desc(nulls_last=True), "-said_at", "-id"),
    "arr": (F("customer__arr_base").desc(nulls_last=True), "-importance", "-id"),
}
CHART_MONTHS = 24


def workspace_tz(workspace) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(getattr(workspace, "timezone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def access_target(*, actor: Actor, target_type: str, target_id: int) -> EntityRef:
    """The problem or feature in the actor's workspace (NotFound otherwise, also for other types)."""
    if target_type not in TARGETS:
        raise NotFound(f"Evidence attaches to problems and features, not {target_type!r}.")
    ref = resolve_entity(actor.workspace, target_type, int(target_id))
    if ref is None:
        raise NotFound(f"{target_type.title()} not found.")
    return ref


def _targets(actor: Actor, target_type: str, target_id: int) -> QuerySet[Evidence]:
    return Evidence.objects.filter(workspace=actor.workspace, target_type=target_type, target_id=target_id)


def evidence_list(
    *,
    actor: Actor,
    target_type: str = "",
    target_id: int | None = None,
    search: str = "",
    segment: str = "",
    persona_id: int | None = None,
    importance: int | None = None,
    source: str = "",
    customer_id: int | None = None,
    feedback_id: int | None = None,
    sort: str = "newest",
) -> QuerySet[Evidence]:
    actor.require(Scope.WORKSPACE_READ)
    query = Evidence.objects.filter(workspace=actor.workspace)
    if target_type:
        query = query.filter(target_type=target_type)
    if target_id:
        query = query.filter(target_id=target_id)
    if search:
        query = query.filter(
            Q(quote__icontains=search)
            | Q(feedback__text__icontains=search)
            | Q(feedback__title__icontains=search)
            | Q(customer__name__icontains=search)
        )
    if segment:
        query = query.filter(customer__segment="" if segment == "none" else segment)
    if persona_id:
        query = query.filter(feedback__personas__id=persona_id)
    if importance:
        query = query.filter(importance=importance)
    if source == "feedback":
        query = query.filter(feedback__isnull=False)
    elif source == "interview":
        query = query.filter(highlight__isnull=False)
    elif source == "experiment":
        query = query.filter(learning__isnull=False)
    if customer_id:
        query = query.filter(customer_id=customer_id)
    if feedback_id:
        query = query.filter(feedback_id=feedback_id)
    return (
        query.select_related("customer", "created_by", "feedback", "highlight__interview", "learning")
        .defer("feedback__text", "highlight__interview__notes", "highlight__text")
        .annotate(excerpt=Substr("feedback__text", 1, 600), consent=F("highlight__interview__consent"))
        .order_by(*SORTS.get(sort, SORTS["newest"]))
    )


def access_evidence(*, actor: Actor, id: int, scope: Scope | None = None, for_update: bool = False) -> Evidence:
    return access_row(Evidence, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Evidence not found.")


# --- the roll-up ------------------------------------------------------------------------------


@dataclass
class Month:
    start: dt.date
    label: str
    items: int
    accounts: int


@dataclass
class Rollup:
    count: int = 0
    accounts: int = 0
    arr: Decimal = Decimal("0")
    by_segment: list[dict] = field(default_factory=list)
    by_persona: list[dict] = field(default_factory=list)
    newest: list = field(default_factory=list)
    strongest: list = field(default_factory=list)
    months: list[Month] = field(default_factory=list)
    by_importance: list[dict] = field(default_factory=list)


def _month_range(first: dt.date, last: dt.date) -> list[dt.date]:
    months, current = [], dt.date(first.year, first.month, 1)
    while current <= last:
        months.append(current)
        current = dt.date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return months


def _quotes(links: QuerySet[Evidence], order, limit: int) -> list[Evidence]:
    # Quotes from interviews without consent are never shown.
    return list(
        links.exclude(highlight__interview__consent=False)
        .select_related("customer", "feedback", "highlight__interview")
        .defer(
            "feedback__text", "highlight__text", "highlight__prefix", "highlight__suffix", "highlight__interview__notes"
        )
        .annotate(excerpt=Substr("feedback__text", 1, 400))
        .order_by(*order)[:limit]
    )


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _demand(links: QuerySet[Evidence], tz: dt.tzinfo, first_said: dt.datetime | None) -> list[Month]:
    """Items and unique accounts per calendar month (workspace time zone), the last CHART_MONTHS
    months at most and six at least. One grouped query: the month bounds are computed here (in the
    workspace's time zone) and the database buckets rows by comparing timestamps, instead of
    calling a per-row time-zone conversion (which on SQLite is Python code run 10,000 times)."""
    if first_said is None:
        return []
    today = timezone.now().astimezone(tz).date()
    last = dt.date(today.year, today.month, 1)
    first_local = first_said.astimezone(tz).date()
    first = max(dt.date(first_local.year, first_local.month, 1), _add_months(last, 1 - CHART_MONTHS))
    first = min(first, _add_months(last, -5))
    starts = _month_range(first, last)
    bounds = [dt.datetime(m.year, m.month, 1, tzinfo=tz) for m in [*starts, _add_months(last, 1)]]
    bucket = Case(
        *[When(said_at__lt=bounds[i + 1], then=Value(i)) for i in range(len(starts))],
        default=Value(-1),
        output_field=IntegerField(),
    )
    counts = {
        row["bucket"]: row
        for row in links.filter(said_at__gte=bounds[0], said_at__lt=bounds[-1])
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(items=Count("id"), accounts=Count("customer_id", distinct=True))
    }
    empty = {"items": 0, "accounts": 0}
    return [
        Month(m, m.strftime("%b %Y"), counts.get(i, empty)["items"], counts.get(i, empty)["accounts"])
        for i, m in enumerate(starts)
    ]


class RollupParts:
    """The roll-up of one target, computed part by part on first use (a page that shows only the
    totals runs only the totals' queries). Every part is a fixed number of aggregate queries,
    whatever the number of links."""

    def __init__(self, actor: Actor, target_type: str, target_id: int, *, quotes: int = 5, segment_labels=None):
        actor.require(Scope.WORKSPACE_READ)
        self.actor = actor
        # What customers said; experiment learnings (no customer, no ARR) are listed apart (``learnings``).
        self.links = _targets(actor, target_type, target_id).filter(learning=None).order_by()
        self.learning_links = _targets(actor, target_type, target_id).exclude(learning=None)
        self.quotes_limit = quotes
        self.segment_labels = segment_labels or {}
        self._cache: dict[str, object] = {}

    def _once(self, key: str, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def totals(self) -> dict:
        """count, by_importance and the first date anything was said (one query)."""

        def compute():
            out = {"count": 0, "by_importance": [], "first_said": None}
            for row in (
                self.links.values("importance").annotate(n=Count("id"), first=Min("said_at")).order_by("-importance")
            ):
                out["count"] += row["n"]
                out["by_importance"].append(
                    {
                        "importance": row["importance"],
                        "label": IMPORTANCE_LABELS.get(row["importance"], ""),
                        "items": row["n"],
                    }
                )
                if row["first"] is not None and (out["first_said"] is None or row["first"] < out["first_said"]):
                    out["first_said"] = row["first"]
            return out

        return self._once("totals", compute)

    def accounts(self) -> dict:
        """Unique accounts, their ARR (each once; archived accounts left out as in every customer
        roll-up) and the breakdown by segment (two queries)."""
        from valueloop.customers.facade import Customer

        def compute():
            out = {"accounts": 0, "arr": Decimal("0"), "by_segment": []}
            accounts = Customer.objects.filter(
                workspace=self.actor.workspace,
                archived_at=None,
                pk__in=self.links.exclude(customer=None).values("customer_id"),
            ).order_by()
            rows = list(accounts.values("segment").annotate(accounts=Count("id"), arr=Sum("arr_base")).order_by("-arr"))
            if not rows and not self.totals()["count"]:
                return out
            items_by_segment = {
                row["customer__segment"] or "": row["items"]
                for row in self.links.values("customer__segment").annotate(items=Count("id"))
            }
            for row in rows:
                key = row["segment"] or ""
                arr = row["arr"] or Decimal("0")
                out["accounts"] += row["accounts"]
                out["arr"] += arr
                out["by_segment"].append(
                    {
                        "segment": key,
                        "label": self.segment_labels.get(key)
                        or ("No segment" if not key else key.replace("_", " ").title()),
                        "accounts": row["accounts"],
                        "arr": arr,
                        "items": items_by_segment.pop(key, 0),
                    }
                )
            unassigned = sum(items_by_segment.values())
            if unassigned:
                out["by_segment"].append(
                    {"segment": "none", "label": "No account", "accounts": 0, "arr": Decimal("0"), "items": unassigned}
                )
            return out

        return self._once("accounts", compute)

    def by_persona(self) -> list[dict]:
        from valueloop.feedback.facade import FeedbackItem

        def compute():
            through = FeedbackItem.personas.through
            return [
                {
                    "id": row["persona_id"],
                    "label": row["persona__name"],
                    "items": row["items"],
                    "accounts": row["accounts"],
                }
                for row in through.objects.filter(
                    feedbackitem_id__in=self.links.exclude(feedback=None).values("feedback_id")
                )
                .values("persona_id", "persona__name")
                .annotate(items=Count("feedbackitem_id"), accounts=Count("feedbackitem__customer", distinct=True))
                .order_by("-items", "persona__name")
            ]

        return self._once("personas", compute)

    def newest(self) -> list[Evidence]:
        return self._once("newest", lambda: _quotes(self.links, SORTS["newest"], self.quotes_limit))

    def strongest(self) -> list[Evidence]:
        return self._once("strongest", lambda: _quotes(self.links, SORTS["strongest"], self.quotes_limit))

    def learnings(self, limit: int = 20) -> list[Evidence]:
        """What experiments on this target taught, newest first (one query; a target has a few at most)."""
        return self._once(
            "learnings",
            lambda: list(self.learning_links.select_related("learning").order_by("-said_at", "-id")[:limit]),
        )

    def months(self) -> list[Month]:
        return self._once(
            "months", lambda: _demand(self.links, workspace_tz(self.actor.workspace), self.totals()["first_said"])
        )


def rollup(*, actor: Actor, target_type: str, target_id: int, quotes: int = 5, segment_labels=None) -> Rollup:
    """Everything at once: unique accounts, their ARR (each account once), segments, personas,
    newest and strongest quotes, and demand per month."""
    parts = RollupParts(actor, target_type, target_id, quotes=quotes, segment_labels=segment_labels)
    totals = parts.totals()
    if not totals["count"]:
        return Rollup()
    accounts = parts.accounts()
    return Rollup(
        count=totals["count"],
        accounts=accounts["accounts"],
        arr=accounts["arr"],
        by_segment=accounts["by_segment"],
        by_persona=parts.by_persona(),
        newest=parts.newest(),
        strongest=parts.strongest(),
        months=parts.months(),
        by_importance=totals["by_importance"],
    )


# --- closing the loop -------------------------------------------------------------------------


@dataclass
class Requester:
    contact_id: int
    name: str
    email: str
    customer_id: int | None
    customer_name: str
    unsubscribed: bool = False
    told_at: dt.datetime | None = None
    items: int = 0

    @property
    def label(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass
class Requesters:
    reachable: list[Requester] = field(default_factory=list)  # not yet told, can be emailed
    already_told: list[Requester] = field(default_factory=list)
    unsubscribed: list[Requester] = field(default_factory=list)
    without_email: int = 0

    @property
    def total(self) -> int:
        return len(self.reachable) + len(self.already_told) + len(self.unsubscribed)


def requesters(*, actor: Actor, feature_id: int, count_items: bool = True) -> Requesters:
    """The people who asked for a feature: contacts of its feedback evidence and participants of the
    interviews behind its highlight evidence; one entry per email address (case-insensitive).
    Unsubscribed people are listed apart (never emailed); so are those already told.
    ``count_items=False`` skips counting each person's linked items (cheaper, for summaries)."""
    from valueloop.customers.facade import Contact
    from valueloop.research.facade import participants_of_highlights

    actor.require(Scope.WORKSPACE_READ)
    links = _targets(actor, "feature", feature_id).order_by()
    with_contact = links.exclude(feedback__contact=None)
    if count_items:
        items_by_contact: dict[int, int] = {
            row["feedback__contact_id"]: row["n"]
            for row in with_contact.values("feedback__contact_id").annotate(n=Count("id"))
        }
    else:
        items_by_contact = dict.fromkeys(with_contact.values_list("feedback__contact_id", flat=True).distinct(), 0)
    highlight_ids = list(links.exclude(highlight=None).values_list("highlight_id", flat=True))
    for _highlight, contact_id in participants_of_highlights(actor.workspace, highlight_ids):
        items_by_contact[contact_id] = items_by_contact.get(contact_id, 0) + 1
    result = Requesters()
    if not items_by_contact:
        return result
    told: dict[str, dt.datetime] = {}
    for email, sent_at, created_at in (
        LoopNotification.objects.filter(workspace=actor.workspace, feature_id=feature_id)
        .exclude(status="failed")
        .values_list("email", "sent_at", "created_at")
    ):
        key = email.lower()
        when = sent_at or created_at
        if key not in told or when > told[key]:
            told[key] = when
    by_email: dict[str, Requester] = {}
    rows = (
        Contact.objects.filter(workspace=actor.workspace, pk__in=list(items_by_contact))
        .order_by("id")
        .values_list("id", "name", "email", "unsubscribed_at", "customer_id", "customer__name")
    )
    for pk, name, email, unsubscribed_at, customer_id, customer_name in rows:
        email = (email or "").strip()
        if not email:
            result.without_email += 1
            continue
        key = email.lower()
        existing = by_email.get(key)
        if existing:
            existing.items += items_by_contact.get(pk, 0)
            existing.unsubscribed = existing.unsubscribed or unsubscribed_at is not None
            continue
        by_email[key] = Requester(
            contact_id=pk,
            name=name,
            email=email,
            customer_id=customer_id,
            customer_name=customer_name or "",
            unsubscribed=unsubscribed_at is not None,
            told_at=told.get(key),
            items=items_by_contact.get(pk, 0),
        )
    for requester in sorted(by_email.values(), key=lambda r: (r.customer_name.lower(), r.name.lower(), r.email)):
        if requester.unsubscribed:
            result.unsubscribed.append(requester)
        elif requester.told_at:
            result.already_told.append(requester)
        else:
            result.reachable.append(requester)
    return result


def notification_list(*, actor: Actor, feature_id: int | None = None) -> QuerySet[LoopNotification]:
    actor.require(Scope.WORKSPACE_READ)
    query = LoopNotification.objects.filter(workspace=actor.workspace).select_related("contact", "created_by")
    if feature_id:
        query = query.filter(feature_id=feature_id)
    return query.order_by("-created_at", "-id")
