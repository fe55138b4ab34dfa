"""ICE: impact, confidence and ease, each 1-10, as the average or the product of the three.

Invariants
----------
* Each input is on 1-10 inclusive, fractions allowed. The method is chosen per call: ``average`` gives 1-10,
  ``product`` gives 1-1000; anything else is rejected.
* :func:`ice` and :func:`ice_batch` compute the same numbers and reject the same input.

Source: Sean Ellis (GrowthHackers), the ICE score; published both as the average and as the product of the three,
so both are offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from .base import FloatArray, ItemId, PrioritisationError, _as_float_array, _batch_ids, _check_batch, _num, _same_length


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
