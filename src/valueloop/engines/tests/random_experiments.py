"""Random experiments for the agreement tests of ``engines.stats`` and of the app's read-out.

``random_variations`` draws per-unit data of one metric kind for ``k`` variations (variation 0 is the control) with
effects spread around the detection threshold (-4 to 4 standard errors), so that significant and inconclusive rows
both occur, and optionally a pre-period covariate correlated with the metric (CUPED). ``centred`` puts the metric's
mean near 0, where the relative effect's Fieller interval is unbounded. ``row_agreement`` reads one comparison the
way the page does: whether each interval excludes 0, and the decision of the test behind them.
"""

from __future__ import annotations

import math

import numpy as np

from valueloop.engines.stats import Comparison, MetricType, SufficientStats, sufficient_stats

KINDS = ("binomial", "mean", "ratio")


def random_variations(
    rng: np.random.Generator, kind: str, k: int, *, cuped: bool = False, centred: bool = False, n_max: int = 2500
) -> list[SufficientStats]:
    n = rng.integers(40, n_max, size=k)
    variation = np.repeat(np.arange(k), n)
    total = int(n.sum())
    covariate = rng.normal(0.0, 1.0, total)
    z = np.r_[0.0, rng.uniform(-4.0, 4.0, k - 1)]  # each treatment's effect, in standard errors of a difference
    per_arm = math.sqrt(2.0 / float(n.mean()))
    y = None
    if kind == MetricType.BINOMIAL:
        base = rng.uniform(0.05, 0.6)
        shift = z * math.sqrt(base * (1 - base)) * per_arm
        probability = np.clip(base + shift[variation] + 0.08 * covariate, 0.001, 0.999)
        x = (rng.random(total) < probability).astype(float)
    elif kind == MetricType.MEAN:
        mu = rng.normal(0.0, 0.05) if centred else rng.uniform(2.0, 20.0)
        x = mu + z[variation] * 1.2 * per_arm + 0.7 * covariate + rng.normal(0.0, 1.0, total)
    else:
        y = 1.0 + rng.poisson(rng.uniform(0.5, 3.0), total)
        rate = rng.normal(0.0, 0.05) if centred else rng.uniform(1.0, 10.0)
        x = y * (rate + z[variation] * per_arm + 0.5 * covariate + rng.normal(0.0, 1.0, total))
    return sufficient_stats(variation, x, y=y, c=covariate if cuped else None, n_variations=k)


def excludes_zero(low: float, high: float) -> bool:
    return low > 0 or high < 0


def row_agreement(comparison: Comparison, *, method: str, alpha: float) -> tuple[bool, bool | None, bool]:
    """(absolute interval excludes 0, relative interval excludes 0 or None when it is unbounded, the test rejects).

    The test rejects when the p-value (the adjusted one under a correction) is below alpha, or, for the Bayesian
    method, when the chance to win is outside ``[alpha/2, 1 - alpha/2]``.
    """
    absolute, relative = comparison.absolute, comparison.relative
    abs_out = excludes_zero(absolute.ci_low, absolute.ci_high)
    rel_out = None if math.isnan(relative.ci_low) else excludes_zero(relative.ci_low, relative.ci_high)
    if method == "bayesian":
        win = absolute.chance_to_win
        assert win is not None and relative.chance_to_win == win
        rejects = win > 1 - alpha / 2 or win < alpha / 2
    else:
        assert relative.p_value == absolute.p_value and relative.adjusted_p_value == absolute.adjusted_p_value
        p = absolute.adjusted_p_value if absolute.adjusted_p_value is not None else absolute.p_value
        rejects = p < alpha
    return abs_out, rel_out, rejects
