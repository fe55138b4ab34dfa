"""From an experiment's sufficient statistics (``events.facade.ExperimentData``) to its read-out: the analysis of
every metric with ``engines.stats``, the sample-ratio check, guardrail warnings in plain words, and the cumulative
effect of the primary metric day by day. No database: the caller passes the data and the settings.

Invariants:
- The numbers are exactly ``engines.stats.analyse_many`` on ``data.metrics`` with the experiment's settings (the
  tests compare them with a direct call); nothing is rounded here, pages format.
- A metric that cannot be analysed (too few units, a zero denominator) gets an ``error`` in plain words and is
  left out of the correction family; the others are still analysed.
- Every effect row takes its intervals, p-value and verdict from one test (the engine's test of the absolute
  difference; the relative interval is Fieller's on the same statistic): both intervals exclude 0, the p-value used
  for the verdict (adjusted under Holm or BH) is below alpha, and the verdict is not "inconclusive" -- all three or
  none. Under a correction both intervals are drawn at the row's ``interval_alpha`` (the engine's
  ``interval_levels``). Bayesian rows: the central ``1 - alpha`` credible intervals exclude 0 exactly when the
  chance to win is outside ``[alpha/2, 1 - alpha/2]``, which is when the verdict is better or worse.
- The SRM check uses the units per variation after exclusions against the configured weights; it warns at
  ``p < 0.001`` (the engine's threshold) and says which variation is off and by how much.
- The cumulative series runs the same analysis (every analysable metric, the same correction) on running sums of
  the daily cohorts (``data.days``): the value on day d uses every unit first exposed up to d, so its last point
  equals the overall result, interval included.
- NaN and infinities never leave this module: they become ``None``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from valueloop.engines import stats


@dataclass(frozen=True)
class MetricDef:
    key: str  # the MetricSpec key the data is keyed by
    metric_id: int
    name: str
    role: str  # primary, secondary, guardrail
    kind: str  # binomial, mean, ratio
    lower_is_better: bool = False


@dataclass(frozen=True)
class Settings:
    variation_names: tuple[str, ...]
    weights: tuple[float, ...]
    method: str = "frequentist"
    alpha: float = 0.05
    correction: str = "none"  # none, holm, bh
    cuped: bool = False
    prior_proper: bool = False
    prior_mean: float = 0.0
    prior_sd: float = 0.3
    planned_n: float | None = None  # units of a treatment-control pair the sequential test is tuned to


@dataclass
class Interval:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    std_error: float | None = None
    p_value: float | None = None
    adjusted_p_value: float | None = None
    chance_to_win: float | None = None
    expected_loss: float | None = None


@dataclass
class EffectRow:
    variation: int
    name: str
    absolute: Interval
    relative: Interval
    verdict: str  # better, worse, inconclusive, unknown
    significant: bool
    interval_alpha: float  # the error rate of both intervals: alpha, or the adjusted level under a correction


@dataclass
class VariationRow:
    index: int
    name: str
    units: int
    mean: float | None
    raw_mean: float | None


@dataclass
class MetricReadout:
    definition: MetricDef
    variations: list[VariationRow] = field(default_factory=list)
    effects: list[EffectRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    cuped_theta: float | None = None


@dataclass
class SeriesPoint:
    day: dt.date
    variation: int
    units: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass
class Srm:
    p_value: float
    warning: bool
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    message: str


@dataclass
class Readout:
    settings: Settings
    units: tuple[int, ...]
    multiple_exposures: int
    unknown_variation_exposures: int
    first_exposure: dt.datetime | None
    last_exposure: dt.datetime | None
    metrics: list[MetricReadout]
    srm: Srm | None
    guardrail_warnings: list[str]
    notes: list[str]
    series: list[SeriesPoint]
    family_size: int = 0  # comparisons the correction ran over (0 without a correction)

    @property
    def total_units(self) -> int:
        return sum(self.units)

    @property
    def primary(self) -> MetricReadout | None:
        return next((m for m in self.metrics if m.definition.role == "primary"), None)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _interval(effect: stats.Effect) -> Interval:
    return Interval(
        estimate=_finite(effect.estimate),
        ci_low=_finite(effect.ci_low),
        ci_high=_finite(effect.ci_high),
        std_error=_finite(effect.std_error),
        p_value=_finite(effect.p_value),
        adjusted_p_value=_finite(effect.adjusted_p_value),
        chance_to_win=_finite(effect.chance_to_win),
        expected_loss=_finite(effect.expected_loss),
    )


def _options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "alpha": settings.alpha,
        "method": settings.method,
        "weights": list(settings.weights),
        "cuped": settings.cuped,
    }
    if settings.method == "bayesian":
        options["prior"] = stats.Prior(
            proper=settings.prior_proper, mean=settings.prior_mean, variance=settings.prior_sd**2
        )
    if settings.planned_n:
        options["planned_n"] = settings.planned_n
    return options


def verdict(effect: Interval, *, method: str, alpha: float, lower_is_better: bool) -> tuple[str, bool]:
    """(better | worse | inconclusive | unknown, significant) of an effect, in the metric's direction.

    Frequentist and sequential: significant when the p-value (the adjusted one under a correction) is below alpha,
    which is when the row's intervals exclude 0. Bayesian: better when the chance to win is above ``1 - alpha/2``,
    worse when below ``alpha/2``, which is when the central ``1 - alpha`` credible interval excludes 0 (with a flat
    prior, the same rows as the two-sided test at alpha).
    """
    if effect.estimate is None:
        return "unknown", False
    if method == "bayesian":
        if effect.chance_to_win is None:
            return "unknown", False
        if effect.chance_to_win > 1 - alpha / 2:
            return "better", True
        if effect.chance_to_win < alpha / 2:
            return "worse", True
        return "inconclusive", False
    p = effect.adjusted_p_value if effect.adjusted_p_value is not None else effect.p_value
    if p is None:
        return "unknown", False
    if p >= alpha:
        return "inconclusive", False
    up = effect.estimate > 0
    return ("worse" if up else "better") if lower_is_better else ("better" if up else "worse"), True


def _not_enough(units: Sequence[int], names: Sequence[str]) -> str | None:
    short = [f"{names[i]} ({n})" for i, n in enumerate(units) if n < 2]
    if short:
        return "Not enough users yet: every variation needs at least 2 (so far " + ", ".join(short) + ")."
    return None


def _plain_stats_error(exc: stats.StatsError, names: Sequence[str]) -> str:
    where = f" in {names[exc.variation]}" if exc.variation is not None and exc.variation < len(names) else ""
    if exc.field == "sum_y":
        return f"The denominator event never happened{where}, so the ratio is undefined."
    if exc.field == "n":
        return f"Not enough users{where} to estimate a variance (at least 2 are needed)."
    return f"This metric cannot be analysed{where}: {exc.message}."


def _readout(definition: MetricDef, result: stats.MetricResult, settings: Settings) -> MetricReadout:
    names = settings.variation_names
    readout = MetricReadout(definition, cuped_theta=_finite(result.cuped_theta))
    for summary in result.variations:
        readout.variations.append(
            VariationRow(
                summary.index, names[summary.index], summary.n, _finite(summary.mean), _finite(summary.raw_mean)
            )
        )
    for comparison in result.comparisons:
        absolute = _interval(comparison.absolute)
        # The absolute effect carries the test (and exists even when the control mean is 0).
        label, significant = verdict(
            absolute, method=settings.method, alpha=settings.alpha, lower_is_better=definition.lower_is_better
        )
        readout.effects.append(
            EffectRow(
                comparison.variation,
                names[comparison.variation],
                absolute,
                _interval(comparison.relative),
                label,
                significant,
                comparison.interval_alpha,
            )
        )
    for warning in result.warnings:
        if warning.code == stats.WarningCode.SRM:
            continue  # reported once for the experiment, in plain words
        where = f"{names[warning.variation]}: " if warning.variation is not None else ""
        readout.warnings.append(where + warning.message)
    return readout


def _percent(value: float) -> str:
    return f"{value * 100:.3g}"


def srm_message(observed: Sequence[int], weights: Sequence[float], p_value: float, names: Sequence[str]) -> str:
    """ "Streamlined got 10.9% fewer users than the 50/50 split plans; p = 0.0002 < 0.001: check the assignment
    before trusting these results." The variation furthest from its planned share is named."""
    total = sum(observed)
    split = "/".join(_percent(w) for w in weights)
    deviations = [(n - w * total) / (w * total) if w * total else 0.0 for n, w in zip(observed, weights, strict=True)]
    # The variation furthest from its share; on a tie the one short of users (two variations always tie).
    worst = max(range(len(observed)), key=lambda i: (round(abs(deviations[i]), 9), deviations[i] < 0))
    amount = abs(deviations[worst]) * 100
    direction = "fewer" if deviations[worst] < 0 else "more"
    p_clause = f"p = {p_value:.2g} < 0.001" if p_value >= 1e-4 else "p < 0.0001"
    return (
        f"{names[worst]} got {amount:.1f}% {direction} users than the {split} split plans; "
        f"{p_clause}: check the assignment before trusting these results."
    )


