"""What other apps may import from evidence: the evidence panel shown on problems and features, the
linking form shown on feedback items and interview highlights. (Charts are drawn by ``core.charts``.)

Invariants: every number is computed inside the actor's workspace; ARR sums count each account
once (``arr_base``, in the workspace currency), however many of its items are linked; quotes from
interviews without consent are never shown.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.urls import reverse

from valueloop.core import extensions
from valueloop.core.charts import Chart, Series, bar_chart
from valueloop.core.entities import resolve_entity
from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor

from . import selectors, services
from .models import EVIDENCE_IMPORTANCE, Evidence

__all__ = [
    "customer_timeline_source",
    "evidence_panel",
    "evidence_totals",
    "highlight_link_context",
    "learning_link",
    "link_form_context",
    "target_choices",
]

WRITE_SCOPE = services.WRITE_SCOPE
TARGET_CHOICES = services.TARGET_CHOICES


def _segment_labels() -> dict[str, str]:
    from valueloop.customers.facade import SEGMENTS

    return dict(SEGMENTS)


def demand_chart(months) -> Chart | None:
    if not months:
        return None
    short = [
        m.start.strftime("%b") + (f" {m.start:%y}" if m.start.month == 1 or i == 0 else "")
        for i, m in enumerate(months)
    ]
    return bar_chart(
        "Demand over time",
        short,
        [Series("Linked items", [m.items for m in months]), Series("Unique accounts", [m.accounts for m in months])],
        y_label="per month",
        row_labels=[m.label for m in months],
        whole_numbers=True,
    )


def _loop(actor: Actor, target_type: str, target_id: int) -> dict | None:
    """The close-the-loop panel data for a released feature, for people who may send it."""
    if target_type != "feature" or not actor.can(services.NOTIFY_SCOPE):
        return None
    feature = services.released_or_not_feature(actor.workspace, target_id)
    if feature is None or feature.status != "released":
        return None
    found = selectors.requesters(actor=actor, feature_id=target_id, count_items=False)
    return {
        "feature": feature,
        "requesters": found,
        "url": reverse("evidence:notify", args=[actor.workspace.slug, target_id]),
    }


class EvidencePanel(Mapping):
    """The ``evidence`` context of the panel: a read-only mapping whose parts are computed on first
    use, so a caller that needs only ``arr``/``accounts`` (e.g. a Cost of Delay suggestion) does
    not pay for quotes, charts and requesters; templates read it like a dict."""

    def __init__(self, actor: Actor, target_type: str, target_id: int):
        parts = selectors.RollupParts(actor, target_type, target_id, segment_labels=_segment_labels())
        self._fixed = {
            "target_type": target_type,
            "target_id": target_id,
            "currency": actor.workspace.currency,
            "full_url": reverse("evidence:target", args=[actor.workspace.slug, target_type, target_id]),
        }
        self._lazy = {
            "count": lambda: parts.totals()["count"],
            "by_importance": lambda: parts.totals()["by_importance"],
            "accounts": lambda: parts.accounts()["accounts"],
            "arr": lambda: parts.accounts()["arr"],
            "by_segment": lambda: parts.accounts()["by_segment"],
            "by_persona": lambda: parts.by_persona() if parts.totals()["count"] else [],
            "quotes": lambda: parts.strongest() if parts.totals()["count"] else [],
            "newest": lambda: parts.newest() if parts.totals()["count"] else [],
            "months": lambda: parts.months() if parts.totals()["count"] else [],
            "chart": lambda: demand_chart(self["months"]),
            "loop": lambda: _loop(actor, target_type, target_id),
            "learnings": lambda: parts.learnings(),
            "learning_count": lambda: len(parts.learnings()),
        }
        self._values: dict = {}

    def __getitem__(self, key):
        if key in self._fixed:
            return self._fixed[key]
        if key not in self._values:
            self._values[key] = self._lazy[key]()  # KeyError for unknown keys, as a dict
        return self._values[key]

    def __iter__(self):
        return iter([*self._fixed, *self._lazy])

    def __len__(self) -> int:
        return len(self._fixed) + len(self._lazy)


def evidence_panel(*, actor: Actor, target_type: str, target_id: int) -> dict:
    """``{"evidence": ...}`` for ``{% include "evidence/_panel.html" %}``: count, accounts, arr,
    currency, by_segment, by_persona, quotes (strongest), newest, months, chart, full_url, loop,
    and the experiment learnings (``learnings``, ``learning_count``), which count in none of the others."""
    return {"evidence": EvidencePanel(actor, target_type, target_id)}


def evidence_totals(*, actor: Actor, target_type: str, target_id: int) -> dict:
    """Just the numbers: linked items, unique accounts and their ARR (each account once)."""
    panel = EvidencePanel(actor, target_type, target_id)
    return {"count": panel["count"], "accounts": panel["accounts"], "arr": panel["arr"], "currency": panel["currency"]}


def _link_rows(actor: Actor, links) -> list[dict]:
    rows = []
    for link in links:
        ref = resolve_entity(actor.workspace, link.target_type, link.target_id)
        rows.append({"evidence": link, "ref": ref})
    return rows


def target_choices(actor: Actor, search: str = "") -> dict:
    # Discovery answers with its problems and planning with its features (they sit above evidence in the flow).
    offered = extensions.page_context(TARGET_CHOICES, workspace=actor.workspace)
    problems, features = offered.get("problems", []), offered.get("features", [])
    if search:
        needle = search.lower()
        problems = [c for c in problems if needle in c[1].lower()]
        features = [c for c in features if needle in c[1].lower()]
    return {"problems": problems, "features": features}


def link_form_context(actor: Actor, feedback, *, search: str = "", message: str = "", errors=None) -> dict:
    """Context for ``{% include "evidence/_link_form.html" %}`` on a feedback item's page.

    ``feedback`` is the item (a FeedbackItem or anything with ``id``/``pk`` and ``text``).
    """
    item_id = getattr(feedback, "pk", None) or feedback.id
    links = Evidence.objects.filter(workspace=actor.workspace, feedback_id=item_id).order_by("created_at", "id")
    return {
        "link_form": {
            "source": "feedback",
            "source_id": item_id,
            "text": getattr(feedback, "text", ""),
            "links": _link_rows(actor, links),
            "importances": EVIDENCE_IMPORTANCE,
            "can_write": actor.can(WRITE_SCOPE),
            "action": reverse("evidence:link_create", args=[actor.workspace.slug]),
            "search_url": reverse("evidence:target_search", args=[actor.workspace.slug]),
            "next": reverse("feedback:item_detail", args=[actor.workspace.slug, item_id])
            if _has_url("feedback:item_detail")
            else "",
            "message": message,
            "errors": errors or {},
            "search": search,
            **target_choices(actor, search),
        }
    }


def highlight_link_context(actor: Actor, interview, highlights) -> dict:
    """Context for the highlight list of an interview page: each highlight's links and the form."""
    ids = [h.pk for h in highlights]
    by_highlight: dict[int, list[dict]] = {}
    links = Evidence.objects.filter(workspace=actor.workspace, highlight_id__in=ids).order_by("created_at", "id")
    for row in _link_rows(actor, links):
        by_highlight.setdefault(row["evidence"].highlight_id, []).append(row)
    for highlight in highlights:
        highlight.evidence_links = by_highlight.get(highlight.pk, [])
    return {
        "highlight_links": {
            "consent": interview.consent,
            "importances": EVIDENCE_IMPORTANCE,
            "can_write": actor.can(WRITE_SCOPE),
            "action": reverse("evidence:link_create", args=[actor.workspace.slug]),
            "search_url": reverse("evidence:target_search", args=[actor.workspace.slug]),
            **target_choices(actor),
        }
    }


