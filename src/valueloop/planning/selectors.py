"""Reads for planning: features, rankings, sequences, schedules, forecasts, the backlog.

Every query starts from the actor's workspace. Rankings load the open features' inputs in one
query as numpy columns (``scoring.Table``) and rank them with the engines' batch functions, so a
workspace of thousands of features ranks in milliseconds. Nothing here writes: the what-if panel
passes ``overrides`` that change a copy of the table, never the database. Selectors return the
database rows or small view objects; the API lays those out with the shape functions in
``planning.schemas``.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count, FloatField, Max, Q
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from valueloop.core.entities import EntityRef
from valueloop.core.errors import Invalid, NotFound
from valueloop.core.permissions import Scope
from valueloop.core.selectors import access_row
from valueloop.engines import forecasting as fc
from valueloop.engines import prioritisation as prio
from valueloop.engines.formula import FormulaError

from . import scoring
from .models import (
    OPEN_STATUSES,
    BacklogMove,
    DeliveryItem,
    Feature,
    KanoResponse,
    OutcomeScore,
    PlanningSettings,
    ScoreChange,
    ScoringFormula,
    Team,
    ThroughputEntry,
)

FRAMEWORK_NAMES = ("cd3", "cod", "wsjf", "rice", "ice", "opportunity", "formula")
DB_NUMERIC = tuple(f for f in scoring.NUMERIC_FIELDS if f not in ("importance", "satisfaction", "cod_per_week"))


# --------------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------------


def feature_ref(workspace, entity_id: int) -> EntityRef | None:
    feature = Feature.objects.filter(workspace=workspace, pk=entity_id).only("title").first()
    if feature is None:
        return None
    return EntityRef(
        "feature", feature.pk, feature.title, reverse("planning:feature_detail", args=[workspace.slug, feature.pk])
    )


def feature_list(
    *, actor, search: str = "", status: str = "", product_id: int | None = None, problem_id: int | None = None
):
    actor.require(Scope.WORKSPACE_READ)
    query = Feature.objects.filter(workspace=actor.workspace).select_related("product", "area", "problem", "owner")
    if search:
        query = query.filter(Q(title__icontains=search) | Q(description__icontains=search))
    if status:
        query = query.filter(status=status)
    if product_id:
        query = query.filter(product_id=product_id)
    if problem_id:
        query = query.filter(problem_id=problem_id)
    return query.order_by("title", "id")


def access_feature(*, actor, id: int, scope=None, for_update: bool = False) -> Feature:
    query = Feature.objects.filter(workspace=actor.workspace, pk=id).select_related("product", "area", "problem")
    if for_update:
        query = query.select_for_update(of=("self",))  # lock our row only, not outer-joined ones
    feature = query.first()
    if feature is None:
        raise NotFound("Feature not found.")
    actor.require(scope or Scope.WORKSPACE_READ)
    return feature


def today_for(workspace) -> dt.date:
    try:
        zone = zoneinfo.ZoneInfo(workspace.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return timezone.localdate(timezone=zone)


def settings_get(*, actor) -> PlanningSettings:
    """The workspace's planning settings (defaults, unsaved, until someone changes them)."""
    actor.require(Scope.WORKSPACE_READ)
    found = PlanningSettings.objects.filter(workspace=actor.workspace).first()
    return found or PlanningSettings(workspace=actor.workspace)


# --------------------------------------------------------------------------------------------------
# The feature table and rankings
# --------------------------------------------------------------------------------------------------


# The numeric columns each framework reads (None: all). Loading only these keeps a 5,000-feature
# ranking page to one narrow query.
FRAMEWORK_COLUMNS: dict[str, tuple[str, ...]] = {
    "cd3": (*scoring.COD_FIELDS, "duration_low", "duration_likely", "duration_high"),
    "cod": (*scoring.COD_FIELDS, "duration_likely"),
    "wsjf": scoring.FRAMEWORK_INPUTS["wsjf"],
    "rice": scoring.FRAMEWORK_INPUTS["rice"],
    "ice": scoring.FRAMEWORK_INPUTS["ice"],
    "opportunity": ("importance", "satisfaction"),
}


