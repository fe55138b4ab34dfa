"""RICE: reach x impact x confidence / effort, as Intercom published it.

Invariants
----------
* Reach >= 0 (people or events per period); impact one of 3, 2, 1, 0.5, 0.25 (massive to minimal); confidence a
  percentage, one of 100, 80, 50 (anything lower is a "moonshot" with no score); effort > 0 person-months.
* :func:`rice` and :func:`rice_batch` compute the same numbers and reject the same input; scores are not rounded.

Source: Sean McBride, "RICE: Simple prioritization for product managers", Intercom blog (2016).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .base import (
    FloatArray,
    ItemId,
    PrioritisationError,
    _as_float_array,
    _batch_ids,
    _check_batch,
    _non_negative,
    _num,
    _positive,
    _same_length,
)

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
