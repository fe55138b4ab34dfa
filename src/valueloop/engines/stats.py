"""Experiment analysis on sufficient statistics: effects, tests, sequential and Bayesian read-outs, CUPED, SRM, power.

Pure functions over plain numbers and numpy arrays returning frozen dataclasses. Nothing here touches Django, the
database or any other valueloop package; only the standard library, numpy and scipy (``scipy.special`` ufuncs, so a
read-out costs on the order of a hundred microseconds, not milliseconds of ``scipy.stats`` machinery).

Invariants
----------
* Data arrive as additive sufficient statistics per variation (:class:`SufficientStats`): the number of units ``n``
  (users, the randomisation unit) and per-unit sums ``sum_x``, ``sum_x2``; for ratio metrics also ``sum_y``,
  ``sum_y2``, ``sum_xy`` (numerator x and denominator y per unit); for CUPED the pre-period covariate ``c``:
  ``sum_c``, ``sum_c2``, ``sum_xc`` (and ``sum_yc`` for ratio metrics). What a SQL ``GROUP BY variation`` returns;
  two batches merge by addition (``a + b``, :func:`merge`). :func:`unit_totals` and :func:`sufficient_stats` build
  them from raw numpy arrays (``np.bincount``: 10 million events in a few hundred milliseconds).
* Every input is validated. Bad input raises :class:`StatsError` (a ``ValueError``) whose ``field`` names the
  offending field and ``variation`` the variation index when known: negative counts, ``n < 2`` in an analysis,
  ``sum_x2 < sum_x**2 / n`` (a negative variance, beyond a 1e-8 relative rounding tolerance), binomial
  ``sum_x2 != sum_x`` or ``sum_x > n``, a covariance matrix that is not positive semi-definite, NaN, infinities and
  booleans. Conditions that are legitimate data but make a number meaningless (zero variance, a zero control mean,
  too few units, a sample-ratio mismatch) never raise: the number is NaN and the result carries a
  :class:`StatsWarning` with a stable ``code``.
* Effects are treatment minus control. ``absolute`` is ``mean_t - mean_c`` in metric units; ``relative`` is
  ``(mean_t - mean_c) / |mean_c|`` (identical to the usual ``mean_t / mean_c - 1`` whenever the control mean is
  positive; dividing by the absolute value keeps the sign of the relative effect equal to that of the absolute one
  for metrics that can be negative, such as profit). Effects are never rounded here.
* Tests and intervals are two-sided at level ``alpha`` (intervals have coverage ``1 - alpha``). Variance and
  reference distribution per metric type (the conventions the tests pin against scipy and statsmodels to 1e-6):

  - ``binomial``: per-unit variance ``p (1 - p)`` (maximum likelihood, divisor n), unpooled, standard normal (z).
    Identical to ``statsmodels.stats.proportion.test_proportions_2indep(method="wald", compare="diff")`` and
    ``confint_proportions_2indep(method="wald")``. (``proportions_ztest`` pools the two proportions for the
    variance, a test-only convention that has no matching interval, so it is not used.)
  - ``mean``: per-unit sample variance (divisor n - 1), Welch's unequal-variance t with the Welch-Satterthwaite
    degrees of freedom ``df = (v_t/n_t + v_c/n_c)^2 / ((v_t/n_t)^2/(n_t-1) + (v_c/n_c)^2/(n_c-1))``. Identical to
    ``scipy.stats.ttest_ind(t, c, equal_var=False)`` and ``statsmodels`` ``CompareMeans.tconfint_diff(
    usevar="unequal")``. For large n the t is the z to many digits, so there is no switch to make.
  - ``ratio`` (``sum_x / sum_y`` per variation, e.g. revenue per order with users randomised): delta method,
    ``Var(x̄/ȳ) = (s_xx - 2 R s_xy + R^2 s_yy) / (n ȳ^2)`` with ``R = x̄/ȳ`` and sample (co)variances (divisor
    n - 1), standard normal (z).
  - **One test per comparison.** The test is the one of the absolute difference above; the relative effect is
    read from the same test, never tested again on its own scale (a delta-method test of ``relative = 0`` has a
    different statistic and can disagree with it near the threshold). Its ``p_value`` (and adjusted p-value) is
    the absolute one. Its interval is Fieller's (:func:`fieller_interval`) for ``(m_t - m_c)/|m_c|``: the ratios
    the same test (same critical value, same df; ``Cov(m_t - m_c, |m_c|) = -sign(m_c) Var(m_c)``) does not reject,
    so it excludes 0 exactly when the absolute interval does, and it accounts for the control mean's uncertainty.
    It is unbounded (NaN ends and a ``relative_unbounded`` warning) when the control mean is itself not
    significantly different from 0. Its ``std_error`` is the delta method's with independent arms,
    ``Var = Var(m_t)/m_c^2 + m_t^2 Var(m_c)/m_c^4`` (for reading only; the interval does not use it).
  - Every row therefore agrees with itself: absolute interval excludes 0 <=> relative interval (when bounded)
    excludes 0 <=> p (adjusted under a correction) < alpha. The tests check this on random data for every metric
    type, method, correction and CUPED setting.

* Sequential (``method="sequential"``): the asymptotic confidence sequence of Waudby-Smith et al. Half-width at
  ``N = n_t + n_c`` units, for an effect estimate with variance ``V`` (so the per-unit variance is ``s^2 = N V``)::

      half = sqrt( V * 2 (N rho^2 + 1) / (N rho^2) * log( sqrt(N rho^2 + 1) / alpha ) )

  which is the issue's ``sqrt( 2 (N r^2 s^2 + 1) / (N^2 r^2) * log( sqrt(N r^2 s^2 + 1) / alpha ) )`` with the
  unstandardised tuning ``r = rho / s`` (the paper states the sequence as ``mean ± s * margin(rho)``).
  ``rho`` (standardised, unit-free) is chosen to make the sequence tightest at ``planned_n`` total units: it
  minimises the half-width there, ``rho^2 = (-W_-1(-alpha^2 / e) - 1) / planned_n`` with ``W_-1`` the lower
  branch of Lambert's W (GrowthBook uses the first-order approximation ``(-2 log alpha + log(1 - 2 log alpha)) /
  planned_n``). The sequence is valid at every peek simultaneously: the chance that it *ever* excludes the true
  effect is at most ``alpha`` asymptotically, whereas re-running a fixed-horizon test at every peek is not (the
  tests simulate both). The always-valid p-value is the smallest alpha whose sequence (same rho) excludes 0,
  ``p = min(1, sqrt(N rho^2 + 1) exp(-est^2 N rho^2 / (2 V (N rho^2 + 1))))``; a running minimum of it over peeks is
  also valid, and callers keeping history may report that. The relative sequence is Fieller's with the sequence's
  boundary as the critical value, so both sequences exclude 0 exactly when ``p < alpha``. Adjusted sequences keep
  ``rho`` tuned for ``alpha`` and change only the level in the logarithm, which keeps that equivalence at the
  adjusted level.
* Bayesian (``method="bayesian"``): one posterior per comparison, on the absolute effect. The likelihood is its
  normal approximation (estimate and standard error, as above). The prior is stated on the **relative** effect
  (scale-free, so one prior fits every metric): mean ``prior.mean`` (default 0), variance ``prior.variance``
  (default 0.3^2), carried to the absolute effect by the plug-in ``|control mean|`` (mean x |m_c|, variance x
  m_c^2); ``prior.proper=False`` (default) is the flat prior, which makes the posterior the likelihood. Posterior
  by conjugacy: precision = 1/prior variance + 1/se^2, mean = (prior mean/prior var + estimate/se^2) / precision.
  Reported: posterior mean and sd (as ``estimate``/``std_error``), the central ``1 - alpha`` credible interval,
  ``chance_to_win = P(effect better than 0) = Phi(mean/sd)`` (``Phi(-mean/sd)`` when lower is better), and the
  expected losses ``E[max(0, -effect)]`` of shipping the treatment and ``E[max(0, effect)]`` of keeping the control
  (signs swapped when lower is better), in closed form for a normal:
  ``E[max(0, -d)] = sd * phi(mean/sd) - mean * Phi(-mean/sd)``. The relative effect is that posterior over
  ``|m_c|``: estimate ``mean/|m_c|``, the same chance to win (the ratio is positive exactly when the difference is),
  the credible interval by Fieller's construction with the z of ``1 - alpha/2`` (the quantiles of the ratio of the
  posterior difference and the control mean, whose covariance is ``-sign(m_c) w Var(m_c)`` with ``w`` the data's
  weight in the posterior mean; with a flat prior this is exactly the frequentist z interval's Fieller
  counterpart), and delta-method ``std_error`` and expected losses. So both credible intervals exclude 0 exactly
  when ``chance_to_win`` is outside ``[alpha/2, 1 - alpha/2]``; the app calls such a row better or worse.
* CUPED: ``theta = sum_k S_zc,k / sum_k S_cc,k``, the within-variation pooled regression slope of the metric on the
  pre-period covariate (``S`` are centred sums of cross-products inside each variation; ``z`` is ``x`` for mean and
  binomial metrics and the delta-method linearisation ``(x - R y)/ȳ`` for ratio metrics). Adjusted mean
  ``m_k - theta (c̄_k - c̄)`` with ``c̄`` the covariate mean over all units of all variations, adjusted per-unit
  variance ``(S_zz - 2 theta S_zc + theta^2 S_cc) / (n - ddof)``, theta treated as known (the standard CUPED
  approximation). Because theta is the within-group pooled slope, the adjusted difference equals *exactly* the
  treatment coefficient of the OLS regression of x on an intercept, treatment dummies and the covariate (the tests
  check this against statsmodels OLS to 1e-9). Variance drops by the factor ``1 - r^2`` (r the within-variation
  correlation of metric and covariate). The adjusted metric is no longer a proportion, but binomial metrics keep
  their divisor-n variance and z reference.
* SRM: Pearson's chi-square goodness of fit of the units per variation against the expected traffic weights,
  ``df = k - 1``; ``warning`` when ``p < 0.001``. Weights must be positive and sum to 1 (tolerance 1e-6; the small
  remainder is normalised away): a set of weights summing to, say, 0.5 usually means a variation is missing, which
  normalising would hide, so it is refused.
* Multiple comparisons: Holm (step-down, family-wise error) or Benjamini-Hochberg (step-up, false discovery rate)
  adjusted p-values, exactly as ``statsmodels.stats.multitest.multipletests(method="holm" / "fdr_bh")``. The family
  is every treatment-versus-control comparison passed in (across treatments in :func:`analyse`, across metrics and
  treatments in :func:`analyse_many`); each comparison has one p-value (shared by its absolute and relative
  effects), adjusted once. NaN p-values are left out of the family and stay NaN. Intervals are adjusted to agree
  with the adjusted p-values (:func:`interval_levels`): Holm, the level of the step at which the comparison was
  tested; BH, the Benjamini-Yekutieli false-coverage-rate level ``R alpha / m``. ``Comparison.interval_alpha``
  says which level each comparison's intervals were drawn at, ``MetricResult.family_size`` over how many.
* Power: two-sided test at ``alpha`` with power ``1 - beta``, normal approximation, **unpooled** variances (the
  variance under the alternative for each arm), ignoring the negligible chance of rejecting in the wrong direction::

      n per variation = (z_{1-alpha/2} + z_{1-beta})^2 (s_c^2 + s_t^2) / delta^2

  binomial: ``s_c^2 = p (1 - p)``, ``s_t^2 = (p + delta)(1 - p - delta)``; mean: ``s_c^2 = s_t^2 = variance``. The
  minimum detectable effect inverts it (a quadratic for binomial metrics; the MDE is the smallest *increase*).
  Durations assume traffic is split by the given weights (equal by default) and round up to whole days.

Sources
-------
* B. L. Welch, "The generalization of 'Student's' problem when several different population variances are
  involved", Biometrika 34 (1947); F. E. Satterthwaite, "An approximate distribution of estimates of variance
  components", Biometrics Bulletin 2 (1946).
* A. Deng, U. Knoblich, J. Lu, "Applying the Delta Method in Metric Analytics: A Practical Guide with Novel Ideas",
  KDD 2018 (ratio metrics and percent change).
* I. Waudby-Smith, D. Arbour, R. Sinha, E. H. Kennedy, A. Ramdas, "Time-uniform central limit theory and asymptotic
  confidence sequences", arXiv:2103.06476 (2021, revised 2023): the two-sided Gaussian-mixture asymptotic
  confidence sequence and the Lambert-W choice of its tuning parameter rho (GrowthBook's code cites eq. 161 of v7).
  The normal-mixture boundary goes back to H. Robbins, "Statistical methods related to the law of the iterated
  logarithm", Ann. Math. Statist. 41 (1970). Used this way by GrowthBook ("Sequential testing") and Eppo.
* Bayesian read-out: GrowthBook's Bayesian engine (normal approximation, normal prior on the relative effect with
  standard deviation 0.3, "proper prior" off by default); expected loss as in C. Stucchio, "Bayesian A/B Testing at
  VWO" (2015).
* CUPED: A. Deng, Y. Xu, R. Kohavi, T. Walker, "Improving the Sensitivity of Online Controlled Experiments by
  Utilizing Pre-Experiment Data", WSDM 2013; W. Lin, "Agnostic notes on regression adjustments to experimental
  data", Ann. Appl. Stat. 7 (2013) (the pooled slope is the OLS ANCOVA estimator).
* SRM: A. Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments", KDD 2019; R. Kohavi,
  D. Tang, Y. Xu, *Trustworthy Online Controlled Experiments* (2020), ch. 21 (threshold p < 0.001).
* S. Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6 (1979); Y. Benjamini,
  Y. Hochberg, "Controlling the false discovery rate", J. R. Statist. Soc. B 57 (1995); Y. Benjamini, D. Yekutieli,
  "False discovery rate-adjusted multiple confidence intervals for selected parameters", J. Amer. Statist. Assoc.
  100 (2005) (the FCR intervals at level ``1 - R alpha / m``); K. Strassburger, F. Bretz, "Compatible simultaneous
  lower confidence bounds for the Holm procedure and other Bonferroni-based closed tests", Statist. Med. 27 (2008).
* E. C. Fieller, "Some problems in interval estimation", J. R. Statist. Soc. B 16 (1954) (the interval of a ratio
  that inverts the test of the difference).
* Power: S.-C. Chow, J. Shao, H. Wang, *Sample Size Calculations in Clinical Research* (2nd ed., 2008), ch. 3
  (means) and ch. 4 (proportions, two-sample, unpooled); Kohavi, Tang, Xu (2020), ch. 17 (n ≈ 16 s^2 / delta^2
  per variation at alpha 0.05, power 0.8). statsmodels' ``NormalIndPower`` with ``proportion_effectsize`` (Cohen's
  arcsine h) is a variance-stabilised alternative that agrees within about 1 %.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = [
    "DEFAULT_PLANNED_N",
    "DEFAULT_PRIOR_VARIANCE",
    "MIN_BINOMIAL_COUNT",
    "MIN_UNITS",
    "SRM_THRESHOLD",
    "Comparison",
    "Correction",
    "Effect",
    "Method",
    "MetricResult",
    "MetricType",
    "MinimumDetectableEffect",
    "Prior",
    "SampleSize",
    "SrmResult",
    "StatsError",
    "StatsWarning",
    "SufficientStats",
    "VariationSummary",
    "WarningCode",
    "adjust_p_values",
    "always_valid_p_value",
    "analyse",
    "analyse_many",
    "chance_to_win",
    "confidence_sequence",
    "expected_duration",
    "expected_loss",
    "fieller_interval",
    "interval_levels",
    "merge",
    "minimum_detectable_effect",
    "normal_posterior",
    "optimal_rho2",
    "power",
    "sample_size",
    "srm_check",
    "sufficient_stats",
    "unit_totals",
]

FloatArray = npt.NDArray[np.float64]

SRM_THRESHOLD = 0.001
"""SRM warning threshold on the chi-square p-value (Fabijan et al. 2019; Kohavi et al. 2020)."""
MIN_UNITS = 30
"""Below this many units in a variation the normal approximations are rough: a ``too_few_units`` warning."""
MIN_BINOMIAL_COUNT = 5
"""Binomial: fewer than this many conversions or non-conversions in a variation gives a ``sparse_binomial`` warning."""
DEFAULT_PLANNED_N = 5_000
"""Total units (control + treatment) at which the confidence sequence is tightest unless told (GrowthBook's default)."""
DEFAULT_PRIOR_VARIANCE = 0.09
"""Variance of the normal prior on the relative effect: a standard deviation of 30 % (GrowthBook's default)."""
_REL_TOL = 1e-8  # rounding tolerance for sums of squares computed by a database or by bincount


# --------------------------------------------------------------------------------------------------------------------
# Errors, enums and small helpers
# --------------------------------------------------------------------------------------------------------------------


class StatsError(ValueError):
    """Bad input to the statistics engine. ``field`` names the field, ``variation`` the variation index if known."""

    def __init__(self, message: str, *, field: str | None = None, variation: int | None = None) -> None:
        self.message = message
        self.field = field
        self.variation = variation
        super().__init__(message if variation is None else f"{message} (variation {variation})")


class MetricType(StrEnum):
    BINOMIAL = "binomial"
    MEAN = "mean"
    RATIO = "ratio"


class Method(StrEnum):
    FREQUENTIST = "frequentist"
    SEQUENTIAL = "sequential"
    BAYESIAN = "bayesian"


class Correction(StrEnum):
    HOLM = "holm"
    BH = "bh"


class WarningCode(StrEnum):
    TOO_FEW_UNITS = "too_few_units"
    SPARSE_BINOMIAL = "sparse_binomial"
    ZERO_VARIANCE = "zero_variance"
    ZERO_CONTROL_MEAN = "zero_control_mean"
    SRM = "srm"
    CUPED_NO_COVARIATE_VARIANCE = "cuped_no_covariate_variance"
    RELATIVE_UNBOUNDED = "relative_unbounded"


@dataclass(frozen=True, slots=True)
class StatsWarning:
    """Something the reader of a result must know. ``code`` is stable (for the app); ``message`` is for people."""

    code: WarningCode
    message: str
    variation: int | None = None


def _enum[E: StrEnum](kind: type[E], value: object, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise StatsError(f"{field} must be one of {allowed}; got {value!r}", field=field) from None


def _number(value: object, field: str, variation: int | None = None) -> float:
    kind = type(value)
    if kind is float or kind is int:
        number = float(value)  # type: ignore[arg-type]
        if math.isfinite(number):
            return number
    # bool is an int subclass; True as "1 unit" is always a bug upstream, so refuse it.
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | Decimal | Fraction | np.integer | np.floating
    ):
        raise StatsError(f"{field} must be a number", field=field, variation=variation)
    number = float(value)
    if not math.isfinite(number):
        raise StatsError(f"{field} must be a finite number", field=field, variation=variation)
    return number


def _count(value: object, field: str, variation: int | None = None) -> int:
    number = _number(value, field, variation)
    if number < 0:
        raise StatsError(f"{field} must be >= 0", field=field, variation=variation)
    if number != math.floor(number):
        raise StatsError(f"{field} must be a whole number", field=field, variation=variation)
    return int(value) if isinstance(value, int | np.integer) else int(number)  # type: ignore[arg-type]


def _probability(value: object, field: str) -> float:
    number = _number(value, field)
    if not 0.0 < number < 1.0:
        raise StatsError(f"{field} must be strictly between 0 and 1", field=field)
    return number


def _positive(value: object, field: str) -> float:
    number = _number(value, field)
    if number <= 0:
        raise StatsError(f"{field} must be > 0", field=field)
    return number


def _centred(n: float, sum_a: float, sum_b: float, sum_ab: float) -> float:
    """The centred sum of cross-products ``sum (a - ā)(b - b̄)`` from raw sums (0 when there are no units)."""
    return sum_ab - sum_a * sum_b / n if n > 0 else 0.0


# --------------------------------------------------------------------------------------------------------------------
# Sufficient statistics
# --------------------------------------------------------------------------------------------------------------------

_RATIO_FIELDS = ("sum_y", "sum_y2", "sum_xy")
_CUPED_FIELDS = ("sum_c", "sum_c2", "sum_xc")
_SUM_FIELDS = ("sum_x", "sum_x2", *_RATIO_FIELDS, *_CUPED_FIELDS, "sum_yc")


@dataclass(frozen=True, slots=True)
class SufficientStats:
    """Additive per-variation sums over units. Optional groups are all given or all ``None``.

    * mean metrics: ``sum_x`` and ``sum_x2`` of the per-unit value;
    * binomial metrics: ``sum_x = sum_x2 = conversions`` (x is 0/1 per unit);
    * ratio metrics: also ``sum_y``, ``sum_y2``, ``sum_xy`` (per-unit denominator y);
    * CUPED: ``sum_c``, ``sum_c2``, ``sum_xc`` of the pre-period covariate c, and ``sum_yc`` for ratio metrics.

    Construction checks what can be checked without the metric type: counts are whole and non-negative, sums finite,
    sums of squares consistent (no negative variance, no correlation beyond ±1, within a 1e-8 rounding tolerance).
    ``n = 0`` is a valid empty batch (the identity of ``+``); analyses need ``n >= 2``.
    """

    n: int
    sum_x: float
    sum_x2: float
    sum_y: float | None = None
    sum_y2: float | None = None
    sum_xy: float | None = None
    sum_c: float | None = None
    sum_c2: float | None = None
    sum_xc: float | None = None
    sum_yc: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _count(self.n, "n"))
        for name in _SUM_FIELDS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _number(value, name))
        for group in (_RATIO_FIELDS, _CUPED_FIELDS):
            given = [getattr(self, name) is not None for name in group]
            if any(given) and not all(given):
                missing = group[given.index(False)]
                raise StatsError(f"{missing} is required with {', '.join(group)}", field=missing)
        if self.sum_yc is not None and (self.sum_y is None or self.sum_c is None):
            raise StatsError("sum_yc needs both the ratio sums and the covariate sums", field="sum_yc")
        n = self.n
        if n == 0:
            for name in _SUM_FIELDS:
                value = getattr(self, name)
                if value is not None and value != 0:
                    raise StatsError(f"{name} must be 0 when n is 0", field=name)
            return
        sxx = self._variance_check("sum_x", "sum_x2")
        syy = self._variance_check("sum_y", "sum_y2") if self.sum_y is not None else None
        scc = self._variance_check("sum_c", "sum_c2") if self.sum_c is not None else None
        if syy is not None:
            self._correlation_check("sum_xy", sxx, syy, _centred(n, self.sum_x, self.sum_y, self.sum_xy))  # type: ignore[arg-type]
        if scc is not None:
            self._correlation_check("sum_xc", sxx, scc, _centred(n, self.sum_x, self.sum_c, self.sum_xc))  # type: ignore[arg-type]
        if syy is not None and scc is not None and self.sum_yc is not None:
            self._correlation_check("sum_yc", syy, scc, _centred(n, self.sum_y, self.sum_c, self.sum_yc))  # type: ignore[arg-type]

    def _variance_check(self, sum_name: str, square_name: str) -> float:
        total: float = getattr(self, sum_name)
        squares: float = getattr(self, square_name)
        if squares < 0:
            raise StatsError(f"{square_name} must be >= 0", field=square_name)
        centred = squares - total * total / self.n
        if centred < -_REL_TOL * squares:
            raise StatsError(
                f"{square_name} is inconsistent with {sum_name}: it must be at least {sum_name}**2 / n",
                field=square_name,
            )
        return max(centred, 0.0)

    def _correlation_check(self, name: str, saa: float, sbb: float, sab: float) -> None:
        if sab * sab > saa * sbb * (1 + 1e-6) + _REL_TOL:
            raise StatsError(f"{name} is inconsistent with the other sums (a correlation beyond ±1)", field=name)

    def __add__(self, other: object) -> SufficientStats:
        if not isinstance(other, SufficientStats):
            return NotImplemented
        values: dict[str, Any] = {"n": self.n + other.n}
        for name in _SUM_FIELDS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if (mine is None) != (theirs is None):
                raise StatsError(f"cannot merge statistics with and without {name}", field=name)
            values[name] = None if mine is None else mine + theirs
        return SufficientStats(**values)


