"""Reads for the feedback inbox. Every query starts from the actor's workspace.

Invariants:
- An id of another workspace is NotFound (404) before any role check (403).
- Lists never run a query per row: customer and contact are joined, tags prefetched.
- Search ranks matches (FTS5 bm25 on SQLite, ts_rank on PostgreSQL; see ``search.py``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils.dateparse import parse_date

from valueloop.core.entities import EntityRef
from valueloop.core.errors import NotFound
from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor

from . import search
from .models import IMPORTANCE, SOURCES, STATUSES, FeedbackItem, SavedView, Tag

SOURCE_KEYS = [k for k, _ in SOURCES]
STATUS_KEYS = [k for k, _ in STATUSES]
IMPORTANCE_KEYS = [k for k, _ in IMPORTANCE if k]
# ARR bands over customer.arr_base (workspace currency): key, label, lower bound (incl.), upper (excl.)
ARR_BANDS: list[tuple[str, str, int | None, int | None]] = [
    ("lt10k", "Under 10k", None, 10_000),
    ("10k_50k", "10k–50k", 10_000, 50_000),
    ("50k_250k", "50k–250k", 50_000, 250_000),
    ("250k_1m", "250k–1M", 250_000, 1_000_000),
    ("1m_plus", "1M and more", 1_000_000, None),
]
ARR_BAND_KEYS = [band[0] for band in ARR_BANDS]
SORTS = ["relevance", "newest", "oldest"]


def _segment_keys() -> list[str]:
    from valueloop.customers.facade import SEGMENTS

    return [key for key, _ in SEGMENTS]


@dataclass
class FeedbackFilters:
    """The inbox filters; also what a saved view stores (as a query string)."""

    q: str = ""
    status: str = ""
    source: str = ""
    tag: str = ""
    segment: str = ""
    arr_band: str = ""
    customer: int | None = None
    importance: str = ""
    persona: int | None = None
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    sort: str = ""

    @classmethod
    def from_query(cls, data) -> FeedbackFilters:
        """Lenient parse of a query string / QueryDict: values we do not know are dropped."""

        def get(name: str) -> str:
            value = data.get(name, "") if hasattr(data, "get") else ""
            return (value or "").strip()[:200]

        def number(name: str) -> int | None:
            value = get(name)
            return int(value) if value.isdigit() and 0 < int(value) < 2**62 else None

        def day(name: str) -> dt.date | None:
            try:
                return parse_date(get(name))
            except ValueError:
                return None

        def choice(name: str, allowed: list[str]) -> str:
            value = get(name)
            return value if value in allowed else ""

        return cls(
            q=get("q"),
            status=choice("status", [*STATUS_KEYS, "all"]),
            source=choice("source", SOURCE_KEYS),
            tag=get("tag")[:60],
            segment=choice("segment", _segment_keys()),
            arr_band=choice("arr_band", ARR_BAND_KEYS),
            customer=number("customer"),
            importance=choice("importance", [*IMPORTANCE_KEYS, "none"]),
            persona=number("persona"),
            received_from=day("received_from"),
            received_to=day("received_to"),
            sort=choice("sort", SORTS),
        )

    def as_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in (None, ""):
                params[f.name] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return params

    def querystring(self, **overrides: Any) -> str:
        params = self.as_params()
        for key, value in overrides.items():
            if value in (None, ""):
                params.pop(key, None)
            else:
                params[key] = str(value)
        return urlencode(params)

    def list_kwargs(self) -> dict[str, Any]:
        data = asdict(self)
        data["customer_id"] = data.pop("customer")
        data["persona_id"] = data.pop("persona")
        return data

    @property
    def has_any(self) -> bool:
        return any(v not in (None, "") for k, v in self.as_params().items() if k not in ("status", "sort"))


def access_feedback(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ, for_update: bool = False):
    queryset = FeedbackItem.objects.filter(workspace=actor.workspace, pk=id)
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    item = queryset.select_related("customer", "contact", "created_by").first()
    if item is None:
        raise NotFound("No such feedback item in this workspace.")
    actor.require(scope)
    return item


def _day_start(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def _workspace_tz(workspace) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(workspace.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _filtered(
    actor: Actor,
    *,
    q: str = "",
    status: str = "",
    source: str = "",
    tag: str = "",
    segment: str = "",
    arr_band: str = "",
    customer_id: int | None = None,
    importance: str = "",
    persona_id: int | None = None,
    received_from: dt.date | None = None,
    received_to: dt.date | None = None,
) -> QuerySet:
    queryset = FeedbackItem.objects.filter(workspace=actor.workspace)
    if status and status != "all":
        queryset = queryset.filter(status=status)
    if source:
        queryset = queryset.filter(source=source)
    if tag:
        queryset = queryset.filter(tags__workspace=actor.workspace, tags__name=tag.strip().lower())
    if segment:
        queryset = queryset.filter(customer__segment=segment)
    if arr_band:
        band = next((b for b in ARR_BANDS if b[0] == arr_band), None)
        if band is not None:
            _, _, low, high = band
            queryset = queryset.filter(customer__isnull=False)
            if low is not None:
                queryset = queryset.filter(customer__arr_base__gte=Decimal(low))
            if high is not None:
                queryset = queryset.filter(customer__arr_base__lt=Decimal(high))
    if customer_id:
        queryset = queryset.filter(customer_id=customer_id)
    if importance:
        queryset = queryset.filter(importance="" if importance == "none" else importance)
    if persona_id:
        queryset = queryset.filter(personas__id=persona_id)
    tz = _workspace_tz(actor.workspace)
    if received_from:
        queryset = queryset.filter(received_at__gte=_day_start(received_from, tz))
    if received_to:
        queryset = queryset.filter(received_at__lt=_day_start(received_to + dt.timedelta(days=1), tz))
    if q and q.strip():
        queryset = search.apply_search(queryset, q)
    return queryset


def feedback_list(*, actor: Actor, sort: str = "", **filters: Any) -> QuerySet:
    """Feedback items matching the filters, newest first, or best match first when searching."""
    actor.require(Scope.WORKSPACE_READ)
    queryset = _filtered(actor, **filters)
    searching = bool((filters.get("q") or "").strip())
    if searching and sort in ("", "relevance"):
        queryset = search.order_by_rank(queryset)
    elif sort == "oldest":
        queryset = queryset.order_by("received_at", "id")
    else:
        queryset = queryset.order_by("-received_at", "-id")
    return queryset.select_related("customer", "contact").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name"))
    )


def feedback_status_counts(*, actor: Actor, **filters: Any) -> dict[str, int]:
    """Items per status for the filters (the status filter itself is ignored), plus "all"."""
    actor.require(Scope.WORKSPACE_READ)
    filters.pop("status", None)
    filters.pop("sort", None)
    rows = _filtered(actor, **filters).order_by().values_list("status").annotate(n=Count("id"))
    counts = dict.fromkeys(STATUS_KEYS, 0)
    for status, n in rows:
        counts[status] = n
    counts["all"] = sum(counts[k] for k in STATUS_KEYS)
    return counts


def feedback_get_many(*, actor: Actor, ids: list[int]) -> list[FeedbackItem]:
    """The items of ``ids`` in this workspace (unknown ids are simply absent), in id order."""
    actor.require(Scope.WORKSPACE_READ)
    return list(
        FeedbackItem.objects.filter(workspace=actor.workspace, pk__in=list(ids)[:10000])
        .select_related("customer", "contact")
        .order_by("id")
    )


def feedback_for_customer(*, actor: Actor, customer_id: int, limit: int = 200) -> list[FeedbackItem]:
    actor.require(Scope.WORKSPACE_READ)
    return list(
        FeedbackItem.objects.filter(workspace=actor.workspace, customer_id=customer_id)
        .select_related("contact")
        .prefetch_related("tags")
        .order_by("-received_at", "-id")[:limit]
    )


def tag_list(*, actor: Actor, with_counts: bool = False) -> QuerySet:
    actor.require(Scope.WORKSPACE_READ)
    queryset = Tag.objects.filter(workspace=actor.workspace).order_by("name")
    if with_counts:
        queryset = queryset.annotate(item_count=Count("feedback"))
    return queryset


def access_tag(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ) -> Tag:
    tag = Tag.objects.filter(workspace=actor.workspace, pk=id).first()
    if tag is None:
        raise NotFound("No such tag in this workspace.")
    actor.require(scope)
    return tag


def saved_view_list(*, actor: Actor) -> QuerySet:
    """The actor's own views and the ones shared with the workspace."""
    actor.require(Scope.WORKSPACE_READ)
    return (
        SavedView.objects.filter(workspace=actor.workspace)
        .filter(Q(owner=actor.user) | Q(shared=True))
        .select_related("owner")
        .order_by("name", "id")
    )