def _fmt_effect(effect: Interval) -> str:
    if effect.estimate is None:
        return "no estimate"
    text = f"{effect.estimate * 100:+.1f}%"
    if effect.ci_low is not None and effect.ci_high is not None:
        text += f" (interval {effect.ci_low * 100:+.1f}% to {effect.ci_high * 100:+.1f}%)"
    return text


def guardrail_message(metric: MetricReadout, effect: EffectRow, method: str) -> str:
    change = "went up" if (effect.relative.estimate or 0) > 0 else "went down"
    if method == "bayesian" and effect.relative.chance_to_win is not None:
        evidence = f"chance it is better: {effect.relative.chance_to_win * 100:.1f}%"
    else:
        p = (
            effect.relative.adjusted_p_value
            if effect.relative.adjusted_p_value is not None
            else effect.relative.p_value
        )
        evidence = f"p = {p:.2g}" if p is not None else "significant"
    direction = "lower" if metric.definition.lower_is_better else "higher"
    return (
        f"Guardrail “{metric.definition.name}” got significantly worse in {effect.name}: it {change} "
        f"{_fmt_effect(effect.relative)}, {evidence} ({direction} is better). Look into it before shipping."
    )


def _correction(settings: Settings) -> str | None:
    return None if settings.correction in ("", "none") or settings.method == "bayesian" else settings.correction


