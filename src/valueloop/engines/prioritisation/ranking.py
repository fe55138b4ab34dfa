"""Ranking: score items under any framework and order them, best first, one by one or vectorised.

Invariants
----------
* A ranking returns every item it was given, exactly once; any invalid item raises :class:`PrioritisationError`
  naming it, nothing is skipped.
* Higher scores rank first in every framework. Equal scores break by id ascending (integer ids numerically and
  before string ids, strings lexicographically), or by row index when no ids are given, so the order is total and
  reproducible. ``rank`` is the unique position; ``shared_rank`` gives equal scores the same number (1, 2, 2, 4).
* :func:`rank` (mappings) and :func:`rank_batch` (numpy columns) give the same order; :func:`rank_scores` ranks any
  score vector, including the scores of user formulas (``valueloop.engines.formula``); NaN scores are rejected.

The frameworks themselves, with their sources, are in the sibling modules: :mod:`.cd3`, :mod:`.wsjf`, :mod:`.rice`,
:mod:`.ice`, :mod:`.opportunity`. ``cod`` ranks by Cost of Delay per week alone (Reinertsen's "value only").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

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
    _id_key,
    _non_negative,
    _require,
)
from .cd3 import cd3, cd3_batch, duration_range
from .ice import IceMethod, _ice_method, ice, ice_batch
from .opportunity import opportunity, opportunity_batch
from .rice import rice, rice_batch
from .wsjf import _WSJF_FIELDS, wsjf, wsjf_batch


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


def _framework(framework: Framework | str) -> Framework:
    try:
        return Framework(framework)
    except ValueError:
        allowed = ", ".join(f.value for f in Framework)
        raise PrioritisationError(f"framework must be one of {allowed}; got {framework!r}", field="framework") from None


@dataclass(frozen=True, slots=True)
class RankedItem:
    """One ranked row. ``rank`` is the unique position (1 = first); ``shared_rank`` gives equal scores the same
    number, competition style (1, 2, 2, 4). ``detail`` is the framework's result object for the item."""

    item_id: ItemId
    score: float
    rank: int
    shared_rank: int
    detail: Any = field(compare=False)


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
    chosen = _framework(framework)
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
    chosen = _framework(framework)
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
