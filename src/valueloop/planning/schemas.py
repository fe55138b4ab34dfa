"""The planning API's shapes: ninja In/Out schemas, and the functions that lay the selectors' views out as the
plain dicts those Out schemas validate.

Invariants: request bodies are ``StrictBody`` (unknown fields and type coercion refused), strings and numbers
bounded (the services check each input's real range); the shape functions only arrange what a selector has
read (no query, no scoring), so a page and the API answer show the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator, PlainSerializer, Strict

from valueloop.core.api_support import (
    BodyId,
    MoneyOut,
    PageParams,
    StrictBody,
    choice_literal,
    page_counts,
    page_schema,
    paginate,
)
from valueloop.core.money import money_out
from valueloop.engines import forecasting as fc

from . import scoring
from .models import DELIVERY_STATUS, FEATURE_STATUS, FRAMEWORKS, ICE_METHODS, THROUGHPUT_SOURCES, URGENCY_PROFILES

if TYPE_CHECKING:
    from .selectors import (
        BacklogRow,
        ForecastView,
        KanoRow,
        PrioritisationView,
        RankingView,
        RankRow,
        ScheduleView,
        SequenceView,
    )

# Money fields of a feature, sent as ``MoneyOut`` ({"amount": "12500.00", "currency": "EUR"}).
MONEY_FIELDS = (*scoring.MONEY_INPUTS, "cod_per_week")

# Choices come from the models (and the engines), so a new status or framework cannot be forgotten here.
FeatureStatus = choice_literal(FEATURE_STATUS)
Urgency = choice_literal(URGENCY_PROFILES)
FrameworkName = choice_literal(FRAMEWORKS, extra=("formula",))
SavedFramework = choice_literal(FRAMEWORKS)
IceMethod = choice_literal(ICE_METHODS)
ThroughputSource = choice_literal(THROUGHPUT_SOURCES)
ForecastSource = choice_literal(THROUGHPUT_SOURCES, extra=("given",))
DeliveryStatus = choice_literal(DELIVERY_STATUS)
StrategyName = Literal[tuple(strategy.value for strategy in fc.Strategy)]  # type: ignore[valid-type]


def _number(value):
    # Numbers travel as JSON numbers or decimal strings ("1250.50"); never booleans.
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError('Use a number or a decimal string such as "1250.50".')
    return value


def _iso_date(value):
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        return value.strip()
    raise ValueError("Use a date in the form YYYY-MM-DD, e.g. 2026-03-31.")


def _iso_datetime(value):
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and "T" in value:
        return value.strip()
    raise ValueError("Use an ISO 8601 date-time, e.g. 2026-01-31T09:00:00Z.")


# Bounds here only keep absurd numbers out; the service checks each input's real range with a message.
Number = Annotated[
    Decimal,
    Field(ge=Decimal("-1e12"), le=Decimal("1e12"), description='A number, e.g. 1250 or "1250.50"'),
    BeforeValidator(_number),
    Strict(False),
]
IsoDate = Annotated[dt.date, Field(description="YYYY-MM-DD"), BeforeValidator(_iso_date), Strict(False)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_datetime), Strict(False)]
DecimalOut = Annotated[Decimal, PlainSerializer(lambda v: float(v), return_type=float)]
Rationale = Annotated[str, Field(max_length=500)]


class FeatureIn(StrictBody):
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=50000)
    status: FeatureStatus = "idea"
    product_id: BodyId | None = None
    area_id: BodyId | None = None
    problem_id: BodyId | None = None


class FeaturePatch(StrictBody):
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=50000)
    status: FeatureStatus | None = None
    product_id: BodyId | None = None
    area_id: BodyId | None = None
    problem_id: BodyId | None = None
    version: int | None = Field(None, ge=1)


class FeatureOut(Schema):
    id: int
    title: str
    description: str
    status: FeatureStatus
    product_id: int | None
    area_id: int | None
    problem_id: int | None
    released_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


FeaturePage = page_schema(FeatureOut, "FeaturePage")


class PrioritisationIn(StrictBody):
    """Fields you leave out keep their value; send null to clear one."""

    cod_increase_revenue: Number | None = None
    cod_protect_revenue: Number | None = None
    cod_reduce_cost: Number | None = None
    cod_reduce_risk: Number | None = None
    cod_increase_revenue_rationale: Rationale = ""
    cod_protect_revenue_rationale: Rationale = ""
    cod_reduce_cost_rationale: Rationale = ""
    cod_reduce_risk_rationale: Rationale = ""
    urgency: Urgency = "standard"
    deadline: IsoDate | None = None
    fixed_date_penalty: Number | None = None
    urgency_life_weeks: Number | None = None
    urgency_rise_per_week: Number | None = None
    duration_low: Number | None = None
    duration_likely: Number | None = None
    duration_high: Number | None = None
    wsjf_business_value: Number | None = None
    wsjf_time_criticality: Number | None = None
    wsjf_risk_reduction: Number | None = None
    wsjf_job_size: Number | None = None
    rice_reach: Number | None = None
    rice_impact: Number | None = None
    rice_confidence: Number | None = None
    rice_effort: Number | None = None
    ice_impact: Number | None = None
    ice_confidence: Number | None = None
    ice_ease: Number | None = None
    team_id: BodyId | None = None
    version: int | None = Field(None, ge=1)


class CodSuggestionOut(Schema):
    protect_revenue: MoneyOut | None
    accounts: int
    arr: MoneyOut
    currency: str
    basis: str


class PrioritisationOut(Schema):
    feature_id: int
    title: str
    currency: str
    cod_increase_revenue: MoneyOut | None
    cod_protect_revenue: MoneyOut | None
    cod_reduce_cost: MoneyOut | None
    cod_reduce_risk: MoneyOut | None
    cod_increase_revenue_rationale: str
    cod_protect_revenue_rationale: str
    cod_reduce_cost_rationale: str
    cod_reduce_risk_rationale: str
    cod_per_week: MoneyOut | None
    urgency: Urgency
    deadline: dt.date | None
    latest_start: dt.date | None
    fixed_date_penalty: MoneyOut | None
    urgency_life_weeks: DecimalOut | None
    urgency_rise_per_week: MoneyOut | None
    duration_low: DecimalOut | None
    duration_likely: DecimalOut | None
    duration_high: DecimalOut | None
    cd3: float | None
    cd3_low: float | None
    cd3_high: float | None
    wsjf_business_value: DecimalOut | None
    wsjf_time_criticality: DecimalOut | None
    wsjf_risk_reduction: DecimalOut | None
    wsjf_job_size: DecimalOut | None
    rice_reach: DecimalOut | None
    rice_impact: DecimalOut | None
    rice_confidence: DecimalOut | None
    rice_effort: DecimalOut | None
    ice_impact: DecimalOut | None
    ice_confidence: DecimalOut | None
    ice_ease: DecimalOut | None
    team_id: int | None
    backlog_position: int | None
    suggestion: CodSuggestionOut
    version: int


class InputProblemOut(Schema):
    field: str
    message: str


class RankItemOut(Schema):
    feature_id: int
    title: str
    status: FeatureStatus
    rank: int | None = Field(description="Position, 1 = first; null when the feature cannot be scored")
    shared_rank: int | None = Field(description="Equal scores share a rank (1, 2, 2, 4)")
    score: float | None
    cd3_low: float | None = None
    cd3_high: float | None = None
    cost_of_delay_now: MoneyOut | None = None
    problems: list[InputProblemOut] = Field(description="Why the feature has no score (missing or invalid inputs)")


class RankingOut(Schema):
    framework: FrameworkName
    label: str
    ice_method: IceMethod
    formula: str = ""
    count: int = Field(description="Every open feature: scored + unscored")
    scored: int
    unscored: int
    items: list[RankItemOut]
    page: int
    page_size: int
    pages: int


class RankingParams(PageParams):
    framework: FrameworkName | None = None
    formula_id: BodyId | None = None
    formula: str = Field("", max_length=2000, description="An expression, when framework=formula")


class WhatIfChange(StrictBody):
    feature_id: BodyId
    cod_per_week: Number | None = None
    duration_likely: Number | None = None
    duration_low: Number | None = None
    duration_high: Number | None = None


class WhatIfIn(StrictBody):
    framework: SavedFramework | None = None
    changes: list[WhatIfChange] = Field(..., min_length=1, max_length=50)


class WhatIfItemOut(Schema):
    feature_id: int
    title: str
    rank: int | None
    score: float | None
    whatif_rank: int | None
    whatif_score: float | None


class WhatIfOut(Schema):
    framework: str
    items: list[WhatIfItemOut]
    cd3_total_delay_cost_before: MoneyOut | None
    cd3_total_delay_cost_after: MoneyOut | None


class StrategyOut(Schema):
    strategy: StrategyName
    label: str
    total_delay_cost: MoneyOut
    cd3_saving: MoneyOut = Field(description="This strategy's total delay cost minus CD3's")


class SequenceItemOut(Schema):
    feature_id: int
    title: str
    cod_per_week: MoneyOut
    duration_weeks: float
    cd3: float
    current_end_week: float
    cd3_end_week: float


class LeftOutOut(Schema):
    feature_id: int
    title: str
    problems: list[InputProblemOut]


class SequenceOut(Schema):
    currency: str
    best: str | None
    strategies: list[StrategyOut]
    items: list[SequenceItemOut]
    count: int
    page: int
    page_size: int
    pages: int
    left_out_count: int
    left_out: list[LeftOutOut] = Field(description="The first 50 features without the inputs to sequence")


class ScheduleItemOut(Schema):
    feature_id: int
    title: str
    team: str
    start_week: float
    end_week: float
    start: dt.date
    end: dt.date
    delay_cost: MoneyOut
    late: bool


class ScheduleOut(Schema):
    currency: str
    teams: list[str]
    total_delay_cost: MoneyOut
    items: list[ScheduleItemOut]
    count: int
    page: int
    page_size: int
    pages: int
    left_out_count: int
    left_out: list[LeftOutOut]


class ForecastWhenIn(StrictBody):
    items: int = Field(..., ge=0, le=100_000)
    source: ForecastSource | None = None
    history: list[Annotated[int, Field(ge=0, le=100_000)]] | None = Field(
        None, max_length=520, description='Weekly finished counts, with source "given"'
    )
    history_weeks: int = Field(12, ge=1, le=104)
    trials: int = Field(10_000, ge=100, le=100_000)
    seed: int | None = Field(None, ge=0, le=2**32)


class ForecastHowManyIn(StrictBody):
    until: IsoDate | None = None
    weeks: int | None = Field(None, ge=0, le=520)
    source: ForecastSource | None = None
    history: list[Annotated[int, Field(ge=0, le=100_000)]] | None = Field(None, max_length=520)
    history_weeks: int = Field(12, ge=1, le=104)
    trials: int = Field(10_000, ge=100, le=100_000)
    seed: int | None = Field(None, ge=0, le=2**32)


class LevelOut(Schema):
    confidence: int
    weeks: int | None = None
    date: dt.date | None = None
    items: int | None = None


class HistogramOut(Schema):
    edges: list[int]
    counts: list[int]


class ForecastOut(Schema):
    kind: Literal["when", "how_many"]
    source: str
    history: list[int]
    trials: int
    items: int | None = None
    weeks: int | None = None
    mean: float
    levels: list[LevelOut]
    histogram: HistogramOut


class BacklogItemOut(Schema):
    position: int
    feature_id: int
    title: str
    status: FeatureStatus
    cd3: float | None
    cd3_rank: int | None
    hand_positioned: bool
    last_move_reason: str | None
    last_move_by: str | None
    last_move_at: dt.datetime | None


BacklogPage = page_schema(BacklogItemOut, "BacklogPage")


class BacklogMoveIn(StrictBody):
    feature_id: BodyId
    to_position: int = Field(..., ge=1, le=1_000_000)
    reason: str = Field(..., max_length=1000)


class BacklogResetIn(StrictBody):
    reason: str = Field(..., max_length=1000)


class BacklogMoveOut(Schema):
    id: int
    feature_id: int | None
    from_position: int | None
    to_position: int | None
    reason: str
    actor_label: str
    at: dt.datetime


class ScoreChangeOut(Schema):
    id: int
    framework: str
    old_score: float | None
    new_score: float | None
    old_rank: int | None
    new_rank: int | None
    changed: dict[str, list]
    actor_label: str
    at: dt.datetime


ScoreChangePage = page_schema(ScoreChangeOut, "ScoreChangePage")


class FormulaIn(StrictBody):
    name: str = Field(..., min_length=1, max_length=80)
    expression: str = Field(..., min_length=1, max_length=2000)


class FormulaPatch(StrictBody):
    name: str | None = Field(None, min_length=1, max_length=80)
    expression: str | None = Field(None, min_length=1, max_length=2000)
    version: int | None = Field(None, ge=1)


class FormulaOut(Schema):
    id: int
    name: str
    expression: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


FormulaPage = page_schema(FormulaOut, "FormulaPage")


class ThroughputIn(StrictBody):
    week_start: IsoDate
    finished: int = Field(..., ge=0, le=100_000)
    note: str = Field("", max_length=200)


class ThroughputPatch(StrictBody):
    week_start: IsoDate | None = None
    finished: int | None = Field(None, ge=0, le=100_000)
    note: str | None = Field(None, max_length=200)
    version: int | None = Field(None, ge=1)


class ThroughputOut(Schema):
    id: int
    week_start: dt.date
    finished: int
    note: str
    version: int


ThroughputPage = page_schema(ThroughputOut, "ThroughputPage")


class TeamIn(StrictBody):
    name: str = Field(..., min_length=1, max_length=80)
    capacity: Number = Decimal(1)
    available_from: IsoDate | None = None


class TeamPatch(StrictBody):
    name: str | None = Field(None, min_length=1, max_length=80)
    capacity: Number | None = None
    available_from: IsoDate | None = None
    version: int | None = Field(None, ge=1)


class TeamOut(Schema):
    id: int
    name: str
    capacity: DecimalOut
    available_from: dt.date | None
    version: int


TeamPage = page_schema(TeamOut, "TeamPage")


class DeliveryItemIn(StrictBody):
    title: str = Field(..., min_length=1, max_length=200)
    status: DeliveryStatus = "todo"
    estimate_weeks: Number | None = None
    done_at: IsoDateTime | None = None


class DeliveryItemPatch(StrictBody):
    title: str | None = Field(None, min_length=1, max_length=200)
    status: DeliveryStatus | None = None
    estimate_weeks: Number | None = None
    done_at: IsoDateTime | None = None
    version: int | None = Field(None, ge=1)


class DeliveryItemOut(Schema):
    id: int
    feature_id: int
    title: str
    status: DeliveryStatus
    estimate_weeks: DecimalOut | None
    done_at: dt.datetime | None
    version: int


DeliveryItemPage = page_schema(DeliveryItemOut, "DeliveryItemPage")


class KanoImportIn(StrictBody):
    csv: str = Field(
        ..., min_length=1, max_length=2 * 1024 * 1024, description="feature,respondent,functional,dysfunctional"
    )
    dry_run: bool = False


class KanoImportOut(Schema):
    rows: int
    created: int
    updated: int
    dry_run: bool


class KanoFeatureOut(Schema):
    feature_id: int
    title: str
    responses: int
    counts: dict[str, int] = Field(description="A, O, M, I, R, Q")
    dominant: str
    better: float | None
    worse: float | None


KanoPage = page_schema(KanoFeatureOut, "KanoPage")


class OutcomeIn(StrictBody):
    importance: Number
    satisfaction: Number
    respondents: int | None = Field(None, ge=0, le=10_000_000)
    version: int | None = Field(None, ge=0)


class OutcomeOut(Schema):
    problem_id: int
    title: str
    importance: DecimalOut | None
    satisfaction: DecimalOut | None
    respondents: int | None
    score: float | None
    band: str | None
    underserved: bool | None
    overserved: bool | None
    version: int


class SettingsIn(StrictBody):
    ice_method: IceMethod | None = None
    default_framework: SavedFramework | None = None
    throughput_source: ThroughputSource | None = None
    version: int | None = Field(None, ge=1)


class SettingsOut(Schema):
    ice_method: IceMethod
    default_framework: SavedFramework
    throughput_source: ThroughputSource
    version: int


# --------------------------------------------------------------------------------------------------
# Response shapes: a selector's view laid out as the dict its Out schema above validates
# --------------------------------------------------------------------------------------------------


def _selectors():
    # The selectors import the models and engines; imported here, not at the top, as the view types above are.
    from . import selectors

    return selectors


def problem_list(problems: Mapping[str, str]) -> list[dict]:
    return [{"field": k, "message": v} for k, v in problems.items()]


def prioritisation_out(view: PrioritisationView) -> dict:
    """``PrioritisationOut``: the stored inputs, CD3 with its range, and the Cost of Delay suggestion."""
    feature, row = view.feature, view.row
    data = {name: getattr(feature, name) for name in (*scoring.NUMERIC_FIELDS[:-2], "urgency", "deadline")}
    data.update({f"{f}_rationale": getattr(feature, f"{f}_rationale") for f in scoring.COD_FIELDS})
    data.update({name: money_out(data[name], view.currency) for name in MONEY_FIELDS})
    suggestion = view.suggestion
    return {
        **data,
        "feature_id": feature.pk,
        "title": feature.title,
        "currency": view.currency,
        "latest_start": view.latest_start,
        "cd3": row.score,
        "cd3_low": row.cd3_low,
        "cd3_high": row.cd3_high,
        "team_id": feature.team_id,
        "backlog_position": feature.backlog_position,
        "suggestion": {
            **suggestion,
            "protect_revenue": money_out(suggestion["protect_revenue"], view.currency),
            "arr": money_out(suggestion["arr"], view.currency),
        },
        "version": feature.version,
    }


def ranking_out(view: RankingView, rows: list[RankRow], params: PageParams, *, currency: str) -> dict:
    """``RankingOut``: ``rows`` are the page's slice of the ranking; the counts cover every open feature."""
    items = [
        {
            "feature_id": r.feature.pk,
            "title": r.feature.title,
            "status": r.feature.status,
            "rank": r.rank,
            "shared_rank": r.shared_rank,
            "score": r.score,
            "cd3_low": r.cd3_low,
            "cd3_high": r.cd3_high,
            "cost_of_delay_now": None if r.cod_now is None else money_out(_selectors().cents(r.cod_now), currency),
            "problems": problem_list(r.problems),
        }
        for r in rows
    ]
    return {
        "framework": view.framework,
        "label": view.label,
        "ice_method": view.ice_method,
        "formula": view.expression if view.framework == "formula" else "",
        "scored": view.ranked.scored,
        "unscored": view.ranked.unscored,
        "items": items,
        **page_counts(view.count, params),
    }


