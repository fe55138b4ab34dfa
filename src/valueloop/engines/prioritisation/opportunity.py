"""Opportunity score: where customers' important outcomes are underserved (Outcome-Driven Innovation).

Invariants
----------
* Importance and satisfaction are on 0-10: the share of respondents rating 4 or 5 on a 1-5 scale, times 10
  (:func:`top_two_box`).
* opportunity = importance + max(importance - satisfaction, 0), so it lies in 0-20; above 10 is underserved,
  satisfaction above importance is overserved. Bands: > 15 extreme, 12-15 high, 10-12 solid, < 10 low.
* :func:`opportunity` and :func:`opportunity_batch` compute the same numbers and bands.

Sources: Anthony W. Ulwick, *What Customers Want* (2005) and "Turn customer input into innovation", Harvard Business
Review (January 2002).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from .base import FloatArray, ItemId, PrioritisationError, _as_float_array, _batch_ids, _check_batch, _num, _same_length


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