def load_table(
    workspace,
    *,
    include_ids: Iterable[int] = (),
    extra: Iterable[str] = (),
    kano: bool = False,
    columns: Iterable[str] | None = None,
) -> scoring.Table:
    """Open features (plus ``include_ids``) as numpy columns, in one query.

    ``columns`` limits the numeric inputs read (the rest are NaN); by default all are read.
    """
    from django.db import connection

    extra = tuple(extra)
    include = list(include_ids)
    wanted = set(scoring.NUMERIC_FIELDS if columns is None else columns)
    query = Feature.objects.filter(workspace=workspace)
    query = (
        query.filter(Q(status__in=OPEN_STATUSES) | Q(pk__in=include))
        if include
        else query.filter(status__in=OPEN_STATUSES)
    )
    floats = {f"f_{name}": Cast(name, FloatField()) for name in DB_NUMERIC if name in wanted}
    if "importance" in wanted or "satisfaction" in wanted:
        floats["f_importance"] = Cast("problem__outcome_score__importance", FloatField())
        floats["f_satisfaction"] = Cast("problem__outcome_score__satisfaction", FloatField())
    names = ["id", "title", "urgency", "deadline", "problem_id", *extra]
    queryset = query.annotate(**floats).order_by("id").values_list(*names, *floats)
    if any(name in ("created_at",) for name in extra):
        rows = list(queryset)  # let Django convert date-times (time zones)
    else:
        # One narrow query through the cursor: the ORM's per-value converters cost more than the query.
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    data: dict[str, list[Any]] = {}
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in range(len(names) + len(floats))]
    for k, name in enumerate(names):
        data[name] = list(transposed[k])
    data["deadline"] = [
        d if d is None or isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for d in data["deadline"]
    ]
    for k, name in enumerate(floats, start=len(names)):
        data[name[2:]] = list(transposed[k])
    table = scoring.build_table(data, today_for(workspace), extra=("problem_id", *extra))
    if kano:
        better, worse = _kano_columns(workspace, table.ids)
        table.cols["kano_better"], table.cols["kano_worse"] = better, worse
    return table


