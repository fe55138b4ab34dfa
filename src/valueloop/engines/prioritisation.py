"""Prioritisation engines: Cost of Delay, urgency profiles, CD3, WSJF, RICE, ICE, Kano and opportunity scores.

Pure, typed functions over plain data (mappings, TypedDicts, numbers, numpy arrays) returning frozen dataclasses.
Nothing here touches Django, the database or any other valueloop package; only the standard library and numpy.

Invariants
----------
* Units: money is per week (Cost of Delay, "CoD"), durations are in weeks, CD3 is money per week per week of
  duration. No currency is assumed.
* Every input is validated. Bad input raises :class:`PrioritisationError` (a ``ValueError``) whose ``field``
  names the offending field and whose ``item_id`` names the row, e.g. ``"duration_weeks must be > 0 (item 42)"``.
  Booleans, strings, NaN and infinities are never accepted as numbers; ``decimal.Decimal`` is (the app stores money
  as decimals).
* A ranking returns every item it was given, exactly once. Higher scores rank first in every framework. Equal
  scores are broken by id ascending (integer ids numerically, before string ids, strings lexicographically), so
  the order is total and reproducible. Duplicate ids are rejected rather than guessed at.
* The scalar functions (``cd3``, ``rice``...) and the vectorised ``*_batch`` functions compute the same numbers;
  the batch functions exist to score and rank 100,000 items in milliseconds.
* Scores are never rounded here; rounding is a presentation concern.

Sources
-------
* Cost of Delay and CD3: Donald G. Reinertsen, *The Principles of Product Development Flow* (2009), ch. 2 and the
  weighted-shortest-job-first principle (F16); Joshua J. Arnold, Black Swan Farming, "Cost of Delay Divided by
  Duration" and "Urgency Profiles" (blackswanfarming.com). CD3 is WSJF weighted by Cost of Delay.
* Urgency classes expedite / fixed date / standard / intangible: the Kanban classes of service (David J. Anderson,
  *Kanban*, 2010), which Black Swan Farming maps onto Cost of Delay urgency profiles.
* WSJF: Scaled Agile Framework (SAFe), "WSJF": CoD = user-business value + time criticality + risk reduction and/or
  opportunity enablement, each estimated relative to the smallest item (which gets 1) on the modified Fibonacci
  scale 1, 2, 3, 5, 8, 13, 20, 40, 100; WSJF = CoD / job size.
* RICE: Sean McBride, "RICE: Simple prioritization for product managers", Intercom blog (2016). Impact on the scale
  3 / 2 / 1 / 0.5 / 0.25; confidence 100 / 80 / 50 %; effort in person-months; score = R x I x C / E.
* ICE: Sean Ellis (GrowthHackers): impact, confidence, ease, each 1-10; published both as the average and as the
  product of the three, so both are offered.
* Kano: N. Kano et al. (1984); evaluation table and better/worse ("customer satisfaction") coefficients from
  Berger et al., "Kano's methods for understanding customer-defined quality", Center for Quality of Management
  Journal 2(4), 1993.
* Opportunity score: Anthony W. Ulwick, *What Customers Want* (2005) and "Turn customer input into innovation",
  HBR (2002): opportunity = importance + max(importance - satisfaction, 0), importance and satisfaction being the
  share of respondents rating 4 or 5 on a 1-5 scale, times 10.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, ClassVar, NotRequired, TypedDict

import numpy as np
import numpy.typing as npt

__all__ = [
    "FIBONACCI_SCALE",
    "FRAMEWORK_FIELDS",
    "KANO_TABLE",
    "RICE_CONFIDENCE",
    "RICE_IMPACT",
    "BatchRanking",
    "Cd3Batch",
    "Cd3Result",
    "CodComponent",
    "CodLine",
    "CodLineInput",
    "CostOfDelay",
    "DurationRange",
    "EngineInputError",
    "Expedite",
    "FixedDate",
    "Framework",
    "IceMethod",
    "IceResult",
    "Intangible",
    "KanoAnswer",
    "KanoCategory",
    "KanoResult",
    "LongLifePeakAffected",
    "OpportunityBand",
    "OpportunityBatch",
    "OpportunityResult",
    "PrioritisationError",
    "RankedItem",
    "RiceResult",
    "ShortLifePeakAffected",
    "Standard",
    "UrgencyProfile",
    "WsjfBatch",
    "WsjfInput",
    "WsjfResult",
    "cd3",
    "cd3_batch",
    "cost_of_delay",
    "duration_range",
    "ice",
    "ice_batch",
    "kano_classify",
    "kano_classify_batch",
    "kano_feature",
    "kano_summary_from_counts",
    "make_profile",
    "opportunity",
    "opportunity_batch",
    "rank",
    "rank_batch",
    "rank_scores",
    "rice",
    "rice_batch",
    "snap_to_scale",
    "top_two_box",
    "wsjf",
    "wsjf_batch",
    "wsjf_score",
]

ItemId = int | str
FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------------------------------
# Errors and validation helpers
# --------------------------------------------------------------------------------------------------------------------


class EngineInputError(ValueError):
    """Bad input to an engine. ``field`` and ``item_id`` let the app point at the exact cell.

    ``message`` is the sentence without the item suffix; ``str(error)`` adds ``" (item <id>)"`` when the row is known.
    """

    def __init__(self, message: str, *, field: str | None = None, item_id: ItemId | None = None) -> None:
        self.message = message
        self.field = field
        self.item_id = item_id
        super().__init__(message if item_id is None else f"{message} (item {item_id})")


class PrioritisationError(EngineInputError):
    """Bad input to a prioritisation function."""


def _number(value: object, field: str, item_id: ItemId | None, error: type[EngineInputError]) -> float:
    kind = type(value)
    if kind is float or kind is int:  # fast path: rank() validates every field of every item
        number = float(value)  # type: ignore[arg-type]
        if math.isfinite(number):
            return number
    # bool is an int subclass; True as "1 week" is always a bug upstream, so refuse it.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | Fraction | np.integer | np.floating):
        raise error(f"{field} must be a number", field=field, item_id=item_id)
    number = float(value)
    if not math.isfinite(number):
        raise error(f"{field} must be a finite number", field=field, item_id=item_id)
    return number


def _num(value: object, field: str, item_id: ItemId | None = None) -> float:
    return _number(value, field, item_id, PrioritisationError)


def _positive(value: object, field: str, item_id: ItemId | None = None) -> float:
    number = _num(value, field, item_id)
    if number <= 0:
        raise PrioritisationError(f"{field} must be > 0", field=field, item_id=item_id)
    return number


def _non_negative(value: object, field: str, item_id: ItemId | None = None) -> float:
    number = _num(value, field, item_id)
    if number < 0:
        raise PrioritisationError(f"{field} must be >= 0", field=field, item_id=item_id)
    return number


def _require(item: Mapping[str, Any], key: str, item_id: ItemId | None) -> object:
    if key not in item or item[key] is None:
        raise PrioritisationError(f"{key} is required", field=key, item_id=item_id)
    return item[key]


def _as_float_array(values: npt.ArrayLike, field: str) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise PrioritisationError(f"{field} must contain only numbers", field=field) from None
    if array.ndim != 1:
        raise PrioritisationError(f"{field} must be a one-dimensional array", field=field)
    return array


def _batch_ids(ids: npt.ArrayLike | None, n: int) -> np.ndarray | None:
    if ids is None:
        return None
    if isinstance(ids, np.ndarray):
        id_array = ids
    else:
        values = list(ids)  # type: ignore[arg-type]
        # numpy would coerce [1, "a"] to strings and sort "10" before "9"; keep mixed ids as objects instead.
        if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
            id_array = np.asarray(values, dtype=np.int64)
        elif all(isinstance(v, str) for v in values):
            id_array = np.asarray(values, dtype=str)
        else:
            id_array = np.asarray(values, dtype=object)
    if id_array.shape != (n,):
        raise PrioritisationError(f"ids must have one entry per item ({n})", field="id")
    return id_array


def _python_id(ids: np.ndarray | None, index: int) -> ItemId:
    # Without ids the row index is the only handle the caller has; with ids give back a plain Python value.
    if ids is None:
        return index
    value = ids[index]
    return value.item() if isinstance(value, np.generic) else value


def _check_batch(
    ok: npt.NDArray[np.bool_], field: str, requirement: str, ids: np.ndarray | None, error: type[EngineInputError]
) -> None:
    """Raise for the first row failing ``ok`` so the message names a concrete item."""
    if not ok.all():
        first = int(np.flatnonzero(~ok)[0])
        raise error(f"{field} {requirement}", field=field, item_id=_python_id(ids, first))


def _finite(array: FloatArray, field: str, ids: np.ndarray | None) -> FloatArray:
    _check_batch(np.isfinite(array), field, "must be a finite number", ids, PrioritisationError)
    return array


def _same_length(*arrays: FloatArray) -> int:
    lengths = {a.shape[0] for a in arrays}
    if len(lengths) != 1:
        raise PrioritisationError("all columns must have the same number of items")
    return lengths.pop()


# --------------------------------------------------------------------------------------------------------------------
# Cost of Delay from named components
# --------------------------------------------------------------------------------------------------------------------


class CodComponent(StrEnum):
    """Black Swan Farming's four value types: why delay costs money."""

    INCREASE_REVENUE = "increase_revenue"
    PROTECT_REVENUE = "protect_revenue"
    REDUCE_COST = "reduce_cost"
    REDUCE_RISK = "reduce_risk"


