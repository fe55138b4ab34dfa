"""Kano: classify questionnaire answer pairs and summarise a feature with better/worse coefficients.

Invariants
----------
* An answer is one of like, must-be (expect), neutral, live-with, dislike (common spellings accepted); anything else
  is rejected with the field named. A (functional, dysfunctional) pair maps to one category through the evaluation
  table :data:`KANO_TABLE`.
* ``better = (A + O) / (A + O + M + I)`` in [0, 1] and ``worse = -(O + M) / (A + O + M + I)`` in [-1, 0]; reverse and
  questionable answers are left out of both, and both are ``None`` when nothing else is left.
* The dominant category is the most answered; ties go to the one that hurts most if ignored (M > O > A > I, then R,
  Q). A summary needs at least one response; counts are whole numbers >= 0.

Sources: N. Kano, N. Seraku, F. Takahashi, S. Tsuji, "Attractive quality and must-be quality", Journal of the
Japanese Society for Quality Control 14(2), 1984; evaluation table and customer-satisfaction coefficients from
C. Berger et al., "Kano's methods for understanding customer-defined quality", Center for Quality of Management
Journal 2(4), 1993.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from .base import ItemId, PrioritisationError, _check_batch, _non_negative


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
    return _kano_category(functional, dysfunctional, None)


def _kano_category(functional: object, dysfunctional: object, item_id: ItemId | None) -> KanoCategory:
    f = _kano_answer(functional, "functional", item_id)
    d = _kano_answer(dysfunctional, "dysfunctional", item_id)
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
        counts[_kano_category(functional, dysfunctional, item_id)] += 1
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
