"""Tests for valueloop.engines.stats against scipy and statsmodels (independent implementations) and by simulation.

statsmodels is used here only, as the reference; the engine itself uses numpy and scipy.special.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize
from scipy import stats as sps
from statsmodels.stats import proportion as smp
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
from statsmodels.stats.weightstats import ttest_ind as sm_ttest_ind

from valueloop.engines.stats import (
    SRM_THRESHOLD,
    Correction,
    Method,
    MetricType,
    Prior,
    StatsError,
    SufficientStats,
    WarningCode,
    adjust_p_values,
    always_valid_p_value,
    analyse,
    analyse_many,
    chance_to_win,
    confidence_sequence,
    expected_duration,
    expected_loss,
    fieller_interval,
    interval_levels,
    merge,
    minimum_detectable_effect,
    normal_posterior,
    optimal_rho2,
    power,
    sample_size,
    srm_check,
    sufficient_stats,
    unit_totals,
)

from .random_experiments import KINDS, random_variations, row_agreement

Z975 = sps.norm.ppf(0.975)


def two_arms(control: np.ndarray, treatment: np.ndarray, **extra: np.ndarray) -> list[SufficientStats]:
    """Sufficient statistics of a control array and a treatment array (variation 0 and 1)."""
    variation = np.r_[np.zeros(control.size, dtype=int), np.ones(treatment.size, dtype=int)]
    return sufficient_stats(variation, np.r_[control, treatment], **extra)


def codes(result) -> set[WarningCode]:
    return {w.code for w in result.warnings}


# --- sufficient statistics -------------------------------------------------------------------------------------------


def test_sufficient_stats_from_arrays_match_direct_sums():
    rng = np.random.default_rng(1)
    n = 5_000
    variation = rng.integers(0, 3, n)
    x, y, c = rng.normal(5, 2, n), rng.poisson(3, n) + 1.0, rng.normal(0, 1, n)
    stats = sufficient_stats(variation, x, y=y, c=c, n_variations=4)
    assert len(stats) == 4
    for k in range(3):
        m = variation == k
        s = stats[k]
        assert s.n == m.sum()
        for got, want in [
            (s.sum_x, x[m].sum()),
            (s.sum_x2, (x[m] ** 2).sum()),
            (s.sum_y, y[m].sum()),
            (s.sum_y2, (y[m] ** 2).sum()),
            (s.sum_xy, (x[m] * y[m]).sum()),
            (s.sum_c, c[m].sum()),
            (s.sum_c2, (c[m] ** 2).sum()),
            (s.sum_xc, (x[m] * c[m]).sum()),
            (s.sum_yc, (y[m] * c[m]).sum()),
        ]:
            assert got == pytest.approx(want, rel=1e-12, abs=1e-9)
    assert stats[3].n == 0 and stats[3].sum_x == 0  # an empty variation is a valid, empty batch
    assert isinstance(stats[0].n, int)


def test_merge_is_additive():
    rng = np.random.default_rng(2)
    x, c = rng.normal(size=1000), rng.normal(size=1000)
    variation = np.zeros(1000, dtype=int)
    whole = sufficient_stats(variation, x, c=c)[0]
    parts = [sufficient_stats(variation[i : i + 250], x[i : i + 250], c=c[i : i + 250])[0] for i in range(0, 1000, 250)]
    merged = merge(parts)
    assert merged.n == whole.n
    for name in ("sum_x", "sum_x2", "sum_c", "sum_c2", "sum_xc"):
        assert getattr(merged, name) == pytest.approx(getattr(whole, name), rel=1e-12)
    assert merged.sum_y is None
    assert (parts[0] + SufficientStats(0, 0, 0, sum_c=0, sum_c2=0, sum_xc=0)) == parts[0]
    with pytest.raises(StatsError) as info:
        parts[0] + SufficientStats(1, 1, 1)
    assert info.value.field == "sum_c"
    with pytest.raises(StatsError):
        merge([])


def test_unit_totals_aggregate_events_per_unit():
    unit = np.array([0, 2, 2, 5, 0])
    values = np.array([1.0, 2.0, 3.0, 4.0, 0.5])
    assert unit_totals(unit, values, n_units=7).tolist() == [1.5, 0, 5, 0, 0, 4, 0]
    assert unit_totals(unit).tolist() == [2, 0, 2, 0, 0, 1]
    with pytest.raises(StatsError) as info:
        unit_totals(unit, values, n_units=3)
    assert info.value.field == "unit"
    with pytest.raises(StatsError) as info:
        unit_totals(np.array([0.5, 1.0]))
    assert info.value.field == "unit"
    with pytest.raises(StatsError) as info:
        unit_totals(unit, np.array([1.0, np.nan, 0, 0, 0]))
    assert info.value.field == "values"


def test_ten_million_events_to_sufficient_statistics_quickly():
    rng = np.random.default_rng(3)
    n_units, n_events = 1_000_000, 10_000_000
    unit_variation = rng.integers(0, 2, n_units)
    pre = rng.gamma(2.0, 5.0, n_units)
    event_unit = rng.integers(0, n_units, n_events)
    event_value = rng.gamma(2.0, 10.0, n_events)
    start = time.perf_counter()
    revenue = unit_totals(event_unit, event_value, n_units=n_units)
    orders = unit_totals(event_unit, n_units=n_units)
    stats = sufficient_stats(unit_variation, revenue, y=orders, c=pre, n_variations=2)
    elapsed = time.perf_counter() - start
    print(f"10M events -> sufficient statistics in {elapsed * 1000:.0f} ms")
    assert elapsed < 5.0  # ~0.3-1 s on a busy 2-core machine; the bound only catches a loop in Python
    assert sum(s.n for s in stats) == n_units
    assert sum(s.sum_y for s in stats) == n_events
    assert sum(s.sum_x for s in stats) == pytest.approx(event_value.sum(), rel=1e-9)
    result = analyse("ratio", stats, cuped=True)
    assert abs(result.comparisons[0].relative.estimate) < 0.01  # no effect was simulated


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n": -1, "sum_x": 0, "sum_x2": 0}, "n"),
        ({"n": 2.5, "sum_x": 0, "sum_x2": 0}, "n"),
        ({"n": True, "sum_x": 0, "sum_x2": 0}, "n"),
        ({"n": 10, "sum_x": float("nan"), "sum_x2": 0}, "sum_x"),
        ({"n": 10, "sum_x": "3", "sum_x2": 9}, "sum_x"),
        ({"n": 10, "sum_x": 10, "sum_x2": -1}, "sum_x2"),
        ({"n": 10, "sum_x": 10, "sum_x2": 9.9}, "sum_x2"),  # variance < 0
        ({"n": 0, "sum_x": 1, "sum_x2": 1}, "sum_x"),
        ({"n": 10, "sum_x": 12, "sum_x2": 12}, "sum_x2"),  # 12 conversions out of 10 units
        ({"n": 10, "sum_x": 10, "sum_x2": 20, "sum_y": 10, "sum_y2": 20}, "sum_xy"),
        ({"n": 10, "sum_x": 10, "sum_x2": 20, "sum_y": 10, "sum_y2": 20, "sum_xy": 40}, "sum_xy"),  # |corr| > 1
        ({"n": 10, "sum_x": 10, "sum_x2": 20, "sum_c": 0, "sum_c2": 10}, "sum_xc"),
        ({"n": 10, "sum_x": 10, "sum_x2": 20, "sum_c": 0, "sum_c2": 10, "sum_xc": 0, "sum_yc": 0}, "sum_yc"),
    ],
)
def test_inconsistent_sufficient_statistics_are_refused(kwargs, field):
    with pytest.raises(StatsError) as info:
        SufficientStats(**kwargs)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_rounding_noise_in_sums_of_squares_is_tolerated():
    # A constant metric summed by a database: sum_x2 a hair below sum_x**2 / n is rounding, not an inconsistency.
    s = SufficientStats(3, 0.3, 0.03 - 1e-18)
    result = analyse("mean", [s, SufficientStats(3, 0.3, 0.03)])
    assert result.variations[0].variance == 0
    assert WarningCode.ZERO_VARIANCE in codes(result)


@pytest.mark.parametrize(
    ("metric", "variations", "options", "field", "variation"),
    [
        ("mean", [SufficientStats(1, 1, 1), SufficientStats(10, 1, 1)], {}, "n", 0),
        ("binomial", [SufficientStats(10, 3, 3), SufficientStats(10, 3, 5)], {}, "sum_x2", 1),
        ("ratio", [SufficientStats(10, 3, 3), SufficientStats(10, 3, 3)], {}, "sum_y", 0),
        ("ratio", [SufficientStats(10, 0, 0, 0, 0, 0), SufficientStats(10, 3, 3, 1, 1, 1)], {}, "sum_y", 0),
        ("mean", [SufficientStats(10, 3, 3), SufficientStats(10, 3, 3)], {"cuped": True}, "sum_c", 0),
        ("median", [SufficientStats(10, 3, 3), SufficientStats(10, 3, 3)], {}, "metric_type", None),
        ("mean", [SufficientStats(10, 3, 3), SufficientStats(10, 3, 3)], {"method": "magic"}, "method", None),
        ("mean", [SufficientStats(10, 3, 3), SufficientStats(10, 3, 3)], {"alpha": 1.0}, "alpha", None),
        ("mean", [SufficientStats(10, 3, 3), SufficientStats(10, 3, 3)], {"control_index": 2}, "control_index", None),
        ("mean", [SufficientStats(10, 3, 3)], {}, "variations", None),
        ("mean", [SufficientStats(10, 3, 3)] * 2, {"weights": [0.5, 0.4]}, "weights", None),
        ("mean", [SufficientStats(10, 3, 3)] * 2, {"correction": "bonferroni"}, "correction", None),
        ("mean", [SufficientStats(10, 3, 3)] * 2, {"method": "bayesian", "correction": "holm"}, "correction", None),
        ("mean", [SufficientStats(10, 3, 3)] * 2, {"planned_n": 0}, "planned_n", None),
    ],
)
def test_bad_analysis_input_names_the_field(metric, variations, options, field, variation):
    with pytest.raises(StatsError) as info:
        analyse(metric, variations, **options)
    assert info.value.field == field
    assert info.value.variation == variation


def test_prior_is_validated():
    with pytest.raises(StatsError) as info:
        Prior(proper=True, variance=0)
    assert info.value.field == "prior.variance"
    with pytest.raises(StatsError):
        Prior(proper="yes")  # type: ignore[arg-type]


# --- frequentist: mean metrics against scipy and statsmodels ---------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_mean_metric_matches_welch_t_test_of_scipy_and_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n_c, n_t = rng.integers(5, 3000, 2)
    control = rng.lognormal(1.0, rng.uniform(0.2, 1.5), n_c)
    treatment = rng.lognormal(1.0 + rng.normal(0, 0.2), rng.uniform(0.2, 1.5), n_t)
    alpha = float(rng.choice([0.01, 0.05, 0.1]))
    result = analyse("mean", two_arms(control, treatment), alpha=alpha)
    comp = result.comparisons[0]

    scipy_test = sps.ttest_ind(treatment, control, equal_var=False)
    assert comp.absolute.p_value == pytest.approx(scipy_test.pvalue, rel=1e-8, abs=1e-14)
    assert comp.df == pytest.approx(scipy_test.df, rel=1e-9)
    assert comp.absolute.estimate == pytest.approx(treatment.mean() - control.mean(), rel=1e-9, abs=1e-12)

    low, high = CompareMeans(DescrStatsW(treatment), DescrStatsW(control)).tconfint_diff(alpha=alpha, usevar="unequal")
    assert comp.absolute.ci_low == pytest.approx(low, rel=1e-8)
    assert comp.absolute.ci_high == pytest.approx(high, rel=1e-8)
    _, p_sm, df_sm = sm_ttest_ind(treatment, control, usevar="unequal")
    assert comp.absolute.p_value == pytest.approx(p_sm, rel=1e-8, abs=1e-14)
    assert comp.df == pytest.approx(df_sm, rel=1e-9)

    summary = result.variations[1]
    assert summary.mean == pytest.approx(treatment.mean(), rel=1e-12)
    assert summary.variance == pytest.approx(treatment.var(ddof=1), rel=1e-8)
    assert summary.std_error == pytest.approx(sps.sem(treatment), rel=1e-8)


# --- frequentist: binomial metrics against statsmodels.stats.proportion ----------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_binomial_metric_matches_statsmodels_wald_test_and_interval(seed):
    rng = np.random.default_rng(100 + seed)
    n_c, n_t = (int(v) for v in rng.integers(50, 200_000, 2))
    p_c = rng.uniform(0.01, 0.6)
    p_t = min(0.99, p_c * rng.uniform(0.8, 1.3))
    x_c, x_t = int(rng.binomial(n_c, p_c)), int(rng.binomial(n_t, p_t))
    alpha = float(rng.choice([0.01, 0.05, 0.2]))
    stats = [SufficientStats(n_c, x_c, x_c), SufficientStats(n_t, x_t, x_t)]
    comp = analyse("binomial", stats, alpha=alpha).comparisons[0]

    test = smp.test_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff")
    assert comp.absolute.p_value == pytest.approx(test.pvalue, rel=1e-8, abs=1e-14)
    low, high = smp.confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff", alpha=alpha)
    assert comp.absolute.ci_low == pytest.approx(low, rel=1e-8, abs=1e-14)
    assert comp.absolute.ci_high == pytest.approx(high, rel=1e-8, abs=1e-14)
    assert comp.df == math.inf


def test_binomial_from_raw_zero_one_data_equals_counts():
    rng = np.random.default_rng(7)
    control, treatment = (rng.random(4000) < 0.1).astype(float), (rng.random(4100) < 0.12).astype(float)
    from_raw = analyse("binomial", two_arms(control, treatment)).comparisons[0]
    counts = [
        SufficientStats(4000, control.sum(), control.sum()),
        SufficientStats(4100, treatment.sum(), treatment.sum()),
    ]
    assert analyse("binomial", counts).comparisons[0] == from_raw


# --- relative effects and ratio metrics: the delta method, Fieller's interval -----------------------------------------


def delta_method_variance(gradient: np.ndarray, covariance: np.ndarray) -> float:
    return float(gradient @ covariance @ gradient)


def fieller_ends(m_t: float, m_c: float, v_t: float, v_c: float, crit: float) -> tuple[float, float]:
    """Fieller's interval for m_t / m_c - 1 found by root finding: the ratios r at which the test of m_t - r m_c = 0
    (variance v_t + r^2 v_c) sits exactly on the critical value, on either side of the estimate."""

    def excess(r: float) -> float:
        return abs(m_t - r * m_c) / math.sqrt(v_t + r * r * v_c) - crit

    point = m_t / m_c
    low = optimize.brentq(excess, point - 50 * math.sqrt(v_t + v_c) / m_c, point, xtol=1e-15, rtol=1e-14)
    high = optimize.brentq(excess, point, point + 50 * math.sqrt(v_t + v_c) / m_c, xtol=1e-15, rtol=1e-14)
    return low - 1, high - 1


@pytest.mark.parametrize("metric", ["mean", "binomial"])
def test_relative_effect_has_the_delta_method_error_and_the_fieller_interval(metric):
    rng = np.random.default_rng(11)
    if metric == "binomial":
        control, treatment = (rng.random(3000) < 0.2).astype(float), (rng.random(3500) < 0.23).astype(float)
        ddof = 0
    else:
        control, treatment = rng.gamma(2.0, 3.0, 3000), rng.gamma(2.0, 3.3, 3500)
        ddof = 1
    comp = analyse(metric, two_arms(control, treatment)).comparisons[0]
    m_c, m_t = control.mean(), treatment.mean()
    cov = np.diag([treatment.var(ddof=ddof) / treatment.size, control.var(ddof=ddof) / control.size])

    # Independent route: numerical gradient of g(m_t, m_c) = m_t / m_c - 1 times the covariance of the two means.
    def g(v: np.ndarray) -> float:
        return v[0] / v[1] - 1

    point = np.array([m_t, m_c])
    gradient = optimize.approx_fprime(point, g, 1e-7)
    assert comp.relative.estimate == pytest.approx(g(point), rel=1e-10)
    assert comp.relative.std_error**2 == pytest.approx(delta_method_variance(gradient, cov), rel=1e-5)
    crit = Z975 if metric == "binomial" else sps.t.ppf(0.975, comp.df)
    # The interval is Fieller's on the absolute effect's test (same statistic, same df), not estimate +- crit * se.
    low, high = fieller_ends(m_t, m_c, cov[0, 0], cov[1, 1], crit)
    assert (comp.relative.ci_low, comp.relative.ci_high) == pytest.approx((low, high), rel=1e-9)
    assert comp.relative.p_value == comp.absolute.p_value


def test_relative_interval_covers_at_the_nominal_rate():
    # 4000 simulated experiments with a true lift of 10 %: the delta-method interval covers it ~95 % of the time.
    rng = np.random.default_rng(12)
    runs, n, p_c = 4000, 5000, 0.1
    x_c, x_t = rng.binomial(n, p_c, runs), rng.binomial(n, p_c * 1.1, runs)
    covered = 0
    for c, t in zip(x_c.tolist(), x_t.tolist(), strict=True):
        rel = analyse("binomial", [SufficientStats(n, c, c), SufficientStats(n, t, t)]).comparisons[0].relative
        covered += rel.ci_low <= 0.1 <= rel.ci_high
    rate = covered / runs
    assert abs(rate - 0.95) < 4 * math.sqrt(0.95 * 0.05 / runs)


def test_ratio_metric_delta_method_matches_an_independent_computation():
    rng = np.random.default_rng(13)
    orders_c, orders_t = rng.poisson(2.0, 2000) + 1.0, rng.poisson(2.2, 2300) + 1.0
    revenue_c = orders_c * rng.gamma(3.0, 10.0, 2000)
    revenue_t = orders_t * rng.gamma(3.0, 10.5, 2300)
    variation = np.r_[np.zeros(2000, dtype=int), np.ones(2300, dtype=int)]
    stats = sufficient_stats(variation, np.r_[revenue_c, revenue_t], y=np.r_[orders_c, orders_t])
    result = analyse("ratio", stats)
    comp = result.comparisons[0]

    def ratio_and_variance(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        # Delta method on (x̄, ȳ) with their sample covariance matrix (np.cov, divisor n - 1) / n.
        cov = np.cov(np.vstack([x, y])) / x.size
        gradient = np.array([1 / y.mean(), -x.mean() / y.mean() ** 2])
        return x.mean() / y.mean(), delta_method_variance(gradient, cov)

    r_c, v_c = ratio_and_variance(revenue_c, orders_c)
    r_t, v_t = ratio_and_variance(revenue_t, orders_t)
    assert result.variations[0].mean == pytest.approx(revenue_c.sum() / orders_c.sum(), rel=1e-12)
    assert comp.absolute.estimate == pytest.approx(r_t - r_c, rel=1e-10)
    assert comp.absolute.std_error**2 == pytest.approx(v_t + v_c, rel=1e-9)
    assert comp.absolute.p_value == pytest.approx(2 * sps.norm.sf(abs(r_t - r_c) / math.sqrt(v_t + v_c)), rel=1e-8)
    assert comp.relative.std_error**2 == pytest.approx(v_t / r_c**2 + r_t**2 * v_c / r_c**4, rel=1e-9)


def test_ratio_metric_with_unit_denominator_is_a_mean_metric_with_a_z_reference():
    rng = np.random.default_rng(14)
    control, treatment = rng.normal(10, 2, 500), rng.normal(10.3, 2.5, 400)
    ones = np.ones(900)
    ratio = analyse("ratio", two_arms(control, treatment, y=ones)).comparisons[0]
    mean = analyse("mean", two_arms(control, treatment)).comparisons[0]
    assert ratio.absolute.estimate == pytest.approx(mean.absolute.estimate, rel=1e-12)
    assert ratio.absolute.std_error == pytest.approx(mean.absolute.std_error, rel=1e-9)
    assert ratio.df == math.inf and mean.df < math.inf
    z = mean.absolute.estimate / mean.absolute.std_error
    assert ratio.absolute.p_value == pytest.approx(2 * sps.norm.sf(abs(z)), rel=1e-9)


def test_relative_effect_keeps_the_sign_of_the_absolute_effect_for_negative_metrics():
    control = SufficientStats(100, -200.0, 500.0)  # mean -2
    treatment = SufficientStats(100, -100.0, 200.0)  # mean -1: better
    comp = analyse("mean", [control, treatment]).comparisons[0]
    assert comp.absolute.estimate == pytest.approx(1.0)
    assert comp.relative.estimate == pytest.approx(0.5)  # (-1 - -2) / |-2|


def test_each_treatment_is_compared_with_the_chosen_control():
    rng = np.random.default_rng(15)
    arms = [rng.normal(10 + 0.1 * k, 2, 800 + 50 * k) for k in range(4)]
    variation = np.concatenate([np.full(a.size, k) for k, a in enumerate(arms)])
    stats = sufficient_stats(variation, np.concatenate(arms))
    result = analyse("mean", stats, control_index=2)
    assert [c.variation for c in result.comparisons] == [0, 1, 3]
    for comp in result.comparisons:
        pair = analyse("mean", [stats[2], stats[comp.variation]]).comparisons[0]
        assert comp.absolute == pair.absolute and comp.relative == pair.relative
        assert comp.absolute.p_value == pytest.approx(
            sps.ttest_ind(arms[comp.variation], arms[2], equal_var=False).pvalue, rel=1e-8
        )
    assert result.comparison(3).variation == 3
    with pytest.raises(KeyError):
        result.comparison(2)


# --- warnings ------------------------------------------------------------------------------------------------------


def test_zero_variance_gives_nan_and_a_warning_not_an_error():
    result = analyse("binomial", [SufficientStats(1000, 0, 0), SufficientStats(1000, 0, 0)])
    comp = result.comparisons[0]
    assert comp.absolute.estimate == 0
    assert math.isnan(comp.absolute.p_value) and math.isnan(comp.absolute.ci_low)
    assert {WarningCode.ZERO_VARIANCE, WarningCode.ZERO_CONTROL_MEAN, WarningCode.SPARSE_BINOMIAL} <= codes(result)
    assert math.isnan(comp.relative.estimate)
    bayes = analyse("binomial", [SufficientStats(1000, 0, 0), SufficientStats(1000, 0, 0)], method="bayesian")
    assert math.isnan(bayes.comparisons[0].absolute.chance_to_win)


def test_one_sided_zero_variance_still_tests():
    result = analyse("binomial", [SufficientStats(1000, 0, 0), SufficientStats(1000, 30, 30)])
    comp = result.comparisons[0]
    assert comp.absolute.p_value < 0.001
    assert WarningCode.ZERO_VARIANCE in codes(result)
    assert [w.variation for w in result.warnings if w.code is WarningCode.ZERO_VARIANCE] == [0]


def test_too_few_units_and_srm_warnings():
    small = analyse("mean", [SufficientStats(10, 10, 20), SufficientStats(12, 13, 25)])
    assert WarningCode.TOO_FEW_UNITS in codes(small)
    skewed = analyse("binomial", [SufficientStats(10_000, 1000, 1000), SufficientStats(10_600, 1100, 1100)])
    assert skewed.srm.p_value < SRM_THRESHOLD and WarningCode.SRM in codes(skewed)
    planned = analyse(
        "binomial",
        [SufficientStats(10_000, 1000, 1000), SufficientStats(10_600, 1100, 1100)],
        weights=[10_000 / 20_600, 10_600 / 20_600],
    )
    assert planned.srm.p_value == pytest.approx(1.0) and WarningCode.SRM not in codes(planned)
    clean = analyse("binomial", [SufficientStats(10_000, 1000, 1000), SufficientStats(10_050, 1100, 1100)])
    assert clean.warnings == ()


# --- sequential testing: always-valid confidence sequences --------------------------------------------------------


def test_rho_minimises_the_width_at_the_planned_sample_size():
    for alpha in (0.01, 0.05, 0.1):
        for planned in (1_000, 50_000):
            rho2 = optimal_rho2(planned, alpha)

            def half_width(log_rho2: float, alpha: float = alpha, planned: int = planned) -> float:
                r2 = math.exp(log_rho2)
                return math.sqrt(
                    2 * (planned * r2 + 1) / (planned * r2) * math.log(math.sqrt(planned * r2 + 1) / alpha)
                )

            best = optimize.minimize_scalar(half_width, bounds=(-30, 5), method="bounded", options={"xatol": 1e-10})
            assert math.log(rho2) == pytest.approx(best.x, abs=1e-4)
            # GrowthBook's first-order approximation of the Lambert W solution is close.
            approx = (-2 * math.log(alpha) + math.log(1 - 2 * math.log(alpha))) / planned
            assert approx == pytest.approx(rho2, rel=0.1)


def test_confidence_sequence_is_the_issue_formula_in_unstandardised_form():
    rng = np.random.default_rng(21)
    est, var, n = rng.normal(size=50), rng.uniform(1e-4, 1.0, 50), rng.integers(10, 100_000, 50).astype(float)
    low, high = confidence_sequence(est, var, n, alpha=0.05, planned_n=8_000)
    sigma2 = n * var  # per-unit variance
    rho_u2 = optimal_rho2(8_000, 0.05) / sigma2  # the issue's rho, in metric units
    a = n * rho_u2 * sigma2 + 1
    width = np.sqrt(2 * a / (n**2 * rho_u2) * np.log(np.sqrt(a) / 0.05))
    np.testing.assert_allclose(high - est, width, rtol=1e-12)
    np.testing.assert_allclose(est - low, width, rtol=1e-12)
    # An always-valid interval is wider than the fixed-horizon one at the same n.
    assert ((high - est) > Z975 * np.sqrt(var)).all()


def test_always_valid_p_value_is_the_level_at_which_the_sequence_excludes_zero():
    rng = np.random.default_rng(22)
    est, var, n = rng.normal(0, 0.05, 2000), rng.uniform(1e-4, 1e-3, 2000), rng.integers(100, 50_000, 2000)
    p = always_valid_p_value(est, var, n, alpha=0.05)
    low, high = confidence_sequence(est, var, n, alpha=0.05)
    excluded = (low > 0) | (high < 0)
    assert (excluded == (p < 0.05)).all()
    assert excluded.any() and (~excluded).any()
    assert ((p > 0) & (p <= 1)).all()


def null_experiments(rng, kind: str, runs: int, batch: int, peeks: int, effect: float = 0.0):
    """Cumulative estimates of treatment - control and their variances at every peek, for ``runs`` experiments."""
    if kind == "binomial":
        sums = rng.binomial(batch, [[[0.1]], [[0.1 + effect]]], size=(2, runs, peeks)).astype(float)
        squares, ddof = sums, 0
    else:  # skewed revenue-like data: exponential with mean 1 (+ effect)
        draws = rng.exponential(1.0, size=(2, runs, peeks, batch))
        draws[1] += effect
        sums, squares, ddof = draws.sum(-1), (draws * draws).sum(-1), 1
    n = batch * np.arange(1, peeks + 1)
    s1, s2 = sums.cumsum(-1), squares.cumsum(-1)
    mean = s1 / n
    var_mean = (s2 - s1 * s1 / n) / (n - ddof) / n
    return mean[1] - mean[0], var_mean[1] + var_mean[0], 2 * n, (sums, squares)


@pytest.mark.parametrize(
    ("kind", "runs", "batch", "peeks", "planned", "effect"),
    [
        ("binomial", 4000, 200, 50, 20_000, 0.0),  # 50 peeks up to 10,000 units per arm, tuned for the end
        ("binomial", 4000, 200, 50, 2_000, 0.0),  # tuned for an early look
        ("binomial", 4000, 200, 50, 20_000, 0.01),  # a real effect: the sequence must keep covering it
        ("exponential", 2000, 50, 40, 4_000, 0.0),  # skewed continuous metric, 40 peeks up to 2,000 per arm
    ],
)
def test_confidence_sequence_coverage_under_continuous_monitoring(kind, runs, batch, peeks, planned, effect):
    rng = np.random.default_rng(31)
    alpha = 0.05
    est, var, n_total, raw = null_experiments(rng, kind, runs, batch, peeks, effect)
    low, high = confidence_sequence(est, var, n_total, alpha=alpha, planned_n=planned)
    always_valid = float(((low > effect) | (high < effect)).any(axis=1).mean())
    z = np.abs(est - effect) / np.sqrt(var)
    naive = float((z > Z975).any(axis=1).mean())
    final_only = float((z[:, -1] > Z975).mean())
    slack = 3 * math.sqrt(alpha * (1 - alpha) / runs)
    print(
        f"{kind} effect={effect} planned_n={planned}: P(ever excludes the truth) always-valid={always_valid:.4f}, "
        f"naive z at every peek={naive:.4f}, single final z={final_only:.4f} ({runs} runs x {peeks} peeks)"
    )
    assert always_valid <= alpha + slack
    assert naive > 2 * alpha  # peeking at a fixed-horizon test inflates the error rate...
    assert abs(final_only - alpha) < 2 * slack  # ...which is fine when looked at once

    # analyse() reports exactly these sequences: check the last peek of the first run.
    (sums, squares) = raw
    last = [SufficientStats(batch * peeks, float(sums[k, 0].sum()), float(squares[k, 0].sum())) for k in range(2)]
    metric = "binomial" if kind == "binomial" else "mean"
    comp = analyse(metric, last, method="sequential", planned_n=planned).comparisons[0]
    assert comp.absolute.ci_low == pytest.approx(low[0, -1], rel=1e-9, abs=1e-12)
    assert comp.absolute.ci_high == pytest.approx(high[0, -1], rel=1e-9, abs=1e-12)
    assert comp.absolute.p_value == pytest.approx(
        always_valid_p_value(est[0, -1], var[0, -1], n_total[-1], planned_n=planned), rel=1e-9
    )


def test_sequential_relative_effect_uses_the_same_boundary():
    stats = [SufficientStats(5000, 500, 500), SufficientStats(5000, 560, 560)]
    seq = analyse("binomial", stats, method="sequential", planned_n=10_000).comparisons[0]
    fixed = analyse("binomial", stats).comparisons[0]
    var = fixed.absolute.std_error**2
    low, high = confidence_sequence(fixed.absolute.estimate, var, 10_000, planned_n=10_000)
    assert (seq.absolute.ci_low, seq.absolute.ci_high) == pytest.approx((float(low), float(high)), rel=1e-12)
    # The relative sequence is Fieller's with the sequence's boundary in place of the z.
    boundary = (float(high) - fixed.absolute.estimate) / math.sqrt(var)
    want = fieller_ends(0.112, 0.1, 0.112 * 0.888 / 5000, 0.1 * 0.9 / 5000, boundary)
    assert (seq.relative.ci_low, seq.relative.ci_high) == pytest.approx(want, rel=1e-9)
    assert seq.relative.ci_high - seq.relative.ci_low > fixed.relative.ci_high - fixed.relative.ci_low
    assert seq.absolute.p_value > fixed.absolute.p_value
    assert seq.relative.p_value == seq.absolute.p_value


# --- Bayesian --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mean", "sd"),
    [(0.0, 1.0), (0.3, 1.0), (-0.3, 0.5), (2.0, 0.1), (-2.0, 0.1), (0.01, 0.002), (5.0, 1.0), (-40.0, 3.0)],
)
def test_expected_loss_matches_numerical_integration(mean, sd):
    def integrand(d: float) -> float:
        return max(0.0, -d) * sps.norm.pdf(d, mean, sd)

    # Integrate over the loss region only (d < 0), split at the mode to help quad.
    lower = mean - 40 * sd
    points = [p for p in (lower, min(mean, 0.0), 0.0) if p <= 0.0]
    want = sum(
        integrate.quad(integrand, a, b, epsabs=1e-300, epsrel=1e-12, limit=200)[0]
        for a, b in itertools.pairwise(points)
    )
    got = float(expected_loss(mean, sd))
    assert got == pytest.approx(want, rel=1e-8, abs=1e-300)
    # E[max(0, d)] - E[max(0, -d)] = E[d]
    assert float(expected_loss(-mean, sd)) - got == pytest.approx(mean, rel=1e-10, abs=1e-12)


def test_expected_loss_and_chance_to_win_match_monte_carlo():
    rng = np.random.default_rng(41)
    for mean, sd in [(0.02, 0.015), (-0.01, 0.02), (0.0, 0.05)]:
        draws = rng.normal(mean, sd, 2_000_000)
        loss = np.maximum(0.0, -draws)
        assert float(expected_loss(mean, sd)) == pytest.approx(loss.mean(), abs=4 * loss.std() / math.sqrt(draws.size))
        win = (draws > 0).mean()
        assert float(chance_to_win(mean, sd)) == pytest.approx(win, abs=4 * math.sqrt(win * (1 - win) / draws.size))


def test_expected_loss_does_not_cancel_in_the_far_tail():
    # For mean/sd = 30 the loss is ~1e-200: computed naively it would be 0 or noise; check it against its asymptote.
    k = 30.0
    asymptote = sps.norm.pdf(k) / k**2 * (1 - 6 / k**2 + 60 / k**4)  # sd phi(k) / k^2 (1 - 6/k^2 + 60/k^4 ...)
    assert float(expected_loss(k, 1.0)) == pytest.approx(asymptote, rel=1e-5)


def test_normal_posterior_matches_numerical_integration():
    estimate, variance, prior_mean, prior_variance = 0.08, 0.03**2, 0.0, 0.05**2
    post_mean, post_var = normal_posterior(estimate, variance, prior_mean=prior_mean, prior_variance=prior_variance)

    def unnormalised(d: float) -> float:
        return sps.norm.pdf(d, prior_mean, math.sqrt(prior_variance)) * sps.norm.pdf(estimate, d, math.sqrt(variance))

    bounds = (-1.0, 1.0)
    mass = integrate.quad(unnormalised, *bounds, epsrel=1e-12)[0]
    mean = integrate.quad(lambda d: d * unnormalised(d), *bounds, epsrel=1e-12)[0] / mass
    second = integrate.quad(lambda d: d * d * unnormalised(d), *bounds, epsrel=1e-12)[0] / mass
    assert float(post_mean) == pytest.approx(mean, rel=1e-8)
    assert float(post_var) == pytest.approx(second - mean**2, rel=1e-7)
    flat_mean, flat_var = normal_posterior(estimate, variance)
    assert (float(flat_mean), float(flat_var)) == (estimate, variance)


def test_bayesian_flat_prior_reproduces_the_z_interval_and_one_sided_p_value():
    stats = [SufficientStats(8000, 800, 800), SufficientStats(8000, 880, 880)]
    bayes = analyse("binomial", stats, method="bayesian").comparisons[0]
    freq = analyse("binomial", stats).comparisons[0]
    for b, f in ((bayes.absolute, freq.absolute), (bayes.relative, freq.relative)):
        assert b.estimate == pytest.approx(f.estimate, rel=1e-12)
        assert (b.ci_low, b.ci_high) == pytest.approx((f.ci_low, f.ci_high), rel=1e-12)
        assert b.chance_to_win == pytest.approx(1 - f.p_value / 2, rel=1e-10)  # estimate > 0 here
        assert b.p_value is None and f.chance_to_win is None
        assert b.expected_loss == pytest.approx(float(expected_loss(b.estimate, b.std_error)), rel=1e-12)
        assert b.expected_loss_control == pytest.approx(float(expected_loss(-b.estimate, b.std_error)), rel=1e-12)


def test_bayesian_proper_prior_on_the_relative_effect_shrinks_towards_its_mean():
    stats = [SufficientStats(2000, 200, 200), SufficientStats(2000, 240, 240)]
    flat = analyse("binomial", stats, method="bayesian").comparisons[0]
    prior = Prior(proper=True, mean=0.0, variance=0.1**2)
    shrunk = analyse("binomial", stats, method="bayesian", prior=prior).comparisons[0]
    # One posterior, on the absolute effect; the relative effect is it over the control mean (0.1).
    assert shrunk.relative.estimate == pytest.approx(shrunk.absolute.estimate / 0.1, rel=1e-12)
    assert shrunk.relative.chance_to_win == shrunk.absolute.chance_to_win
    assert 0 < shrunk.relative.estimate < flat.relative.estimate
    assert shrunk.relative.chance_to_win < flat.relative.chance_to_win
    # The absolute effect gets the same prior scaled by the control mean (0.1): N(0, 0.1^2 x 0.1^2).
    abs_mean, abs_var = normal_posterior(
        flat.absolute.estimate, flat.absolute.std_error**2, prior_mean=0.0, prior_variance=0.01 * 0.1**2
    )
    assert shrunk.absolute.estimate == pytest.approx(float(abs_mean), rel=1e-12)
    assert shrunk.absolute.std_error == pytest.approx(math.sqrt(abs_var), rel=1e-12)
    assert 0 < shrunk.absolute.estimate < flat.absolute.estimate
    # A prior mean away from 0 pulls towards it.
    optimistic = analyse("binomial", stats, method="bayesian", prior=Prior(True, 0.5, 0.1**2)).comparisons[0]
    assert optimistic.relative.estimate > flat.relative.estimate


def test_bayesian_lower_is_better_flips_the_decision_quantities():
    stats = [SufficientStats(3000, 300, 300), SufficientStats(3000, 270, 270)]  # e.g. a bounce rate went down
    higher = analyse("binomial", stats, method="bayesian").comparisons[0].relative
    lower = analyse("binomial", stats, method="bayesian", lower_is_better=True).comparisons[0].relative
    assert lower.estimate == higher.estimate
    assert lower.chance_to_win == pytest.approx(1 - higher.chance_to_win, rel=1e-12)
    assert lower.expected_loss == pytest.approx(higher.expected_loss_control, rel=1e-12)
    assert lower.chance_to_win > 0.9


# --- CUPED ---------------------------------------------------------------------------------------------------------


def cuped_data(rng, n: int, k: int = 3, rho: float = 0.7, effects=(0.0, 0.3, -0.2)):
    covariate = rng.normal(5.0, 2.0, n)
    variation = rng.integers(0, k, n)
    noise = rng.normal(0.0, 2.0 * math.sqrt(1 - rho**2), n)
    x = 10.0 + rho * (covariate - 5.0) + noise + np.asarray(effects)[variation]
    return variation, x, covariate


def test_cuped_effect_equals_the_ols_treatment_coefficient():
    rng = np.random.default_rng(51)
    n = 6000
    variation, x, covariate = cuped_data(rng, n)
    result = analyse("mean", sufficient_stats(variation, x, c=covariate), cuped=True)

    design = np.column_stack([np.ones(n), variation == 1, variation == 2, covariate - covariate.mean()]).astype(float)
    fit = sm.OLS(x, design).fit()
    assert result.cuped_theta == pytest.approx(fit.params[3], rel=1e-10)
    assert [c.absolute.estimate for c in result.comparisons] == pytest.approx(list(fit.params[1:3]), rel=1e-9)
    # Adjusted means are the regression's predictions at the overall covariate mean.
    assert [v.mean for v in result.variations] == pytest.approx(
        [fit.params[0], fit.params[0] + fit.params[1], fit.params[0] + fit.params[2]], rel=1e-10
    )
    assert [v.raw_mean for v in result.variations] == pytest.approx([x[variation == j].mean() for j in range(3)])
    # Standard errors treat theta as known; they agree with the regression's robust (HC1) errors to about 1 %.
    assert [c.absolute.std_error for c in result.comparisons] == pytest.approx(list(fit.HC1_se[1:3]), rel=0.02)


def test_cuped_variance_drops_by_the_squared_correlation():
    rng = np.random.default_rng(52)
    variation, x, covariate = cuped_data(rng, 30_000, rho=0.7)
    stats = sufficient_stats(variation, x, c=covariate)
    plain = analyse("mean", stats)
    adjusted = analyse("mean", stats, cuped=True)
    # Exactly: the pooled residual sum of squares is the pooled total times (1 - r^2), r the within-group correlation.
    centred_x = x - np.array([x[variation == j].mean() for j in range(3)])[variation]
    centred_c = covariate - np.array([covariate[variation == j].mean() for j in range(3)])[variation]
    r = np.corrcoef(centred_x, centred_c)[0, 1]
    rss = sum(v.variance * (v.n - 1) for v in adjusted.variations)
    tss = sum(v.variance * (v.n - 1) for v in plain.variations)
    assert rss == pytest.approx(tss * (1 - r**2), rel=1e-9)
    for before, after in zip(plain.variations, adjusted.variations, strict=True):
        assert after.variance / before.variance == pytest.approx(1 - 0.7**2, rel=0.05)
    for before, after in zip(plain.comparisons, adjusted.comparisons, strict=True):
        assert after.absolute.std_error / before.absolute.std_error == pytest.approx(math.sqrt(1 - 0.7**2), rel=0.05)


def test_cuped_is_unbiased_under_randomisation_and_its_standard_error_is_right():
    # 2000 experiments of 1000 units with a true effect of 0.3: the CUPED estimate averages to 0.3, its spread is
    # sqrt(1 - rho^2) of the unadjusted one's, and its reported standard error matches that spread.
    rng = np.random.default_rng(53)
    runs, n, rho, effect = 2000, 1000, 0.8, 0.3
    estimates, plain_estimates, errors = [], [], []
    for _ in range(runs):
        variation, x, covariate = cuped_data(rng, n, k=2, rho=rho, effects=(0.0, effect))
        stats = sufficient_stats(variation, x, c=covariate, n_variations=2)
        comp = analyse("mean", stats, cuped=True).comparisons[0]
        estimates.append(comp.absolute.estimate)
        errors.append(comp.absolute.std_error)
        plain_estimates.append(stats[1].sum_x / stats[1].n - stats[0].sum_x / stats[0].n)
    est = np.asarray(estimates)
    assert abs(est.mean() - effect) < 4 * est.std() / math.sqrt(runs)
    assert est.var() / np.var(plain_estimates) == pytest.approx(1 - rho**2, rel=0.12)
    assert np.mean(errors) == pytest.approx(est.std(), rel=0.06)


def test_cuped_on_a_ratio_metric_with_unit_denominator_equals_cuped_on_the_mean():
    rng = np.random.default_rng(54)
    variation, x, covariate = cuped_data(rng, 4000, k=2, effects=(0.0, 0.2))
    ones = np.ones_like(x)
    ratio = analyse("ratio", sufficient_stats(variation, x, y=ones, c=covariate), cuped=True)
    mean = analyse("mean", sufficient_stats(variation, x, c=covariate), cuped=True)
    assert ratio.cuped_theta == pytest.approx(mean.cuped_theta, rel=1e-10)
    assert ratio.comparisons[0].absolute.estimate == pytest.approx(mean.comparisons[0].absolute.estimate, rel=1e-9)
    assert ratio.comparisons[0].absolute.std_error == pytest.approx(mean.comparisons[0].absolute.std_error, rel=1e-9)


def test_cuped_reduces_variance_of_a_ratio_metric():
    rng = np.random.default_rng(55)
    n = 20_000
    variation = rng.integers(0, 2, n)
    sessions = rng.poisson(3, n) + 1.0
    pre_revenue = sessions * rng.gamma(2.0, 5.0, n)  # the pre-period looks like the experiment period
    revenue = 0.8 * pre_revenue + sessions * rng.gamma(2.0, 2.0, n)
    stats = sufficient_stats(variation, revenue, y=sessions, c=pre_revenue)
    plain = analyse("ratio", stats).comparisons[0]
    adjusted = analyse("ratio", stats, cuped=True).comparisons[0]
    assert adjusted.absolute.std_error < 0.8 * plain.absolute.std_error
    assert abs(adjusted.absolute.estimate) < 3 * adjusted.absolute.std_error  # no effect simulated


def test_cuped_without_covariate_variance_changes_nothing_and_says_so():
    stats = [
        SufficientStats(100, 500.0, 2600.0, sum_c=100.0, sum_c2=100.0, sum_xc=500.0),
        SufficientStats(100, 520.0, 2800.0, sum_c=100.0, sum_c2=100.0, sum_xc=520.0),
    ]
    adjusted = analyse("mean", stats, cuped=True)
    plain = analyse("mean", stats)
    assert adjusted.cuped_theta == 0.0
    assert WarningCode.CUPED_NO_COVARIATE_VARIANCE in codes(adjusted)
    assert adjusted.comparisons == plain.comparisons


# --- SRM -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "weights"),
    [
        ([5000, 5100], None),
        ([5000, 5300], None),
        ([1000, 2050, 980], [0.25, 0.5, 0.25]),
        ([3334, 3333, 3400], [1 / 3, 1 / 3, 1 / 3]),
        ([9000, 1100], [0.9, 0.1]),
    ],
)
def test_srm_matches_scipy_chisquare(observed, weights):
    result = srm_check(observed, weights)
    w = np.full(len(observed), 1 / len(observed)) if weights is None else np.asarray(weights)
    want = sps.chisquare(observed, f_exp=w / w.sum() * sum(observed))
    assert result.statistic == pytest.approx(want.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(want.pvalue, rel=1e-10, abs=1e-300)
    assert result.df == len(observed) - 1
    assert result.warning == (want.pvalue < 0.001)


def test_srm_warning_threshold_and_refused_weights():
    assert not srm_check([5000, 5300]).warning  # chi-square 8.7, p = 0.003: suspicious but above 0.001
    assert not srm_check([5000, 5100]).warning
    assert srm_check([5000, 5400]).warning
    with pytest.raises(StatsError) as info:
        srm_check([100, 100], [0.5, 0.25])  # a variation is missing from the weights: refuse, do not normalise
    assert info.value.field == "weights"
    with pytest.raises(StatsError) as info:
        srm_check([100, 100], [1.2, -0.2])
    assert info.value.field == "weights" and info.value.variation == 1
    with pytest.raises(StatsError) as info:
        srm_check([100, -1])
    assert info.value.field == "observed"
    with pytest.raises(StatsError):
        srm_check([0, 0])


# --- multiple comparisons ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_p_value_corrections_match_statsmodels(ours, theirs):
    rng = np.random.default_rng(61)
    for size in (1, 2, 7, 50):
        p = np.concatenate([rng.uniform(0, 0.05, size // 2), rng.uniform(0, 1, size - size // 2)])
        p[-1] = p[0]  # a tie
        rng.shuffle(p)
        want = multipletests(p, method=theirs)[1]
        np.testing.assert_allclose(adjust_p_values(p, ours), want, rtol=1e-12, atol=1e-15)
    with_nan = np.array([0.01, np.nan, 0.04, 0.03])
    got = adjust_p_values(with_nan, ours)
    assert math.isnan(got[1])
    np.testing.assert_allclose(got[[0, 2, 3]], multipletests(with_nan[[0, 2, 3]], method=theirs)[1], rtol=1e-12)
    with pytest.raises(StatsError):
        adjust_p_values([0.5, 1.5], ours)


def test_analyse_many_corrects_across_metrics_and_treatments():
    rng = np.random.default_rng(62)
    metrics = []
    for lift in (0.0, 0.05, 0.1):
        arms = [rng.normal(10 * (1 + lift * k / 2), 3, 1500) for k in range(3)]
        variation = np.concatenate([np.full(a.size, k) for k, a in enumerate(arms)])
        metrics.append(("mean", sufficient_stats(variation, np.concatenate(arms))))
    conversions = [SufficientStats(1500, 150, 150), SufficientStats(1500, 170, 170), SufficientStats(1500, 190, 190)]
    metrics.append(("binomial", conversions))
    for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh")):
        results = analyse_many(metrics, correction=ours)
        for scale in ("absolute", "relative"):
            raw = [getattr(c, scale).p_value for r in results for c in r.comparisons]
            adjusted = [getattr(c, scale).adjusted_p_value for r in results for c in r.comparisons]
            np.testing.assert_allclose(adjusted, multipletests(raw, method=theirs)[1], rtol=1e-12)
        assert all(r.correction is Correction(ours) for r in results)
    plain = analyse_many(metrics)
    assert all(c.absolute.adjusted_p_value is None for r in plain for c in r.comparisons)
    with pytest.raises(StatsError) as info:
        analyse_many(metrics, correction="holm", method="bayesian")
    assert info.value.field == "correction"


def test_analyse_corrects_across_its_own_treatments():
    stats = [SufficientStats(2000, 200, 200), SufficientStats(2000, 240, 240), SufficientStats(2000, 215, 215)]
    result = analyse("binomial", stats, correction="holm")
    raw = [c.absolute.p_value for c in result.comparisons]
    adjusted = [c.absolute.adjusted_p_value for c in result.comparisons]
    np.testing.assert_allclose(adjusted, multipletests(raw, method="holm")[1], rtol=1e-12)
    sequential = analyse("binomial", stats, method="sequential", correction="bh")
    raw = [c.absolute.p_value for c in sequential.comparisons]
    np.testing.assert_allclose(
        [c.absolute.adjusted_p_value for c in sequential.comparisons], multipletests(raw, method="fdr_bh")[1]
    )


# --- power analysis ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("variance", "delta", "alpha", "target"), [(4.0, 0.5, 0.05, 0.8), (100.0, 1.0, 0.01, 0.9)])
def test_mean_sample_size_matches_statsmodels_normal_power(variance, delta, alpha, target):
    plan = sample_size("mean", baseline=20.0, variance=variance, mde=delta, relative=False, alpha=alpha, power=target)
    want = NormalIndPower().solve_power(delta / math.sqrt(variance), alpha=alpha, power=target, ratio=1.0)
    # statsmodels also counts the (negligible) chance of rejecting in the wrong direction.
    assert plan.n_exact == pytest.approx(want, rel=1e-5)
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(target)
    assert plan.n_exact == pytest.approx(2 * variance * z**2 / delta**2, rel=1e-12)
    assert plan.n_per_variation == math.ceil(plan.n_exact)
    assert plan.n_total == 2 * plan.n_per_variation
    assert plan.relative_mde == pytest.approx(delta / 20.0)
    # power() is the exact two-tailed normal power: identical to statsmodels for the same n.
    got = power("mean", baseline=20.0, variance=variance, effect=delta, relative=False, n_per_variation=500)
    sm_power = NormalIndPower().power(delta / math.sqrt(variance), nobs1=500, alpha=0.05, ratio=1.0)
    assert got == pytest.approx(sm_power, rel=1e-10)


@pytest.mark.parametrize(("baseline", "mde"), [(0.02, 0.1), (0.1, 0.05), (0.3, 0.05), (0.5, -0.04)])
def test_binomial_sample_size_closed_form_and_statsmodels_arcsine_within_one_percent(baseline, mde):
    plan = sample_size("binomial", baseline=baseline, mde=mde)
    treated = baseline * (1 + mde)
    z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
    exact = z**2 * (baseline * (1 - baseline) + treated * (1 - treated)) / (treated - baseline) ** 2
    assert plan.n_exact == pytest.approx(exact, rel=1e-12)
    assert power("binomial", baseline=baseline, effect=mde, n_per_variation=plan.n_exact) == pytest.approx(
        0.8, abs=1e-5
    )
    arcsine = NormalIndPower().solve_power(
        smp.proportion_effectsize(treated, baseline), alpha=0.05, power=0.8, ratio=1.0
    )
    assert plan.n_exact == pytest.approx(arcsine, rel=0.01)
    absolute = sample_size("binomial", baseline=baseline, mde=treated - baseline, relative=False)
    assert absolute.n_exact == pytest.approx(plan.n_exact, rel=1e-9)


@pytest.mark.parametrize("metric", ["binomial", "mean"])
def test_minimum_detectable_effect_inverts_the_sample_size(metric):
    options = {"baseline": 0.12} if metric == "binomial" else {"baseline": 50.0, "variance": 900.0}
    for mde in (0.02, 0.1, 0.3):
        plan = sample_size(metric, mde=mde, alpha=0.1, power=0.9, **options)
        back = minimum_detectable_effect(metric, n_per_variation=plan.n_exact, alpha=0.1, power=0.9, **options)
        assert back.relative == pytest.approx(mde, rel=1e-9)
        assert back.absolute == pytest.approx(mde * options["baseline"], rel=1e-9)
    assert minimum_detectable_effect("binomial", baseline=0.9, n_per_variation=3).absolute == math.inf


def test_expected_duration():
    assert expected_duration(10_000, daily_units=1_000) == 20
    assert expected_duration(10_000, daily_units=1_000, n_variations=4, traffic_fraction=0.5) == 80
    assert expected_duration(10_000, daily_units=1_000, weights=[0.8, 0.2]) == 50  # the small arm sets the pace
    assert expected_duration(10_001, daily_units=1_000) == 21
    plan = sample_size("binomial", baseline=0.1, mde=0.1, daily_units=2_000, traffic_fraction=0.5)
    assert plan.days == math.ceil(plan.n_per_variation * 2 / 1_000)
    with pytest.raises(StatsError) as info:
        expected_duration(1000, daily_units=0)
    assert info.value.field == "daily_units"
    with pytest.raises(StatsError) as info:
        expected_duration(1000, daily_units=10, weights=[0.5, 0.6])
    assert info.value.field == "weights"


@pytest.mark.parametrize(
    ("metric", "options", "field"),
    [
        ("binomial", {"baseline": 1.2, "mde": 0.1}, "baseline"),
        ("binomial", {"baseline": 0.9, "mde": 0.2}, "mde"),
        ("binomial", {"baseline": 0.1, "mde": 0.0}, "mde"),
        ("mean", {"baseline": 10.0, "mde": 0.1}, "variance"),
        ("mean", {"baseline": 0.0, "mde": 0.1, "variance": 1.0}, "baseline"),
        ("ratio", {"baseline": 1.0, "mde": 0.1}, "metric_type"),
        ("mean", {"baseline": 1.0, "mde": 0.1, "variance": 1.0, "power": 1.0}, "power"),
        ("mean", {"baseline": 1.0, "mde": 0.1, "variance": 1.0, "n_variations": 1}, "n_variations"),
    ],
)
def test_bad_design_input_names_the_field(metric, options, field):
    with pytest.raises(StatsError) as info:
        sample_size(metric, **options)
    assert info.value.field == field


# --- the app's entry point -----------------------------------------------------------------------------------------


def test_result_shape_and_enums():
    stats = [SufficientStats(1000, 100, 100), SufficientStats(1000, 120, 120)]
    result = analyse(MetricType.BINOMIAL, stats, method=Method.SEQUENTIAL)
    assert result.metric_type == "binomial" and result.method == "sequential"
    assert result.control_index == 0 and result.alpha == 0.05 and result.cuped_theta is None
    assert [v.index for v in result.variations] == [0, 1]
    assert result.variations[1].mean == pytest.approx(0.12)
    assert result.srm.observed == (1000, 1000)
    comp = result.comparisons[0]
    assert comp.absolute.chance_to_win is None and comp.absolute.adjusted_p_value is None
    assert comp.absolute.ci_low < comp.absolute.estimate < comp.absolute.ci_high


def test_analysis_from_sufficient_statistics_is_fast():
    stats = [SufficientStats(50_000, 5_000, 5_000), SufficientStats(50_000, 5_200, 5_200)]
    for method in ("frequentist", "sequential", "bayesian"):
        analyse("binomial", stats, method=method)
        best = math.inf
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(200):
                analyse("binomial", stats, method=method)
            best = min(best, (time.perf_counter() - start) / 200)
        print(f"analyse({method}) from sufficient statistics: {best * 1e6:.0f} µs")
        assert best < 5e-3  # ~0.1-0.3 ms idle, under 1 ms on a loaded machine; scipy.stats objects would cost more


# --- one test per row: intervals, p-values and chances to win agree ------------------------------------------------


@settings(max_examples=250, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=3),
    k=st.integers(2, 4),
    cuped=st.booleans(),
    centred=st.booleans(),
    plan=st.sampled_from(
        [
            ("frequentist", None),
            ("frequentist", "holm"),
            ("frequentist", "bh"),
            ("sequential", None),
            ("sequential", "holm"),
            ("sequential", "bh"),
            ("bayesian", None),
        ]
    ),
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
    proper=st.booleans(),
)
def test_analyse_many__every_row_s_intervals_agree_with_its_test(seed, kinds, k, cuped, centred, plan, alpha, proper):
    method, correction = plan
    rng = np.random.default_rng(seed)
    metrics = [(kind, random_variations(rng, kind, k, cuped=cuped, centred=centred)) for kind in kinds]
    prior = Prior(proper=proper, mean=0.02, variance=0.2**2)
    results = analyse_many(metrics, correction=correction, method=method, alpha=alpha, cuped=cuped, prior=prior)
    for result in results:
        unbounded = {w.variation for w in result.warnings if w.code is WarningCode.RELATIVE_UNBOUNDED}
        for comp in result.comparisons:
            if math.isnan(comp.absolute.ci_low):  # no variance in this draw: nothing is claimed
                assert comp.absolute.p_value is None or math.isnan(comp.absolute.p_value)
                continue
            abs_out, rel_out, rejects = row_agreement(comp, method=method, alpha=alpha)
            assert abs_out == rejects, (comp, result.correction)
            if rel_out is None:
                assert comp.variation in unbounded or math.isnan(comp.relative.estimate)
            else:
                assert rel_out == abs_out, comp
                assert comp.relative.ci_low <= comp.relative.estimate <= comp.relative.ci_high
            # Adjusted levels are never looser than alpha (equal when Holm has one comparison or BH rejects all).
            assert comp.interval_alpha == alpha if correction is None else comp.interval_alpha <= alpha


def holm_levels_by_the_book(p: np.ndarray, alpha: float) -> np.ndarray:
    """Holm (1979) literally: step through the sorted p-values at alpha / (m - i + 1) until one is not rejected;
    every comparison from there on keeps the level of that step."""
    m = p.size
    levels = np.empty(m)
    stopped = None
    for step, index in enumerate(np.argsort(p, kind="stable"), start=1):
        level = alpha / (m - step + 1) if stopped is None else stopped
        if stopped is None and not p[index] < level:
            stopped = level
        levels[index] = level
    return levels


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_interval_levels__agree_with_statsmodels_holm_and_bh_rejections(alpha):
    rng = np.random.default_rng(71)
    seen = {"holm": set(), "fdr_bh": set()}
    for size in (1, 2, 3, 5, 12, 40):
        for draw in range(200):
            p = np.where(rng.random(size) < 0.5, rng.uniform(0, 0.03, size), rng.uniform(0, 1, size))
            holm = interval_levels(p, "holm", alpha)
            np.testing.assert_allclose(holm, holm_levels_by_the_book(p, alpha), rtol=1e-15)
            if draw < 3:  # statsmodels' Holm runs gc.collect() on every call (~0.2 s): a sample suffices
                assert ((p < holm) == multipletests(p, alpha=alpha, method="holm")[0]).all()
            rejected = adjust_p_values(p, "holm") < alpha
            assert ((p < holm) == rejected).all()
            bh = interval_levels(p, "bh", alpha)
            rejected = multipletests(p, alpha=alpha, method="fdr_bh")[0]
            assert ((p < bh) == rejected).all()
            np.testing.assert_allclose(bh, alpha * max(int(rejected.sum()), 1) / size, rtol=1e-15)
            seen["holm"].add(int(rejected.sum()) == size)
            seen["fdr_bh"].add(int(rejected.sum()) == 0)
    assert seen == {"holm": {True, False}, "fdr_bh": {True, False}}  # all, some and none rejected all happened
    np.testing.assert_array_equal(interval_levels([0.01, 0.2], None, alpha), [alpha, alpha])
    got = interval_levels([0.001, np.nan, 0.04], "holm", alpha)
    assert got[1] == alpha and got[0] == alpha / 2


def test_analyse__holm_intervals_are_welch_intervals_at_the_step_level_as_in_statsmodels():
    rng = np.random.default_rng(72)
    arms = [rng.normal(10.0 + lift, 3.0, 800) for lift in (0.0, 0.55, 0.35, 0.05)]
    variation = np.concatenate([np.full(a.size, j) for j, a in enumerate(arms)])
    result = analyse("mean", sufficient_stats(variation, np.concatenate(arms)), correction="holm")
    raw = np.array([c.absolute.p_value for c in result.comparisons])
    reject, adjusted, *_ = multipletests(raw, alpha=0.05, method="holm")
    assert reject.any() and not reject.all()  # the data make Holm stop part-way
    assert result.family_size == 3
    for comp, want_adjusted, rejected, level in zip(
        result.comparisons, adjusted, reject, holm_levels_by_the_book(raw, 0.05), strict=True
    ):
        assert comp.absolute.adjusted_p_value == pytest.approx(want_adjusted, rel=1e-12)
        assert comp.interval_alpha == pytest.approx(level, rel=1e-15)
        low, high = CompareMeans(DescrStatsW(arms[comp.variation]), DescrStatsW(arms[0])).tconfint_diff(
            alpha=level, usevar="unequal"
        )
        assert (comp.absolute.ci_low, comp.absolute.ci_high) == pytest.approx((low, high), rel=1e-9)
        assert (comp.absolute.ci_low > 0 or comp.absolute.ci_high < 0) == rejected


def test_analyse_many__bh_intervals_are_benjamini_yekutieli_wald_intervals_as_in_statsmodels():
    counts = [(4000, 400), (4000, 470), (4000, 415), (4000, 452)]
    result = analyse_many([("binomial", [SufficientStats(n, x, x) for n, x in counts])] * 2, correction="bh")
    raw = np.array([c.absolute.p_value for r in result for c in r.comparisons])
    reject = multipletests(raw, alpha=0.05, method="fdr_bh")[0]
    level = 0.05 * int(reject.sum()) / raw.size
    assert 0 < reject.sum() < raw.size and result[0].family_size == 6
    comps = [c for r in result for c in r.comparisons]
    for comp, rejected in zip(comps, reject, strict=True):
        n, x = counts[comp.variation]
        low, high = smp.confint_proportions_2indep(x, n, 400, 4000, method="wald", compare="diff", alpha=level)
        assert comp.interval_alpha == pytest.approx(level, rel=1e-15)
        assert (comp.absolute.ci_low, comp.absolute.ci_high) == pytest.approx((low, high), rel=1e-9)
        assert (comp.relative.ci_low > 0) == (comp.absolute.ci_low > 0) == rejected


def test_analyse__adjusted_sequential_intervals_keep_the_tuning_of_alpha():
    stats = [SufficientStats(3000, 300, 300), SufficientStats(3000, 365, 365), SufficientStats(3000, 330, 330)]
    plain = analyse("binomial", stats, method="sequential", planned_n=6000)
    holm = analyse("binomial", stats, method="sequential", planned_n=6000, correction="holm")
    for before, after in zip(plain.comparisons, holm.comparisons, strict=True):
        low, high = confidence_sequence(
            before.absolute.estimate, before.absolute.std_error**2, 6000, planned_n=6000, level=after.interval_alpha
        )
        assert (after.absolute.ci_low, after.absolute.ci_high) == pytest.approx((float(low), float(high)), rel=1e-12)
        assert after.absolute.p_value == before.absolute.p_value  # the always-valid p-value itself is unchanged
        assert after.absolute.ci_high - after.absolute.ci_low > before.absolute.ci_high - before.absolute.ci_low
        p = after.absolute.adjusted_p_value
        assert (after.absolute.ci_low > 0 or after.absolute.ci_high < 0) == (p < 0.05)


def test_fieller_interval__unbounded_when_the_denominator_is_not_significant():
    # Control mean 0.02 with standard error 0.05: no bounded interval for the ratio, at any sign of the numerator.
    low, high = fieller_interval([0.3, -0.3, 0.0], 0.01, 0.02, 0.05**2, -(0.05**2), Z975)
    assert np.isnan(low).all() and np.isnan(high).all()
    result = analyse("mean", [SufficientStats(400, 4.0, 400.0), SufficientStats(400, 100.0, 425.0)])
    (comp,) = result.comparisons
    assert comp.absolute.ci_low > 0 and math.isnan(comp.relative.ci_low) and math.isnan(comp.relative.ci_high)
    assert [w.variation for w in result.warnings if w.code is WarningCode.RELATIVE_UNBOUNDED] == [1]


def test_bayesian__chance_to_win_and_both_credible_intervals_agree_on_the_same_rows():
    rng = np.random.default_rng(73)
    decided = set()
    for _ in range(300):
        kind = str(rng.choice(KINDS))
        stats = random_variations(rng, kind, 2)
        for prior in (Prior(), Prior(proper=True, mean=0.0, variance=0.05**2)):
            (comp,) = analyse(kind, stats, method="bayesian", prior=prior).comparisons
            abs_out, rel_out, rejects = row_agreement(comp, method="bayesian", alpha=0.05)
            assert abs_out == rejects and rel_out in (None, abs_out)
            decided.add(rejects)
    assert decided == {True, False}


@pytest.mark.parametrize("size", [3, 6, 7, 10, 49])
def test_interval_levels__bh_rejecting_every_comparison_is_exactly_alpha(size):
    """0.05 * 3 / 3 is 0.05000000000000001 in floating point: an interval level above alpha would be looser than
    the test (the property test above found it)."""
    for alpha in (0.01, 0.05, 0.1):
        levels = interval_levels(np.full(size, 1e-9), "bh", alpha)
        assert (levels <= alpha).all() and (levels == alpha).all()
