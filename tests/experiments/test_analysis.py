"""Every row of the read-out tells one story: on seeded random experiments of every metric kind, with and without
CUPED, every method and correction and 2-4 variations, a row's intervals exclude zero exactly when its p-value (the
adjusted one under a correction; the chance to win for the Bayesian method) says so, and exactly then is its verdict
not "inconclusive" ("No clear difference" on the page). No database: ``analyse_experiment`` is pure."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from valueloop.engines import stats
from valueloop.engines.tests.random_experiments import KINDS, excludes_zero, random_variations
from valueloop.experiments.analysis import MetricDef, Settings, analyse_experiment

PLANS = [
    ("frequentist", "none"),
    ("frequentist", "holm"),
    ("frequentist", "bh"),
    ("sequential", "none"),
    ("sequential", "holm"),
    ("sequential", "bh"),
    ("bayesian", "none"),
]
ROLES = ("primary", "secondary", "guardrail")


def random_experiment(rng: np.random.Generator, k: int, cuped: bool, days: int = 3):
    """Three metrics (one of each kind, in a random order) for ``k`` variations, as daily cohorts and their totals."""
    kinds = list(rng.permutation(KINDS))
    definitions = [
        MetricDef(f"m{i}", i + 1, f"Metric {i}", ROLES[i], str(kind), lower_is_better=bool(rng.random() < 0.3))
        for i, kind in enumerate(kinds)
    ]
    cohorts = [
        SimpleNamespace(
            day=dt.date(2026, 3, 2) + dt.timedelta(days=d),
            metrics={m.key: random_variations(rng, m.kind, k, cuped=cuped, n_max=900) for m in definitions},
        )
        for d in range(days)
    ]
    totals = {
        m.key: [stats.merge(list(arms)) for arms in zip(*(c.metrics[m.key] for c in cohorts), strict=True)]
        for m in definitions
    }
    data = SimpleNamespace(
        units=[s.n for s in totals["m0"]],
        metrics=totals,
        days=cohorts,
        multiple_exposures=0,
        unknown_variation_exposures=0,
        first_exposure=None,
        last_exposure=None,
    )
    return data, definitions


@pytest.mark.parametrize(("method", "correction"), PLANS)
@pytest.mark.parametrize("cuped", [False, True])
def test_analyse_experiment__interval_p_value_and_verdict_agree_on_every_row(method, correction, cuped):
    rng = np.random.default_rng([PLANS.index((method, correction)), cuped])
    alpha = 0.05
    outcomes: dict[str, set[bool]] = {kind: set() for kind in KINDS}
    for k in itertools.islice(itertools.cycle((2, 3, 4)), 24):
        data, definitions = random_experiment(rng, k, cuped)
        names = tuple(f"V{j}" for j in range(k))
        settings = Settings(names, (1 / k,) * k, method=method, alpha=alpha, correction=correction, cuped=cuped)
        readout = analyse_experiment(data, definitions, settings)
        adjusted = correction != "none"
        assert readout.family_size == (sum(len(m.effects) for m in readout.metrics) if adjusted else 0)
        for metric in readout.metrics:
            assert metric.error is None, metric.error
            for row in metric.effects:
                absolute, relative = row.absolute, row.relative
                abs_out = excludes_zero(absolute.ci_low, absolute.ci_high)
                if method == "bayesian":
                    test_rejects = not alpha / 2 <= absolute.chance_to_win <= 1 - alpha / 2
                    assert relative.chance_to_win == absolute.chance_to_win
                else:
                    p = absolute.adjusted_p_value if adjusted else absolute.p_value
                    assert (absolute.adjusted_p_value is not None) == adjusted
                    assert (
                        relative.p_value == absolute.p_value and relative.adjusted_p_value == absolute.adjusted_p_value
                    )
                    test_rejects = p < alpha
                    assert (row.interval_alpha < alpha) <= adjusted
                assert abs_out == test_rejects == row.significant == (row.verdict != "inconclusive"), row
                if relative.ci_low is not None:
                    assert excludes_zero(relative.ci_low, relative.ci_high) == abs_out, row
                else:
                    assert any("relative interval" in w for w in metric.warnings)
                if row.significant:
                    up = absolute.estimate > 0
                    assert row.verdict == ("better" if up != metric.definition.lower_is_better else "worse")
                outcomes[metric.definition.kind].add(row.significant)
        # The cumulative series ends on the primary metric's overall relative effect, interval included.
        primary = readout.primary
        last = [p for p in readout.series if p.day == data.days[-1].day]
        for point, row in zip(last, primary.effects, strict=True):
            assert (point.estimate, point.ci_low, point.ci_high) == pytest.approx(
                (row.relative.estimate, row.relative.ci_low, row.relative.ci_high), rel=1e-12
            )
    assert all(seen == {True, False} for seen in outcomes.values()), outcomes  # both kinds of rows were checked


@pytest.mark.parametrize(
    ("method", "correction"), [("frequentist", "holm"), ("sequential", "none"), ("bayesian", "none")]
)
def test_plain_summary__says_what_the_rows_say(method, correction):
    """The summary above the results (issue 12: "Streamlined raised approval completion by 9.3 % (2.5 % to 16.1 %),
    and no guardrail got worse; enough evidence to ship") never tells another story than the rows: it names every
    treatment with its row's verdict, a harmed guardrail, and recommends shipping only a better, harmless arm."""
    from valueloop.experiments.analysis import plain_summary

    rng = np.random.default_rng([7, PLANS.index((method, correction))])
    seen = set()
    for k in itertools.islice(itertools.cycle((2, 3)), 30):
        data, definitions = random_experiment(rng, k, cuped=False)
        names = tuple(f"Arm{j}" for j in range(k))
        readout = analyse_experiment(
            data, definitions, Settings(names, (1 / k,) * k, method=method, correction=correction)
        )
        text = plain_summary(readout)
        if readout.srm is not None and readout.srm.warning:  # a broken split: no verdict, only the warning
            assert text == readout.srm.message and "ship" not in text
            seen.add("srm")
            continue
        primary = readout.primary
        metric = primary.definition.name
        harmed = [
            m
            for m in readout.metrics
            if m.definition.role == "guardrail" and any(e.verdict == "worse" for e in m.effects)
        ]
        for row in primary.effects:
            if row.verdict == "better":
                assert f"{row.name} {'raised' if row.absolute.estimate > 0 else 'lowered'} {metric} by" in text, text
            elif row.verdict == "worse":
                assert f"{row.name} made {metric} worse" in text, text
            else:
                assert f"no clear difference in {metric} between {row.name} and Arm0".lower() in text.lower(), text
            seen.add(row.verdict)
        shippable = [r.name for r in primary.effects if r.verdict == "better"] if not harmed else []
        assert ("enough evidence to ship" in text) == bool(shippable), text
        assert (", but guardrail" in text) == bool(harmed), text
    assert {"better", "inconclusive"} <= seen, seen