class CodLineInput(TypedDict):
    component: str
    per_week: float | int | Decimal
    rationale: NotRequired[str]


@dataclass(frozen=True, slots=True)
class CodLine:
    component: CodComponent
    per_week: float
    rationale: str = ""


@dataclass(frozen=True, slots=True)
class CostOfDelay:
    """Total Cost of Delay per week and its breakdown. ``by_component`` always has all four components."""

    item_id: ItemId | None
    lines: tuple[CodLine, ...]
    by_component: Mapping[CodComponent, float]
    per_week: float


def cost_of_delay(lines: Iterable[CodLineInput | CodLine], *, item_id: ItemId | None = None) -> CostOfDelay:
    """Sum named Cost of Delay components (money per week) into a total.

    Each line's amount must be >= 0: a negative Cost of Delay would mean waiting earns money, which is a different
    decision (do not do it) rather than a priority. Several lines may share a component (e.g. two revenue streams);
    they are added. No lines gives a zero Cost of Delay, which is valid (the item ranks last under CD3).
    """
    parsed: list[CodLine] = []
    for line in lines:
        if isinstance(line, CodLine):
            component_raw: object = line.component
            amount_raw: object = line.per_week
            rationale: object = line.rationale
        else:
            component_raw = line.get("component")
            amount_raw = line.get("per_week")
            rationale = line.get("rationale", "")
        try:
            component = CodComponent(component_raw)
        except ValueError:
            allowed = ", ".join(c.value for c in CodComponent)
            raise PrioritisationError(
                f"component must be one of {allowed}; got {component_raw!r}", field="component", item_id=item_id
            ) from None
        if amount_raw is None:
            raise PrioritisationError(f"{component.value} is required", field=component.value, item_id=item_id)
        amount = _non_negative(amount_raw, component.value, item_id)
        if not isinstance(rationale, str):
            raise PrioritisationError("rationale must be text", field="rationale", item_id=item_id)
        parsed.append(CodLine(component, amount, rationale))
    by_component = dict.fromkeys(CodComponent, 0.0)
    for line in parsed:
        by_component[line.component] += line.per_week
    # math.fsum keeps the total exact to the last bit regardless of the order lines arrive in.
    total = math.fsum(line.per_week for line in parsed)
    return CostOfDelay(item_id=item_id, lines=tuple(parsed), by_component=by_component, per_week=total)


# --------------------------------------------------------------------------------------------------------------------
# Urgency profiles
# --------------------------------------------------------------------------------------------------------------------


def _weeks_array(weeks: npt.ArrayLike, field: str) -> tuple[FloatArray, bool]:
    array = np.asarray(weeks, dtype=np.float64)
    if not np.isfinite(array).all() or (array < 0).any():
        raise PrioritisationError(f"{field} must be a finite number >= 0", field=field)
    return array, array.ndim == 0


def _out(array: FloatArray, scalar: bool) -> Any:
    return float(array) if scalar else array


class UrgencyProfile(ABC):
    """How Cost of Delay behaves over time.

    Time ``t`` is measured in weeks from now until the item is *delivered* (starts earning or protecting value).

    * ``cod_at(t)`` is the rate: the money lost per week by not having the item at week ``t``.
    * ``delay_cost(t)`` is the total money lost by delivering at week ``t`` instead of instantly, i.e. the integral of
      ``cod_at`` from 0 to ``t`` (plus any one-off step, see :class:`FixedDate`). For the standard profile this is
      ``CoD x t``, exactly the quantity CD3 scheduling minimises.
    * ``start_delay_cost(s, d)`` is what starting ``s`` weeks late costs for an item that takes ``d`` weeks:
      ``delay_cost(s + d) - delay_cost(d)``.

    All three accept a number or a numpy array of weeks (returning a float or an array), so charts can sample a
    curve in one call. Negative weeks are rejected.
    """

    kind: ClassVar[str]
    is_expedite: ClassVar[bool] = False

    @abstractmethod
    def _rate(self, t: FloatArray) -> FloatArray: ...

    @abstractmethod
    def _cost(self, t: FloatArray) -> FloatArray: ...

    def cod_at(self, week: npt.ArrayLike) -> Any:
        t, scalar = _weeks_array(week, "week")
        return _out(self._rate(t), scalar)

    def delay_cost(self, delivery_week: npt.ArrayLike) -> Any:
        t, scalar = _weeks_array(delivery_week, "delivery_week")
        return _out(self._cost(t), scalar)

    def start_delay_cost(self, start_delay_weeks: npt.ArrayLike, duration_weeks: float) -> Any:
        s, scalar = _weeks_array(start_delay_weeks, "start_delay_weeks")
        d = _non_negative(duration_weeks, "duration_weeks")
        return _out(self._cost(s + d) - self._cost(np.asarray(d)), scalar)


@dataclass(frozen=True, slots=True)
class Standard(UrgencyProfile):
    """Standard: long life-cycle, peak unaffected by delay (Black Swan Farming profile 3; Kanban "standard").

    Delay shifts the whole benefit curve to the right; each week late loses one week of benefit.
    ``cod_at(t) = c``; ``delay_cost(t) = c * t``. CD3 order is optimal for this profile.
    """

    kind: ClassVar[str] = "standard"
    cod_per_week: float

    def __post_init__(self) -> None:
        _non_negative(self.cod_per_week, "cod_per_week")

    def _rate(self, t: FloatArray) -> FloatArray:
        return np.full_like(t, float(self.cod_per_week))

    def _cost(self, t: FloatArray) -> FloatArray:
        return float(self.cod_per_week) * t