def whatif_out(result: dict[str, Any], *, currency: str) -> dict:
    """``WhatIfOut`` from ``selectors.whatif``: each row's rank now and in the what-if, and CD3's total delay cost
    before and after."""
    before, after = result["sequence_before"], result["sequence_after"]
    return {
        "framework": result["after"].framework,
        "items": [
            {
                "feature_id": r.feature.pk,
                "title": r.feature.title,
                "rank": r.rank,
                "score": r.score,
                "whatif_rank": r.whatif_rank,
                "whatif_score": r.whatif_score,
            }
            for r in result["rows"]
        ],
        "cd3_total_delay_cost_before": _cd3_total(before, currency),
        "cd3_total_delay_cost_after": _cd3_total(after, currency),
    }


def _cd3_total(comparison: fc.OrderComparison | None, currency: str) -> dict | None:
    if comparison is None:
        return None
    return money_out(_selectors().order_total(comparison.costs[fc.Strategy.CD3]), currency)


def _left_out(left_out: list[dict]) -> list[dict]:
    return [
        {"feature_id": x["id"], "title": x["title"], "problems": problem_list(x["problems"])} for x in left_out[:50]
    ]


def _item_page(items: list[dict], params: PageParams, *, currency: str, money: tuple[str, ...]) -> dict:
    page = paginate(items, params)
    page["items"] = [
        {"feature_id": i["id"], **i, **{name: money_out(i[name], currency) for name in money}} for i in page["items"]
    ]
    return page


