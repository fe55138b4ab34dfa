"""Urgency profiles: how Cost of Delay behaves over time, for CD3 scheduling and delay-cost sums.

Invariants
----------
* Time is in weeks from now until the item is delivered; negative weeks are rejected. Money is per week.
* ``delay_cost(t)`` is the integral of ``cod_at`` from 0 to ``t`` plus any one-off step (:class:`FixedDate`), so it
  never decreases; ``start_delay_cost(s, d) = delay_cost(s + d) - delay_cost(d)``.
* Every method takes a number or a numpy array of weeks and returns a float or an array accordingly.
* Profiles are frozen dataclasses validated on construction; :func:`make_profile` builds one from the ``kind`` name
  the app stores and turns unknown kinds or parameters into :class:`PrioritisationError`.

Sources: Joshua J. Arnold, Black Swan Farming, "Urgency Profiles" (blackswanfarming.com: short life-cycle peak
affected, long life-cycle peak affected, long life-cycle peak unaffected, impending deadline); the Kanban classes of
service expedite, fixed date, standard and intangible (David J. Anderson, *Kanban*, 2010), which Black Swan Farming
maps onto these profiles; Donald G. Reinertsen, *The Principles of Product Development Flow* (2009), ch. 2.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .base import FloatArray, PrioritisationError, _non_negative, _positive


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
class _ConstantRate(UrgencyProfile):
    """A constant Cost of Delay ``c`` from now on: ``cod_at(t) = c``; ``delay_cost(t) = c * t``.

    The maths of :class:`Standard` and :class:`Expedite`, which differ in policy only. Not a profile of its own (it
    has no ``kind``); the two stay distinct classes, so they never compare equal to each other.
    """

    cod_per_week: float

    def __post_init__(self) -> None:
        _non_negative(self.cod_per_week, "cod_per_week")

    def _rate(self, t: FloatArray) -> FloatArray:
        return np.full_like(t, float(self.cod_per_week))

    def _cost(self, t: FloatArray) -> FloatArray:
        return float(self.cod_per_week) * t


@dataclass(frozen=True, slots=True)
class Standard(_ConstantRate):
    """Standard: long life-cycle, peak unaffected by delay (Black Swan Farming profile 3; Kanban "standard").

    Delay shifts the whole benefit curve to the right; each week late loses one week of benefit.
    ``cod_at(t) = c``; ``delay_cost(t) = c * t``. CD3 order is optimal for this profile.
    """

    kind: ClassVar[str] = "standard"


@dataclass(frozen=True, slots=True)
class _PeakAffected(UrgencyProfile):
    """The parameters both peak-affected profiles share: peak benefit ``c`` per week and a life of ``life_weeks``
    (> 0) that ends at a fixed point from now, however late we deliver. Not a profile of its own (no ``kind``)."""

    cod_per_week: float
    life_weeks: float

    def __post_init__(self) -> None:
        _non_negative(self.cod_per_week, "cod_per_week")
        _positive(self.life_weeks, "life_weeks")


@dataclass(frozen=True, slots=True)
class LongLifePeakAffected(_PeakAffected):
    """Long life-cycle, peak affected by delay (Black Swan Farming profile 2: first-mover markets).

    The benefit window ends at a fixed point ``life_weeks`` from now (the market consolidates, the product is
    retired); a late delivery does not extend it, so every week of delay is a week of peak benefit lost off the end
    of the life: ``delay_cost(t) = c * min(t, L)`` and ``cod_at(t) = c`` until ``L``, then 0. ``c`` is the peak
    benefit per week you would capture by delivering now. Compared with :class:`Standard`, the loss is capped at
    the whole-life value ``c * L``.
    """

    kind: ClassVar[str] = "long_life_peak_affected"

    def _rate(self, t: FloatArray) -> FloatArray:
        return np.where(t < self.life_weeks, float(self.cod_per_week), 0.0)

    def _cost(self, t: FloatArray) -> FloatArray:
        return float(self.cod_per_week) * np.minimum(t, float(self.life_weeks))


@dataclass(frozen=True, slots=True)
class ShortLifePeakAffected(_PeakAffected):
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
class Expedite(_ConstantRate):
    """Expedite (Kanban "expedite"): very high Cost of Delay, incurred immediately (outage, security hole).

    The maths is the standard constant rate, ``delay_cost(t) = c * t``; what makes it expedite is the size of ``c``
    and the policy that such items jump the queue. The engine does not apply that policy (``rank`` stays a pure
    score order); the app can pin items whose profile ``is_expedite``.
    """

    kind: ClassVar[str] = "expedite"
    is_expedite: ClassVar[bool] = True


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