@dataclass(frozen=True, slots=True)
class LongLifePeakAffected(UrgencyProfile):
    """Long life-cycle, peak affected by delay (Black Swan Farming profile 2: first-mover markets).

    The benefit window ends at a fixed point ``life_weeks`` from now (the market consolidates, the product is
    retired); a late delivery does not extend it, so every week of delay is a week of peak benefit lost off the end
    of the life: ``delay_cost(t) = c * min(t, L)`` and ``cod_at(t) = c`` until ``L``, then 0. ``c`` is the peak
    benefit per week you would capture by delivering now. Compared with :class:`Standard`, the loss is capped at
    the whole-life value ``c * L``.
    """

    kind: ClassVar[str] = "long_life_peak_affected"
    cod_per_week: float
    life_weeks: float

    def __post_init__(self) -> None:
        _non_negative(self.cod_per_week, "cod_per_week")
        _positive(self.life_weeks, "life_weeks")

    def _rate(self, t: FloatArray) -> FloatArray:
        return np.where(t < self.life_weeks, float(self.cod_per_week), 0.0)

    def _cost(self, t: FloatArray) -> FloatArray:
        return float(self.cod_per_week) * np.minimum(t, float(self.life_weeks))


@dataclass(frozen=True, slots=True)
class ShortLifePeakAffected(UrgencyProfile):
    """Short life-cycle, peak affected by delay (Black Swan Farming profile 1: fashion, consumer electronics).

    The window of opportunity is ``L = life_weeks`` from now and closes regardless of when we deliver. Delivering at
    ``t`` both shortens the remaining window (``L - t`` weeks) and erodes the peak in proportion
    (``c * (1 - t/L)`` per week), so the value kept is ``c * L * (1 - t/L)**2`` out of the whole-life value
    ``c * L``. Hence

    * ``delay_cost(t) = c * L * (1 - (1 - t/L)**2) = c * (2t - t**2 / L)`` for ``t < L``, and ``c * L`` after;
    * ``cod_at(t) = 2c * (1 - t/L)`` for ``t < L``, then 0.

    The loss always exceeds the standard ``c * t`` (at first it grows twice as fast) and a delay of ``L`` or more
    loses the whole life's value. ``c`` is the peak benefit per week when delivered now.
    """

    kind: ClassVar[str] = "short_life_peak_affected"
    cod_per_week: float
    life_weeks: float

    def __post_init__(self) -> None:
        _non_negative(self.cod_per_week, "cod_per_week")
        _positive(self.life_weeks, "life_weeks")

    def _rate(self, t: FloatArray) -> FloatArray:
        life = float(self.life_weeks)
        return np.where(t < life, 2.0 * float(self.cod_per_week) * (1.0 - t / life), 0.0)

    def _cost(self, t: FloatArray) -> FloatArray:
        life = float(self.life_weeks)
        kept = (1.0 - np.minimum(t, life) / life) ** 2
        return float(self.cod_per_week) * life * (1.0 - kept)


@dataclass(frozen=True, slots=True)
class FixedDate(UrgencyProfile):
    """Fixed date (Kanban "fixed date"; Black Swan Farming "impending deadline").

    Nothing is lost while delivery is on or before ``deadline_weeks``; missing it costs the one-off ``penalty`` (a
    step), plus ``cod_after_per_week`` for every week after the deadline (fines, lost contract revenue); that rate
    defaults to 0. So ``delay_cost(t) = 0`` for ``t <= deadline`` and ``penalty + cod_after * (t - deadline)`` after.
    ``cod_at`` reports the rate only (0 before the deadline, ``cod_after_per_week`` after); the step itself is in
    ``delay_cost``. In start terms the item must start by ``latest_start(d) = deadline - d``; starting later costs
    the penalty.
    """

    kind: ClassVar[str] = "fixed_date"
    deadline_weeks: float
    penalty: float
    cod_after_per_week: float = 0.0

    def __post_init__(self) -> None:
        _non_negative(self.deadline_weeks, "deadline_weeks")
        _non_negative(self.penalty, "penalty")
        _non_negative(self.cod_after_per_week, "cod_after_per_week")

    def latest_start(self, duration_weeks: float) -> float:
        """Weeks from now by which work must start to deliver on the deadline (negative: already impossible)."""
        return float(self.deadline_weeks) - _non_negative(duration_weeks, "duration_weeks")

    def _rate(self, t: FloatArray) -> FloatArray:
        return np.where(t > self.deadline_weeks, float(self.cod_after_per_week), 0.0)

    def _cost(self, t: FloatArray) -> FloatArray:
        late = t > self.deadline_weeks
        overrun = np.maximum(t - float(self.deadline_weeks), 0.0)
        return np.where(late, float(self.penalty) + float(self.cod_after_per_week) * overrun, 0.0)


@dataclass(frozen=True, slots=True)
class Intangible(UrgencyProfile):
    """Intangible (Kanban "intangible": technical debt, platform upkeep): cheap to delay today, dearer later.

    Cost of Delay starts low at ``c = cod_per_week`` and rises linearly by ``rise_per_week`` each week:
    ``cod_at(t) = c + r * t``; ``delay_cost(t) = c * t + r * t**2 / 2``.
    """

    kind: ClassVar[str] = "intangible"
    cod_per_week: float
    rise_per_week: float

    def __post_init__(self) -> None:
        _non_negative(self.cod_per_week, "cod_per_week")
        _non_negative(self.rise_per_week, "rise_per_week")

    def _rate(self, t: FloatArray) -> FloatArray:
        return float(self.cod_per_week) + float(self.rise_per_week) * t

    def _cost(self, t: FloatArray) -> FloatArray:
        return float(self.cod_per_week) * t + 0.5 * float(self.rise_per_week) * t * t


@dataclass(frozen=True, slots=True)
class Expedite(UrgencyProfile):
    """Expedite (Kanban "expedite"): very high Cost of Delay, incurred immediately (outage, security hole).

    The maths is the standard constant rate, ``delay_cost(t) = c * t``; what makes it expedite is the size of ``c``
    and the policy that such items jump the queue. The engine does not apply that policy (``rank`` stays a pure
    score order); the app can pin items whose profile ``is_expedite``.
    """

    kind: ClassVar[str] = "expedite"
    is_expedite: ClassVar[bool] = True
    cod_per_week: float

    def __post_init__(self) -> None:
        _non_negative(self.cod_per_week, "cod_per_week")

    def _rate(self, t: FloatArray) -> FloatArray:
        return np.full_like(t, float(self.cod_per_week))

    def _cost(self, t: FloatArray) -> FloatArray:
        return float(self.cod_per_week) * t


_PROFILES: dict[str, type[UrgencyProfile]] = {
    cls.kind: cls for cls in (Standard, LongLifePeakAffected, ShortLifePeakAffected, FixedDate, Intangible, Expedite)
}


def make_profile(kind: str, **params: float) -> UrgencyProfile:
    """Build an urgency profile from its ``kind`` name and parameters (as stored by the app)."""
    try:
        cls = _PROFILES[kind]
    except KeyError:
        allowed = ", ".join(_PROFILES)
        raise PrioritisationError(f"urgency profile must be one of {allowed}; got {kind!r}", field="kind") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise PrioritisationError(f"bad parameters for {kind} profile: {exc}", field="kind") from None