def merge(batches: Sequence[SufficientStats]) -> SufficientStats:
    """Add batches of the same variation (days, shards). At least one batch; all must carry the same fields."""
    if not batches:
        raise StatsError("merge needs at least one batch", field="batches")
    total = batches[0]
    for batch in batches[1:]:
        total = total + batch
    return total


def _as_array(values: npt.ArrayLike, field: str, size: int | None = None) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise StatsError(f"{field} must contain only numbers", field=field) from None
    if array.ndim != 1:
        raise StatsError(f"{field} must be a one-dimensional array", field=field)
    if size is not None and array.shape[0] != size:
        raise StatsError(f"{field} must have one entry per unit ({size})", field=field)
    if not np.isfinite(array).all():
        raise StatsError(f"{field} must contain only finite numbers", field=field)
    return array


def _as_index(values: npt.ArrayLike, field: str) -> npt.NDArray[np.intp]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise StatsError(f"{field} must be a one-dimensional array", field=field)
    if array.dtype.kind not in "iu":
        if array.size == 0:
            return np.zeros(0, dtype=np.intp)
        raise StatsError(f"{field} must contain integer indexes", field=field)
    if array.size and array.min() < 0:
        raise StatsError(f"{field} must be >= 0", field=field)
    return array.astype(np.intp, copy=False)


