"""Demo data for evidence (see valueloop.demo): idempotent, seeded by context.rng.

Links feedback items (by their theme tag, or by words in survey comments) to the demo's problems
and features, with importances that follow what the customer said, quotes on some of them, and
the interview highlights the research demo made. Runs after the customers, feedback and research
demos; if they produced nothing, it links nothing.

One number is drawn from ``context.rng`` whatever exists already, so the state handed on is the
same on every run; existing links are skipped, so a second run creates nothing.
"""

from __future__ import annotations

import random
import re

from valueloop.discovery.models import Problem
from valueloop.feedback.models import FeedbackItem
from valueloop.planning.models import Feature
from valueloop.research.models import Highlight

from . import services
from .models import Evidence

# target type, title, feedback tags, words (for untagged items such as survey comments), share linked
LINKS = [
    ("problem", "Failed card payments churn customers silently", {"dunning", "payments"}, ("card", "dunning"), 0.7),
    ("feature", "Smart dunning retries", {"dunning"}, ("dunning", "retried"), 0.55),
    ("feature", "Card updater via the network tokens", {"payments"}, ("card",), 0.35),
    (
        "problem",
        "Month-end close takes days of manual reconciliation",
        {"bank-reconciliation"},
        ("reconcil",),
        0.75,
    ),
    ("feature", "Auto-reconcile bank lines", {"bank-reconciliation"}, ("reconcil", "bank feed"), 0.6),
    ("problem", "CFOs cannot see a 13-week cash forecast", {"reporting", "exports"}, ("forecast",), 0.4),
    ("feature", "13-week cash forecast", {"reporting"}, ("forecast",), 0.35),
    ("problem", "Receipt capture fails in poor light", {"receipt-capture"}, ("receipt",), 0.7),
    ("feature", "Low-light receipt capture", {"receipt-capture"}, ("receipt", "low-light"), 0.6),
    ("problem", "Partners miss webhook events during outages", {"webhooks"}, ("webhook",), 0.75),
    ("feature", "Webhook retries and replay", {"webhooks"}, ("webhook",), 0.6),
    ("problem", "Multi-currency invoices confuse approvers", {"multi-currency"}, ("currency",), 0.6),
    ("feature", "Show base currency on approvals", {"multi-currency", "approvals"}, ("currency",), 0.5),
]
IMPORTANCE = {"critical": 4, "important": 3, "nice_to_have": 1, "": 2}
SENTENCE = re.compile(r"[^.!?\n]{25,220}[.!?]")


def _targets(workspace) -> dict[tuple[str, str], int]:
    found = {("problem", t): pk for pk, t in Problem.objects.filter(workspace=workspace).values_list("id", "title")}
    found.update(
        {("feature", t): pk for pk, t in Feature.objects.filter(workspace=workspace).values_list("id", "title")}
    )
    return found


def _link_feedback(context, rng: random.Random, actor, targets) -> None:
    workspace = context.workspace
    rows = list(
        FeedbackItem.objects.filter(workspace=workspace)
        .exclude(status="archived")
        .order_by("id")
        .values_list("id", "importance", "source", "text")
    )
    tags: dict[int, set[str]] = {}
    for item_id, name in FeedbackItem.tags.through.objects.filter(feedbackitem__workspace=workspace).values_list(
        "feedbackitem_id", "tag__name"
    ):
        tags.setdefault(item_id, set()).add(name)
    for target_type, title, wanted_tags, words, share in LINKS:
        target_id = targets.get((target_type, title))
        chosen: dict[int, int] = {}
        quotes: dict[int, str] = {}
        for item_id, importance, source, text in rows:
            matches = bool(tags.get(item_id, set()) & wanted_tags) or (
                source == "survey" and any(w in text.lower() for w in words)
            )
            roll, bump, quote_roll = rng.random(), rng.random(), rng.random()  # drawn for every item
            if not matches or roll > share:
                continue
            level = IMPORTANCE.get(importance, 2)
            if bump < 0.2:
                level = min(4, level + 1)
            chosen[item_id] = level
            if quote_roll < 0.3:
                sentence = SENTENCE.search(text)
                if sentence:
                    quotes[item_id] = sentence.group(0).strip()
        if target_id is None or not chosen:
            continue
        # Quotes go in with the links: one audited call per target, not one per quote (the large demo has
        # tens of thousands).
        services.evidence_link_many(
            actor=actor,
            target_type=target_type,
            target_id=target_id,
            feedback_ids=list(chosen),
            importance=chosen,
            quotes=quotes,
        )


def _link_highlights(context, actor, targets) -> None:
    from valueloop.research.demo import INTERVIEWS

    workspace = context.workspace
    for spec in INTERVIEWS:
        for text, target_type, title, importance in spec["highlights"]:
            target_id = targets.get((target_type, title))
            if not target_id or not spec["consent"]:
                continue
            highlight = (
                Highlight.objects.filter(workspace=workspace, interview__title=spec["title"], detached=False)
                .filter(text__contains=text.split("\n")[0][:30])
                .first()
            )
            if (
                highlight is None
                or Evidence.objects.filter(highlight=highlight, target_type=target_type, target_id=target_id).exists()
            ):
                continue
            services.evidence_link(
                actor=actor,
                target_type=target_type,
                target_id=target_id,
                highlight_id=highlight.pk,
                importance=importance,
            )


def build(context) -> None:
    context.rng.random()  # keep the shared stream's state the same whatever this step does
    # A stream of our own: earlier steps draw differently on a second run (they skip what exists),
    # and the links chosen must not change with that, or a second run would add links.
    rng = random.Random(f"evidence:{context.seed}")
    actor = context.actor_for("priya")
    targets = _targets(context.workspace)
    if not targets:
        return
    _link_feedback(context, rng, actor, targets)
    _link_highlights(context, actor, targets)