def sequence_out(view: SequenceView, params: PageParams) -> dict:
    """``SequenceOut``: every strategy's total delay cost, one page of the items, the first 50 left out."""
    return {
        "currency": view.currency,
        "best": view.comparison.best.value if view.comparison else None,
        "strategies": [
            {
                **strategy,
                "total_delay_cost": money_out(strategy["total_delay_cost"], view.currency),
                "cd3_saving": money_out(strategy["cd3_saving"], view.currency),
            }
            for strategy in view.strategies
        ],
        **_item_page(view.items, params, currency=view.currency, money=("cod_per_week",)),
        "left_out_count": len(view.left_out),
        "left_out": _left_out(view.left_out),
    }


def schedule_out(view: ScheduleView, params: PageParams) -> dict:
    """``ScheduleOut``: the teams, the total delay cost, one page of the scheduled items, the first 50 left out."""
    return {
        "currency": view.currency,
        "teams": [t.name for t in view.teams] or ["One team"],
        "total_delay_cost": money_out(view.total_delay_cost, view.currency),
        **_item_page(view.items, params, currency=view.currency, money=("delay_cost",)),
        "left_out_count": len(view.left_out),
        "left_out": _left_out(view.left_out),
    }


def backlog_out(rows: list[BacklogRow], count: int, params: PageParams) -> dict:
    """``BacklogPage``: ``rows`` are the page's slice of a backlog of ``count`` items."""
    items = [
        {
            "position": r.position,
            "feature_id": r.feature_id,
            "title": r.title,
            "status": r.status,
            "cd3": r.cd3,
            "cd3_rank": r.cd3_rank,
            "hand_positioned": r.hand_position is not None,
            "last_move_reason": r.last_move.reason if r.last_move else None,
            "last_move_by": r.last_move.actor_label if r.last_move else None,
            "last_move_at": r.last_move.at if r.last_move else None,
        }
        for r in rows
    ]
    return {"items": items, **page_counts(count, params)}


def kano_out(rows: list[KanoRow], params: PageParams) -> dict:
    """``KanoPage``: one page of the features' Kano summaries."""
    page = paginate(rows, params)
    page["items"] = [
        {
            "feature_id": r.feature_id,
            "title": r.title,
            "responses": r.result.responses,
            "counts": dict(r.counts),
            "dominant": r.result.dominant.value,
            "better": r.result.better,
            "worse": r.result.worse,
        }
        for r in page["items"]
    ]
    return page


def forecast_out(view: ForecastView) -> dict:
    """``ForecastOut`` for either kind of forecast ("when" or "how_many")."""
    result = view.result
    return {
        "kind": view.kind,
        "source": view.source,
        "history": [c for _, c in view.history],
        "trials": result.trials,
        "items": view.items if view.kind == "when" else None,
        "weeks": result.weeks if view.kind == "how_many" else None,
        "mean": result.mean_weeks if view.kind == "when" else result.mean_items,
        "levels": view.levels,
        "histogram": {"edges": list(result.histogram.edges), "counts": list(result.histogram.counts)},
    }