def unit_totals(unit: npt.ArrayLike, values: npt.ArrayLike | None = None, *, n_units: int | None = None) -> FloatArray:
    """Per-unit totals of an event stream: ``out[u] = sum of values of events with unit index u``.

    ``unit`` holds integer unit codes ``0 .. n_units - 1`` (map user ids to codes once with
    ``np.unique(ids, return_inverse=True)``); ``values=None`` counts events. Units without events get 0, which is
    right: exposure, not activity, defines the units of an experiment. A conversion (binomial) metric is
    ``(unit_totals(...) > 0).astype(float)``. One ``np.bincount``: 10 million events take a few tens of ms.
    """
    index = _as_index(unit, "unit")
    size = index.shape[0]
    weights = None if values is None else _as_array(values, "values", size)
    if n_units is None:
        n_units = int(index.max()) + 1 if size else 0
    else:
        n_units = _count(n_units, "n_units")
        if size and int(index.max()) >= n_units:
            raise StatsError(f"unit indexes must be < n_units ({n_units})", field="unit")
    return np.bincount(index, weights=weights, minlength=n_units).astype(np.float64, copy=False)


def sufficient_stats(
    variation: npt.ArrayLike,
    x: npt.ArrayLike,
    *,
    y: npt.ArrayLike | None = None,
    c: npt.ArrayLike | None = None,
    n_variations: int | None = None,
) -> list[SufficientStats]:
    """Sufficient statistics per variation from per-unit arrays (one entry per unit).

    ``variation[i]`` is unit i's variation index; ``x`` its metric value (0/1 for binomial metrics), ``y`` its
    denominator (ratio metrics), ``c`` its pre-period covariate (CUPED). Returns one :class:`SufficientStats` per
    variation ``0 .. n_variations - 1`` (default: the largest index + 1); variations without units get ``n = 0``.
    Sums use ``np.bincount`` (sequential float64 accumulation: relative error about 1e-16 x sqrt(n) typically).
    """
    index = _as_index(variation, "variation")
    size = index.shape[0]
    xs = _as_array(x, "x", size)
    ys = None if y is None else _as_array(y, "y", size)
    cs = None if c is None else _as_array(c, "c", size)
    if n_variations is None:
        if not size:
            raise StatsError("no units and no n_variations", field="variation")
        n_variations = int(index.max()) + 1
    else:
        n_variations = _count(n_variations, "n_variations")
        if size and int(index.max()) >= n_variations:
            raise StatsError(f"variation indexes must be < n_variations ({n_variations})", field="variation")

    def total(weights: FloatArray | None) -> list[float]:
        return np.bincount(index, weights=weights, minlength=n_variations).astype(np.float64).tolist()

    columns: dict[str, list[Any]] = {"n": [int(v) for v in np.bincount(index, minlength=n_variations)]}
    columns["sum_x"], columns["sum_x2"] = total(xs), total(xs * xs)
    if ys is not None:
        columns["sum_y"], columns["sum_y2"], columns["sum_xy"] = total(ys), total(ys * ys), total(xs * ys)
    if cs is not None:
        columns["sum_c"], columns["sum_c2"], columns["sum_xc"] = total(cs), total(cs * cs), total(xs * cs)
        if ys is not None:
            columns["sum_yc"] = total(ys * cs)
    return [SufficientStats(**{name: column[k] for name, column in columns.items()}) for k in range(n_variations)]