def _kano_columns(workspace, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    results = kano_by_feature(workspace)
    better = np.full(ids.shape[0], np.nan)
    worse = np.full(ids.shape[0], np.nan)
    for k, feature_id in enumerate(ids.tolist()):
        result = results.get(feature_id)
        if result is not None and result.better is not None:
            better[k], worse[k] = result.better, result.worse
    return better, worse


@dataclass
class Override:
    """What-if values for one feature: only the fields given change."""

    feature_id: int
    values: dict[str, float | None]


def apply_overrides(table: scoring.Table, overrides: Iterable[Override]) -> tuple[scoring.Table, set[int]]:
    changed = table.copy()
    touched: set[int] = set()
    for override in overrides:
        row = changed.row_of(override.feature_id)
        if row is None:
            raise NotFound("Feature not found.")
        values = dict(override.values)
        if "cod_per_week" in values:
            # A what-if sets the total Cost of Delay: it stands in for the components.
            total = values.pop("cod_per_week")
            values.update(
                {
                    "cod_increase_revenue": total,
                    "cod_protect_revenue": None,
                    "cod_reduce_cost": None,
                    "cod_reduce_risk": None,
                }
            )
        if "duration_likely" in values and values["duration_likely"] is not None:
            # A new likely duration moves the range with it (same proportions), unless the range is given too.
            old = changed.cols["duration_likely"][row]
            new = float(values["duration_likely"])
            for bound in ("duration_low", "duration_high"):
                if bound not in values and np.isfinite(changed.cols[bound][row]):
                    ratio = changed.cols[bound][row] / old if np.isfinite(old) and old > 0 else 1.0
                    values[bound] = new * ratio
        for name, value in values.items():
            if name not in changed.cols:
                raise Invalid(f"{name} cannot be changed in a what-if.", fields={name: "Unknown input."})
            changed.cols[name][row] = np.nan if value is None else float(value)
        touched.add(override.feature_id)
    scoring.recompute_cod(changed)
    return changed, touched


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
        from .templatetags.planning_format import score

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


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


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


# --------------------------------------------------------------------------------------------------
# Sequencing and team schedules
# --------------------------------------------------------------------------------------------------


def _profile(table: scoring.Table, row: int, cod_now: float) -> prio.UrgencyProfile:
    cols = table.cols
    kind = str(table.urgency[row])
    cod = float(cols["cod_per_week"][row])
    life = _num(cols["urgency_life_weeks"][row])
    if kind in scoring.PEAK_AFFECTED and life:
        return prio.make_profile(kind, cod_per_week=cod, life_weeks=life)
    if kind == "fixed_date":
        deadline_days = table.deadline_days[row]
        return prio.FixedDate(
            deadline_weeks=max(0.0, float(deadline_days) / 7.0),
            penalty=_num(cols["fixed_date_penalty"][row]) or 0.0,
            cod_after_per_week=cod,
        )
    if kind == "intangible":
        return prio.Intangible(cod_per_week=cod, rise_per_week=_num(cols["urgency_rise_per_week"][row]) or 0.0)
    if kind == "expedite":
        return prio.Expedite(cod_per_week=cod_now)
    return prio.Standard(cod_per_week=cod_now)


def backlog_rows(table: scoring.Table, cd3: scoring.Ranked, positions: list[int | None]) -> list[int]:
    """Row indices in backlog order: hand-positioned rows first, then the rest in CD3 order."""
    positioned = sorted(
        (r for r in range(table.n) if positions[r] is not None), key=lambda r: (positions[r], int(table.ids[r]))
    )
    rest = [int(r) for r in cd3.order if positions[int(r)] is None]
    return [*positioned, *rest]


@dataclass
class SequenceView:
    currency: str
    comparison: fc.OrderComparison | None
    items: list[dict]  # per feature: title, cod, duration, cd3, end week under current and CD3 order
    left_out: list[dict]  # features without the inputs: title, problems

    @property
    def strategies(self) -> list[dict]:
        if self.comparison is None:
            return []
        labels = {
            "current": "Current backlog order",
            "cd3": "CD3 order",
            "value": "Value only (highest Cost of Delay first)",
            "shortest": "Shortest first",
            "fifo": "First in, first out",
        }
        out = []
        for strategy, cost in self.comparison.costs.items():
            out.append(
                {
                    "strategy": strategy.value,
                    "label": labels[strategy.value],
                    "total_delay_cost": cost.total_delay_cost,
                    "cd3_saving": self.comparison.cd3_saving[strategy],
                }
            )
        return out


def _jobs(table: scoring.Table, actor, order: list[int] | None = None) -> tuple[list[dict], list[dict], dict]:
    cd3 = scoring.rank(table, "cd3")
    cod_now = cd3.scores.detail["cod_now"]
    rows = order if order is not None else backlog_rows(table, cd3, table.extra["backlog_position"])
    jobs, left_out = [], []
    for row in rows:
        if cd3.rank[row] == 0:
            left_out.append(
                {"id": int(table.ids[row]), "title": table.titles[row], "problems": cd3.scores.problems.get(row, {})}
            )
            continue
        jobs.append(
            {
                "id": int(table.ids[row]),
                "cod_per_week": float(cod_now[row]),
                "duration_weeks": float(table.cols["duration_likely"][row]),
                "created": table.extra["created_at"][row],
                "team": table.extra["team_id"][row],
                "profile": _profile(table, row, float(cod_now[row])),
            }
        )
    return jobs, left_out, {"cd3": cd3}


SEQUENCE_EXTRA = ("created_at", "backlog_position", "team_id")


def _comparison_for(table: scoring.Table, actor) -> fc.OrderComparison | None:
    if "created_at" not in table.extra:
        return None
    jobs, _, _ = _jobs(table, actor)
    return fc.compare_orders(jobs) if jobs else None


def sequence_comparison(*, actor, table: scoring.Table | None = None) -> SequenceView:
    """Total delay cost of the open features worked one after another in the current backlog
    order, CD3 order, value-only, shortest-first and FIFO, and what CD3 saves against each."""
    actor.require(Scope.WORKSPACE_READ)
    table = table or load_table(actor.workspace, extra=SEQUENCE_EXTRA)
    jobs, left_out, extra = _jobs(table, actor)
    comparison = fc.compare_orders(jobs) if jobs else None
    items = []
    if comparison is not None:
        current = {s.item_id: s for s in comparison.costs[fc.Strategy.CURRENT].items}
        by_cd3 = {s.item_id: s for s in comparison.costs[fc.Strategy.CD3].items}
        cd3_scores = extra["cd3"].scores.scores
        for job in jobs:
            row = table.row_of(job["id"])
            items.append(
                {
                    "id": job["id"],
                    "title": table.titles[row],
                    "cod_per_week": job["cod_per_week"],
                    "duration_weeks": job["duration_weeks"],
                    "cd3": float(cd3_scores[row]),
                    "current_end_week": current[job["id"]].end_week,
                    "current_delay_cost": current[job["id"]].delay_cost,
                    "cd3_end_week": by_cd3[job["id"]].end_week,
                    "cd3_delay_cost": by_cd3[job["id"]].delay_cost,
                }
            )
    return SequenceView(actor.workspace.currency, comparison, items, left_out)


@dataclass
class ScheduleView:
    today: dt.date
    teams: list[Team]
    default_team: bool
    items: list[dict]
    left_out: list[dict]
    total_delay_cost: float
    team_finish: dict[Any, float]
    currency: str


def team_list(*, actor):
    actor.require(Scope.WORKSPACE_READ)
    return (
        Team.objects.filter(workspace=actor.workspace)
        .annotate(feature_count=Count("features", filter=Q(features__status__in=OPEN_STATUSES)))
        .order_by("name", "id")
    )


def access_team(*, actor, id: int, scope=None, for_update: bool = False) -> Team:
    return access_row(Team, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Team not found.")


def team_schedule(*, actor) -> ScheduleView:
    """CD3 list scheduling of the open features across the teams' capacities, with forecast
    start and end dates per feature (a feature assigned to a team waits for that team)."""
    actor.require(Scope.WORKSPACE_READ)
    table = load_table(actor.workspace, extra=SEQUENCE_EXTRA)
    today = table.today
    teams = list(team_list(actor=actor))
    jobs, left_out, _ = _jobs(table, actor)
    default_team = not teams
    if default_team:
        engine_teams = [fc.Team("all", 0.0, 1.0)]
        for job in jobs:
            job["team"] = None
    else:
        engine_teams = [
            fc.Team(
                t.pk,
                max(0.0, (t.available_from - today).days / 7.0) if t.available_from else 0.0,
                float(t.capacity),
            )
            for t in teams
        ]
    team_names = {t.pk: t.name for t in teams} | {"all": "One team"}
    schedule = fc.schedule_teams(jobs, engine_teams) if jobs else None
    items = []
    if schedule is not None:
        for s in schedule.items:
            row = table.row_of(s.item_id)
            items.append(
                {
                    "id": s.item_id,
                    "title": table.titles[row],
                    "team": team_names.get(s.team, str(s.team)),
                    "team_id": s.team,
                    "start_week": s.start_week,
                    "end_week": s.end_week,
                    "start": today + dt.timedelta(days=round(7 * s.start_week)),
                    "end": today + dt.timedelta(days=round(7 * s.end_week)),
                    "delay_cost": s.delay_cost,
                    "deadline": table.deadline[row],
                    "late": table.deadline[row] is not None
                    and today + dt.timedelta(days=round(7 * s.end_week)) > table.deadline[row],
                }
            )
    return ScheduleView(
        today=today,
        teams=teams,
        default_team=default_team,
        items=items,
        left_out=left_out,
        total_delay_cost=schedule.total_delay_cost if schedule else 0.0,
        team_finish={team_names.get(k, k): v for k, v in schedule.team_finish_weeks.items()} if schedule else {},
        currency=actor.workspace.currency,
    )


# --------------------------------------------------------------------------------------------------
# Throughput and Monte Carlo forecasts
# --------------------------------------------------------------------------------------------------


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def throughput_list(*, actor):
    actor.require(Scope.WORKSPACE_READ)
    return ThroughputEntry.objects.filter(workspace=actor.workspace).order_by("-week_start")


def access_throughput(*, actor, id: int, scope=None, for_update: bool = False) -> ThroughputEntry:
    return access_row(
        ThroughputEntry, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Throughput entry not found."
    )


def throughput_history(*, actor, source: str, weeks: int = 12) -> list[tuple[dt.date, int]]:
    """Finished items per week, oldest first: the last ``weeks`` complete weeks for the derived
    sources (weeks with nothing finished count as 0), or the hand-entered weeks (at most 104)."""
    actor.require(Scope.WORKSPACE_READ)
    if source == "manual":
        entries = list(throughput_list(actor=actor).values_list("week_start", "finished")[:104])
        return sorted(entries)
    if source not in ("delivery_items", "features"):
        raise Invalid(
            f"Unknown throughput source {source!r}.",
            fields={"source": "One of: delivery_items, features, manual, given."},
        )
    today = today_for(actor.workspace)
    this_week = week_start(today)
    first = this_week - dt.timedelta(weeks=weeks)
    zone = timezone.get_current_timezone()
    since = timezone.make_aware(dt.datetime.combine(first, dt.time.min), zone)
    until = timezone.make_aware(dt.datetime.combine(this_week, dt.time.min), zone)
    if source == "delivery_items":
        stamps = DeliveryItem.objects.filter(
            workspace=actor.workspace, status="done", done_at__gte=since, done_at__lt=until
        ).values_list("done_at", flat=True)
    else:
        stamps = Feature.objects.filter(
            workspace=actor.workspace, status="released", released_at__gte=since, released_at__lt=until
        ).values_list("released_at", flat=True)
    counts = {first + dt.timedelta(weeks=k): 0 for k in range(weeks)}
    for stamp in stamps:
        key = week_start(timezone.localtime(stamp, zone).date())
        if key in counts:
            counts[key] += 1
    return sorted(counts.items())


def _history(actor, source: str | None, given: list[int] | None, weeks: int) -> tuple[str, list[tuple]]:
    if given is not None:
        return "given", [(None, int(v)) for v in given]
    chosen = source or settings_get(actor=actor).throughput_source
    return chosen, throughput_history(actor=actor, source=chosen, weeks=weeks)


def _engine_invalid(exc: prio.EngineInputError, names: Mapping[str, str] | None = None) -> Invalid:
    field_name = (names or {}).get(exc.field or "", exc.field or "form")
    if field_name.startswith("throughput_history"):
        field_name = "history"
    return Invalid(str(exc)[:1].upper() + str(exc)[1:] + ".", fields={field_name: str(exc)})


@dataclass
class ForecastView:
    kind: str  # "when" or "how_many"
    source: str
    history: list[tuple]
    today: dt.date
    result: Any  # WhenForecast | HowManyForecast
    items: int | None = None
    until: dt.date | None = None

    @property
    def levels(self) -> list[dict]:
        out = []
        if self.kind == "when":
            for level, weeks in self.result.weeks.items():
                out.append({"confidence": level, "weeks": weeks, "date": self.today + dt.timedelta(weeks=weeks)})
        else:
            for level, items in self.result.items.items():
                out.append({"confidence": level, "items": items})
        return out


def forecast_when(
    *,
    actor,
    items: int,
    source: str | None = None,
    history: list[int] | None = None,
    history_weeks: int = 12,
    trials: int = 10_000,
    seed: int | None = None,
) -> ForecastView:
    """When will ``items`` items be done? Weeks (and dates) at 50/85/95 % from throughput history."""
    chosen, weekly = _history(actor, source, history, history_weeks)
    try:
        result = fc.forecast_when([c for _, c in weekly], items, trials=trials, seed=seed)
    except fc.ForecastError as exc:
        raise _engine_invalid(exc) from None
    return ForecastView("when", chosen, weekly, today_for(actor.workspace), result, items=items)


def forecast_how_many(
    *,
    actor,
    until: dt.date | None = None,
    weeks: int | None = None,
    source: str | None = None,
    history: list[int] | None = None,
    history_weeks: int = 12,
    trials: int = 10_000,
    seed: int | None = None,
) -> ForecastView:
    """How many items by ``until`` (or in ``weeks`` weeks), at 50/85/95 %."""
    chosen, weekly = _history(actor, source, history, history_weeks)
    today = today_for(actor.workspace)
    if until is not None and until < today:
        raise Invalid("The date is in the past.", fields={"until": "Choose a date from today on."})
    try:
        if until is not None:
            result = fc.forecast_how_many([c for _, c in weekly], start=today, until=until, trials=trials, seed=seed)
        else:
            result = fc.forecast_how_many([c for _, c in weekly], weeks, trials=trials, seed=seed)
    except fc.ForecastError as exc:
        raise _engine_invalid(exc) from None
    return ForecastView("how_many", chosen, weekly, today, result, until=until)


def remaining_items(*, actor) -> dict[str, int]:
    actor.require(Scope.WORKSPACE_READ)
    return {
        "delivery_items": DeliveryItem.objects.filter(workspace=actor.workspace).exclude(status="done").count(),
        "features": Feature.objects.filter(workspace=actor.workspace, status__in=OPEN_STATUSES).count(),
    }


# --------------------------------------------------------------------------------------------------
# Backlog
# --------------------------------------------------------------------------------------------------


@dataclass
class BacklogRow:
    position: int
    feature_id: int
    title: str
    status: str
    cd3: float | None
    cd3_rank: int | None
    hand_position: int | None
    problems: dict[str, str]
    last_move: BacklogMove | None = None
    feature: Feature | None = None


def backlog_order(*, actor, table: scoring.Table | None = None) -> tuple[list[int], scoring.Table, scoring.Ranked]:
    """Open feature ids in backlog order (hand positions first, then CD3 order), with the table."""
    actor.require(Scope.WORKSPACE_READ)
    table = table or load_table(actor.workspace, extra=("backlog_position",), columns=FRAMEWORK_COLUMNS["cd3"])
    cd3 = scoring.rank(table, "cd3")
    rows = backlog_rows(table, cd3, table.extra["backlog_position"])
    return [int(table.ids[r]) for r in rows], table, cd3


def backlog_list(*, actor, start: int = 0, stop: int | None = None) -> tuple[list[BacklogRow], int, int]:
    """A slice of the backlog, the total count and how many items are positioned by hand."""
    ids, table, cd3 = backlog_order(actor=actor)
    chosen = ids[start:stop]
    features = {f.pk: f for f in Feature.objects.filter(workspace=actor.workspace, pk__in=chosen)}
    moves = _last_moves(actor.workspace, chosen)
    out = []
    for offset, feature_id in enumerate(chosen):
        row = table.row_of(feature_id)
        scored = cd3.rank[row] > 0
        out.append(
            BacklogRow(
                position=start + offset + 1,
                feature_id=feature_id,
                title=table.titles[row],
                status=features[feature_id].status,
                cd3=_num(cd3.scores.scores[row]) if scored else None,
                cd3_rank=int(cd3.rank[row]) if scored else None,
                hand_position=table.extra["backlog_position"][row],
                problems=cd3.scores.problems.get(row, {}) if not scored else {},
                last_move=moves.get(feature_id),
                feature=features[feature_id],
            )
        )
    hand = sum(1 for p in table.extra["backlog_position"] if p is not None)
    return out, len(ids), hand


def _last_moves(workspace, feature_ids: list[int]) -> dict[int, BacklogMove]:
    if not feature_ids:
        return {}
    latest = (
        BacklogMove.objects.filter(workspace=workspace, feature_id__in=feature_ids)
        .values("feature_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    return {m.feature_id: m for m in BacklogMove.objects.filter(pk__in=list(latest)).select_related("actor")}


def backlog_moves(*, actor, limit: int = 20):
    actor.require(Scope.WORKSPACE_READ)
    return (
        BacklogMove.objects.filter(workspace=actor.workspace).select_related("feature").order_by("-at", "-id")[:limit]
    )


# --------------------------------------------------------------------------------------------------
# History, formulas, delivery items, Kano, outcomes, suggestions
# --------------------------------------------------------------------------------------------------


def score_history(*, actor, feature_id: int):
    feature = access_feature(actor=actor, id=feature_id)
    return (
        ScoreChange.objects.filter(workspace=actor.workspace, feature=feature)
        .select_related("actor")
        .order_by("-at", "-id")
    )


def formula_list(*, actor):
    actor.require(Scope.WORKSPACE_READ)
    return ScoringFormula.objects.filter(workspace=actor.workspace).order_by("name", "id")


def access_formula(*, actor, id: int, scope=None, for_update: bool = False) -> ScoringFormula:
    return access_row(
        ScoringFormula, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Formula not found."
    )


def delivery_item_list(*, actor, feature_id: int):
    feature = access_feature(actor=actor, id=feature_id)
    return DeliveryItem.objects.filter(workspace=actor.workspace, feature=feature).order_by("created_at", "id")


def access_delivery_item(*, actor, id: int, scope=None, for_update: bool = False) -> DeliveryItem:
    return access_row(
        DeliveryItem, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Delivery item not found."
    )


def kano_by_feature(workspace) -> dict[int, prio.KanoResult]:
    tallies: dict[int, dict[prio.KanoCategory, int]] = {}
    pairs = (
        KanoResponse.objects.filter(workspace=workspace)
        .values_list("feature_id", "functional", "dysfunctional")
        .annotate(n=Count("id"))
        .order_by()
    )
    for feature_id, functional, dysfunctional, n in pairs:
        category = prio.kano_classify(functional, dysfunctional)
        counts = tallies.setdefault(feature_id, dict.fromkeys(prio.KanoCategory, 0))
        counts[category] += n
    return {fid: prio.kano_summary_from_counts(counts, item_id=fid) for fid, counts in tallies.items()}


@dataclass
class KanoRow:
    feature_id: int
    title: str
    result: prio.KanoResult

    @property
    def counts(self) -> list[tuple[str, int]]:
        return [(c.value, self.result.counts.get(c, 0)) for c in prio.KanoCategory]


KANO_LABELS = {
    "A": "Attractive",
    "O": "One-dimensional",
    "M": "Must-be",
    "I": "Indifferent",
    "R": "Reverse",
    "Q": "Questionable",
}


def kano_results(*, actor) -> list[KanoRow]:
    actor.require(Scope.WORKSPACE_READ)
    results = kano_by_feature(actor.workspace)
    titles = dict(Feature.objects.filter(workspace=actor.workspace, pk__in=list(results)).values_list("pk", "title"))
    rows = [KanoRow(fid, titles.get(fid, ""), result) for fid, result in results.items()]
    order = {c: k for k, c in enumerate("MOAIRQ")}
    return sorted(rows, key=lambda r: (order[r.result.dominant.value], -(r.result.better or 0), r.title.lower()))


def access_problem(*, actor, id: int):
    from valueloop.discovery.facade import problems_by_id

    problem = problems_by_id(actor.workspace, [id]).get(id)
    if problem is None:
        raise NotFound("Problem not found.")
    actor.require(Scope.WORKSPACE_READ)
    return problem


def outcome_get(*, actor, problem_id: int) -> dict:
    problem = access_problem(actor=actor, id=problem_id)
    outcome = OutcomeScore.objects.filter(workspace=actor.workspace, problem_id=problem.pk).first()
    return _outcome_out(problem, outcome)


def _outcome_out(problem, outcome: OutcomeScore | None) -> dict:
    result = None
    if outcome is not None:
        result = prio.opportunity(outcome.importance, outcome.satisfaction, item_id=problem.pk)
    return {
        "problem_id": problem.pk,
        "title": problem.title,
        "importance": outcome.importance if outcome else None,
        "satisfaction": outcome.satisfaction if outcome else None,
        "respondents": outcome.respondents if outcome else None,
        "score": result.score if result else None,
        "band": result.band.value if result else None,
        "underserved": result.underserved if result else None,
        "overserved": result.overserved if result else None,
        "version": outcome.version if outcome else 0,
    }


def outcome_list(*, actor) -> list[dict]:
    from valueloop.discovery.facade import problem_choices, problems_by_id

    actor.require(Scope.WORKSPACE_READ)
    ids = [pid for pid, _ in problem_choices(actor.workspace)]
    problems = problems_by_id(actor.workspace, ids)
    outcomes = {o.problem_id: o for o in OutcomeScore.objects.filter(workspace=actor.workspace)}
    rows = [_outcome_out(problems[pid], outcomes.get(pid)) for pid in ids if pid in problems]
    return sorted(rows, key=lambda r: (r["score"] is None, -(r["score"] or 0), r["title"].lower()))


AT_RISK_SHARE = 0.10  # the share of requesters' revenue assumed at risk without the feature; shown, never hidden


def cod_suggestion(*, actor, feature_id: int) -> dict:
    """A Cost of Delay suggestion from the evidence: the weekly revenue of the accounts asking for
    the feature (ARR / 52), of which a stated share (10 %) is taken as at risk while it waits. The
    PM decides; the basis says how the number was made."""
    from valueloop.evidence.facade import evidence_panel

    feature = access_feature(actor=actor, id=feature_id)
    try:
        evidence = evidence_panel(actor=actor, target_type="feature", target_id=feature.pk).get("evidence", {})
    except Exception:  # evidence is another app's; a failure there must not break planning pages
        evidence = {}
    arr = float(evidence.get("arr") or 0)
    accounts = int(evidence.get("accounts") or 0)
    weekly_arr = arr / 52.0
    suggestion = round(weekly_arr * AT_RISK_SHARE, 2) if arr else None
    currency = actor.workspace.currency
    if suggestion:
        basis = (
            f"{accounts} requesting account{'s' if accounts != 1 else ''} with ARR {arr:,.0f} {currency} "
            f"({weekly_arr:,.0f} a week). If {AT_RISK_SHARE:.0%} of that is at risk while they wait: "
            f"{suggestion:,.0f} {currency} per week."
        )
    else:
        basis = "No requesting accounts with ARR are linked to this feature yet."
    return {
        "protect_revenue": suggestion,
        "accounts": accounts,
        "arr": arr,
        "currency": currency,
        "basis": basis,
    }


@dataclass
class PrioritisationView:
    """A feature's prioritisation inputs as stored, its CD3 row, latest start and Cost of Delay suggestion."""

    feature: Feature
    row: RankRow
    latest_start: dt.date | None
    suggestion: dict
    currency: str


def prioritisation_get(*, actor, feature_id: int) -> PrioritisationView:
    feature = access_feature(actor=actor, id=feature_id)
    row = row_for(actor=actor, feature_id=feature.pk, framework="cd3")
    latest_start = None
    if feature.urgency == "fixed_date":
        latest_start = scoring.latest_start(feature.deadline, _num(feature.duration_likely))
    suggestion = cod_suggestion(actor=actor, feature_id=feature.pk)
    return PrioritisationView(feature, row, latest_start, suggestion, actor.workspace.currency)


def ranking_page(
    *, actor, framework: str | None, formula_id: int | None, expression: str, page: int, page_size: int
) -> tuple[RankingView, list[RankRow]]:
    """The ranking and the rows of page ``page`` (1-based) of ``page_size``, without score history."""
    view = ranking(actor=actor, framework=framework, formula_id=formula_id, expression=expression)
    start = (page - 1) * page_size
    return view, ranking_rows(view, start, start + page_size, history=False)


def backlog_page(*, actor, page: int, page_size: int) -> tuple[list[BacklogRow], int]:
    """The rows of page ``page`` (1-based) of ``page_size`` of the backlog, and the backlog's length."""
    start = (page - 1) * page_size
    rows, count, _ = backlog_list(actor=actor, start=start, stop=start + page_size)
    return rows, count