def access_saved_view(*, actor: Actor, id: int, own: bool = False) -> SavedView:
    """A view the actor can see (theirs, or shared); ``own`` demands that it is theirs (or admin)."""
    view = (
        SavedView.objects.filter(workspace=actor.workspace, pk=id)
        .filter(Q(owner=actor.user) | Q(shared=True))
        .select_related("owner")
        .first()
    )
    if view is None:
        raise NotFound("No such saved view.")
    actor.require(Scope.WORKSPACE_READ)
    if own and view.owner_id != getattr(actor.user, "pk", None) and not actor.can(Scope.WORKSPACE_MANAGE):
        from valueloop.core.errors import PermissionDenied

        raise PermissionDenied("Only the person who saved this view (or an admin) can change it.")
    return view


def filter_choices(*, actor: Actor) -> dict[str, Any]:
    """Everything the inbox filter bar offers, in a fixed number of queries."""
    from valueloop.customers import facade as customers

    return {
        "sources": SOURCES,
        "statuses": STATUSES,
        "importances": [(k, label) for k, label in IMPORTANCE if k] + [("none", "Not stated")],
        "segments": customers.SEGMENTS,
        "arr_bands": [(key, label) for key, label, _, _ in ARR_BANDS],
        "tags": list(tag_list(actor=actor).values_list("name", flat=True)[:500]),
        "personas": customers.persona_choices(actor=actor),
    }


def customer_names(*, actor: Actor, limit: int = 2000) -> list[str]:
    """Customer names for the "assign customer" picker."""
    from valueloop.customers import facade as customers

    return [name for _, name in customers.customer_choices(actor=actor)[:limit]]


def customer_label(*, actor: Actor, customer_id: int | None) -> str:
    from valueloop.customers import facade as customers

    if not customer_id:
        return ""
    try:
        return customers.access_customer(actor=actor, id=customer_id).name
    except NotFound:
        return ""


def feedback_ref(workspace, entity_id: int) -> EntityRef | None:
    item = FeedbackItem.objects.filter(workspace=workspace, pk=entity_id).only("title", "text").first()
    if item is None:
        return None
    return EntityRef("feedback", item.pk, str(item), reverse("feedback:item_detail", args=[workspace.slug, item.pk]))
