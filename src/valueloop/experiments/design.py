"""Experiment design (power analysis): units per variation, expected duration, and the effect reachable in the
planned duration, from a baseline, a minimum detectable effect, alpha, power and traffic.

Thin over ``engines.stats`` (``sample_size``, ``minimum_detectable_effect``, ``power``, ``expected_duration``):
this module checks the inputs, names the offending field in every error (``Invalid``) and shapes the figures for
pages and the API. No database.

Conventions: rates, MDEs, coverage and weights are fractions (0.045, not 4.5 %); a relative MDE is a fraction of
the baseline (0.05 = +5 %). Each treatment is compared with the control at ``alpha``. Traffic is split by
``coverage`` (the share of eligible units that enter) and ``weights``; the smallest variation sets the pace.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from valueloop.core.errors import Invalid
from valueloop.engines import stats

# Engine field -> the input field a person typed.
_FIELDS = {
    "baseline": "baseline",
    "mde": "mde",
    "variance": "variance",
    "alpha": "alpha",
    "power": "power",
    "daily_units": "daily_traffic",
    "traffic_fraction": "coverage",
    "weights": "weights",
    "n_variations": "weights",
    "metric_type": "kind",
}
LABELS = {
    "kind": "Metric kind",
    "baseline": "Baseline",
    "variance": "Variance",
    "mde": "Minimum detectable effect",
    "alpha": "Significance level",
    "power": "Power",
    "daily_traffic": "Daily traffic",
    "coverage": "Coverage",
    "weights": "Weights",
    "planned_days": "Planned duration",
}


@dataclass(frozen=True)
class DesignInput:
    kind: str = "binomial"  # binomial or mean
    baseline: float = 0.1  # rate (binomial) or mean
    variance: float | None = None  # per-unit variance (mean metrics)
    mde: float = 0.05
    relative: bool = True
    alpha: float = 0.05
    power: float = 0.8
    daily_traffic: float | None = None  # eligible units per day
    coverage: float = 1.0
    weights: tuple[float, ...] = (0.5, 0.5)
    planned_days: int | None = None


@dataclass(frozen=True)
class DesignResult:
    n_per_variation: int
    n_total: int
    absolute_mde: float
    relative_mde: float
    days: int | None  # expected duration (None without traffic)
    units_per_day: float | None  # units entering the experiment per day
    planned_days: int | None
    planned_units_per_variation: int | None  # units the smallest variation gets in the planned duration
    reachable_absolute_mde: float | None  # smallest effect detectable in the planned duration
    reachable_relative_mde: float | None
    power_at_planned: float | None  # power for the target MDE at the planned duration

    def as_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def _invalid(exc: stats.StatsError) -> Invalid:
    field = _FIELDS.get(exc.field or "", exc.field or "form")
    label = LABELS.get(field, field)
    return Invalid(f"{label}: {exc.message}.", fields={field: exc.message[:1].upper() + exc.message[1:] + "."})


def _require_number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{LABELS[field]} must be a number.", fields={field: "A number."})
    return float(value)


def calculate(data: DesignInput) -> DesignResult:
    """The figures of the design; ``Invalid`` naming the field for any bad input."""
    if data.kind not in ("binomial", "mean"):
        raise Invalid(
            "Power analysis plans conversion (binomial) and mean metrics; plan a ratio metric by its mean.",
            fields={"kind": "binomial or mean."},
        )
    baseline = _require_number(data.baseline, "baseline")
    mde = _require_number(data.mde, "mde")
    if mde <= 0:
        raise Invalid(
            "Minimum detectable effect: the smallest change worth detecting must be more than 0.",
            fields={"mde": "More than 0."},
        )
    weights = list(data.weights)
    if len(weights) < 2:
        raise Invalid("Weights: an experiment has at least two variations.", fields={"weights": "Two or more."})
    for w in weights:
        _require_number(w, "weights")
    if any(w <= 0 for w in weights) or abs(math.fsum(weights) - 1) > 1e-6:
        raise Invalid(
            f"Weights: they add up to {math.fsum(weights):g}; each must be more than 0 and together 1.",
            fields={"weights": f"They add up to {math.fsum(weights):g}; they must add up to 1."},
        )
    coverage = _require_number(data.coverage, "coverage")
    if not 0 < coverage <= 1:
        raise Invalid("Coverage: more than 0 and at most 1 (100 %).", fields={"coverage": "More than 0, at most 1."})
    daily = data.daily_traffic
    if daily is not None:
        daily = _require_number(daily, "daily_traffic")
        if daily <= 0:
            raise Invalid("Daily traffic: more than 0 users a day.", fields={"daily_traffic": "More than 0."})
    planned = data.planned_days
    if planned is not None and (isinstance(planned, bool) or not isinstance(planned, int) or not 1 <= planned <= 365):
        raise Invalid("Planned duration: 1 to 365 days.", fields={"planned_days": "1 to 365 days."})
    variance = None if data.kind == "binomial" else data.variance
    if data.kind == "mean":
        if variance is None:
            raise Invalid("Variance: a mean metric needs its per-user variance.", fields={"variance": "Required."})
        variance = _require_number(variance, "variance")
    try:
        size = stats.sample_size(
            data.kind,
            baseline=baseline,
            mde=mde,
            relative=data.relative,
            variance=variance,
            alpha=data.alpha,
            power=data.power,
            n_variations=len(weights),
            daily_units=daily,
            traffic_fraction=coverage,
            weights=weights,
        )
        units_per_day = daily * coverage if daily is not None else None
        planned_units = reachable = power_planned = None
        if daily is not None and planned is not None:
            planned_units = math.floor(daily * coverage * min(weights) * planned)
            if planned_units >= 2:
                reachable = stats.minimum_detectable_effect(
                    data.kind,
                    baseline=baseline,
                    n_per_variation=planned_units,
                    variance=variance,
                    alpha=data.alpha,
                    power=data.power,
                )
                power_planned = stats.power(
                    data.kind,
                    baseline=baseline,
                    effect=mde,
                    relative=data.relative,
                    n_per_variation=planned_units,
                    variance=variance,
                    alpha=data.alpha,
                )
    except stats.StatsError as exc:
        raise _invalid(exc) from exc
    return DesignResult(
        n_per_variation=size.n_per_variation,
        n_total=size.n_total,
        absolute_mde=size.absolute_mde,
        relative_mde=size.relative_mde,
        days=size.days,
        units_per_day=units_per_day,
        planned_days=planned,
        planned_units_per_variation=planned_units,
        reachable_absolute_mde=reachable.absolute if reachable else None,
        reachable_relative_mde=reachable.relative if reachable else None,
        power_at_planned=power_planned,
    )
