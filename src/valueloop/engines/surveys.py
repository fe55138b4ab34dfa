"""Survey metrics: Net Promoter Score with its margin of error, CSAT share, System Usability Scale.

Pure functions over plain numbers; nothing here imports Django or another valueloop package.

Invariants
----------
* Inputs are validated: a score outside its scale, a non-integer score, a boolean, NaN or an empty
  sample raises :class:`SurveyError` (a ``ValueError``) naming the offending value. Nothing is
  silently dropped or clamped.
* Scores are on the scale their audience reads: NPS in points from -100 to +100, CSAT as a share in
  percent, SUS from 0 to 100. Nothing is rounded here; rounding is a presentation concern.
* Every function taking raw scores has a counterpart taking counts (what SQL aggregates return),
  and both compute the same numbers.

Formulas and sources
--------------------
* NPS (Reichheld, "The One Number You Need to Grow", HBR 2003): respondents scoring 9-10 are
  promoters, 7-8 passives, 0-6 detractors; NPS = 100 x (p_P - p_D) with p_P, p_D the shares of
  promoters and detractors among the n respondents.
* Variance of the NPS estimator: scoring each respondent +1 (promoter), 0 (passive), -1 (detractor)
  makes the NPS a sample mean, so, for a simple random sample from a large population,
  Var(p_P - p_D) = (p_P + p_D - (p_P - p_D)^2) / n  [= (p_P(1-p_P) + p_D(1-p_D) + 2 p_P p_D) / n,
  since Cov(p_P, p_D) = -p_P p_D / n for multinomial shares]. Worked examples: W. Huber,
  "How can I calculate margin of error in a NPS result?", Cross Validated (2011),
  https://stats.stackexchange.com/a/18609 (p_P = 1/2, p_0 = 1/3, p_D = 1/6 gives NPS 1/3, variance
  5/9, and a standard error of about 4.1 points for n = 324); A. Engelhardt, "Net Promoter Score
  confidence intervals 2: maths and stats", CYBAEA (2016) (for p_P = p_D = 1/3 the 95 % interval
  is about 320/sqrt(n) points wide).
  Margin of error = z x sqrt(Var) x 100 with z the two-sided normal quantile (1.96 at 95 %). This is
  the Wald interval: fine for the sample sizes dashboards show, optimistic below ~30 responses or
  when nearly everyone is in one group (then ``small_sample`` is True so the page can say so).
* CSAT: the share of respondents choosing the top of the scale (4 or 5 on 1-5 by default; both the
  scale and the threshold are parameters), in percent, with the Wald margin of error of a
  proportion, z x sqrt(p(1-p)/n) x 100.
* SUS (J. Brooke, "SUS: a 'quick and dirty' usability scale", in Usability Evaluation in
  Industry, 1996): ten items answered 1-5; odd (positively worded) items contribute
  response - 1, even (negatively worded) items 5 - response; the sum (0-40) x 2.5 gives 0-100.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

__all__ = [
    "CsatResult",
    "NpsResult",
    "SurveyError",
    "csat",
    "csat_from_counts",
    "nps",
    "nps_category",
    "nps_from_counts",
    "sus",
    "sus_mean",
    "z_for",
]

SMALL_SAMPLE = 30


class SurveyError(ValueError):
    """Bad survey input; the message names the offending value."""


def z_for(confidence: float) -> float:
    """Two-sided normal quantile: 1.959963... for 0.95."""
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise SurveyError(f"confidence must be between 0 and 1 (exclusive), not {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _score(value: object, low: int, high: int, what: str) -> int:
    if isinstance(value, bool):
        raise SurveyError(f"{what} must be a whole number from {low} to {high}, not {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise SurveyError(f"{what} must be a whole number from {low} to {high}, not {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise SurveyError(f"{what} must be a whole number from {low} to {high}, not {value!r}")
    if not low <= value <= high:
        raise SurveyError(f"{what} must be from {low} to {high}, not {value}")
    return value


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SurveyError(f"{what} must be a count (an integer >= 0), not {value!r}")
    return value


# --- NPS --------------------------------------------------------------------------------------


def nps_category(score: int) -> str:
    """Promoter (9-10), passive (7-8) or detractor (0-6), as "promoter", "passive", "detractor"."""
    score = _score(score, 0, 10, "An NPS score")
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


@dataclass(frozen=True)
class NpsResult:
    n: int
    promoters: int
    passives: int
    detractors: int
    score: float  # -100..100
    variance: float  # of (p_P - p_D), i.e. on the -1..1 scale
    standard_error: float  # in NPS points
    margin_of_error: float  # in NPS points, at ``confidence``
    confidence: float

    @property
    def low(self) -> float:
        return max(-100.0, self.score - self.margin_of_error)

    @property
    def high(self) -> float:
        return min(100.0, self.score + self.margin_of_error)

    @property
    def promoter_share(self) -> float:
        return 100.0 * self.promoters / self.n

    @property
    def detractor_share(self) -> float:
        return 100.0 * self.detractors / self.n

    @property
    def passive_share(self) -> float:
        return 100.0 * self.passives / self.n

    @property
    def small_sample(self) -> bool:
        """Too few answers (or all in one group) for the normal approximation to be trusted."""
        return self.n < SMALL_SAMPLE or max(self.promoters, self.passives, self.detractors) == self.n


def nps_from_counts(promoters: int, passives: int, detractors: int, *, confidence: float = 0.95) -> NpsResult:
    promoters = _count(promoters, "promoters")
    passives = _count(passives, "passives")
    detractors = _count(detractors, "detractors")
    n = promoters + passives + detractors
    if n == 0:
        raise SurveyError("NPS needs at least one response")
    z = z_for(confidence)
    p, d = promoters / n, detractors / n
    variance = max(0.0, (p + d - (p - d) ** 2) / n)
    se = math.sqrt(variance) * 100.0
    return NpsResult(
        n=n,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        score=100.0 * (p - d),
        variance=variance,
        standard_error=se,
        margin_of_error=z * se,
        confidence=confidence,
    )


def nps(scores: Iterable[int], *, confidence: float = 0.95) -> NpsResult:
    counts = {"promoter": 0, "passive": 0, "detractor": 0}
    for value in scores:
        counts[nps_category(value)] += 1  # type: ignore[arg-type]
    return nps_from_counts(counts["promoter"], counts["passive"], counts["detractor"], confidence=confidence)


# --- CSAT -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsatResult:
    n: int
    satisfied: int
    share: float  # percent of respondents at or above the threshold
    standard_error: float  # percentage points
    margin_of_error: float  # percentage points, at ``confidence``
    confidence: float
    scale_min: int
    scale_max: int
    satisfied_min: int

    @property
    def low(self) -> float:
        return max(0.0, self.share - self.margin_of_error)

    @property
    def high(self) -> float:
        return min(100.0, self.share + self.margin_of_error)

    @property
    def small_sample(self) -> bool:
        return self.n < SMALL_SAMPLE or self.satisfied in (0, self.n)


def _check_scale(scale_min: int, scale_max: int, satisfied_min: int) -> None:
    for name, value in (("scale_min", scale_min), ("scale_max", scale_max), ("satisfied_min", satisfied_min)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SurveyError(f"{name} must be an integer, not {value!r}")
    if not scale_min < scale_max:
        raise SurveyError(f"scale_min ({scale_min}) must be below scale_max ({scale_max})")
    if not scale_min <= satisfied_min <= scale_max:
        raise SurveyError(f"satisfied_min must be within {scale_min}..{scale_max}, not {satisfied_min}")


def csat_from_counts(
    satisfied: int,
    n: int,
    *,
    confidence: float = 0.95,
    scale_min: int = 1,
    scale_max: int = 5,
    satisfied_min: int = 4,
) -> CsatResult:
    _check_scale(scale_min, scale_max, satisfied_min)
    satisfied, n = _count(satisfied, "satisfied"), _count(n, "n")
    if n == 0:
        raise SurveyError("CSAT needs at least one response")
    if satisfied > n:
        raise SurveyError(f"satisfied ({satisfied}) cannot exceed the number of responses ({n})")
    p = satisfied / n
    se = math.sqrt(p * (1 - p) / n) * 100.0
    return CsatResult(
        n=n,
        satisfied=satisfied,
        share=100.0 * p,
        standard_error=se,
        margin_of_error=z_for(confidence) * se,
        confidence=confidence,
        scale_min=scale_min,
        scale_max=scale_max,
        satisfied_min=satisfied_min,
    )


def csat(
    scores: Iterable[int],
    *,
    confidence: float = 0.95,
    scale_min: int = 1,
    scale_max: int = 5,
    satisfied_min: int = 4,
) -> CsatResult:
    _check_scale(scale_min, scale_max, satisfied_min)
    n = satisfied = 0
    for value in scores:
        value = _score(value, scale_min, scale_max, "A CSAT score")
        n += 1
        satisfied += value >= satisfied_min
    return csat_from_counts(
        satisfied, n, confidence=confidence, scale_min=scale_min, scale_max=scale_max, satisfied_min=satisfied_min
    )


# --- SUS --------------------------------------------------------------------------------------


def sus(responses: Sequence[int]) -> float:
    """One respondent's SUS score (0-100) from their ten answers (1-5), in questionnaire order."""
    if isinstance(responses, (str, bytes)) or len(responses) != 10:
        raise SurveyError(
            f"SUS needs exactly 10 answers, got {len(responses) if hasattr(responses, '__len__') else responses!r}"
        )
    total = 0
    for index, value in enumerate(responses, start=1):
        value = _score(value, 1, 5, f"SUS item {index}")
        total += (value - 1) if index % 2 == 1 else (5 - value)
    return total * 2.5


def sus_mean(respondents: Iterable[Sequence[int]]) -> float:
    """The study's SUS score: the mean of the respondents' scores."""
    scores = [sus(r) for r in respondents]
    if not scores:
        raise SurveyError("SUS needs at least one respondent")
    return sum(scores) / len(scores)