# --------------------------------------------------------------------------------------------------------------------
# Vectorised building blocks (public: the app can plot them, the tests simulate with them)
# --------------------------------------------------------------------------------------------------------------------


def optimal_rho2(planned_n: float, alpha: float = 0.05) -> float:
    """The standardised tuning ``rho^2`` minimising the confidence-sequence half-width at ``planned_n`` units.

    Minimising ``(u / (u - 1)) (log(u)/2 - log(alpha))`` over ``u = N rho^2 + 1`` gives ``u - log u = 1 - 2 log
    alpha``, i.e. ``u = -W_-1(-alpha^2 / e)``.
    """
    planned = _positive(planned_n, "planned_n")
    a = _probability(alpha, "alpha")
    u = -special.lambertw(-(a * a) / math.e, k=-1).real
    return float((u - 1.0) / planned)


def _sequence_crit2(n: npt.ArrayLike, rho2: float, level: npt.ArrayLike) -> FloatArray:
    """The squared standardised half-width of the confidence sequence at ``n`` units and error rate ``level``:
    ``2 (N rho^2 + 1) / (N rho^2) * log( sqrt(N rho^2 + 1) / level )``. ``rho2`` stays the one tuned for the
    experiment's alpha, so the always-valid p-value (same ``rho2``) is below ``level`` exactly when the sequence at
    ``level`` excludes 0; that is what lets an adjusted level reuse it."""
    nr2 = np.asarray(n, dtype=np.float64) * rho2
    return 2.0 * (nr2 + 1.0) / nr2 * (0.5 * np.log1p(nr2) - np.log(np.asarray(level, dtype=np.float64)))


