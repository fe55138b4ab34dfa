"""Rankings: every open feature scored and ordered under a framework or a user formula, the rows of a
ranking page, and the what-if re-rank.

Invariants: every open feature appears exactly once, scored ones first in rank order, then the ones that cannot be
scored with the missing or invalid inputs named; equal scores share a rank; a formula that does not compile is a
400 naming the bad token (``formula``); a what-if saves nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Max

from valueloop.core.errors import Invalid
from valueloop.core.permissions import Scope
from valueloop.engines import prioritisation as prio
from valueloop.engines.formula import FormulaError

from .. import scoring
from ..models import (
    Feature,
    PlanningSettings,
    ScoreChange,
    ScoringFormula,
)
from .features import access_feature, access_formula, settings_get
from .sequencing import SEQUENCE_EXTRA, _comparison_for
from .table import FRAMEWORK_COLUMNS, Override, _num, apply_overrides, load_table

FRAMEWORK_NAMES = ("cd3", "cod", "wsjf", "rice", "ice", "opportunity", "formula")


@dataclass
class RankingView:
    framework: str
    label: str
    ranked: scoring.Ranked
    ice_method: str
    formula: ScoringFormula | None = None
    expression: str = ""
    formulas: list[ScoringFormula] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.ranked.table.n


def _resolve_framework(actor, framework: str | None, settings: PlanningSettings) -> str:
    chosen = framework or settings.default_framework
    if chosen not in FRAMEWORK_NAMES:
        allowed = ", ".join(FRAMEWORK_NAMES)
        raise Invalid(f"Unknown framework {chosen!r}.", fields={"framework": f"One of: {allowed}."})
    return chosen


def formula_error_message(exc: FormulaError) -> str:
    return exc.caret


def ranking(
    *,
    actor,
    framework: str | None = None,
    formula_id: int | None = None,
    expression: str = "",
    overrides: Iterable[Override] = (),
    table: scoring.Table | None = None,
) -> RankingView:
    """Rank every open feature under ``framework`` (default: the workspace's).

    ``framework="formula"`` needs a saved ``formula_id`` or an ``expression``; a formula that does
    not compile raises ``Invalid`` with the caret message under ``formula``.
    """
    actor.require(Scope.WORKSPACE_READ)
    settings = settings_get(actor=actor)
    chosen = _resolve_framework(actor, framework, settings)
    formula_obj = None
    compiled = None
    if chosen == "formula":
        if formula_id:
            formula_obj = access_formula(actor=actor, id=formula_id)
            expression = formula_obj.expression
        if not expression.strip():
            raise Invalid("Choose a saved formula or type an expression.", fields={"formula": "A formula is required."})
        try:
            compiled = scoring.compile_user_formula(expression)
        except FormulaError as exc:
            raise Invalid("The formula has an error.", fields={"formula": formula_error_message(exc)}) from None
    if table is None:
        uses_kano = compiled is not None and any(f.startswith("kano_") for f in compiled.fields_used)
        columns = FRAMEWORK_COLUMNS.get(chosen)
        if compiled is not None:
            used = {scoring.FORMULA_FIELDS[f] for f in compiled.fields_used}
            if "cod_per_week" in used:
                used |= set(scoring.COD_FIELDS)
            columns = None if "cd3" in used else tuple(used)
        table = load_table(actor.workspace, kano=uses_kano, columns=columns)
    overrides = list(overrides)
    if overrides:
        table, _ = apply_overrides(table, overrides)
    ranked = scoring.rank(table, chosen, ice_method=settings.ice_method, formula=compiled)
    label = formula_obj.name if formula_obj else scoring.FRAMEWORK_LABELS[chosen]
    return RankingView(chosen, label, ranked, settings.ice_method, formula_obj, expression)


@dataclass
class RankRow:
    """One row of a ranking page or API answer."""

    feature: Feature
    rank: int | None
    shared_rank: int | None
    score: float | None
    problems: dict[str, str]
    cd3_low: float | None = None
    cd3_high: float | None = None
    cod_now: float | None = None
    latest_start: dt.date | None = None
    last_change: ScoreChange | None = None
    whatif_rank: int | None = None
    whatif_score: float | None = None

    @property
    def range_text(self) -> str:
        """The CD3 range from the high and the low duration, when the estimate is a range."""
        if self.cd3_low is None or self.cd3_high is None or self.cd3_low == self.cd3_high:
            return ""
        from ..templatetags.planning_format import score

        return f"{score(self.cd3_low)}–{score(self.cd3_high)}"

    @property
    def delta_abs(self) -> int:
        return abs(self.delta or 0)

    @property
    def changed_names(self) -> str:
        if self.last_change is None:
            return ""
        return ", ".join(n.replace("_", " ") for n in list(self.last_change.changed)[:4])

    @property
    def delta(self) -> int | None:
        """Places moved by the last recorded change (positive: up)."""
        change = self.last_change
        if change is None or change.old_rank is None or change.new_rank is None:
            return None
        return change.old_rank - change.new_rank


def ranking_rows(view: RankingView, start: int = 0, stop: int | None = None, *, history: bool = True) -> list[RankRow]:
    """Rows ``start:stop`` of the ranking with their features loaded (one query for the slice)."""
    ranked = view.ranked
    table = ranked.table
    chosen = ranked.order[start:stop]
    ids = [int(table.ids[r]) for r in chosen]
    features = Feature.objects.filter(pk__in=ids).select_related("problem").defer("description", "problem__description")
    by_id = {f.pk: f for f in features}
    last = _last_changes(ids, view.framework) if history else {}
    shared = _shared_ranks(ranked)
    detail = ranked.scores.detail
    rows = []
    for row in chosen:
        feature_id = int(table.ids[row])
        feature = by_id[feature_id]
        scored = ranked.rank[row] > 0
        rows.append(
            RankRow(
                feature=feature,
                rank=int(ranked.rank[row]) if scored else None,
                shared_rank=int(shared[row]) if scored else None,
                score=_num(ranked.scores.scores[row]) if scored else None,
                problems=ranked.scores.problems.get(int(row), {}) if not scored else {},
                cd3_low=_num(detail["cd3_low"][row]) if "cd3_low" in detail else None,
                cd3_high=_num(detail["cd3_high"][row]) if "cd3_high" in detail else None,
                cod_now=_num(detail["cod_now"][row]) if "cod_now" in detail else None,
                latest_start=scoring.latest_start(feature.deadline, _num(table.cols["duration_likely"][row]))
                if feature.urgency == "fixed_date"
                else None,
                last_change=last.get(feature_id),
            )
        )
    return rows


def _shared_ranks(ranked: scoring.Ranked) -> np.ndarray:
    shared = np.zeros(ranked.table.n, dtype=np.int64)
    scored_rows = ranked.order[: ranked.scored]
    if scored_rows.size:
        batch = prio.rank_scores(ranked.scores.scores[scored_rows], ranked.table.ids[scored_rows])
        shared[scored_rows] = batch.shared_rank
    return shared


def _last_changes(feature_ids: list[int], framework: str) -> dict[int, ScoreChange]:
    if not feature_ids:
        return {}
    latest = (
        ScoreChange.objects.filter(feature_id__in=feature_ids, framework=framework)
        .values("feature_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    changes = ScoreChange.objects.filter(pk__in=list(latest))
    return {c.feature_id: c for c in changes}


def row_for(
    *, actor, feature_id: int, framework: str | None = None, formula_id: int | None = None, expression: str = ""
) -> RankRow:
    """One feature's row in the ranking (the feature may be closed: then it has no rank)."""
    feature = access_feature(actor=actor, id=feature_id)
    table = load_table(actor.workspace, include_ids=[feature.pk])
    try:
        view = ranking(actor=actor, framework=framework, formula_id=formula_id, expression=expression, table=table)
    except Invalid:
        view = ranking(actor=actor, framework="cd3", table=table)
    row = int(np.flatnonzero(view.ranked.order == table.row_of(feature.pk))[0])
    return ranking_rows(view, row, row + 1)[0]


def whatif(*, actor, overrides: list[Override], framework: str | None = None, limit: int = 15) -> dict:
    """Re-rank with changed inputs, without saving: each row's rank now and in the what-if, plus
    the sequence comparison before and after."""
    actor.require(Scope.WORKSPACE_READ)
    table = load_table(actor.workspace, extra=SEQUENCE_EXTRA)
    base = ranking(actor=actor, framework=framework, table=table)
    changed_table, touched = apply_overrides(table, overrides)
    after = ranking(actor=actor, framework=framework, table=changed_table)
    rows = ranking_rows(after, 0, limit, history=False)
    shown = {r.feature.pk for r in rows}
    positions = {int(after.ranked.table.ids[r]): k for k, r in enumerate(after.ranked.order)}
    for feature_id in sorted(touched - shown, key=lambda f: positions[f]):
        rows += ranking_rows(after, positions[feature_id], positions[feature_id] + 1, history=False)
    for row in rows:
        score, rank = base.ranked.position(row.feature.pk)
        row.whatif_rank, row.whatif_score = row.rank, row.score
        row.rank, row.score = rank, score
    return {
        "base": base,
        "after": after,
        "rows": rows,
        "touched": touched,
        "sequence_before": _comparison_for(table, actor),
        "sequence_after": _comparison_for(changed_table, actor),
        "table": table,
        "changed_table": changed_table,
    }


def ranking_page(
    *, actor, framework: str | None, formula_id: int | None, expression: str, page: int, page_size: int
) -> tuple[RankingView, list[RankRow]]:
    """The ranking and the rows of page ``page`` (1-based) of ``page_size``, without score history."""
    view = ranking(actor=actor, framework=framework, formula_id=formula_id, expression=expression)
    start = (page - 1) * page_size
    return view, ranking_rows(view, start, start + page_size, history=False)
