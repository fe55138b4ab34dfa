"""Results computed from ingested events equal a direct ``engines.stats`` analysis of the same numbers, and the
read-out's warnings (SRM, guardrails, exclusions) say what is wrong in plain words."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from tests.experiments.simulation import T0, send, simulate
from tests.factories import experiment_lab
from valueloop.engines import stats
from valueloop.experiments import selectors, services


def _close(a, b, tol=1e-9):
    if a is None or b is None:
        return a is None and (b is None or not math.isfinite(b))
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def _started(pm, experiment):
    return services.experiment_start(actor=pm, experiment_id=experiment.pk)


def test_results__match_a_direct_stats_analysis_of_the_same_numbers(world, pm, lab):
    experiment, _ = lab
    _started(pm, experiment)
    sim = simulate(experiment.key, units=(700, 650), rates=(0.10, 0.15), seed=3)
    send(world.ws_a, sim)
    experiment, readout = selectors.experiment_results(actor=pm, id=experiment.pk)
    assert readout is not None and readout.units == (700, 650)
    for metric in readout.metrics:
        which = {"primary": "conversion", "secondary": "revenue", "guardrail": "errors"}[metric.definition.role]
        kind = {"conversion": "binomial", "revenue": "mean", "errors": "mean"}[which]
        expected = stats.analyse(kind, sim.stats(which), weights=[0.5, 0.5], lower_is_better=which == "errors")
        assert metric.error is None
        for got, want in zip(metric.variations, expected.variations, strict=True):
            assert got.units == want.n and _close(got.mean, want.mean)
        (effect,) = metric.effects
        want = expected.comparison(1)
        for scale in ("absolute", "relative"):
            mine, theirs = getattr(effect, scale), getattr(want, scale)
            assert _close(mine.estimate, theirs.estimate)
            assert _close(mine.ci_low, theirs.ci_low) and _close(mine.ci_high, theirs.ci_high)
            assert _close(mine.p_value, theirs.p_value)
    primary = readout.primary
    assert primary.definition.name.endswith("checkout conversion")
    # The cumulative series ends at the overall result.
    last = [p for p in readout.series if p.day == max(q.day for q in readout.series)]
    assert len(last) == 1 and _close(last[0].estimate, primary.effects[0].relative.estimate)
    assert readout.series[0].day == T0.date()


def test_results__holm_correction_is_applied_across_metrics(world, pm, lab):
    experiment, _ = lab
    services.experiment_update(actor=pm, experiment_id=experiment.pk, correction="holm")
    _started(pm, experiment)
    sim = simulate(experiment.key, units=(500, 500), rates=(0.10, 0.16), seed=5)
    send(world.ws_a, sim)
    _, readout = selectors.experiment_results(actor=pm, id=experiment.pk)
    expected = stats.analyse_many(
        [("binomial", sim.stats("conversion")), ("mean", sim.stats("revenue")), ("mean", sim.stats("errors"))],
        correction="holm",
        lower_is_better=[False, False, True],
        weights=[0.5, 0.5],
    )
    for metric, want in zip(readout.metrics, expected, strict=True):
        assert _close(metric.effects[0].relative.adjusted_p_value, want.comparisons[0].relative.adjusted_p_value)
        assert metric.effects[0].relative.adjusted_p_value >= metric.effects[0].relative.p_value


def test_results__bayesian_reports_chance_to_win(world, pm, lab):
    experiment, _ = lab
    services.experiment_update(actor=pm, experiment_id=experiment.pk, method="bayesian")
    _started(pm, experiment)
    sim = simulate(experiment.key, units=(800, 800), rates=(0.10, 0.17), seed=8)
    send(world.ws_a, sim)
    _, readout = selectors.experiment_results(actor=pm, id=experiment.pk)
    effect = readout.primary.effects[0]
    want = stats.analyse("binomial", sim.stats("conversion"), method="bayesian", weights=[0.5, 0.5]).comparison(1)
    assert _close(effect.relative.chance_to_win, want.relative.chance_to_win)
    assert effect.relative.p_value is None and effect.verdict == "better"


def test_results__planted_srm_is_reported_in_plain_words(world, pm, lab):
    experiment, _ = lab
    _started(pm, experiment)
    send(world.ws_a, simulate(experiment.key, units=(1000, 850), seed=4))
    _, readout = selectors.experiment_results(actor=pm, id=experiment.pk)
    assert readout.srm is not None and readout.srm.warning
    assert readout.srm.p_value == pytest.approx(stats.srm_check([1000, 850]).p_value)
    assert readout.srm.message == (
        "One page got 8.1% fewer users than the 50/50 split plans; p = 0.00049 < 0.001: "
        "check the assignment before trusting these results."
    )


def test_results__balanced_split_has_no_srm_warning(world, pm, lab):
    experiment, _ = lab
    _started(pm, experiment)
    send(world.ws_a, simulate(experiment.key, units=(500, 505), seed=6))
    _, readout = selectors.experiment_results(actor=pm, id=experiment.pk)
    assert readout.srm is not None and not readout.srm.warning and readout.srm.message == ""


def test_results__guardrail_getting_worse_is_a_warning(world, pm, lab):
    experiment, _ = lab
    _started(pm, experiment)
    send(world.ws_a, simulate(experiment.key, units=(800, 800), error_rates=(0.1, 0.5), seed=7))
    _, readout = selectors.experiment_results(actor=pm, id=experiment.pk)
    (warning,) = readout.guardrail_warnings
    assert warning.startswith("Guardrail “Errors per user” got significantly worse in One page: it went up +")
    assert "lower is better" in warning


def test_results__units_seen_in_two_variations_are_excluded_and_said(world, pm, lab):
    experiment, _ = lab
    _started(pm, experiment)
    sim = simulate(experiment.key, units=(300, 300), seed=9)
    sim.rows.append(dict(sim.rows[0], variation_id=1))  # u0-0 also saw variation 1
    send(world.ws_a, sim)
    _, readout = selectors.experiment_results(actor=pm, id=experiment.pk)
    assert readout.multiple_exposures == 1 and readout.units == (299, 300)
    assert "1 user saw more than one variation and was left out" in readout.notes[0]


def test_results__no_exposures_gives_no_readout(world, pm, lab):
    experiment, _ = lab
    _started(pm, experiment)
    _, readout = selectors.experiment_results(actor=pm, id=experiment.pk)
    assert readout is None


def test_results__too_few_units_say_so_instead_of_failing(world, pm, lab):
    experiment, _ = lab
    _started(pm, experiment)
    send(world.ws_a, simulate(experiment.key, units=(5, 1), seed=2))
    _, readout = selectors.experiment_results(actor=pm, id=experiment.pk)
    assert readout.primary.error.startswith("Not enough users yet")
    assert readout.series == []


@pytest.mark.parametrize("method", ["frequentist", "sequential"])
def test_results__other_workspaces_events_are_not_counted(world, pm, method):
    experiment, _ = experiment_lab(pm, label="gamma", feature=world.feature_a, method=method)
    _started(pm, experiment)
    send(world.ws_a, simulate(experiment.key, units=(100, 100), seed=1))
    # Workspace B has an experiment with the same key and sends many more users.
    experiment_lab(world.actor_b, label="gamma", feature=world.feature_b)
    other, _ = experiment_lab(world.actor_b, label="gamma2", feature=world.feature_b)
    services.experiment_start(actor=world.actor_b, experiment_id=other.pk)
    from valueloop.experiments.models import Experiment

    twin = Experiment.objects.get(workspace=world.ws_b, key="gamma-test")
    services.experiment_start(actor=world.actor_b, experiment_id=twin.pk)
    send(world.ws_b, simulate("gamma-test", units=(900, 900), seed=2, prefix="b"))
    _, readout = selectors.experiment_results(actor=pm, id=experiment.pk)
    assert readout.units == (100, 100)


def test_results__cuped_uses_the_pre_period_and_reports_theta(world, pm, lab):
    experiment, _ = lab
    services.experiment_update(actor=pm, experiment_id=experiment.pk, cuped_days=3)
    _started(pm, experiment)
    sim = simulate(experiment.key, units=(400, 400), rates=(0.3, 0.35), seed=12)
    # Half the users also bought in the three days before their first exposure (the covariate).
    before = [
        dict(row, timestamp=(T0 - dt.timedelta(days=1)).isoformat())
        for row in sim.rows
        if row["type"] == "purchase" and int(row["user_id"].split("-")[1]) % 2 == 0
    ]
    sim.rows.extend(before)
    send(world.ws_a, sim)
    _, readout = selectors.experiment_results(actor=pm, id=experiment.pk)
    for metric in readout.metrics:
        assert metric.error is None, metric.error
    assert readout.primary.cuped_theta is not None and readout.primary.cuped_theta > 0
    assert readout.series, "the cumulative series runs with CUPED too"