def _analyse_family(
    metrics: dict[str, Sequence[stats.SufficientStats]], definitions: Sequence[MetricDef], settings: Settings
) -> tuple[dict[str, stats.MetricResult], dict[str, stats.StatsError]]:
    """Every metric analysed with the experiment's settings, corrected across all that can be analysed.

    Each metric is tried alone first, so one unanalysable metric (reported in the second dict) does not sink the
    others; the rest form the correction family."""
    options = _options(settings)
    errors: dict[str, stats.StatsError] = {}
    good: list[MetricDef] = []
    for definition in definitions:
        try:
            stats.analyse(
                definition.kind, metrics[definition.key], lower_is_better=definition.lower_is_better, **options
            )
        except stats.StatsError as exc:
            errors[definition.key] = exc
            continue
        good.append(definition)
    if not good:
        return {}, errors
    results = stats.analyse_many(
        [(d.kind, metrics[d.key]) for d in good],
        correction=_correction(settings),
        lower_is_better=[d.lower_is_better for d in good],
        **options,
    )
    return {d.key: result for d, result in zip(good, results, strict=True)}, errors


def _series(data: Any, primary: MetricDef, definitions: Sequence[MetricDef], settings: Settings) -> list[SeriesPoint]:
    """The primary metric's relative effect on cumulative data, one point per cohort day and treatment, analysed in
    the same family (and with the same correction) as the overall result."""
    days = list(getattr(data, "days", ()) or ())
    running: dict[str, list[stats.SufficientStats]] = {}
    points: list[SeriesPoint] = []
    for day in days:
        for definition in definitions:
            batch = day.metrics.get(definition.key)
            if batch is None:
                continue
            current = running.get(definition.key)
            running[definition.key] = (
                list(batch) if current is None else [a + b for a, b in zip(current, batch, strict=True)]
            )
        primary_sums = running.get(primary.key)
        if primary_sums is None or any(s.n < 2 for s in primary_sums):
            continue
        present = [d for d in definitions if d.key in running and all(s.n >= 2 for s in running[d.key])]
        results, _ = _analyse_family(running, present, settings)
        result = results.get(primary.key)
        if result is None:
            continue
        for comparison in result.comparisons:
            relative = comparison.relative
            points.append(
                SeriesPoint(
                    day.day,
                    comparison.variation,
                    sum(s.n for s in primary_sums),
                    _finite(relative.estimate),
                    _finite(relative.ci_low),
                    _finite(relative.ci_high),
                )
            )
    return points