def confidence_sequence(
    estimate: npt.ArrayLike,
    variance: npt.ArrayLike,
    n: npt.ArrayLike,
    *,
    alpha: float = 0.05,
    planned_n: float = DEFAULT_PLANNED_N,
    level: npt.ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Always-valid ``1 - alpha`` interval ``(low, high)`` at ``n`` total units (vectorised over all arguments).

    ``variance`` is the variance of ``estimate`` (e.g. ``V_t/n_t + V_c/n_c`` for a difference in means), so the
    per-unit variance is ``n * variance``. Waudby-Smith et al. (2021), Gaussian-mixture AsympCS, ``rho`` from
    :func:`optimal_rho2`. ``level`` (default ``alpha``) draws the sequence at another error rate with ``rho`` still
    tuned for ``alpha``: the multiple-comparison adjusted sequences (see :func:`interval_levels`).
    """
    rho2 = optimal_rho2(planned_n, alpha)
    est = np.asarray(estimate, dtype=np.float64)
    half = np.sqrt(np.asarray(variance, dtype=np.float64) * _sequence_crit2(n, rho2, alpha if level is None else level))
    return est - half, est + half


def always_valid_p_value(
    estimate: npt.ArrayLike,
    variance: npt.ArrayLike,
    n: npt.ArrayLike,
    *,
    alpha: float = 0.05,
    planned_n: float = DEFAULT_PLANNED_N,
) -> FloatArray:
    """The smallest level whose confidence sequence (with ``rho`` tuned for ``alpha``) excludes 0 at this peek."""
    rho2 = optimal_rho2(planned_n, alpha)
    est = np.asarray(estimate, dtype=np.float64)
    nr2 = np.asarray(n, dtype=np.float64) * rho2
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = 0.5 * np.log1p(nr2) - est * est * nr2 / (2.0 * np.asarray(variance, dtype=np.float64) * (nr2 + 1.0))
    return np.minimum(1.0, np.exp(log_p))


def normal_posterior(
    estimate: npt.ArrayLike,
    variance: npt.ArrayLike,
    *,
    prior_mean: npt.ArrayLike = 0.0,
    prior_variance: npt.ArrayLike = math.inf,
) -> tuple[FloatArray, FloatArray]:
    """Posterior ``(mean, variance)`` of a normal likelihood ``N(estimate, variance)`` under a ``N(prior_mean,
    prior_variance)`` prior; an infinite prior variance is the flat prior (the posterior is the likelihood)."""
    est = np.asarray(estimate, dtype=np.float64)
    var = np.asarray(variance, dtype=np.float64)
    prior_var = np.asarray(prior_variance, dtype=np.float64)
    prior_precision = np.where(np.isinf(prior_var), 0.0, 1.0 / np.where(np.isinf(prior_var), 1.0, prior_var))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = prior_precision + 1.0 / var
        mean = (prior_precision * np.asarray(prior_mean, dtype=np.float64) + est / var) / precision
    flat = prior_precision == 0.0
    return np.where(flat, est, mean), np.where(flat, var, 1.0 / precision)


def chance_to_win(mean: npt.ArrayLike, sd: npt.ArrayLike) -> FloatArray:
    """``P(effect > 0)`` for a normal ``N(mean, sd^2)``: ``Phi(mean / sd)``. NaN when ``sd`` is not positive."""
    m, s = np.asarray(mean, dtype=np.float64), np.asarray(sd, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, special.ndtr(m / s), np.nan)


def expected_loss(mean: npt.ArrayLike, sd: npt.ArrayLike) -> FloatArray:
    """``E[max(0, -effect)]`` for a normal ``N(mean, sd^2)``: what shipping loses on average if the effect is bad.

    ``sd phi(k) - mean Phi(-k)`` with ``k = mean / sd``; for ``k > 0`` written as ``sd phi(k) (1 - k M(k))`` with the
    Mills ratio ``M(k) = Phi(-k)/phi(k) = sqrt(pi/2) erfcx(k/sqrt 2)``, which avoids cancelling two tiny terms.
    The loss of the other decision, ``E[max(0, effect)]``, is ``expected_loss(-mean, sd)``.
    """
    m, s = np.asarray(mean, dtype=np.float64), np.asarray(sd, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        k = m / s
        pdf = np.exp(-0.5 * k * k) / math.sqrt(2.0 * math.pi)
        right = s * pdf * (1.0 - k * math.sqrt(math.pi / 2.0) * special.erfcx(k / math.sqrt(2.0)))
        left = s * pdf - m * special.ndtr(-k)
        loss = np.where(k > 0, np.maximum(right, 0.0), left)
    return np.where(s > 0, loss, np.nan)


def adjust_p_values(p_values: npt.ArrayLike, method: Correction | str) -> FloatArray:
    """Holm or Benjamini-Hochberg adjusted p-values (same order as given). NaNs are not part of the family."""
    how = _enum(Correction, method, "correction")
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise StatsError("p_values must be a one-dimensional array", field="p_values")
    present = ~np.isnan(p)
    if ((p[present] < 0) | (p[present] > 1)).any():
        raise StatsError("p_values must lie in [0, 1]", field="p_values")
    out = np.full_like(p, np.nan)
    values = p[present]
    m = values.shape[0]
    if m == 0:
        return out
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    if how is Correction.HOLM:
        adjusted = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        adjusted = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    out[present] = result
    return out


def interval_levels(p_values: npt.ArrayLike, method: Correction | str | None, alpha: float = 0.05) -> FloatArray:
    """The error rate at which each comparison's interval is drawn so that it agrees with the adjusted p-value.

    An interval at error rate ``level`` excludes the null exactly when the raw p-value is below ``level`` (it is the
    same test inverted), so choosing the level per comparison is choosing which raw p-values count:

    * no correction: ``alpha`` for every comparison;
    * Holm: the level at which the step-down procedure tested the comparison. Sort the ``m`` p-values; the comparison
      of rank ``i`` (1-based) is tested at ``alpha / (m - i + 1)`` if every smaller p-value was rejected before it,
      and the procedure stops at the first rank ``s`` that is not rejected, so every later comparison gets the level
      of step ``s``, ``alpha / (m - s + 1)`` (its p-value is at least ``p_(s)``, so its interval covers 0). Hence
      the interval excludes 0 iff the Holm-adjusted p-value is below ``alpha`` (Holm 1979). These per-step intervals
      are not simultaneous ``1 - alpha`` intervals; the compatible simultaneous bounds of Strassburger and Bretz
      (2008) exist but say only "above 0" for the rejected comparisons, which is why the page does not use them;
    * Benjamini-Hochberg: the false-coverage-rate adjusted intervals of Benjamini and Yekutieli (2005) at level
      ``1 - R alpha / m`` with ``R`` the number of BH rejections (adjusted p below ``alpha``); a BH rejection has
      ``p <= R alpha / m`` and a non-rejection ``p > (R + 1) alpha / m``, so they agree with BH. With ``R = 0`` the
      level would be 1 (infinite intervals); ``R = 1`` (``alpha / m``, Bonferroni) is used, which still covers 0
      for every comparison because none has ``p <= alpha / m``.

    NaN p-values are not part of the family (as in :func:`adjust_p_values`) and get ``alpha``.
    """
    a = _probability(alpha, "alpha")
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise StatsError("p_values must be a one-dimensional array", field="p_values")
    levels = np.full(p.shape, a)
    if method is None:
        return levels
    how = _enum(Correction, method, "correction")
    present = np.flatnonzero(~np.isnan(p))
    m = present.shape[0]
    if m == 0:
        return levels
    adjusted = adjust_p_values(p[present], how)
    rejected = adjusted < a
    if how is Correction.HOLM:
        order = np.argsort(p[present], kind="stable")  # the order adjust_p_values steps through
        steps = np.empty(m, dtype=np.float64)
        steps[order] = np.arange(1, m + 1)
        accepted = steps[~rejected]
        stop = accepted.min() if accepted.size else m + 1.0
        levels[present] = a / (m - np.minimum(steps, stop) + 1.0)
    else:
        # a * (R / m), not a * R / m: with R = m the latter can round to a hair above alpha (0.05000000000000001).
        levels[present] = a * (max(int(rejected.sum()), 1) / m)
    return levels


def fieller_interval(
    numerator: npt.ArrayLike,
    numerator_variance: npt.ArrayLike,
    denominator: npt.ArrayLike,
    denominator_variance: npt.ArrayLike,
    covariance: npt.ArrayLike,
    crit: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Fieller's interval for the ratio ``numerator / denominator`` of two (approximately) normal estimates.

    The set of ratios ``q`` that the test of ``numerator - q * denominator = 0`` does not reject at critical value
    ``crit``: ``(N - q D)^2 <= crit^2 (V_N - 2 q C + q^2 V_D)``. At ``q = 0`` the condition is ``N^2 <= crit^2
    V_N``, the test of the numerator alone, so the interval excludes 0 exactly when that test rejects: the relative
    effect (absolute difference over the control mean) inherits the absolute effect's verdict. Bounded only when the
    denominator is itself significantly non-zero (``D^2 > crit^2 V_D``); otherwise the set is unbounded and both ends
    are NaN. E. C. Fieller, "Some problems in interval estimation", J. R. Statist. Soc. B 16 (1954); for percent
    change in A/B tests see Deng, Knoblich, Lu (KDD 2018).
    """
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    c2 = np.asarray(crit, dtype=np.float64) ** 2
    a = den * den - c2 * np.asarray(denominator_variance, dtype=np.float64)
    b = num * den - c2 * np.asarray(covariance, dtype=np.float64)
    d = num * num - c2 * np.asarray(numerator_variance, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        # b^2 - a d >= 0 whenever a > 0 and the covariance matrix is positive semi-definite (q = N/D is inside).
        root = np.sqrt(np.maximum(b * b - a * d, 0.0))
        # The roots are (b -+ root) / a with product d / a; take the one without cancellation and divide for the other.
        far = np.where(b >= 0, b + root, b - root)
        first = far / a
        second = np.where(far != 0, d / far, first)
    low, high = np.minimum(first, second), np.maximum(first, second)
    bounded = (a > 0) & np.isfinite(num) & np.isfinite(den)
    return np.where(bounded, low, np.nan), np.where(bounded, high, np.nan)


@dataclass(frozen=True, slots=True)
class SrmResult:
    """Pearson chi-square goodness of fit of units per variation against the expected weights."""

    statistic: float
    p_value: float
    df: int
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    warning: bool


def srm_check(
    observed: Sequence[int] | npt.ArrayLike, weights: Sequence[float] | npt.ArrayLike | None = None
) -> SrmResult:
    """Sample-ratio-mismatch check. ``weights`` default to an equal split; they must be positive and sum to 1."""
    counts = [_count(v, "observed", k) for k, v in enumerate(np.asarray(observed, dtype=object).ravel().tolist())]
    k = len(counts)
    if k < 2:
        raise StatsError("an SRM check needs at least two variations", field="observed")
    total = sum(counts)
    if total == 0:
        raise StatsError("an SRM check needs at least one unit", field="observed")
    if weights is None:
        w = np.full(k, 1.0 / k)
    else:
        raw = [_number(v, "weights", i) for i, v in enumerate(np.asarray(weights, dtype=object).ravel().tolist())]
        if len(raw) != k:
            raise StatsError(f"weights must have one entry per variation ({k})", field="weights")
        w = np.asarray(raw)
        if (w <= 0).any():
            raise StatsError("weights must be > 0", field="weights", variation=int(np.flatnonzero(w <= 0)[0]))
        if abs(w.sum() - 1.0) > 1e-6:
            raise StatsError(f"weights must sum to 1 (they sum to {w.sum():.6g})", field="weights")
        w = w / w.sum()
    obs = np.asarray(counts, dtype=np.float64)
    expected = w * total
    statistic = float(((obs - expected) ** 2 / expected).sum())
    p_value = float(special.chdtrc(k - 1, statistic))
    return SrmResult(statistic, p_value, k - 1, tuple(counts), tuple(expected.tolist()), p_value < SRM_THRESHOLD)


# --------------------------------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prior:
    """Normal prior on the relative effect. ``proper=False`` (default) ignores mean and variance: flat prior."""

    proper: bool = False
    mean: float = 0.0
    variance: float = DEFAULT_PRIOR_VARIANCE

    def __post_init__(self) -> None:
        if not isinstance(self.proper, bool):
            raise StatsError("proper must be True or False", field="prior.proper")
        object.__setattr__(self, "mean", _number(self.mean, "prior.mean"))
        object.__setattr__(self, "variance", _positive(self.variance, "prior.variance"))


@dataclass(frozen=True, slots=True)
class VariationSummary:
    """One variation: its units and metric estimate (CUPED-adjusted when CUPED is on, else equal to ``raw_mean``).

    ``variance`` is the per-unit variance used for inference (adjusted with CUPED); ``std_error`` that of ``mean``.
    """

    index: int
    n: int
    mean: float
    raw_mean: float
    variance: float
    std_error: float


@dataclass(frozen=True, slots=True)
class Effect:
    """An effect of treatment versus control, on one scale (absolute or relative).

    Frequentist and sequential: the estimate, its standard error, the (always-valid, for sequential) interval and
    two-sided p-value; ``adjusted_p_value`` after a multiple-comparison correction (else ``None``). Bayesian: the
    posterior mean and sd, the credible interval, ``chance_to_win`` and the expected losses of shipping the treatment
    (``expected_loss``) and of keeping the control (``expected_loss_control``), in the units of the scale (metric
    units for absolute, a fraction for relative). Fields that do not apply to the method are ``None``; numbers that
    are undefined for the data (zero variance, zero control mean) are NaN and the result carries a warning.
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float | None = None
    adjusted_p_value: float | None = None
    chance_to_win: float | None = None
    expected_loss: float | None = None
    expected_loss_control: float | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    """One treatment against the control. ``df`` is the Welch df for mean metrics, ``inf`` where the z is used.

    ``interval_alpha`` is the error rate both intervals are drawn at: ``alpha``, or under a multiple-comparison
    correction the level that agrees with the adjusted p-value (:func:`interval_levels`).
    """

    variation: int
    absolute: Effect
    relative: Effect
    df: float
    interval_alpha: float


@dataclass(frozen=True, slots=True)
class MetricResult:
    metric_type: MetricType
    method: Method
    alpha: float
    control_index: int
    variations: tuple[VariationSummary, ...]
    comparisons: tuple[Comparison, ...]
    srm: SrmResult
    cuped_theta: float | None
    correction: Correction | None
    warnings: tuple[StatsWarning, ...]
    family_size: int | None = None  # comparisons in the correction family (across metrics with analyse_many)

    def comparison(self, variation: int) -> Comparison:
        for item in self.comparisons:
            if item.variation == variation:
                return item
        raise KeyError(variation)


@dataclass(frozen=True, slots=True)
class _Columns:
    n: FloatArray
    sum_x: FloatArray
    sxx: FloatArray
    sum_y: FloatArray | None
    syy: FloatArray | None
    sxy: FloatArray | None
    sum_c: FloatArray | None
    scc: FloatArray | None
    sxc: FloatArray | None
    syc: FloatArray | None


def _columns(metric: MetricType, variations: Sequence[SufficientStats], cuped: bool) -> _Columns:
    for k, stats in enumerate(variations):
        if not isinstance(stats, SufficientStats):
            raise StatsError("each variation must be SufficientStats", field="variations", variation=k)
        if stats.n < 2:
            raise StatsError("n must be at least 2 to estimate a variance", field="n", variation=k)
        if metric is MetricType.BINOMIAL:
            if stats.sum_x < 0 or stats.sum_x > stats.n * (1 + _REL_TOL):
                raise StatsError("sum_x (conversions) must lie between 0 and n", field="sum_x", variation=k)
            if abs(stats.sum_x2 - stats.sum_x) > _REL_TOL * max(1.0, stats.sum_x):
                raise StatsError("binomial metrics need sum_x2 == sum_x (x is 0/1)", field="sum_x2", variation=k)
        if metric is MetricType.RATIO:
            if stats.sum_y is None:
                raise StatsError("ratio metrics need sum_y, sum_y2 and sum_xy", field="sum_y", variation=k)
            if stats.sum_y == 0:
                raise StatsError("sum_y (the denominator) must not be 0", field="sum_y", variation=k)
        if cuped:
            if stats.sum_c is None:
                raise StatsError("CUPED needs sum_c, sum_c2 and sum_xc", field="sum_c", variation=k)
            if metric is MetricType.RATIO and stats.sum_yc is None:
                raise StatsError("CUPED on a ratio metric needs sum_yc", field="sum_yc", variation=k)
    n = np.array([s.n for s in variations], dtype=np.float64)
    sum_x = np.array([s.sum_x for s in variations])
    sxx = np.maximum(np.array([s.sum_x2 for s in variations]) - sum_x * sum_x / n, 0.0)
    sum_y = syy = sxy = sum_c = scc = sxc = syc = None
    if metric is MetricType.RATIO:
        sum_y = np.array([s.sum_y for s in variations], dtype=np.float64)
        syy = np.maximum(np.array([s.sum_y2 for s in variations], dtype=np.float64) - sum_y * sum_y / n, 0.0)
        sxy = np.array([s.sum_xy for s in variations], dtype=np.float64) - sum_x * sum_y / n
    if cuped:
        sum_c = np.array([s.sum_c for s in variations], dtype=np.float64)
        scc = np.maximum(np.array([s.sum_c2 for s in variations], dtype=np.float64) - sum_c * sum_c / n, 0.0)
        sxc = np.array([s.sum_xc for s in variations], dtype=np.float64) - sum_x * sum_c / n
        if sum_y is not None:
            syc = np.array([s.sum_yc for s in variations], dtype=np.float64) - sum_y * sum_c / n
    return _Columns(n, sum_x, sxx, sum_y, syy, sxy, sum_c, scc, sxc, syc)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One metric analysed up to the multiple-comparison step: everything :func:`_finish` needs to draw intervals at
    any level. Arrays run over the treatments (``treated``)."""

    metric: MetricType
    method: Method
    alpha: float
    control: int
    planned_n: float
    lower_is_better: bool
    prior: Prior
    treated: list[int]
    abs_est: FloatArray
    abs_var: FloatArray
    df: FloatArray
    n_pair: FloatArray
    m_c: float
    v_c: float
    p: FloatArray  # the test's p-value per treatment (NaN for the Bayesian method: it has none)
    variations: tuple[VariationSummary, ...]
    srm: SrmResult
    cuped_theta: float | None
    warnings: tuple[StatsWarning, ...]


def _critical(prep: _Prepared, levels: FloatArray) -> FloatArray:
    """The critical value of the comparison's test at error rate ``levels`` (per treatment): Welch t or z for the
    fixed-horizon test, the confidence-sequence boundary for the sequential one."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if prep.method is Method.SEQUENTIAL:
            rho2 = optimal_rho2(prep.planned_n, prep.alpha)
            return np.sqrt(_sequence_crit2(prep.n_pair, rho2, levels))
        return np.asarray(special.stdtrit(prep.df, 1.0 - levels / 2.0), dtype=np.float64)


def _p_values(
    method: Method, est: FloatArray, var: FloatArray, df: FloatArray, n_pair: FloatArray, alpha: float, planned_n: float
) -> FloatArray:
    se = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method is Method.SEQUENTIAL:
            p = always_valid_p_value(est, var, n_pair, alpha=alpha, planned_n=planned_n)
        else:
            p = 2.0 * special.stdtr(df, -np.abs(est / se))
    return np.where(~(se > 0) | ~np.isfinite(est), np.nan, p)


def _prepare(
    metric_type: MetricType | str,
    variations: Sequence[SufficientStats],
    *,
    control_index: int = 0,
    alpha: float = 0.05,
    method: Method | str = Method.FREQUENTIST,
    prior: Prior | None = None,
    cuped: bool = False,
    lower_is_better: bool = False,
    planned_n: float = DEFAULT_PLANNED_N,
    weights: Sequence[float] | None = None,
) -> _Prepared:
    metric = _enum(MetricType, metric_type, "metric_type")
    how = _enum(Method, method, "method")
    a = _probability(alpha, "alpha")
    planned = _positive(planned_n, "planned_n")
    if prior is None:
        prior = Prior()
    elif not isinstance(prior, Prior):
        raise StatsError("prior must be a Prior", field="prior")
    if not isinstance(cuped, bool):
        raise StatsError("cuped must be True or False", field="cuped")
    if not isinstance(lower_is_better, bool):
        raise StatsError("lower_is_better must be True or False", field="lower_is_better")
    variations = list(variations)
    k = len(variations)
    if k < 2:
        raise StatsError("an analysis needs a control and at least one treatment", field="variations")
    if isinstance(control_index, bool) or not isinstance(control_index, int | np.integer) or not 0 <= control_index < k:
        raise StatsError(f"control_index must be an index into the {k} variations", field="control_index")
    control = int(control_index)
    cols = _columns(metric, variations, cuped)
    warnings: list[StatsWarning] = []

    n = cols.n
    ddof = 0.0 if metric is MetricType.BINOMIAL else 1.0
    raw_mean = cols.sum_x / n
    if metric is MetricType.RATIO:
        assert cols.sum_y is not None and cols.syy is not None and cols.sxy is not None
        ybar = cols.sum_y / n
        mean = cols.sum_x / cols.sum_y
        raw_mean = mean
        szz = np.maximum((cols.sxx - 2.0 * mean * cols.sxy + mean * mean * cols.syy) / (ybar * ybar), 0.0)
    else:
        mean = raw_mean
        szz = cols.sxx

    theta: float | None = None
    if cuped:
        assert cols.sum_c is not None and cols.scc is not None and cols.sxc is not None
        szc = cols.sxc if metric is not MetricType.RATIO else (cols.sxc - mean * cols.syc) / ybar  # type: ignore[operator]
        total_scc = float(cols.scc.sum())
        if total_scc > 0:
            theta = float(szc.sum() / total_scc)
        else:
            theta = 0.0
            warnings.append(
                StatsWarning(
                    WarningCode.CUPED_NO_COVARIATE_VARIANCE,
                    "the pre-period covariate does not vary within variations; CUPED changes nothing",
                )
            )
        c_bar = float(cols.sum_c.sum() / n.sum())
        mean = mean - theta * (cols.sum_c / n - c_bar)
        szz = np.maximum(szz - 2.0 * theta * szc + theta * theta * cols.scc, 0.0)
    unit_var = szz / (n - ddof)
    var_mean = unit_var / n

    for j in range(k):
        if n[j] < MIN_UNITS:
            warnings.append(
                StatsWarning(WarningCode.TOO_FEW_UNITS, f"only {int(n[j])} units: the approximations are rough", j)
            )
        if metric is MetricType.BINOMIAL and min(cols.sum_x[j], n[j] - cols.sum_x[j]) < MIN_BINOMIAL_COUNT:
            warnings.append(
                StatsWarning(
                    WarningCode.SPARSE_BINOMIAL,
                    f"fewer than {MIN_BINOMIAL_COUNT} conversions or non-conversions: normal approximation is rough",
                    j,
                )
            )
        if not unit_var[j] > 0:
            warnings.append(StatsWarning(WarningCode.ZERO_VARIANCE, "the metric does not vary in this variation", j))
    srm = srm_check([int(v) for v in n], weights)
    if srm.warning:
        warnings.append(
            StatsWarning(
                WarningCode.SRM,
                f"sample ratio mismatch: units per variation are unlikely under the configured split "
                f"(chi-square p = {srm.p_value:.2g}); the assignment may be broken, so trust no effect until explained",
            )
        )

    # Every treatment against the control, vectorised. The one test of a comparison is on the absolute difference.
    treated = np.array([j for j in range(k) if j != control], dtype=np.intp)
    v_t, v_c = var_mean[treated], float(var_mean[control])
    abs_est = mean[treated] - mean[control]
    abs_var = v_t + v_c
    if metric is MetricType.MEAN:
        with np.errstate(divide="ignore", invalid="ignore"):
            df = abs_var * abs_var / (v_t * v_t / (n[treated] - 1.0) + v_c * v_c / (n[control] - 1.0))
    else:
        df = np.full(treated.shape, np.inf)
    n_pair = n[treated] + n[control]
    if mean[control] == 0:
        warnings.append(
            StatsWarning(
                WarningCode.ZERO_CONTROL_MEAN, "the control mean is 0: relative effects are undefined", control
            )
        )
    p = (
        np.full(treated.shape, np.nan)
        if how is Method.BAYESIAN
        else _p_values(how, abs_est, abs_var, df, n_pair, a, planned)
    )
    summaries = tuple(
        VariationSummary(j, int(n[j]), float(mean[j]), float(raw_mean[j]), float(unit_var[j]), math.sqrt(var_mean[j]))
        for j in range(k)
    )
    return _Prepared(
        metric=metric,
        method=how,
        alpha=a,
        control=control,
        planned_n=planned,
        lower_is_better=lower_is_better,
        prior=prior,
        treated=treated.tolist(),
        abs_est=abs_est,
        abs_var=abs_var,
        df=df,
        n_pair=n_pair,
        m_c=float(mean[control]),
        v_c=v_c,
        p=p,
        variations=summaries,
        srm=srm,
        cuped_theta=theta,
        warnings=tuple(warnings),
    )


def _relative(
    prep: _Prepared, est: FloatArray, var: FloatArray, data_weight: FloatArray, crit: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The relative effect ``est / |m_c|`` of an absolute effect (estimate ``est``, variance ``var``), with its
    delta-method standard error and its Fieller interval at critical value ``crit``.

    The absolute effect moves with the control mean through the data: its covariance with ``|m_c|`` is
    ``-sign(m_c) * w * Var(m_c)``, with ``w`` the weight of the data in ``est`` (1 for a test, the shrinkage
    factor of a posterior mean).
    """
    m_c = prep.m_c
    if m_c == 0:
        nan = np.full(est.shape, np.nan)
        return nan, nan, nan, nan
    den = abs(m_c)
    cov = -math.copysign(1.0, m_c) * data_weight * prep.v_c
    rel_est = est / den
    with np.errstate(invalid="ignore"):
        rel_se = np.sqrt(np.maximum(var / den**2 - 2.0 * est * cov / den**3 + est * est * prep.v_c / den**4, 0.0))
    low, high = fieller_interval(est, var, den, prep.v_c, cov, crit)
    return rel_est, rel_se, low, high


def _finish(
    prep: _Prepared,
    *,
    adjusted: FloatArray | None = None,
    levels: FloatArray | None = None,
    correction: Correction | None = None,
    family_size: int | None = None,
) -> MetricResult:
    """Intervals at ``levels`` (default alpha), and the result. Absolute and relative effects come from one test:
    the same estimate, standard error, reference distribution and level, so their intervals exclude 0 together and
    exactly when the (adjusted) p-value is below alpha."""
    a = prep.alpha
    count = len(prep.treated)
    level = np.full(count, a) if levels is None else np.asarray(levels, dtype=np.float64)
    warnings = list(prep.warnings)
    columns: dict[str, dict[str, FloatArray]]
    if prep.method is Method.BAYESIAN:
        if prep.prior.proper:
            # The prior is on the relative effect; the absolute effect gets it scaled by |control mean|.
            prior_mean: Any = prep.prior.mean * abs(prep.m_c)
            prior_var: Any = prep.prior.variance * prep.m_c**2 if prep.m_c != 0 else math.inf
        else:
            prior_mean, prior_var = 0.0, math.inf
        post_mean, post_var = normal_posterior(
            prep.abs_est, prep.abs_var, prior_mean=prior_mean, prior_variance=prior_var
        )
        post_sd = np.sqrt(post_var)
        good = (post_sd > 0) & np.isfinite(post_mean)
        crit = np.full(count, float(special.ndtri(1.0 - a / 2.0)))
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = post_var / prep.abs_var
        rel_est, rel_se, rel_low, rel_high = _relative(prep, post_mean, post_var, weight, crit)
        sign = -1.0 if prep.lower_is_better else 1.0
        # One posterior: the relative effect is positive exactly when the absolute one is, so both scales share the
        # chance to win, and both credible intervals exclude 0 exactly when it is outside [alpha/2, 1 - alpha/2].
        win = chance_to_win(sign * post_mean, post_sd)
        columns = {}
        for scale, (est, se, low, high) in {
            "absolute": (post_mean, post_sd, post_mean - crit * post_sd, post_mean + crit * post_sd),
            "relative": (rel_est, rel_se, rel_low, rel_high),
        }.items():
            losses = expected_loss(np.stack((sign * est, -sign * est)), se)
            columns[scale] = {
                "estimate": est,
                "std_error": se,
                "ci_low": low,
                "ci_high": high,
                "chance_to_win": win,
                "expected_loss": losses[0],
                "expected_loss_control": losses[1],
            }
    else:
        crit = _critical(prep, level)
        se = np.sqrt(prep.abs_var)
        good = (se > 0) & np.isfinite(prep.abs_est)
        rel_est, rel_se, rel_low, rel_high = _relative(prep, prep.abs_est, prep.abs_var, np.ones(count), crit)
        tests: dict[str, FloatArray] = {"p_value": prep.p}
        if adjusted is not None:
            tests["adjusted_p_value"] = adjusted
        columns = {
            "absolute": {
                "estimate": prep.abs_est,
                "std_error": se,
                "ci_low": prep.abs_est - crit * se,
                "ci_high": prep.abs_est + crit * se,
                **tests,
            },
            "relative": {"estimate": rel_est, "std_error": rel_se, "ci_low": rel_low, "ci_high": rel_high, **tests},
        }
    for scale in columns.values():  # no variance (or no estimate): no interval and no decision quantities
        for name, values in scale.items():
            if name not in ("estimate", "std_error"):
                scale[name] = np.where(good, values, np.nan)
    if prep.m_c != 0:
        for i, j in enumerate(prep.treated):
            if good[i] and math.isnan(float(columns["relative"]["ci_low"][i])):
                warnings.append(
                    StatsWarning(
                        WarningCode.RELATIVE_UNBOUNDED,
                        "the control mean is too uncertain for a bounded relative interval: read the absolute change",
                        j,
                    )
                )
    rows = {scale: {name: values.tolist() for name, values in items.items()} for scale, items in columns.items()}

    def effect(scale: str, i: int) -> Effect:
        return Effect(**{name: values[i] for name, values in rows[scale].items()})

    df_list = prep.df.tolist()
    comparisons = tuple(
        Comparison(int(j), effect("absolute", i), effect("relative", i), df_list[i], float(level[i]))
        for i, j in enumerate(prep.treated)
    )
    return MetricResult(
        metric_type=prep.metric,
        method=prep.method,
        alpha=a,
        control_index=prep.control,
        variations=prep.variations,
        comparisons=comparisons,
        srm=prep.srm,
        cuped_theta=prep.cuped_theta,
        correction=correction,
        warnings=tuple(warnings),
        family_size=family_size,
    )


def _corrected(preps: Sequence[_Prepared], correction: Correction | None) -> list[MetricResult]:
    """Finish every prepared metric, adjusting p-values and interval levels across all their comparisons."""
    if correction is None or not preps:
        return [_finish(prep) for prep in preps]
    if preps[0].method is Method.BAYESIAN:
        raise StatsError("a p-value correction does not apply to the Bayesian method", field="correction")
    p = np.concatenate([prep.p for prep in preps])
    adjusted = adjust_p_values(p, correction)
    levels = interval_levels(p, correction, preps[0].alpha)
    family = int((~np.isnan(p)).sum())
    out: list[MetricResult] = []
    position = 0
    for prep in preps:
        stop = position + len(prep.treated)
        out.append(
            _finish(
                prep,
                adjusted=adjusted[position:stop],
                levels=levels[position:stop],
                correction=correction,
                family_size=family,
            )
        )
        position = stop
    return out


def analyse(
    metric_type: MetricType | str,
    variations: Sequence[SufficientStats],
    *,
    control_index: int = 0,
    alpha: float = 0.05,
    method: Method | str = Method.FREQUENTIST,
    prior: Prior | None = None,
    cuped: bool = False,
    lower_is_better: bool = False,
    planned_n: float = DEFAULT_PLANNED_N,
    weights: Sequence[float] | None = None,
    correction: Correction | str | None = None,
) -> MetricResult:
    """Analyse one metric: every variation against the control, from sufficient statistics.

    ``method`` is ``"frequentist"`` (fixed-horizon test), ``"sequential"`` (always-valid confidence sequence tuned to
    ``planned_n`` total units of a treatment-control pair) or ``"bayesian"`` (``prior``, default flat;
    ``lower_is_better`` flips what "win" means). ``cuped=True`` adjusts with the pre-period covariate sums.
    ``weights`` are the configured traffic weights for the SRM check (default equal). ``correction`` adjusts the
    p-values and the intervals across treatments (Holm or Benjamini-Hochberg, see :func:`interval_levels`); use
    :func:`analyse_many` to correct across metrics. See the module docstring for every convention.
    """
    corr = None if correction is None else _enum(Correction, correction, "correction")
    how = _enum(Method, method, "method")
    if corr is not None and how is Method.BAYESIAN:
        raise StatsError("a p-value correction does not apply to the Bayesian method", field="correction")
    prep = _prepare(
        metric_type,
        variations,
        control_index=control_index,
        alpha=alpha,
        method=how,
        prior=prior,
        cuped=cuped,
        lower_is_better=lower_is_better,
        planned_n=planned_n,
        weights=weights,
    )
    return _corrected([prep], corr)[0]


def analyse_many(
    metrics: Sequence[tuple[MetricType | str, Sequence[SufficientStats]]],
    *,
    correction: Correction | str | None = None,
    lower_is_better: bool | Sequence[bool] | None = None,
    **options: Any,
) -> tuple[MetricResult, ...]:
    """Analyse several metrics of one experiment with the same options, correcting across all of them.

    ``metrics`` is a sequence of ``(metric_type, variations)``; ``lower_is_better`` is one flag per metric (or one
    flag for all); ``options`` are :func:`analyse`'s other keyword arguments. The correction family is every
    (metric, treatment) comparison; each comparison's p-value is adjusted once and both of its intervals (absolute
    and relative) are drawn at the level that agrees with it (:func:`interval_levels`).
    """
    corr = None if correction is None else _enum(Correction, correction, "correction")
    if lower_is_better is None or isinstance(lower_is_better, bool):
        flags = [bool(lower_is_better)] * len(metrics)
    else:
        flags = list(lower_is_better)
        if len(flags) != len(metrics):
            raise StatsError("lower_is_better needs one flag per metric", field="lower_is_better")
    preps = [
        _prepare(metric_type, variations, lower_is_better=flags[i], **options)
        for i, (metric_type, variations) in enumerate(metrics)
    ]
    return tuple(_corrected(preps, corr))


# --------------------------------------------------------------------------------------------------------------------
# Design: power, sample size, minimum detectable effect, duration
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleSize:
    """Units needed per variation (rounded up; ``n_exact`` unrounded), in total, and the days it takes if known."""

    n_per_variation: int
    n_exact: float
    n_total: int
    absolute_mde: float
    relative_mde: float
    days: int | None


@dataclass(frozen=True, slots=True)
class MinimumDetectableEffect:
    absolute: float
    relative: float


def _design_variances(metric: MetricType, baseline: float, delta: float, variance: float | None) -> tuple[float, float]:
    if metric is MetricType.BINOMIAL:
        if not 0 < baseline < 1:
            raise StatsError("baseline must be a rate strictly between 0 and 1", field="baseline")
        treated = baseline + delta
        if not 0 < treated < 1:
            raise StatsError("baseline + effect must stay strictly between 0 and 1", field="mde")
        return baseline * (1 - baseline), treated * (1 - treated)
    if metric is MetricType.MEAN:
        if variance is None:
            raise StatsError("mean metrics need the baseline variance", field="variance")
        v = _positive(variance, "variance")
        return v, v
    raise StatsError("power analysis supports binomial and mean metrics", field="metric_type")


def _absolute_effect(baseline: float, effect: float, relative: bool) -> float:
    if relative:
        if baseline == 0:
            raise StatsError("a relative effect needs a non-zero baseline", field="baseline")
        return effect * abs(baseline)
    return effect


def _z_sum(alpha: float, target_power: float) -> float:
    return float(
        special.ndtri(1.0 - _probability(alpha, "alpha") / 2.0) + special.ndtri(_probability(target_power, "power"))
    )


def expected_duration(
    n_per_variation: float,
    *,
    daily_units: float,
    n_variations: int = 2,
    traffic_fraction: float = 1.0,
    weights: Sequence[float] | None = None,
) -> int:
    """Whole days until every variation has ``n_per_variation`` units.

    ``daily_units`` is the eligible traffic per day, ``traffic_fraction`` the share of it in the experiment, and
    ``weights`` the split between variations (default equal); the smallest variation sets the pace.
    """
    n = _positive(n_per_variation, "n_per_variation")
    daily = _positive(daily_units, "daily_units")
    count = _count(n_variations, "n_variations")
    if count < 2:
        raise StatsError("an experiment has at least two variations", field="n_variations")
    fraction = _number(traffic_fraction, "traffic_fraction")
    if not 0 < fraction <= 1:
        raise StatsError("traffic_fraction must be in (0, 1]", field="traffic_fraction")
    if weights is None:
        smallest = 1.0 / count
    else:
        w = [_number(v, "weights", i) for i, v in enumerate(weights)]
        if len(w) != count:
            raise StatsError(f"weights must have one entry per variation ({count})", field="weights")
        if min(w) <= 0 or abs(sum(w) - 1.0) > 1e-6:
            raise StatsError("weights must be > 0 and sum to 1", field="weights")
        smallest = min(w) / sum(w)
    # The tiny slack keeps an exact whole number of days (e.g. 2000 / 1000) from rounding up through float error.
    return max(1, math.ceil(n / (daily * fraction * smallest) - 1e-9))


def sample_size(
    metric_type: MetricType | str,
    *,
    baseline: float,
    mde: float,
    relative: bool = True,
    variance: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    n_variations: int = 2,
    daily_units: float | None = None,
    traffic_fraction: float = 1.0,
    weights: Sequence[float] | None = None,
) -> SampleSize:
    """Units per variation for a two-sided test at ``alpha`` to detect ``mde`` with probability ``power``.

    ``baseline`` is the control rate (binomial) or mean (mean metrics, with ``variance`` the per-unit variance);
    ``mde`` is relative (a fraction of the baseline, default) or absolute. Each treatment is compared with the
    control at ``alpha``: divide alpha by the number of treatments yourself for a Bonferroni-style plan. With
    ``daily_units`` the expected duration is filled in (see :func:`expected_duration`).
    """
    metric = _enum(MetricType, metric_type, "metric_type")
    base = _number(baseline, "baseline")
    delta = _absolute_effect(base, _number(mde, "mde"), relative)
    if delta == 0:
        raise StatsError("mde must not be 0", field="mde")
    var_c, var_t = _design_variances(metric, base, delta, variance)
    z = _z_sum(alpha, power)
    exact = z * z * (var_c + var_t) / (delta * delta)
    n = max(2, math.ceil(exact - 1e-9))
    count = _count(n_variations, "n_variations")
    if count < 2:
        raise StatsError("an experiment has at least two variations", field="n_variations")
    days = None
    if daily_units is not None:
        days = expected_duration(
            n, daily_units=daily_units, n_variations=count, traffic_fraction=traffic_fraction, weights=weights
        )
    rel = delta / abs(base) if base != 0 else math.nan
    return SampleSize(n, exact, n * count, abs(delta), abs(rel), days)


def minimum_detectable_effect(
    metric_type: MetricType | str,
    *,
    baseline: float,
    n_per_variation: float,
    variance: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> MinimumDetectableEffect:
    """The smallest increase a two-sided test at ``alpha`` detects with probability ``power`` given the units.

    Binomial: the positive root of ``d^2 (n/z^2 + 1) - d (1 - 2p) - 2p(1 - p) = 0`` (the unpooled sample-size
    formula solved for d), infinite if even a rate of 1 would not be detected.
    """
    metric = _enum(MetricType, metric_type, "metric_type")
    base = _number(baseline, "baseline")
    n = _positive(n_per_variation, "n_per_variation")
    z = _z_sum(alpha, power)
    if metric is MetricType.BINOMIAL:
        _design_variances(metric, base, 0.0, None)
        big_k = n / (z * z) + 1.0
        b = 1.0 - 2.0 * base
        delta = (b + math.sqrt(b * b + 8.0 * base * (1.0 - base) * big_k)) / (2.0 * big_k)
        if base + delta >= 1.0:
            delta = math.inf
    else:
        var_c, var_t = _design_variances(metric, base, 0.0, variance)
        delta = z * math.sqrt((var_c + var_t) / n)
    return MinimumDetectableEffect(delta, delta / abs(base) if base != 0 else math.nan)


def power(
    metric_type: MetricType | str,
    *,
    baseline: float,
    effect: float,
    n_per_variation: float,
    relative: bool = True,
    variance: float | None = None,
    alpha: float = 0.05,
) -> float:
    """Probability that the two-sided test at ``alpha`` rejects, given the true effect (both tails counted)."""
    metric = _enum(MetricType, metric_type, "metric_type")
    base = _number(baseline, "baseline")
    delta = _absolute_effect(base, _number(effect, "effect"), relative)
    n = _positive(n_per_variation, "n_per_variation")
    var_c, var_t = _design_variances(metric, base, delta, variance)
    crit = float(special.ndtri(1.0 - _probability(alpha, "alpha") / 2.0))
    shift = abs(delta) / math.sqrt((var_c + var_t) / n)
    return float(special.ndtr(shift - crit) + special.ndtr(-shift - crit))