def _has_url(name: str) -> bool:
    from django.urls import NoReverseMatch

    try:
        reverse(name, args=["x", 1])
    except NoReverseMatch:
        return False
    return True


def customer_timeline_source(actor: Actor, customer) -> list:
    """The account's requests (evidence it gave for problems and features) for the customer timeline."""
    from valueloop.customers.facade import TimelineEntry

    if not actor.can(Scope.WORKSPACE_READ):
        return []
    labels = dict(EVIDENCE_IMPORTANCE)
    entries = []
    links = (
        Evidence.objects.filter(workspace=actor.workspace, customer=customer)
        .only("id", "target_type", "target_id", "importance", "quote", "said_at", "created_at")
        .order_by("-said_at", "-id")[:100]
    )
    for link in links:
        ref = resolve_entity(actor.workspace, link.target_type, link.target_id)
        if ref is None:
            continue
        entries.append(
            TimelineEntry(
                at=link.said_at or link.created_at,
                kind="request",
                title=f"Asked for {link.target_type} “{ref.label}” ({labels.get(link.importance, '')})",
                url=ref.url,
                summary=link.quote[:280],
            )
        )
    return entries


# --- used by experiments ---


def learning_link(*, actor: Actor, learning, target_type: str, target_id: int) -> Evidence:
    """Record an experiment's learning as evidence on a problem or feature (see ``services.learning_link``)."""
    return services.learning_link(actor=actor, learning=learning, target_type=target_type, target_id=target_id)


# --- used by themes ---


def evidence_link_feedback_many(
    *, actor: Actor, target_type: str, target_id: int, feedback_ids: list[int], importance: int = 2
) -> int:
    """Link many feedback items to one problem or feature (see ``services.evidence_link_many``): items
    already linked are skipped, an id outside the workspace fails the whole call. Returns links created."""
    return services.evidence_link_many(
        actor=actor, target_type=target_type, target_id=target_id, feedback_ids=feedback_ids, importance=importance
    )


def evidence_link_highlight(*, actor: Actor, target_type: str, target_id: int, highlight_id: int) -> bool:
    """Link one interview highlight; False (nothing written) when it is already linked to that target."""
    from valueloop.core.errors import Conflict

    try:
        services.evidence_link(actor=actor, target_type=target_type, target_id=target_id, highlight_id=highlight_id)
    except Conflict:
        return False
    return True


def feedback_item_page_context(*, actor: Actor, item) -> dict:
    """Answers the feedback app's ``feedback.item_page`` point: the "link to a problem or feature" form."""
    return {"evidence_enabled": True, **link_form_context(actor, item)}


def interview_page_context(*, actor: Actor, interview, highlights) -> dict:
    """Answers the research app's ``research.interview_page`` point: each highlight's links and the form."""
    return highlight_link_context(actor, interview, highlights)