# --------------------------------------------------------------------------------------------------------------------
# Duration and CD3
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DurationRange:
    """Duration estimate in weeks: 0 < low <= likely <= high."""

    low: float
    likely: float
    high: float

    def __post_init__(self) -> None:
        _check_duration(self.low, self.likely, self.high, None)


def _check_duration(low: float, likely: float, high: float, item_id: ItemId | None) -> None:
    _positive(low, "duration_low_weeks", item_id)
    _positive(likely, "duration_weeks", item_id)
    _positive(high, "duration_high_weeks", item_id)
    if low > likely:
        raise PrioritisationError(
            "duration_low_weeks must be <= duration_weeks", field="duration_low_weeks", item_id=item_id
        )
    if high < likely:
        raise PrioritisationError(
            "duration_high_weeks must be >= duration_weeks", field="duration_high_weeks", item_id=item_id
        )


def duration_range(
    likely: object, low: object = None, high: object = None, *, item_id: ItemId | None = None
) -> DurationRange:
    """Validate a duration estimate; a missing low or high defaults to the likely value (a point estimate)."""
    likely_f = _positive(likely, "duration_weeks", item_id)
    low_f = likely_f if low is None else _positive(low, "duration_low_weeks", item_id)
    high_f = likely_f if high is None else _positive(high, "duration_high_weeks", item_id)
    try:
        return DurationRange(low_f, likely_f, high_f)  # validates the ordering
    except PrioritisationError as exc:
        raise PrioritisationError(exc.message, field=exc.field, item_id=item_id) from None


@dataclass(frozen=True, slots=True)
class Cd3Result:
    """CD3 = CoD / likely duration; the range uses the pessimistic (high) and optimistic (low) durations."""

    item_id: ItemId | None
    cod_per_week: float
    duration: DurationRange
    cd3: float
    cd3_low: float
    cd3_high: float


def cd3(cod_per_week: object, duration: DurationRange | object, *, item_id: ItemId | None = None) -> Cd3Result:
    """Cost of Delay Divided by Duration.

    ``duration`` is a :class:`DurationRange` or a number of weeks (a point estimate). ``cd3_low = cod / high`` and
    ``cd3_high = cod / low`` bracket the score as the duration estimate varies.
    """
    cod = _non_negative(cod_per_week, "cod_per_week", item_id)
    dur = duration if isinstance(duration, DurationRange) else duration_range(duration, item_id=item_id)
    return Cd3Result(item_id, cod, dur, cod / dur.likely, cod / dur.high, cod / dur.low)


@dataclass(frozen=True, slots=True)
class Cd3Batch:
    cd3: FloatArray
    cd3_low: FloatArray
    cd3_high: FloatArray


def cd3_batch(
    cod_per_week: npt.ArrayLike,
    duration_weeks: npt.ArrayLike,
    duration_low_weeks: npt.ArrayLike | None = None,
    duration_high_weeks: npt.ArrayLike | None = None,
    *,
    ids: npt.ArrayLike | None = None,
) -> Cd3Batch:
    """Vectorised :func:`cd3`; same validation, the first bad row is named in the error."""
    cod = _as_float_array(cod_per_week, "cod_per_week")
    likely = _as_float_array(duration_weeks, "duration_weeks")
    low = likely if duration_low_weeks is None else _as_float_array(duration_low_weeks, "duration_low_weeks")
    high = likely if duration_high_weeks is None else _as_float_array(duration_high_weeks, "duration_high_weeks")
    n = _same_length(cod, likely, low, high)
    id_array = _batch_ids(ids, n)
    for name, array in (("cod_per_week", cod), ("duration_weeks", likely)):
        _finite(array, name, id_array)
    _check_batch(cod >= 0, "cod_per_week", "must be >= 0", id_array, PrioritisationError)
    _check_batch(likely > 0, "duration_weeks", "must be > 0", id_array, PrioritisationError)
    _finite(low, "duration_low_weeks", id_array)
    _check_batch(low > 0, "duration_low_weeks", "must be > 0", id_array, PrioritisationError)
    _finite(high, "duration_high_weeks", id_array)
    _check_batch(high > 0, "duration_high_weeks", "must be > 0", id_array, PrioritisationError)
    _check_batch(low <= likely, "duration_low_weeks", "must be <= duration_weeks", id_array, PrioritisationError)
    _check_batch(high >= likely, "duration_high_weeks", "must be >= duration_weeks", id_array, PrioritisationError)
    return Cd3Batch(cod / likely, cod / high, cod / low)


# --------------------------------------------------------------------------------------------------------------------
# WSJF (SAFe)
# --------------------------------------------------------------------------------------------------------------------

FIBONACCI_SCALE: tuple[int, ...] = (1, 2, 3, 5, 8, 13, 20, 40, 100)
_SCALE = np.asarray(FIBONACCI_SCALE, dtype=np.float64)
# Boundaries halfway between neighbouring scale values; searchsorted(side="right") sends an exact midpoint up.
_SCALE_MIDPOINTS = (_SCALE[:-1] + _SCALE[1:]) / 2.0
_WSJF_FIELDS = ("business_value", "time_criticality", "risk_reduction", "job_size")


class WsjfInput(TypedDict):
    id: ItemId
    business_value: float
    time_criticality: float
    risk_reduction: float  # risk reduction and/or opportunity enablement (RR|OE)
    job_size: float


@dataclass(frozen=True, slots=True)
class WsjfResult:
    """Scale values actually used (after normalisation), SAFe's CoD (their sum) and WSJF = CoD / job size."""

    item_id: ItemId | None
    business_value: float
    time_criticality: float
    risk_reduction: float
    job_size: float
    cost_of_delay: float
    score: float


def snap_to_scale(values: npt.ArrayLike) -> FloatArray:
    """Snap each value to the nearest point of the modified Fibonacci scale (1, 2, 3, 5, 8, 13, 20, 40, 100).

    Nearest by absolute difference; an exact midpoint goes to the larger value (e.g. 2.5 -> 3, 30 -> 40); values
    below 1 become 1 and above 100 become 100.
    """
    array = np.asarray(values, dtype=np.float64)
    return _SCALE[np.searchsorted(_SCALE_MIDPOINTS, array, side="right")]


