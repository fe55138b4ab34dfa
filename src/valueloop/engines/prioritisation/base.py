"""Shared ground of the prioritisation engines: the error type, number and id checks, batch helpers.

Nothing here scores anything; every framework module builds on these checks so that all of them refuse bad input
the same way. Other engines (``forecasting``, ``formula``) derive their own errors from :class:`EngineInputError`.

Invariants
----------
* Bad input raises :class:`EngineInputError` (a ``ValueError``) or a subclass; ``field`` names the offending field,
  ``item_id`` the row, and ``str(error)`` ends with ``" (item <id>)"`` when the row is known.
* Booleans, strings, NaN and infinities are never accepted as numbers; ``int``, ``float``, ``decimal.Decimal``,
  ``fractions.Fraction`` and numpy scalars are (the app stores money as decimals).
* Item ids are ints or strs and unique within one call; duplicates are rejected rather than guessed at. They order
  totally: integers numerically and before strings, strings lexicographically (:func:`_id_key`).
* A batch check names the first failing row: by its id when ids were given, else by its row index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

ItemId = int | str
FloatArray = npt.NDArray[np.float64]


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
