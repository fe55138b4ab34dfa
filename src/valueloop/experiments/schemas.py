from datetime import date, datetime
from typing import Any, Literal

from django.core.exceptions import ObjectDoesNotExist
from ninja import Field, Schema

from valueloop.core.api_support import BodyId, PageParams, StrictBody, choice_literal, page_schema

from .models import AGGREGATIONS, CORRECTIONS, METHODS, METRIC_KINDS, OUTCOMES, ROLES, STATUSES

ExperimentStatus = choice_literal(STATUSES)
AnalysisMethod = choice_literal(METHODS)
CorrectionName = choice_literal(CORRECTIONS)
MetricKind = choice_literal(METRIC_KINDS)
MetricRole = choice_literal(ROLES)
Aggregation = choice_literal(AGGREGATIONS)
Outcome = choice_literal(OUTCOMES)
Key = Field(..., min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")


# --- metrics ------------------------------------------------------------------------------------------------------


class ExperimentMetricDefIn(StrictBody):
    key: str = Key
    name: str = Field(..., min_length=1, max_length=120)
    description: str = Field("", max_length=500)
    kind: MetricKind = "binomial"
    event: str = Field(..., min_length=1, max_length=120, description="The event name your product sends")
    aggregation: Aggregation = "count"
    denominator_event: str = Field("", max_length=120, description="Ratio metrics: the denominator's event")
    denominator_aggregation: Aggregation = "count"
    window_hours: int | None = Field(None, ge=1, le=8760, description="Count events this long after exposure")
    lower_is_better: bool = False


class ExperimentMetricDefPatch(StrictBody):
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=500)
    kind: MetricKind | None = None
    event: str | None = Field(None, min_length=1, max_length=120)
    aggregation: Aggregation | None = None
    denominator_event: str | None = Field(None, max_length=120)
    denominator_aggregation: Aggregation | None = None
    window_hours: int | None = Field(None, ge=1, le=8760)
    lower_is_better: bool | None = None
    archived: bool | None = None
    version: int | None = Field(None, ge=1)


class ExperimentMetricDefOut(Schema):
    id: int
    key: str
    name: str
    description: str
    kind: MetricKind
    event: str
    aggregation: Aggregation
    denominator_event: str
    denominator_aggregation: Aggregation
    window_hours: int | None
    lower_is_better: bool
    archived_at: datetime | None
    created_at: datetime
    version: int


ExperimentMetricDefPage = page_schema(ExperimentMetricDefOut, "ExperimentMetricDefPage")


class ExperimentMetricListParams(PageParams):
    search: str = Field("", max_length=200)
    archived: bool = False


# --- experiments --------------------------------------------------------------------------------------------------


class ExperimentVariationIn(StrictBody):
    name: str = Field(..., min_length=1, max_length=60)
    value: Any = Field(..., description="The flag value this variation serves (of the flag's type)")


class ExperimentMetricLinkIn(StrictBody):
    metric_id: BodyId
    role: MetricRole


class ExperimentIn(StrictBody):
    key: str = Key
    name: str = Field(..., min_length=1, max_length=200)
    hypothesis: str = Field(..., min_length=1, max_length=20000, description="Markdown")
    feature_id: BodyId | None = Field(None, description="The feature the hypothesis is about (or give problem_id)")
    problem_id: BodyId | None = Field(None, description="The problem the hypothesis is about (or give feature_id)")
    flag_id: BodyId
    environment_id: BodyId
    variations: list[ExperimentVariationIn] = Field(..., min_length=2, max_length=20, description="Control first")
    weights: list[float] | None = Field(None, max_length=20, description="One per variation, summing to 1")
    coverage: float = Field(1.0, description="Share of eligible users in the experiment (0–1]")
    condition: dict[str, Any] = Field(default_factory=dict, description="Targeting condition (GrowthBook syntax)")
    hash_attribute: str = Field("id", min_length=1, max_length=64)
    metrics: list[ExperimentMetricLinkIn] = Field(default_factory=list, max_length=20)
    planned_start: date | None = None
    planned_days: int = Field(14, ge=1, le=365)
    daily_traffic: int | None = Field(None, ge=1, le=10**9)
    method: AnalysisMethod = "frequentist"
    alpha: float = Field(0.05, description="Significance level, (0, 0.5]")
    correction: CorrectionName = "none"
    cuped_days: int = Field(0, ge=0, le=90)
    prior_proper: bool = False
    prior_mean: float = 0.0
    prior_sd: float = Field(0.3, description="Prior standard deviation of the relative effect")