def analyse_experiment(data: Any, definitions: Sequence[MetricDef], settings: Settings) -> Readout:
    """The read-out of one experiment (see the module docstring)."""
    names = settings.variation_names
    units = tuple(int(n) for n in data.units)
    notes: list[str] = []
    if data.multiple_exposures:
        notes.append(
            f"{data.multiple_exposures:,} user{'s' if data.multiple_exposures != 1 else ''} saw more than one "
            "variation and {} left out of every number here.".format("were" if data.multiple_exposures != 1 else "was")
        )
    if data.unknown_variation_exposures:
        notes.append(
            f"{data.unknown_variation_exposures:,} exposure{'s' if data.unknown_variation_exposures != 1 else ''} "
            f"named a variation this experiment does not have (it has {len(names)}) and "
            f"{'were' if data.unknown_variation_exposures != 1 else 'was'} ignored."
        )
    srm = None
    if sum(units) > 0 and len(units) >= 2:
        try:
            check = stats.srm_check(units, list(settings.weights))
            message = srm_message(units, settings.weights, check.p_value, names) if check.warning else ""
            srm = Srm(check.p_value, check.warning, check.observed, check.expected, message)
        except stats.StatsError:
            srm = None
    shortage = _not_enough(units, names)
    readouts: dict[str, MetricReadout] = {}
    present: list[MetricDef] = []
    for definition in definitions:
        if shortage or data.metrics.get(definition.key) is None:
            readouts[definition.key] = MetricReadout(definition, error=shortage or "No data for this metric yet.")
        else:
            present.append(definition)
    results, errors = _analyse_family(data.metrics, present, settings)
    for definition in present:
        if definition.key in errors:
            readouts[definition.key] = MetricReadout(
                definition, error=_plain_stats_error(errors[definition.key], names)
            )
        else:
            readouts[definition.key] = _readout(definition, results[definition.key], settings)
    metrics = [readouts[d.key] for d in definitions]
    guardrails = [
        guardrail_message(metric, effect, settings.method)
        for metric in metrics
        if metric.definition.role == "guardrail"
        for effect in metric.effects
        if effect.verdict == "worse"
    ]
    primary = next((d for d in definitions if d.role == "primary"), None)
    series = _series(data, primary, present, settings) if primary is not None and not shortage else []
    family = next((r.family_size for r in results.values() if r.family_size), 0)
    return Readout(
        settings=settings,
        units=units,
        multiple_exposures=int(data.multiple_exposures),
        unknown_variation_exposures=int(data.unknown_variation_exposures),
        first_exposure=data.first_exposure,
        last_exposure=data.last_exposure,
        metrics=metrics,
        srm=srm,
        guardrail_warnings=guardrails,
        notes=notes,
        series=series,
        family_size=family,
    )


def _pct(value: float | None) -> str:
    return "?" if value is None else f"{abs(value) * 100:.1f} %"


def _signed_pct(value: float | None) -> str:
    return "?" if value is None else f"{value * 100:+.1f} %"