def _wsjf_columns(
    columns: Sequence[FloatArray], normalise: bool, ids: np.ndarray | None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    out: list[FloatArray] = []
    for name, column in zip(_WSJF_FIELDS, columns, strict=True):
        _finite(column, name, ids)
        if normalise:
            # Dividing by the column minimum needs every value > 0; SAFe has no zero on its scale either.
            _check_batch(column > 0, name, "must be > 0", ids, PrioritisationError)
            out.append(snap_to_scale(column / column.min()) if column.size else column)
        else:
            on_scale = np.isin(column, _SCALE)
            allowed = ", ".join(map(str, FIBONACCI_SCALE))
            _check_batch(on_scale, name, f"must be one of {allowed}", ids, PrioritisationError)
            out.append(column)
    return out[0], out[1], out[2], out[3]


@dataclass(frozen=True, slots=True)
class WsjfBatch:
    score: FloatArray
    business_value: FloatArray
    time_criticality: FloatArray
    risk_reduction: FloatArray
    job_size: FloatArray


def wsjf_batch(
    business_value: npt.ArrayLike,
    time_criticality: npt.ArrayLike,
    risk_reduction: npt.ArrayLike,
    job_size: npt.ArrayLike,
    *,
    normalise: bool = True,
    ids: npt.ArrayLike | None = None,
) -> WsjfBatch:
    """Vectorised WSJF over a set of items.

    ``normalise=True`` implements SAFe's relative estimation exactly as follows, column by column (business value,
    time criticality, risk reduction/opportunity enablement, job size), over the items passed in:

    1. every raw value must be > 0 (any unit: story points, money, votes);
    2. divide the column by its minimum, so the smallest item becomes exactly 1;
    3. snap each ratio to the nearest scale value with :func:`snap_to_scale` (midpoints round up, > 100 caps at 100).

    Because it is relative, adding or removing items can change other items' scores; that is SAFe's intent.
    ``normalise=False`` takes values already on the scale and rejects anything else. WSJF = (BV + TC + RR) / size.
    """
    columns = [_as_float_array(v, f) for v, f in zip((business_value, time_criticality, risk_reduction, job_size),
                                                     _WSJF_FIELDS, strict=True)]
    n = _same_length(*columns)
    id_array = _batch_ids(ids, n)
    bv, tc, rr, js = _wsjf_columns(columns, normalise, id_array)
    return WsjfBatch((bv + tc + rr) / js, bv, tc, rr, js)


def wsjf(items: Sequence[Mapping[str, Any]], *, normalise: bool = True) -> list[WsjfResult]:
    """WSJF for each item, in input order (see :func:`wsjf_batch` for the normalisation)."""
    ids = _collect_ids(items)
    raw = {f: np.asarray([_num(_require(item, f, i), f, i) for item, i in zip(items, ids, strict=True)])
           for f in _WSJF_FIELDS}
    batch = wsjf_batch(*(raw[f] for f in _WSJF_FIELDS), normalise=normalise, ids=np.asarray(ids, dtype=object))
    return [
        WsjfResult(
            item_id=ids[k],
            business_value=float(batch.business_value[k]),
            time_criticality=float(batch.time_criticality[k]),
            risk_reduction=float(batch.risk_reduction[k]),
            job_size=float(batch.job_size[k]),
            cost_of_delay=float(batch.business_value[k] + batch.time_criticality[k] + batch.risk_reduction[k]),
            score=float(batch.score[k]),
        )
        for k in range(len(ids))
    ]


def wsjf_score(
    business_value: object,
    time_criticality: object,
    risk_reduction: object,
    job_size: object,
    *,
    item_id: ItemId | None = None,
) -> float:
    """WSJF of one item whose four values are already on the modified Fibonacci scale."""
    values = []
    for name, value in zip(_WSJF_FIELDS, (business_value, time_criticality, risk_reduction, job_size), strict=True):
        number = _num(value, name, item_id)
        if number not in FIBONACCI_SCALE:
            allowed = ", ".join(map(str, FIBONACCI_SCALE))
            raise PrioritisationError(f"{name} must be one of {allowed}", field=name, item_id=item_id)
        values.append(number)
    return (values[0] + values[1] + values[2]) / values[3]


# --------------------------------------------------------------------------------------------------------------------
# RICE (Intercom)
# --------------------------------------------------------------------------------------------------------------------

RICE_IMPACT: tuple[float, ...] = (3.0, 2.0, 1.0, 0.5, 0.25)  # massive, high, medium, low, minimal
RICE_CONFIDENCE: tuple[float, ...] = (100.0, 80.0, 50.0)  # percent: high, medium, low


@dataclass(frozen=True, slots=True)
class RiceResult:
    item_id: ItemId | None
    reach: float
    impact: float
    confidence: float  # percent
    effort: float
    score: float


def rice(
    reach: object, impact: object, confidence: object, effort: object, *, item_id: ItemId | None = None
) -> RiceResult:
    """RICE = reach x impact x confidence / effort (Intercom).

    ``reach``: people or events per period (>= 0); ``impact`` one of 3, 2, 1, 0.5, 0.25; ``confidence`` a percentage,
    one of 100, 80, 50 (Intercom calls anything lower a "moonshot" and gives it no score, so neither do we);
    ``effort`` person-months, > 0.
    """
    reach_f = _non_negative(reach, "reach", item_id)
    impact_f = _num(impact, "impact", item_id)
    if impact_f not in RICE_IMPACT:
        raise PrioritisationError(
            "impact must be one of 3, 2, 1, 0.5, 0.25 (massive, high, medium, low, minimal)",
            field="impact",
            item_id=item_id,
        )
    confidence_f = _num(confidence, "confidence", item_id)
    if confidence_f not in RICE_CONFIDENCE:
        raise PrioritisationError(
            "confidence must be one of 100, 80, 50 (percent: high, medium, low)", field="confidence", item_id=item_id
        )
    effort_f = _positive(effort, "effort", item_id)
    score = reach_f * impact_f * (confidence_f / 100.0) / effort_f
    return RiceResult(item_id, reach_f, impact_f, confidence_f, effort_f, score)


def rice_batch(
    reach: npt.ArrayLike,
    impact: npt.ArrayLike,
    confidence: npt.ArrayLike,
    effort: npt.ArrayLike,
    *,
    ids: npt.ArrayLike | None = None,
) -> FloatArray:
    """Vectorised :func:`rice`; returns the scores."""
    r, i, c, e = (_as_float_array(v, f) for v, f in zip((reach, impact, confidence, effort),
                                                         ("reach", "impact", "confidence", "effort"), strict=True))
    id_array = _batch_ids(ids, _same_length(r, i, c, e))
    _check_batch(np.isfinite(r) & (r >= 0), "reach", "must be a finite number >= 0", id_array, PrioritisationError)
    _check_batch(np.isin(i, RICE_IMPACT), "impact", "must be one of 3, 2, 1, 0.5, 0.25", id_array, PrioritisationError)
    _check_batch(np.isin(c, RICE_CONFIDENCE), "confidence", "must be one of 100, 80, 50", id_array, PrioritisationError)
    _check_batch(np.isfinite(e) & (e > 0), "effort", "must be a finite number > 0", id_array, PrioritisationError)
    return r * i * (c / 100.0) / e


# --------------------------------------------------------------------------------------------------------------------
# ICE
# --------------------------------------------------------------------------------------------------------------------


class IceMethod(StrEnum):
    AVERAGE = "average"  # (I + C + E) / 3, range 1-10
    PRODUCT = "product"  # I * C * E, range 1-1000


@dataclass(frozen=True, slots=True)
class IceResult:
    item_id: ItemId | None
    impact: float
    confidence: float
    ease: float
    method: IceMethod
    score: float


def _ice_method(method: IceMethod | str) -> IceMethod:
    try:
        return IceMethod(method)
    except ValueError:
        raise PrioritisationError("ice method must be 'average' or 'product'", field="method") from None


def ice(
    impact: object,
    confidence: object,
    ease: object,
    *,
    method: IceMethod | str = IceMethod.AVERAGE,
    item_id: ItemId | None = None,
) -> IceResult:
    """ICE score; each input on the 1-10 scale (inclusive, fractions allowed). The method is chosen per call."""
    chosen = _ice_method(method)
    values = []
    for name, value in (("impact", impact), ("confidence", confidence), ("ease", ease)):
        number = _num(value, name, item_id)
        if not 1 <= number <= 10:
            raise PrioritisationError(f"{name} must be between 1 and 10", field=name, item_id=item_id)
        values.append(number)
    i, c, e = values
    score = (i + c + e) / 3.0 if chosen is IceMethod.AVERAGE else i * c * e
    return IceResult(item_id, i, c, e, chosen, score)


def ice_batch(
    impact: npt.ArrayLike,
    confidence: npt.ArrayLike,
    ease: npt.ArrayLike,
    *,
    method: IceMethod | str = IceMethod.AVERAGE,
    ids: npt.ArrayLike | None = None,
) -> FloatArray:
    chosen = _ice_method(method)
    arrays = [_as_float_array(v, f) for v, f in zip((impact, confidence, ease), ("impact", "confidence", "ease"),
                                                    strict=True)]
    id_array = _batch_ids(ids, _same_length(*arrays))
    for name, array in zip(("impact", "confidence", "ease"), arrays, strict=True):
        ok = np.isfinite(array) & (array >= 1) & (array <= 10)
        _check_batch(ok, name, "must be between 1 and 10", id_array, PrioritisationError)
    i, c, e = arrays
    return (i + c + e) / 3.0 if chosen is IceMethod.AVERAGE else i * c * e


# --------------------------------------------------------------------------------------------------------------------
# Kano
# --------------------------------------------------------------------------------------------------------------------


class KanoAnswer(StrEnum):
    """The five answers to each Kano question, in the order of the evaluation table."""

    LIKE = "like"
    MUST_BE = "must_be"  # "I expect it"
    NEUTRAL = "neutral"
    LIVE_WITH = "live_with"
    DISLIKE = "dislike"


class KanoCategory(StrEnum):
    ATTRACTIVE = "A"
    ONE_DIMENSIONAL = "O"
    MUST_BE = "M"
    INDIFFERENT = "I"
    REVERSE = "R"
    QUESTIONABLE = "Q"


_KANO_ALIASES: dict[str, KanoAnswer] = {
    "like": KanoAnswer.LIKE,
    "i like it": KanoAnswer.LIKE,
    "must_be": KanoAnswer.MUST_BE,
    "must-be": KanoAnswer.MUST_BE,
    "must be": KanoAnswer.MUST_BE,
    "expect": KanoAnswer.MUST_BE,
    "i expect it": KanoAnswer.MUST_BE,
    "neutral": KanoAnswer.NEUTRAL,
    "live_with": KanoAnswer.LIVE_WITH,
    "live with": KanoAnswer.LIVE_WITH,
    "live-with": KanoAnswer.LIVE_WITH,
    "tolerate": KanoAnswer.LIVE_WITH,
    "i can live with it": KanoAnswer.LIVE_WITH,
    "dislike": KanoAnswer.DISLIKE,
    "i dislike it": KanoAnswer.DISLIKE,
}
_KANO_ORDER = tuple(KanoAnswer)
_A, _O, _M, _I, _R, _Q = (KanoCategory(c) for c in "AOMIRQ")
# Berger et al. (1993) evaluation table. Rows: the functional answer ("if the product has it"); columns: the
# dysfunctional answer ("if it does not"), both in the order like, must-be, neutral, live-with, dislike.
KANO_TABLE: tuple[tuple[KanoCategory, ...], ...] = (
    (_Q, _A, _A, _A, _O),  # like
    (_R, _I, _I, _I, _M),  # must-be
    (_R, _I, _I, _I, _M),  # neutral
    (_R, _I, _I, _I, _M),  # live with
    (_R, _R, _R, _R, _Q),  # dislike
)
_KANO_CATEGORIES = tuple(KanoCategory)
_KANO_CODE_TABLE = np.asarray([[_KANO_CATEGORIES.index(c) for c in row] for row in KANO_TABLE], dtype=np.int8)
# When two categories tie for most answers, prefer the one that hurts most if ignored: M > O > A > I (Berger et al.);
# R and Q (answers that disagree with the feature's premise or with themselves) come last.
_KANO_TIE_PREFERENCE = (_M, _O, _A, _I, _R, _Q)


def _kano_answer(value: object, field: str, item_id: ItemId | None) -> KanoAnswer:
    if isinstance(value, KanoAnswer):
        return value
    if isinstance(value, str):
        found = _KANO_ALIASES.get(value.strip().lower())
        if found is not None:
            return found
    raise PrioritisationError(
        f"{field} must be one of like, must_be (expect), neutral, live_with, dislike; got {value!r}",
        field=field,
        item_id=item_id,
    )


def kano_classify(functional: KanoAnswer | str, dysfunctional: KanoAnswer | str) -> KanoCategory:
    """Category of one respondent's answer pair, from the standard evaluation table."""
    f = _kano_answer(functional, "functional", None)
    d = _kano_answer(dysfunctional, "dysfunctional", None)
    return KANO_TABLE[_KANO_ORDER.index(f)][_KANO_ORDER.index(d)]


@dataclass(frozen=True, slots=True)
class KanoResult:
    """Per-feature Kano summary.

    ``better = (A + O) / (A + O + M + I)`` in [0, 1]: how much satisfaction rises if the feature is there.
    ``worse = -(O + M) / (A + O + M + I)`` in [-1, 0]: how much dissatisfaction if it is not. Reverse and
    questionable answers are excluded from both (Berger et al.); if every answer is R or Q the coefficients are
    ``None`` because there is nothing to divide by.
    """

    item_id: ItemId | None
    counts: Mapping[KanoCategory, int]
    responses: int
    dominant: KanoCategory
    better: float | None
    worse: float | None


def _kano_summary(item_id: ItemId | None, counts: Mapping[KanoCategory, int]) -> KanoResult:
    total = sum(counts.values())
    most = max(counts.values())
    dominant = next(c for c in _KANO_TIE_PREFERENCE if counts[c] == most)
    base = counts[_A] + counts[_O] + counts[_M] + counts[_I]
    better = (counts[_A] + counts[_O]) / base if base else None
    # "+ 0.0" turns the -0.0 of a zero numerator into 0.0, which reads better in the UI.
    worse = (-(counts[_O] + counts[_M]) / base) + 0.0 if base else None
    return KanoResult(item_id, dict(counts), total, dominant, better, worse)


def kano_feature(
    responses: Iterable[tuple[KanoAnswer | str, KanoAnswer | str]], *, item_id: ItemId | None = None
) -> KanoResult:
    """Classify each (functional, dysfunctional) answer pair and summarise the feature."""
    counts = dict.fromkeys(KanoCategory, 0)
    for functional, dysfunctional in responses:
        f = _kano_answer(functional, "functional", item_id)
        d = _kano_answer(dysfunctional, "dysfunctional", item_id)
        counts[KANO_TABLE[_KANO_ORDER.index(f)][_KANO_ORDER.index(d)]] += 1
    if sum(counts.values()) == 0:
        raise PrioritisationError("at least one Kano response is required", field="responses", item_id=item_id)
    return _kano_summary(item_id, counts)


def kano_summary_from_counts(counts: Mapping[KanoCategory | str, int], *, item_id: ItemId | None = None) -> KanoResult:
    """Summary from category counts already tallied (e.g. published survey tables)."""
    tallied = dict.fromkeys(KanoCategory, 0)
    for key, value in counts.items():
        try:
            category = KanoCategory(key)
        except ValueError:
            raise PrioritisationError(f"unknown Kano category {key!r}", field="counts", item_id=item_id) from None
        number = _non_negative(value, f"counts.{category.value}", item_id)
        if number != int(number):
            raise PrioritisationError(f"counts.{category.value} must be a whole number", field="counts",
                                      item_id=item_id)
        tallied[category] += int(number)
    if sum(tallied.values()) == 0:
        raise PrioritisationError("at least one Kano response is required", field="counts", item_id=item_id)
    return _kano_summary(item_id, tallied)


def kano_classify_batch(
    functional: npt.ArrayLike, dysfunctional: npt.ArrayLike, feature_index: npt.ArrayLike, n_features: int
) -> npt.NDArray[np.int64]:
    """Vectorised tally. Answers are integer codes 0-4 in :class:`KanoAnswer` order; ``feature_index`` says which
    feature (0 .. n_features-1) each response belongs to. Returns counts of shape (n_features, 6), columns in
    :class:`KanoCategory` order A, O, M, I, R, Q.
    """
    f = np.asarray(functional)
    d = np.asarray(dysfunctional)
    idx = np.asarray(feature_index)
    if not (f.shape == d.shape == idx.shape) or f.ndim != 1:
        raise PrioritisationError("functional, dysfunctional and feature_index must be equally long 1-D arrays")
    for name, array, upper in (("functional", f, 5), ("dysfunctional", d, 5), ("feature_index", idx, n_features)):
        if not np.issubdtype(array.dtype, np.integer):
            raise PrioritisationError(f"{name} must be integer codes", field=name)
        _check_batch((array >= 0) & (array < upper), name, f"must be between 0 and {upper - 1}", None,
                     PrioritisationError)
    category = _KANO_CODE_TABLE[f, d].astype(np.int64)
    flat = np.bincount(idx.astype(np.int64) * 6 + category, minlength=n_features * 6)
    return flat.reshape(n_features, 6)


# --------------------------------------------------------------------------------------------------------------------
# Opportunity score (Ulwick)
# --------------------------------------------------------------------------------------------------------------------


class OpportunityBand(StrEnum):
    """Ulwick's reading of opportunity scores (What Customers Want, 2005)."""

    EXTREME = "extreme"  # > 15: extreme opportunity, should not be ignored
    HIGH = "high"  # 12 - 15 inclusive: high opportunity ("low-hanging fruit")
    SOLID = "solid"  # 10 - 12 (10 inclusive, 12 exclusive): solid opportunity, worth considering
    LOW = "low"  # < 10: not worth pursuing in most markets


@dataclass(frozen=True, slots=True)
class OpportunityResult:
    """``underserved`` when the score exceeds 10; ``overserved`` when satisfaction exceeds importance."""

    item_id: ItemId | None
    importance: float
    satisfaction: float
    score: float
    band: OpportunityBand
    underserved: bool
    overserved: bool


def _band(score: float) -> OpportunityBand:
    if score > 15:
        return OpportunityBand.EXTREME
    if score >= 12:
        return OpportunityBand.HIGH
    if score >= 10:
        return OpportunityBand.SOLID
    return OpportunityBand.LOW


def top_two_box(ratings: Iterable[object], *, field: str = "ratings", item_id: ItemId | None = None) -> float:
    """Ulwick's 0-10 importance/satisfaction value: the share of 1-5 ratings that are 4 or 5, times 10."""
    values = [_num(r, field, item_id) for r in ratings]
    if not values:
        raise PrioritisationError(f"{field} must not be empty", field=field, item_id=item_id)
    if any(v not in (1, 2, 3, 4, 5) for v in values):
        raise PrioritisationError(f"{field} must be whole numbers from 1 to 5", field=field, item_id=item_id)
    return 10.0 * sum(1 for v in values if v >= 4) / len(values)


def opportunity(importance: object, satisfaction: object, *, item_id: ItemId | None = None) -> OpportunityResult:
    """Opportunity = importance + max(importance - satisfaction, 0), both on 0-10 (see :func:`top_two_box`)."""
    imp = _num(importance, "importance", item_id)
    sat = _num(satisfaction, "satisfaction", item_id)
    for name, value in (("importance", imp), ("satisfaction", sat)):
        if not 0 <= value <= 10:
            raise PrioritisationError(f"{name} must be between 0 and 10", field=name, item_id=item_id)
    score = imp + max(imp - sat, 0.0)
    return OpportunityResult(item_id, imp, sat, score, _band(score), score > 10, sat > imp)


@dataclass(frozen=True, slots=True)
class OpportunityBatch:
    score: FloatArray
    band: npt.NDArray[np.str_]
    underserved: npt.NDArray[np.bool_]
    overserved: npt.NDArray[np.bool_]


def opportunity_batch(
    importance: npt.ArrayLike, satisfaction: npt.ArrayLike, *, ids: npt.ArrayLike | None = None
) -> OpportunityBatch:
    imp = _as_float_array(importance, "importance")
    sat = _as_float_array(satisfaction, "satisfaction")
    id_array = _batch_ids(ids, _same_length(imp, sat))
    for name, array in (("importance", imp), ("satisfaction", sat)):
        ok = np.isfinite(array) & (array >= 0) & (array <= 10)
        _check_batch(ok, name, "must be between 0 and 10", id_array, PrioritisationError)
    score = imp + np.maximum(imp - sat, 0.0)
    band = np.select(
        [score > 15, score >= 12, score >= 10],
        [OpportunityBand.EXTREME.value, OpportunityBand.HIGH.value, OpportunityBand.SOLID.value],
        OpportunityBand.LOW.value,
    )
    return OpportunityBatch(score, band, score > 10, sat > imp)


# --------------------------------------------------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------------------------------------------------


class Framework(StrEnum):
    CD3 = "cd3"
    COD = "cod"  # value only: Cost of Delay per week, ignoring duration
    WSJF = "wsjf"
    RICE = "rice"
    ICE = "ice"
    OPPORTUNITY = "opportunity"


# Fields each framework reads from an item mapping (besides "id"); also the column names for rank_batch.
FRAMEWORK_FIELDS: Mapping[Framework, tuple[str, ...]] = {
    Framework.CD3: ("cod_per_week", "duration_weeks"),  # optional: duration_low_weeks, duration_high_weeks
    Framework.COD: ("cod_per_week",),
    Framework.WSJF: _WSJF_FIELDS,
    Framework.RICE: ("reach", "impact", "confidence", "effort"),
    Framework.ICE: ("impact", "confidence", "ease"),
    Framework.OPPORTUNITY: ("importance", "satisfaction"),
}


@dataclass(frozen=True, slots=True)
class RankedItem:
    """One ranked row. ``rank`` is the unique position (1 = first); ``shared_rank`` gives equal scores the same
    number, competition style (1, 2, 2, 4). ``detail`` is the framework's result object for the item."""

    item_id: ItemId
    score: float
    rank: int
    shared_rank: int
    detail: Any = field(compare=False)


def _id_key(item_id: ItemId) -> tuple[int, Any]:
    # Integers sort numerically and before strings, so "10" vs "9" style surprises only happen for string ids.
    if isinstance(item_id, int | np.integer) and not isinstance(item_id, bool):
        return (0, int(item_id))
    return (1, str(item_id))


def _collect_ids(items: Sequence[Mapping[str, Any]]) -> list[ItemId]:
    ids: list[ItemId] = []
    seen: set[tuple[int, Any]] = set()
    for row, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise PrioritisationError(f"row {row} must be a mapping of field names to values", field="id")
        item_id = item.get("id")
        if item_id is None or isinstance(item_id, bool) or not isinstance(item_id, int | str):
            raise PrioritisationError(f"id is required and must be an int or str (row {row})", field="id")
        key = _id_key(item_id)
        if key in seen:
            raise PrioritisationError("id is duplicated", field="id", item_id=item_id)
        seen.add(key)
        ids.append(item_id)
    return ids


def _score_item(framework: Framework, item: Mapping[str, Any], item_id: ItemId, ice_method: IceMethod) -> tuple[
    float, Any
]:
    if framework is Framework.CD3:
        duration = duration_range(
            _require(item, "duration_weeks", item_id),
            item.get("duration_low_weeks"),
            item.get("duration_high_weeks"),
            item_id=item_id,
        )
        result = cd3(_require(item, "cod_per_week", item_id), duration, item_id=item_id)
        return result.cd3, result
    if framework is Framework.COD:
        value = _non_negative(_require(item, "cod_per_week", item_id), "cod_per_week", item_id)
        return value, value
    if framework is Framework.RICE:
        r = rice(*(_require(item, f, item_id) for f in FRAMEWORK_FIELDS[framework]), item_id=item_id)
        return r.score, r
    if framework is Framework.ICE:
        i = ice(*(_require(item, f, item_id) for f in FRAMEWORK_FIELDS[framework]), method=ice_method,
                item_id=item_id)
        return i.score, i
    o = opportunity(_require(item, "importance", item_id), _require(item, "satisfaction", item_id), item_id=item_id)
    return o.score, o


def rank(
    items: Sequence[Mapping[str, Any]],
    framework: Framework | str,
    *,
    ice_method: IceMethod | str = IceMethod.AVERAGE,
    wsjf_normalise: bool = True,
) -> list[RankedItem]:
    """Score and order items, best first.

    Each item is a mapping with an ``id`` (int or str, unique) and the fields in ``FRAMEWORK_FIELDS[framework]``
    (CD3 also reads optional ``duration_low_weeks``/``duration_high_weeks``). Ties break by id ascending. Every item
    comes back exactly once; any invalid item raises :class:`PrioritisationError` naming it, nothing is skipped.
    WSJF is normalised over exactly the items passed (see :func:`wsjf_batch`).
    """
    try:
        chosen = Framework(framework)
    except ValueError:
        allowed = ", ".join(f.value for f in Framework)
        raise PrioritisationError(f"framework must be one of {allowed}; got {framework!r}", field="framework") from None
    method = _ice_method(ice_method)
    ids = _collect_ids(items)
    if chosen is Framework.WSJF:
        details: list[Any] = wsjf(items, normalise=wsjf_normalise)
        scores = [d.score for d in details]
    else:
        scored = [_score_item(chosen, item, item_id, method) for item, item_id in zip(items, ids, strict=True)]
        scores = [s for s, _ in scored]
        details = [d for _, d in scored]
    order = sorted(range(len(ids)), key=lambda k: (-scores[k], _id_key(ids[k])))
    ranked: list[RankedItem] = []
    for position, k in enumerate(order, start=1):
        shared = ranked[-1].shared_rank if ranked and ranked[-1].score == scores[k] else position
        ranked.append(RankedItem(ids[k], scores[k], position, shared, details[k]))
    return ranked


@dataclass(frozen=True, slots=True)
class BatchRanking:
    """Vectorised ranking result.

    ``order``: input row indices, best first. ``ids``/``scores``: in that order. ``rank``/``shared_rank``: for each
    *input* row, its 1-based position and competition rank, so ``rank[order] == 1..n``.
    """

    order: npt.NDArray[np.intp]
    ids: np.ndarray
    scores: FloatArray
    rank: npt.NDArray[np.int64]
    shared_rank: npt.NDArray[np.int64]


def rank_scores(scores: npt.ArrayLike, ids: npt.ArrayLike | None = None) -> BatchRanking:
    """Rank any score vector (higher first; ties by id ascending, or by row index when ids are omitted).

    Works for scores from any source, including user formulas. NaN scores are rejected: a NaN has no place in an
    order and silently sorting it last would hide a broken row.
    """
    score_array = _as_float_array(scores, "score")
    n = score_array.shape[0]
    id_array = np.arange(n) if ids is None else _batch_ids(ids, n)
    assert id_array is not None
    _check_batch(~np.isnan(score_array), "score", "must be a number (got NaN)", None if ids is None else id_array,
                 PrioritisationError)
    if id_array.dtype == object:
        # Mixed or Python-object ids: fall back to a Python sort with the same key as rank().
        order = np.asarray(sorted(range(n), key=lambda k: (-score_array[k], _id_key(id_array[k]))), dtype=np.intp)
    else:
        # lexsort sorts by the last key first: score descending, then id ascending. It is stable.
        order = np.lexsort((id_array, -score_array)).astype(np.intp)
    sorted_scores = score_array[order]
    positions = np.arange(1, n + 1, dtype=np.int64)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = sorted_scores[1:] != sorted_scores[:-1]
    shared_sorted = np.maximum.accumulate(np.where(new_group, positions, 0))
    rank_out = np.empty(n, dtype=np.int64)
    rank_out[order] = positions
    shared_out = np.empty(n, dtype=np.int64)
    shared_out[order] = shared_sorted
    return BatchRanking(order, id_array[order], sorted_scores, rank_out, shared_out)


def _column(columns: Mapping[str, npt.ArrayLike], name: str) -> npt.ArrayLike:
    if name not in columns or columns[name] is None:
        raise PrioritisationError(f"{name} is required", field=name)
    return columns[name]


def rank_batch(
    framework: Framework | str,
    columns: Mapping[str, npt.ArrayLike],
    ids: npt.ArrayLike | None = None,
    *,
    ice_method: IceMethod | str = IceMethod.AVERAGE,
    wsjf_normalise: bool = True,
) -> BatchRanking:
    """Score columns (numpy arrays keyed by the field names of ``FRAMEWORK_FIELDS``) and rank them in one go."""
    try:
        chosen = Framework(framework)
    except ValueError:
        allowed = ", ".join(f.value for f in Framework)
        raise PrioritisationError(f"framework must be one of {allowed}; got {framework!r}", field="framework") from None
    fields = FRAMEWORK_FIELDS[chosen]
    if chosen is Framework.CD3:
        scores = cd3_batch(
            _column(columns, "cod_per_week"),
            _column(columns, "duration_weeks"),
            columns.get("duration_low_weeks"),
            columns.get("duration_high_weeks"),
            ids=ids,
        ).cd3
    elif chosen is Framework.COD:
        cod = _as_float_array(_column(columns, "cod_per_week"), "cod_per_week")
        id_array = _batch_ids(ids, cod.shape[0])
        _check_batch(np.isfinite(cod) & (cod >= 0), "cod_per_week", "must be a finite number >= 0", id_array,
                     PrioritisationError)
        scores = cod
    elif chosen is Framework.WSJF:
        scores = wsjf_batch(*(_column(columns, f) for f in fields), normalise=wsjf_normalise, ids=ids).score
    elif chosen is Framework.RICE:
        scores = rice_batch(*(_column(columns, f) for f in fields), ids=ids)
    elif chosen is Framework.ICE:
        scores = ice_batch(*(_column(columns, f) for f in fields), method=ice_method, ids=ids)
    else:
        scores = opportunity_batch(*(_column(columns, f) for f in fields), ids=ids).score
    return rank_scores(scores, ids)