class ExperimentPatch(StrictBody):
    key: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str | None = Field(None, min_length=1, max_length=200)
    hypothesis: str | None = Field(None, min_length=1, max_length=20000)
    feature_id: BodyId | None = None
    problem_id: BodyId | None = None
    flag_id: BodyId | None = None
    environment_id: BodyId | None = None
    variations: list[ExperimentVariationIn] | None = Field(None, min_length=2, max_length=20)
    weights: list[float] | None = Field(None, max_length=20)
    coverage: float | None = None
    condition: dict[str, Any] | None = None
    hash_attribute: str | None = Field(None, min_length=1, max_length=64)
    metrics: list[ExperimentMetricLinkIn] | None = Field(None, max_length=20)
    planned_start: date | None = None
    planned_days: int | None = Field(None, ge=1, le=365)
    daily_traffic: int | None = Field(None, ge=1, le=10**9)
    method: AnalysisMethod | None = None
    alpha: float | None = None
    correction: CorrectionName | None = None
    cuped_days: int | None = Field(None, ge=0, le=90)
    prior_proper: bool | None = None
    prior_mean: float | None = None
    prior_sd: float | None = None
    version: int | None = Field(None, ge=1, description="The version you edited; a stale one answers 409")


class ExperimentVersionIn(StrictBody):
    version: int | None = Field(None, ge=1)


class ExperimentStopIn(StrictBody):
    end_rule: bool = Field(True, description="Also stop serving the variations (disable the flag's rule)")
    version: int | None = Field(None, ge=1)


class ExperimentDecideIn(StrictBody):
    outcome: Outcome
    learning: str = Field(..., min_length=1, max_length=20000, description="What we learned (goes to the evidence)")
    variation: int | None = Field(None, ge=0, le=19, description="The chosen variation's index (ship: required)")
    rollout: bool = Field(False, description="Ship: serve the chosen variation's value through the flag")
    rollout_environment_id: BodyId | None = Field(None, description="Default: the experiment's environment")
    version: int | None = Field(None, ge=1)


class ExperimentVariationOut(Schema):
    name: str
    value: Any


class ExperimentMetricLinkOut(Schema):
    metric_id: int
    role: MetricRole
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.metric.name


class ExperimentDecisionOut(Schema):
    outcome: Outcome
    variation: int | None
    rollout_environment_id: int | None
    rollout_revision: int | None
    rollout_state: str
    summary: dict[str, Any]
    created_at: datetime


class ExperimentOut(Schema):
    id: int
    key: str
    name: str
    hypothesis: str
    feature_id: int | None
    problem_id: int | None
    flag_id: int | None
    environment_id: int | None
    variations: list[ExperimentVariationOut]
    weights: list[float]
    coverage: float
    condition: dict[str, Any]
    hash_attribute: str
    status: ExperimentStatus
    planned_start: date | None
    planned_days: int
    daily_traffic: int | None
    design: dict[str, Any]
    method: AnalysisMethod
    alpha: float
    correction: CorrectionName
    cuped_days: int
    prior_proper: bool
    prior_mean: float
    prior_sd: float
    metrics: list[ExperimentMetricLinkOut]
    started_at: datetime | None
    stopped_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    decision: ExperimentDecisionOut | None = None

    @staticmethod
    def resolve_metrics(obj) -> list:
        from .selectors import metric_links

        return metric_links(obj)

    @staticmethod
    def resolve_decision(obj):
        return getattr(obj, "decision", None) if _has_decision(obj) else None


def _has_decision(obj) -> bool:
    try:
        return obj.decision is not None
    except ObjectDoesNotExist:  # no decision yet
        return False


ExperimentPage = page_schema(ExperimentOut, "ExperimentPage")


class ExperimentListParams(PageParams):
    status: ExperimentStatus | None = None
    search: str = Field("", max_length=200)
    feature_id: int | None = Field(None, ge=1, le=2**62)


class ExperimentDecisionResultOut(Schema):
    experiment: ExperimentOut
    decision: ExperimentDecisionOut
    learning_id: int


# --- design -------------------------------------------------------------------------------------------------------