def plain_summary(readout: Readout) -> str:
    """The read-out in one or two sentences a product manager can act on, from the same rows the page shows:
    "Streamlined raised Approval completion by 9.3 % (2.5 % to 16.1 %), and no guardrail got worse; enough
    evidence to ship Streamlined." Each verdict is the row's own (same test, same adjustment)."""
    names = readout.settings.variation_names
    control = names[0] if names else "the control"
    if readout.srm is not None and readout.srm.warning:
        return readout.srm.message
    primary = readout.primary
    if primary is None:
        return "Choose a primary metric to get a verdict; the rows below show each metric on its own."
    metric = primary.definition.name
    if primary.error:
        return f"No verdict on {metric} yet: {primary.error}"
    guardrails = [m for m in readout.metrics if m.definition.role == "guardrail"]
    harmed = sorted({e.name for m in guardrails for e in m.effects if e.verdict == "worse"})
    harmed_metrics = [m.definition.name for m in guardrails if any(e.verdict == "worse" for e in m.effects)]
    sentences = []
    winners = []
    for effect in primary.effects:
        relative = effect.relative if effect.relative.estimate is not None else None
        moved = "raised" if (effect.absolute.estimate or 0) > 0 else "lowered"
        if relative is not None and relative.ci_low is not None and relative.ci_high is not None:
            size = f"by {_pct(relative.estimate)} ({_signed_pct(relative.ci_low)} to {_signed_pct(relative.ci_high)})"
        elif relative is not None:
            size = f"by {_pct(relative.estimate)}"
        else:
            size = ""
        if effect.verdict == "better":
            sentences.append(f"{effect.name} {moved} {metric} {size}".rstrip())
            if effect.name not in harmed:
                winners.append(effect.name)
        elif effect.verdict == "worse":
            sentences.append(f"{effect.name} made {metric} worse: it {moved} it {size}".rstrip())
        elif effect.verdict == "inconclusive":
            seen = f" (so far {_signed_pct(relative.estimate)})" if relative is not None else ""
            sentences.append(f"no clear difference in {metric} between {effect.name} and {control}{seen}")
        else:
            sentences.append(f"no estimate for {effect.name} on {metric} yet")
    text = "; ".join(sentences) or f"no comparison on {metric} yet"
    text = text[0].upper() + text[1:]
    if guardrails:
        text += (
            ", and no guardrail got worse"
            if not harmed_metrics
            else f", but guardrail {', '.join(f'“{n}”' for n in harmed_metrics)} got worse"
        )
    if winners:
        verdict = f"enough evidence to ship {' or '.join(winners)}"
    elif any(e.verdict == "worse" for e in primary.effects) or harmed_metrics:
        verdict = "do not ship as it is"
    else:
        verdict = "not enough evidence yet to choose: keep it running or accept that the difference is small"
    return f"{text}; {verdict}."


def readout_dict(readout: Readout) -> dict[str, Any]:
    """The read-out as plain data (the API's results JSON)."""

    def interval(value: Interval) -> dict[str, Any]:
        return dict(value.__dict__)

    return {
        "method": readout.settings.method,
        "alpha": readout.settings.alpha,
        "correction": readout.settings.correction,
        "correction_family_size": readout.family_size,
        "summary": plain_summary(readout),
        "variations": list(readout.settings.variation_names),
        "weights": list(readout.settings.weights),
        "units": list(readout.units),
        "multiple_exposures": readout.multiple_exposures,
        "unknown_variation_exposures": readout.unknown_variation_exposures,
        "first_exposure": readout.first_exposure,
        "last_exposure": readout.last_exposure,
        "srm": None
        if readout.srm is None
        else {
            "p_value": _finite(readout.srm.p_value),
            "warning": readout.srm.warning,
            "observed": list(readout.srm.observed),
            "expected": [_finite(v) for v in readout.srm.expected],
            "message": readout.srm.message,
        },
        "guardrail_warnings": list(readout.guardrail_warnings),
        "notes": list(readout.notes),
        "metrics": [
            {
                "metric_id": m.definition.metric_id,
                "key": m.definition.key,
                "name": m.definition.name,
                "role": m.definition.role,
                "kind": m.definition.kind,
                "lower_is_better": m.definition.lower_is_better,
                "error": m.error,
                "warnings": list(m.warnings),
                "cuped_theta": m.cuped_theta,
                "variations": [dict(v.__dict__) for v in m.variations],
                "effects": [
                    {
                        "variation": e.variation,
                        "name": e.name,
                        "verdict": e.verdict,
                        "significant": e.significant,
                        "interval_alpha": e.interval_alpha,
                        "absolute": interval(e.absolute),
                        "relative": interval(e.relative),
                    }
                    for e in m.effects
                ],
            }
            for m in readout.metrics
        ],
        "series": [dict(p.__dict__) for p in readout.series],
    }
