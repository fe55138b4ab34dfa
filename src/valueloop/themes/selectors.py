"""Reads for themes: lists with their metrics, a theme's detail, its items, emerging themes, runs, and what the
weekly digest says (recording and sending it are writes, in services).

Invariants: every query starts from ``actor.workspace``; an id of another workspace is NotFound
(checked before the role, so it answers 404, never 403). Metrics are a fixed number of grouped
queries whatever the number of items (no per-theme or per-item queries); ARR counts each account
once (``arr_base``, the workspace currency), archived accounts count as accounts without ARR, as in
every other roll-up of the product.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from valueloop.core.entities import EntityRef
from valueloop.core.errors import NotFound
from valueloop.core.permissions import Role, Scope
from valueloop.core.selectors import access_row
from valueloop.core.tenancy import Actor

from .models import ItemEmbedding, Theme, ThemeAssignment, ThemeDigest, ThemeRun
from .runs import money_formatter, state_for, workspace_tz
from .text import sentiment

SPARK_WEEKS = 12
CHART_WEEKS = 26
TREND_DAYS = 28
SORTS = {
    "volume": "Most mentioned",
    "arr": "Most ARR behind it",
    "growth": "Growing fastest",
    "accounts": "Most accounts",
    "name": "Name",
}
SOURCE_LABELS = {
    "support": "Support ticket",
    "sales_call": "Sales call",
    "interview": "Interview",
    "survey": "Survey",
    "review": "Review",
    "in_app": "In-app",
    "email": "Email",
    "other": "Other",
    "highlight": "Interview highlight",
}


def access_theme(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ, for_update: bool = False) -> Theme:
    return access_row(Theme, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Theme not found.")


def access_item(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ) -> ItemEmbedding:
    item = ItemEmbedding.objects.filter(workspace=actor.workspace, pk=id).select_related("assignment").first()
    if item is None:
        raise NotFound("Item not found.")
    actor.require(scope)
    return item


def theme_ref(workspace, entity_id: int) -> EntityRef | None:
    theme = Theme.objects.filter(workspace=workspace, pk=entity_id).only("name").first()
    if theme is None:
        return None
    return EntityRef("theme", theme.pk, theme.name, reverse("themes:theme_detail", args=[workspace.slug, theme.pk]))


def digest_ref(workspace, entity_id: int) -> EntityRef | None:
    """The weekly digest as an entity, so its in-app notification opens the digest page."""
    digest = ThemeDigest.objects.filter(workspace=workspace, pk=entity_id).only("week").first()
    if digest is None:
        return None
    label = f"Themes digest {digest.week}"
    return EntityRef("theme_digest", digest.pk, label, reverse("themes:digest", args=[workspace.slug]))


# --- metrics -------------------------------------------------------------------------------------


@dataclass
class Metrics:
    items: int = 0
    accounts: int = 0
    arr: Decimal = Decimal("0")
    weekly: list[int] = field(default_factory=lambda: [0] * SPARK_WEEKS)
    recent: int = 0  # items in the last TREND_DAYS days
    previous: int = 0  # items in the TREND_DAYS days before
    recent_arr: Decimal = Decimal("0")  # ARR of the accounts that spoke in the recent window
    previous_arr: Decimal = Decimal("0")

    @property
    def growth(self) -> float | None:
        """Recent over previous window, minus one (0.5 = +50%); None without a previous window."""
        if not self.previous:
            return None if not self.recent else float("inf")
        return self.recent / self.previous - 1

    @property
    def trend(self) -> str:
        g = self.growth
        if g is None:
            return "flat"
        return "up" if g > 0.2 else "down" if g < -0.2 else "flat"

    @property
    def growth_label(self) -> str:
        g = self.growth
        if g is None:
            return "no recent mentions"
        if g == float("inf"):
            return f"new: {self.recent} in {TREND_DAYS} days"
        return f"{g:+.0%} vs the {TREND_DAYS} days before"


def _week_starts(today: dt.date, weeks: int) -> list[dt.date]:
    monday = today - dt.timedelta(days=today.weekday())
    return [monday - dt.timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def _bucket(tz, starts: list[dt.date], field_name: str):
    bounds = [dt.datetime.combine(d, dt.time(), tzinfo=tz) for d in starts]
    bounds.append(bounds[-1] + dt.timedelta(days=7))
    return bounds, Case(
        *[When(**{f"{field_name}__lt": bounds[i + 1]}, then=Value(i)) for i in range(len(starts))],
        default=Value(-1),
        output_field=IntegerField(),
    )


def theme_metrics(*, actor: Actor, theme_ids, weeks: int = SPARK_WEEKS) -> dict[int, Metrics]:
    """Metrics of these themes (of the actor's workspace): four grouped queries in all."""
    ws = actor.workspace
    ids = list(theme_ids)
    out = {pk: Metrics(weekly=[0] * weeks) for pk in ids}
    if not ids:
        return out
    tz = workspace_tz(ws)
    now = timezone.now()
    recent_start = now - dt.timedelta(days=TREND_DAYS)
    previous_start = now - dt.timedelta(days=2 * TREND_DAYS)
    base = ThemeAssignment.objects.filter(workspace=ws, theme_id__in=ids).order_by()
    in_recent = Q(item__said_at__gte=recent_start)
    in_previous = Q(item__said_at__gte=previous_start, item__said_at__lt=recent_start)
    for row in base.values("theme_id").annotate(
        n=Count("id"), recent=Count("id", filter=in_recent), previous=Count("id", filter=in_previous)
    ):
        m = out[row["theme_id"]]
        m.items, m.recent, m.previous = row["n"], row["recent"], row["previous"]
    for row in (
        base.exclude(item__customer=None)
        .values("theme_id", "item__customer_id", "item__customer__arr_base", "item__customer__archived_at")
        .annotate(recent=Count("id", filter=in_recent), previous=Count("id", filter=in_previous))
    ):
        m = out[row["theme_id"]]
        arr = Decimal("0") if row["item__customer__archived_at"] else (row["item__customer__arr_base"] or Decimal("0"))
        m.accounts += 1
        m.arr += arr
        if row["recent"]:
            m.recent_arr += arr
        if row["previous"]:
            m.previous_arr += arr
    today = now.astimezone(tz).date()
    bounds, bucket = _bucket(tz, _week_starts(today, weeks), "item__said_at")
    for row in (
        base.filter(item__said_at__gte=bounds[0], item__said_at__lt=bounds[-1])
        .annotate(bucket=bucket)
        .values("theme_id", "bucket")
        .annotate(n=Count("id"))
    ):
        if row["bucket"] >= 0:
            out[row["theme_id"]].weekly[row["bucket"]] = row["n"]
    return out


@dataclass
class ThemeRow:
    theme: Theme
    metrics: Metrics


def theme_list(*, actor: Actor, q: str = "", status: str = "active", sort: str = "volume") -> list[ThemeRow]:
    """Themes with their metrics, sorted (in Python: ARR and growth are computed, not stored)."""
    actor.require(Scope.WORKSPACE_READ)
    query = Theme.objects.filter(workspace=actor.workspace)
    if status in ("active", "merged", "archived"):
        query = query.filter(status=status)
    q = (q or "").strip()[:200]
    if q:
        # Keyphrases are a JSON list; matching their text form is enough for a search box.
        query = query.filter(Q(name__icontains=q) | Q(keyphrases__icontains=q))
    themes = list(query.select_related("problem", "merged_into").order_by("id"))
    metrics = theme_metrics(actor=actor, theme_ids=[t.pk for t in themes])
    rows = [ThemeRow(t, metrics[t.pk]) for t in themes]
    keys = {
        "volume": lambda r: (-r.metrics.items, r.theme.pk),
        "arr": lambda r: (-r.metrics.arr, -r.metrics.items, r.theme.pk),
        "accounts": lambda r: (-r.metrics.accounts, -r.metrics.items, r.theme.pk),
        "growth": lambda r: (
            not r.theme.emerging,
            -(r.metrics.growth if r.metrics.growth is not None else -1e9),
            -r.metrics.recent,
            r.theme.pk,
        ),
        "name": lambda r: (r.theme.name.lower(), r.theme.pk),
    }
    rows.sort(key=keys.get(sort, keys["volume"]))
    # Pinned themes first: the PM pinned them to watch them.
    rows.sort(key=lambda r: not r.theme.pinned)
    return rows


def theme_choices(*, actor: Actor, exclude: int | None = None) -> list[tuple[int, str]]:
    query = Theme.objects.filter(workspace=actor.workspace, status="active").order_by("name", "id")
    if exclude:
        query = query.exclude(pk=exclude)
    return list(query.values_list("id", "name"))


# --- one theme -----------------------------------------------------------------------------------


@dataclass
class Quote:
    item_id: int
    text: str
    source: str
    source_label: str
    customer_name: str
    said_at: dt.datetime
    href: str


def _quote(actor: Actor, item: ItemEmbedding, limit: int = 400) -> Quote:
    slug = actor.workspace.slug
    if item.feedback_id:
        fb = item.feedback
        text = (f"{fb.title}. {fb.text}" if fb.title else fb.text) if fb else ""
        source = fb.source if fb else "other"
        href = reverse("feedback:item_detail", args=[slug, item.feedback_id])
    else:
        from valueloop.research.facade import plain_quote

        hl = item.highlight
        text = plain_quote(hl.text) if hl else ""
        source = "highlight"
        href = reverse("research:interview_detail", args=[slug, hl.interview_id]) if hl else ""
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return Quote(
        item_id=item.pk,
        text=text,
        source=source,
        source_label=SOURCE_LABELS.get(source, source),
        customer_name=item.customer.name if item.customer_id and item.customer else "",
        said_at=item.said_at,
        href=href,
    )


def _items_query(actor: Actor):
    return ItemEmbedding.objects.filter(workspace=actor.workspace).select_related(
        "feedback", "highlight", "customer", "assignment"
    )


def representative_quotes(*, actor: Actor, theme: Theme, limit: int = 3) -> list[Quote]:
    ids = [int(i) for i in (theme.representatives or [])[:limit]]
    items = {i.pk: i for i in _items_query(actor).filter(pk__in=ids, assignment__theme=theme)}
    return [_quote(actor, items[i]) for i in ids if i in items]


def theme_items(*, actor: Actor, theme: Theme, q: str = ""):
    """The theme's items, newest first (a queryset of ThemeAssignment, for a Paginator)."""
    query = (
        ThemeAssignment.objects.filter(workspace=actor.workspace, theme=theme)
        .select_related("item", "item__feedback", "item__highlight", "item__customer")
        .order_by("-item__said_at", "-id")
    )
    q = (q or "").strip()[:200]
    if q:
        query = query.filter(
            Q(item__feedback__text__icontains=q)
            | Q(item__feedback__title__icontains=q)
            | Q(item__highlight__text__icontains=q)
            | Q(item__customer__name__icontains=q)
        )
    return query


def quotes_for(actor: Actor, assignments) -> list[tuple[ThemeAssignment, Quote]]:
    return [(a, _quote(actor, a.item, limit=600)) for a in assignments]


def _segment_labels() -> dict[str, str]:
    from valueloop.customers.facade import Customer

    field_ = Customer._meta.get_field("segment")
    return dict(field_.choices or [])


def theme_breakdowns(*, actor: Actor, theme: Theme) -> dict:
    """Segments (accounts and ARR, each account once), personas, sources and approximate sentiment."""
    ws = actor.workspace
    base = ThemeAssignment.objects.filter(workspace=ws, theme=theme).order_by()
    labels = _segment_labels()
    seg: dict[str, dict] = defaultdict(lambda: {"accounts": 0, "arr": Decimal("0"), "items": 0})
    for row in base.values(
        "item__customer_id", "item__customer__segment", "item__customer__arr_base", "item__customer__archived_at"
    ).annotate(n=Count("id")):
        key = row["item__customer__segment"] or ("" if row["item__customer_id"] else "none")
        s = seg[key]
        s["items"] += row["n"]
        if row["item__customer_id"]:
            s["accounts"] += 1
            if not row["item__customer__archived_at"]:
                s["arr"] += row["item__customer__arr_base"] or Decimal("0")
    segments = sorted(
        (
            {
                "segment": key,
                "label": "No account" if key == "none" else labels.get(key) or "No segment",
                **values,
            }
            for key, values in seg.items()
        ),
        key=lambda s: (-s["arr"], -s["items"]),
    )
    sources = Counter()
    for row in base.values("item__source", "item__feedback__source").annotate(n=Count("id")):
        key = row["item__feedback__source"] if row["item__source"] == "feedback" else "highlight"
        sources[key or "other"] += row["n"]
    from valueloop.feedback.facade import FeedbackItem

    through = FeedbackItem.personas.through
    personas = [
        {"label": row["persona__name"], "items": row["n"]}
        for row in through.objects.filter(
            feedbackitem_id__in=base.exclude(item__feedback=None).values("item__feedback_id")
        )
        .values("persona__name")
        .annotate(n=Count("feedbackitem_id"))
        .order_by("-n", "persona__name")[:12]
    ]
    # Sentiment on (at most) the 400 newest items: cheap, and enough for a share.
    tone = Counter()
    for title, text, highlight in base.order_by("-item__said_at").values_list(
        "item__feedback__title", "item__feedback__text", "item__highlight__text"
    )[:400]:
        tone[sentiment(" ".join(x for x in (title, text, highlight) if x))] += 1
    total = sum(tone.values())
    return {
        "segments": segments,
        "sources": [{"label": SOURCE_LABELS.get(k, k), "key": k, "items": n} for k, n in sources.most_common()],
        "personas": personas,
        "sentiment": {
            "negative": tone[-1],
            "neutral": tone[0],
            "positive": tone[1],
            "total": total,
            "negative_share": tone[-1] / total if total else 0,
            "positive_share": tone[1] / total if total else 0,
        },
    }


def weekly_volume(*, actor: Actor, theme: Theme, weeks: int = CHART_WEEKS) -> list[tuple[dt.date, int, int]]:
    """(week start, items, unique accounts) for the last ``weeks`` weeks."""
    tz = workspace_tz(actor.workspace)
    starts = _week_starts(timezone.now().astimezone(tz).date(), weeks)
    bounds, bucket = _bucket(tz, starts, "item__said_at")
    counts = {
        row["bucket"]: row
        for row in ThemeAssignment.objects.filter(
            workspace=actor.workspace, theme=theme, item__said_at__gte=bounds[0], item__said_at__lt=bounds[-1]
        )
        .order_by()
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(n=Count("id"), accounts=Count("item__customer_id", distinct=True))
    }
    return [(d, counts.get(i, {}).get("n", 0), counts.get(i, {}).get("accounts", 0)) for i, d in enumerate(starts)]


def run_list(*, actor: Actor, limit: int = 20) -> list[ThemeRun]:
    actor.require(Scope.WORKSPACE_READ)
    return list(ThemeRun.objects.filter(workspace=actor.workspace).select_related("started_by")[:limit])


def runs_query(*, actor: Actor):
    actor.require(Scope.WORKSPACE_READ)
    return ThemeRun.objects.filter(workspace=actor.workspace).order_by("-started_at", "-id")


def running_recluster(*, actor: Actor) -> ThemeRun | None:
    cutoff = timezone.now() - dt.timedelta(hours=2)  # a run older than this died with its worker
    return (
        ThemeRun.objects.filter(workspace=actor.workspace, kind="recluster", status="running", started_at__gte=cutoff)
        .order_by("-started_at")
        .first()
    )


def overview(*, actor: Actor) -> dict:
    """Counts for the list page's header: embedded, in themes, waiting, skipped by reason."""
    ws = actor.workspace
    items = ItemEmbedding.objects.filter(workspace=ws)
    skipped = dict(
        items.exclude(skip_reason__in=["", "duplicate"])
        .values("skip_reason")
        .annotate(n=Count("id"))
        .values_list("skip_reason", "n")
    )
    state = state_for(ws)
    return {
        "embedded": items.exclude(dimension=0).count(),
        "in_themes": ThemeAssignment.objects.filter(workspace=ws, theme__status="active").count(),
        "waiting": items.filter(skip_reason="", assignment__isnull=True).exclude(dimension=0).count(),
        "duplicates": items.filter(skip_reason="duplicate").count(),
        "skipped": sorted(skipped.items(), key=lambda kv: -kv[1]),
        "skipped_total": sum(skipped.values()),
        "last_recluster": state.last_recluster_at,
        "next_recluster": state.next_recluster_at,
        "running": running_recluster(actor=actor),
        "last_run": ThemeRun.objects.filter(workspace=ws).order_by("-started_at", "-id").first(),
    }


def skipped_items(*, actor: Actor, reason: str = ""):
    query = _items_query(actor).exclude(skip_reason__in=["", "duplicate"]).order_by("-said_at", "-id")
    if reason:
        query = query.filter(skip_reason=reason)
    return query


def theme_of_feedback(*, actor: Actor, feedback_id: int) -> Theme | None:
    assignment = (
        ThemeAssignment.objects.filter(workspace=actor.workspace, item__feedback_id=feedback_id)
        .select_related("theme")
        .first()
    )
    return assignment.theme if assignment else None


def item_status_for_feedback(*, actor: Actor, feedback_id: int) -> dict:
    """For the feedback item page: its theme, or why it has none."""
    item = ItemEmbedding.objects.filter(workspace=actor.workspace, feedback_id=feedback_id).first()
    if item is None:
        return {"state": "pending"}
    theme = theme_of_feedback(actor=actor, feedback_id=feedback_id)
    if theme is not None:
        while theme.status == "merged" and theme.merged_into_id:
            theme = theme.merged_into
        return {"state": "theme", "theme": theme}
    if item.skip_reason and item.skip_reason != "duplicate":
        return {"state": "skipped", "reason": item.skip_reason}
    return {"state": "waiting"}


# --- emerging ------------------------------------------------------------------------------------


def emerging_themes(*, actor: Actor) -> list[ThemeRow]:
    actor.require(Scope.WORKSPACE_READ)
    themes = list(
        Theme.objects.filter(workspace=actor.workspace, status="active", emerging=True).select_related("problem")
    )
    themes.sort(key=lambda t: (t.emerging_stats.get("q_value", 1), -(t.emerging_stats.get("arr") or 0), t.pk))
    metrics = theme_metrics(actor=actor, theme_ids=[t.pk for t in themes], weeks=14)
    return [ThemeRow(t, metrics[t.pk]) for t in themes]


def watch_list(*, actor: Actor, limit: int = 5) -> list[Theme]:
    """Themes rising but not (yet) significant: the runners-up, for the Signals page."""
    themes = Theme.objects.filter(workspace=actor.workspace, status="active", emerging=False).exclude(emerging_stats={})
    rising = [t for t in themes if (t.emerging_stats.get("growth") or 0) > 1.5 and t.emerging_stats.get("mentions")]
    rising.sort(key=lambda t: t.emerging_stats.get("q_value", 1))
    return rising[:limit]


def recent_mentions(*, actor: Actor, theme: Theme, days: int = 14, limit: int = 20) -> list[Quote]:
    since = timezone.now() - dt.timedelta(days=days)
    items = _items_query(actor).filter(assignment__theme=theme, said_at__gte=since).order_by("-said_at", "-id")
    return [_quote(actor, i, limit=240) for i in items[:limit]]


def digests(*, actor: Actor, limit: int = 8) -> list[ThemeDigest]:
    return list(ThemeDigest.objects.filter(workspace=actor.workspace).order_by("-week")[:limit])


# --- API shapes ----------------------------------------------------------------------------------


def theme_payload(theme: Theme, m: Metrics) -> dict:
    growth = m.growth
    return {
        "id": theme.pk,
        "name": theme.name,
        "name_set_by_pm": theme.name_set_by_pm,
        "keyphrases": list(theme.keyphrases or []),
        "pinned": theme.pinned,
        "status": theme.status,
        "merged_into_id": theme.merged_into_id,
        "problem_id": theme.problem_id,
        "items": m.items,
        "accounts": m.accounts,
        "arr": float(m.arr),
        "recent_items": m.recent,
        "growth": None if growth is None or growth == float("inf") else round(growth, 4),
        "emerging": theme.emerging,
        "emerging_explanation": theme.emerging_explanation,
        "weekly": m.weekly,
        "created_at": theme.created_at,
        "updated_at": theme.updated_at,
        "version": theme.version,
    }


def theme_page_payload(*, actor: Actor, q: str, status: str, sort: str) -> list[dict]:
    return [theme_payload(r.theme, r.metrics) for r in theme_list(actor=actor, q=q, status=status, sort=sort)]


def theme_detail_payload(*, actor: Actor, theme_id: int) -> dict:
    theme = access_theme(actor=actor, id=theme_id)
    metrics = theme_metrics(actor=actor, theme_ids=[theme.pk])[theme.pk]
    parts = theme_breakdowns(actor=actor, theme=theme)
    tone = parts["sentiment"]
    return {
        **theme_payload(theme, metrics),
        "representative_quotes": [q.__dict__ for q in representative_quotes(actor=actor, theme=theme)],
        "volume": [{"week": w, "items": n, "accounts": a} for w, n, a in weekly_volume(actor=actor, theme=theme)],
        "segments": [
            {"label": s["label"], "items": s["items"], "accounts": s["accounts"], "arr": float(s["arr"])}
            for s in parts["segments"]
        ],
        "personas": [{"label": p["label"], "items": p["items"]} for p in parts["personas"]],
        "sources": [{"label": s["label"], "items": s["items"]} for s in parts["sources"]],
        "sentiment": {"negative": tone["negative"], "neutral": tone["neutral"], "positive": tone["positive"]},
    }


def item_payload(actor: Actor, assignment_or_item) -> dict:
    if isinstance(assignment_or_item, ThemeAssignment):
        assignment, item = assignment_or_item, assignment_or_item.item
    else:
        item = assignment_or_item
        assignment = getattr(item, "assignment", None)
    quote = _quote(actor, item, limit=2000)
    return {
        "id": item.pk,
        "source": item.source,
        "feedback_id": item.feedback_id,
        "highlight_id": item.highlight_id,
        "theme_id": assignment.theme_id if assignment else None,
        "placed_by": assignment.placed_by if assignment else None,
        "similarity": round(assignment.similarity, 4) if assignment else None,
        "said_at": item.said_at,
        "customer_id": item.customer_id,
        "text": quote.text,
    }


def emerging_payload(*, actor: Actor) -> list[dict]:
    out = []
    for row in emerging_themes(actor=actor):
        stats = row.theme.emerging_stats or {}
        out.append(
            {
                "theme_id": row.theme.pk,
                "name": row.theme.name,
                "explanation": row.theme.emerging_explanation,
                "mentions": int(stats.get("mentions", 0)),
                "accounts": int(stats.get("accounts", 0)),
                "arr": float(stats.get("arr", 0)),
                "expected_mentions": float(stats.get("expected_mentions", 0)),
                "growth": stats.get("growth"),
                "q_value": float(stats.get("q_value", 1)),
                "window_days": int(stats.get("window_days", 14)),
            }
        )
    return out


def theme_summary_payload(*, actor: Actor, theme: Theme) -> dict:
    return theme_payload(theme, theme_metrics(actor=actor, theme_ids=[theme.pk])[theme.pk])


def split_payload(preview) -> dict:
    return {
        "theme_id": preview.theme.pk,
        "token": preview.token,
        "parts": [
            {"size": p.size, "name": p.name, "keyphrases": p.keyphrases, "item_ids": p.item_ids} for p in preview.parts
        ],
    }


# --- the weekly digest (its content; recording and sending it are writes, in services) -------------------

# A theme "grew" when the ARR behind its recent mentions is at least this many times that of the four weeks before.
ARR_GREW_FACTOR = Decimal("1.25")


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def system_actor(workspace) -> Actor:
    return Actor(user=None, workspace=workspace, role=Role.ADMIN, via="system")


def digest_content(workspace, *, today: dt.date | None = None) -> dict:
    """What this week's digest says: emerging themes, and themes whose revenue weight grew (the ARR of
    the accounts that mentioned them in the last four weeks against the four weeks before)."""
    actor = system_actor(workspace)
    tz = workspace_tz(workspace)
    today = today or timezone.now().astimezone(tz).date()
    base = settings.VALUELOOP_PUBLIC_URL.rstrip("/")
    slug = workspace.slug
    money = money_formatter(workspace)
    emerging = [
        {
            "id": row.theme.pk,
            "name": row.theme.name,
            "explanation": row.theme.emerging_explanation,
            "url": base + reverse("themes:theme_detail", args=[slug, row.theme.pk]),
        }
        for row in emerging_themes(actor=actor)
    ]
    grew = []
    for row in theme_list(actor=actor, sort="arr"):
        m = row.metrics
        if m.recent_arr > 0 and m.recent_arr >= m.previous_arr * ARR_GREW_FACTOR and m.recent_arr > m.previous_arr:
            grew.append(
                {
                    "id": row.theme.pk,
                    "name": row.theme.name,
                    "recent_arr": float(m.recent_arr),
                    "previous_arr": float(m.previous_arr),
                    "text": f"{money(m.recent_arr)} ARR behind its mentions in the last "
                    f"{TREND_DAYS} days, up from {money(m.previous_arr)}",
                    "url": base + reverse("themes:theme_detail", args=[slug, row.theme.pk]),
                }
            )
    grew.sort(key=lambda g: -(g["recent_arr"] - g["previous_arr"]))
    return {
        "week": iso_week(today),
        "emerging": emerging,
        "grew": grew[:10],
        "signals_url": base + reverse("themes:emerging", args=[slug]),
        "themes_url": base + reverse("themes:theme_list", args=[slug]),
    }


def digest_preview(*, actor: Actor) -> dict:
    """This week's digest as it reads now, and whether it went out already."""
    actor.require(Scope.WORKSPACE_READ)
    content = digest_content(actor.workspace)
    sent = ThemeDigest.objects.filter(workspace=actor.workspace, week=content["week"]).exists()
    return {
        "week": content["week"],
        "sent": sent,
        "emerging": [
            {"id": e["id"], "name": e["name"], "text": e["explanation"], "url": e["url"]} for e in content["emerging"]
        ],
        "grew": [{"id": g["id"], "name": g["name"], "text": g["text"], "url": g["url"]} for g in content["grew"]],
    }