class ExperimentDesignIn(StrictBody):
    kind: Literal["binomial", "mean"] = "binomial"
    baseline: float = Field(..., description="Control conversion rate (0–1, binomial) or mean (mean metrics)")
    variance: float | None = Field(None, description="Per-user variance (mean metrics)")
    mde: float = Field(..., description="Minimum detectable effect: relative (0.05 = +5 %) or absolute")
    relative: bool = True
    alpha: float = 0.05
    power: float = 0.8
    daily_traffic: float | None = Field(None, description="Eligible users per day")
    coverage: float = 1.0
    weights: list[float] = Field(default_factory=lambda: [0.5, 0.5], min_length=2, max_length=20)
    planned_days: int | None = Field(None, ge=1, le=365)


class ExperimentDesignOut(Schema):
    n_per_variation: int
    n_total: int
    absolute_mde: float
    relative_mde: float | None
    days: int | None
    units_per_day: float | None
    planned_days: int | None
    planned_units_per_variation: int | None
    reachable_absolute_mde: float | None
    reachable_relative_mde: float | None
    power_at_planned: float | None


# --- results ------------------------------------------------------------------------------------------------------


class ExperimentIntervalOut(Schema):
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    std_error: float | None
    p_value: float | None
    adjusted_p_value: float | None
    chance_to_win: float | None
    expected_loss: float | None


class ExperimentEffectOut(Schema):
    variation: int
    name: str
    verdict: Literal["better", "worse", "inconclusive", "unknown"]
    significant: bool
    interval_alpha: float = Field(
        description="Error rate of both intervals: alpha, or under Holm/BH the level that agrees with the adjusted "
        "p-value (Holm: the level of the step that tested it; BH: Benjamini-Yekutieli R*alpha/m)"
    )
    absolute: ExperimentIntervalOut
    relative: ExperimentIntervalOut


class ExperimentVariationResultOut(Schema):
    index: int
    name: str
    units: int
    mean: float | None
    raw_mean: float | None


class ExperimentMetricResultOut(Schema):
    metric_id: int
    key: str
    name: str
    role: MetricRole
    kind: MetricKind
    lower_is_better: bool
    error: str | None
    warnings: list[str]
    cuped_theta: float | None
    variations: list[ExperimentVariationResultOut]
    effects: list[ExperimentEffectOut]


class ExperimentSrmOut(Schema):
    p_value: float | None
    warning: bool
    observed: list[int]
    expected: list[float | None]
    message: str


class ExperimentSeriesPointOut(Schema):
    day: date
    variation: int
    units: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None


class ExperimentResultsOut(Schema):
    experiment_id: int
    key: str
    status: ExperimentStatus
    has_data: bool
    message: str = Field("", description="Why there are no results yet, when there are none")
    method: AnalysisMethod
    alpha: float
    correction: CorrectionName
    correction_family_size: int = Field(
        0, description="Comparisons (metric x treatment) the correction ran over; 0 without a correction"
    )
    summary: str = Field("", description="The read-out in plain words, from the same rows (empty without data)")
    variations: list[str]
    weights: list[float]
    units: list[int]
    multiple_exposures: int
    unknown_variation_exposures: int
    first_exposure: datetime | None
    last_exposure: datetime | None
    srm: ExperimentSrmOut | None
    guardrail_warnings: list[str]
    notes: list[str]
    metrics: list[ExperimentMetricResultOut]
    series: list[ExperimentSeriesPointOut]


# --- learnings ----------------------------------------------------------------------------------------------------


class ExperimentLearningOut(Schema):
    id: int
    text: str
    experiment_id: int
    experiment_name: str
    feature_id: int | None
    problem_id: int | None
    outcome: Outcome | None
    created_at: datetime

    @staticmethod
    def resolve_experiment_name(obj) -> str:
        return obj.experiment.name

    @staticmethod
    def resolve_outcome(obj) -> str | None:
        return obj.decision.outcome if obj.decision_id else None


ExperimentLearningPage = page_schema(ExperimentLearningOut, "ExperimentLearningPage")


class ExperimentLearningListParams(PageParams):
    search: str = Field("", max_length=200)
    feature_id: int | None = Field(None, ge=1, le=2**62)
    problem_id: int | None = Field(None, ge=1, le=2**62)
    outcome: Outcome | None = None
