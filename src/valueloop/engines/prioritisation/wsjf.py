"""WSJF (Weighted Shortest Job First) as the Scaled Agile Framework defines it.

Invariants
----------
* Cost of Delay = user-business value + time criticality + risk reduction and/or opportunity enablement; WSJF = CoD
  / job size. Every value used is on the modified Fibonacci scale 1, 2, 3, 5, 8, 13, 20, 40, 100.
* Normalised (the default), each column is divided by its smallest value over exactly the items passed, so the
  smallest becomes 1, then snapped to the nearest scale point (midpoints up, above 100 to 100). Scores are relative:
  adding or removing items can change other items' scores, which is SAFe's intent. Not normalised, values off the
  scale are rejected.
* :func:`wsjf` (mappings) and :func:`wsjf_batch` (columns) compute the same numbers; :func:`wsjf_score` scores one
  item already on the scale.

Source: Scaled Agile Framework (SAFe), "WSJF" (scaledagileframework.com/wsjf), after Donald G. Reinertsen, *The
Principles of Product Development Flow* (2009), F16.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from .base import (
    FloatArray,
    ItemId,
    PrioritisationError,
    _as_float_array,
    _batch_ids,
    _check_batch,
    _collect_ids,
    _finite,
    _num,
    _require,
    _same_length,
)

FIBONACCI_SCALE: tuple[int, ...] = (1, 2, 3, 5, 8, 13, 20, 40, 100)
_SCALE = np.asarray(FIBONACCI_SCALE, dtype=np.float64)
# Boundaries halfway between neighbouring scale values; searchsorted(side="right") sends an exact midpoint up.
_SCALE_MIDPOINTS = (_SCALE[:-1] + _SCALE[1:]) / 2.0
_SCALE_TEXT = ", ".join(map(str, FIBONACCI_SCALE))  # for error messages
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
            _check_batch(on_scale, name, f"must be one of {_SCALE_TEXT}", ids, PrioritisationError)
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
            raise PrioritisationError(f"{name} must be one of {_SCALE_TEXT}", field=name, item_id=item_id)
        values.append(number)
    return (values[0] + values[1] + values[2]) / values[3]
