"""CD3: Cost of Delay Divided by Duration, with duration ranges, for one item and vectorised.

Invariants
----------
* Durations are in weeks, with ``0 < low <= likely <= high``; a missing low or high is the likely value.
* ``cd3 = cod / likely``; ``cd3_low = cod / high`` and ``cd3_high = cod / low`` bracket it. Cost of Delay >= 0.
* :func:`cd3` and :func:`cd3_batch` compute the same numbers and apply the same checks; the batch names the first
  bad row. Scores are never rounded here.

Sources: Joshua J. Arnold, Black Swan Farming, "Cost of Delay Divided by Duration" (blackswanfarming.com); Donald G.
Reinertsen, *The Principles of Product Development Flow* (2009), ch. 2 and the weighted-shortest-job-first
principle (F16). CD3 is WSJF weighted by Cost of Delay. Urgency over time is in :mod:`.urgency`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy.typing as npt

from .base import (
    FloatArray,
    ItemId,
    PrioritisationError,
    _as_float_array,
    _batch_ids,
    _check_batch,
    _finite,
    _non_negative,
    _positive,
    _same_length,
)


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
