"""Tests for valueloop.engines.forecasting: Black Swan Farming's example, CD3 optimality, teams and Monte Carlo."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
import time

import numpy as np
import pytest
from scipy import stats

from valueloop.engines.forecasting import (
    ForecastError,
    Strategy,
    Team,
    compare_orders,
    forecast_how_many,
    forecast_when,
    order_items,
    schedule_teams,
    sequence_delay_cost,
    sequence_delay_cost_batch,
    simulate_how_many,
    simulate_when,
)
from valueloop.engines.prioritisation import FixedDate, ShortLifePeakAffected

# Black Swan Farming, "Cost of Delay Divided by Duration": three features, worked in the order they arrived.
BLACK_SWAN = [
    {"id": "A", "cod_per_week": 1000, "duration_weeks": 5},
    {"id": "B", "cod_per_week": 4000, "duration_weeks": 1},
    {"id": "C", "cod_per_week": 5000, "duration_weeks": 2},
]


# --- sequences -------------------------------------------------------------------------------------------------------


def test_black_swan_farming_example():
    comparison = compare_orders(BLACK_SWAN)
    fifo = comparison.costs[Strategy.FIFO]
    # A ends week 5: 1000 x 5 = 5,000; B ends 6: 4000 x 6 = 24,000; C ends 8: 5000 x 8 = 40,000.
    assert fifo.order == ("A", "B", "C")
    assert [s.delay_cost for s in fifo.items] == [5000, 24_000, 40_000]
    assert fifo.total_delay_cost == 69_000
    cd3 = comparison.costs[Strategy.CD3]
    # CD3: B 4000, C 2500, A 200. B ends 1: 4,000; C ends 3: 15,000; A ends 8: 8,000.
    assert cd3.order == ("B", "C", "A")
    assert [(s.start_week, s.end_week) for s in cd3.items] == [(0, 1), (1, 3), (3, 8)]
    assert cd3.total_delay_cost == 27_000
    assert comparison.cd3_saving[Strategy.FIFO] == 42_000
    assert comparison.cd3_saving[Strategy.CURRENT] == 42_000
    # Value only (C, B, A): 5000 x 2 + 4000 x 3 + 1000 x 8 = 30,000.
    assert comparison.costs[Strategy.VALUE].total_delay_cost == 30_000
    assert comparison.cd3_saving[Strategy.VALUE] == 3000
    assert comparison.costs[Strategy.SHORTEST].total_delay_cost == 27_000
    assert comparison.best is Strategy.CD3


@pytest.mark.parametrize("seed", range(40))
def test_cd3_order_is_optimal_for_constant_cost_of_delay(seed):
    rng = random.Random(seed)
    items = [
        {"id": k, "cod_per_week": rng.choice([0, rng.uniform(0, 10_000)]), "duration_weeks": rng.uniform(0.5, 12)}
        for k in range(rng.randint(1, 6))
    ]
    best = min(
        sequence_delay_cost(items, [i["id"] for i in perm]).total_delay_cost
        for perm in itertools.permutations(items)
    )
    cd3_cost = compare_orders(items).costs[Strategy.CD3].total_delay_cost
    assert cd3_cost == pytest.approx(best, rel=1e-12, abs=1e-9)
    assert all(saving >= -1e-9 for saving in compare_orders(items).cd3_saving.values())


def test_sequence_with_explicit_order_and_validation():
    assert sequence_delay_cost(BLACK_SWAN, ["B", "C", "A"]).total_delay_cost == 27_000
    assert sequence_delay_cost(BLACK_SWAN).total_delay_cost == 69_000
    with pytest.raises(ForecastError) as info:
        sequence_delay_cost(BLACK_SWAN, ["B", "C"])
    assert (info.value.field, info.value.item_id) == ("order", "A")
    with pytest.raises(ForecastError, match="unknown item"):
        sequence_delay_cost(BLACK_SWAN, ["B", "C", "A", "Z"])
    with pytest.raises(ForecastError, match="twice"):
        sequence_delay_cost(BLACK_SWAN, ["B", "B", "A"])


def test_batch_sequence_cost_matches():
    rng = np.random.default_rng(2)
    cod, duration = rng.uniform(0, 5000, 500), rng.uniform(0.5, 10, 500)
    items = [{"id": k, "cod_per_week": float(cod[k]), "duration_weeks": float(duration[k])} for k in range(500)]
    order = rng.permutation(500)
    assert sequence_delay_cost_batch(cod, duration, order) == pytest.approx(
        sequence_delay_cost(items, [int(k) for k in order]).total_delay_cost, rel=1e-12
    )
    assert sequence_delay_cost_batch([1000, 4000, 5000], [5, 1, 2]) == 69_000
    with pytest.raises(ForecastError, match="permutation"):
        sequence_delay_cost_batch([1, 2], [1, 1], [0, 0])


def test_fifo_uses_created_then_given_order():
    items = [
        {"id": "late", "cod_per_week": 1, "duration_weeks": 1, "created": dt.date(2024, 3, 1)},
        {"id": "early", "cod_per_week": 1, "duration_weeks": 1, "created": dt.date(2024, 1, 1)},
        {"id": "same-day", "cod_per_week": 1, "duration_weeks": 1, "created": dt.date(2024, 3, 1)},
    ]
    assert order_items(items, "fifo") == ["early", "late", "same-day"]
    assert order_items(items, "current") == ["late", "early", "same-day"]
    items[2]["created"] = None
    with pytest.raises(ForecastError) as info:
        order_items(items, "fifo")
    assert (info.value.field, info.value.item_id) == ("created", "same-day")
    with pytest.raises(ForecastError, match="strategy must be one of"):
        order_items(items, "random")


def test_urgency_profiles_change_the_delay_cost():
    items = [
        {"id": "launch", "cod_per_week": 0, "duration_weeks": 3,
         "profile": FixedDate(deadline_weeks=4, penalty=90_000)},
        {"id": "fad", "cod_per_week": 1000, "duration_weeks": 2, "profile": ShortLifePeakAffected(1000, 10)},
    ]
    # launch first: ends week 3, on time (0); fad ends 5: 1000 x 10 x (1 - (1 - 0.5)^2) = 7,500.
    assert sequence_delay_cost(items, ["launch", "fad"]).total_delay_cost == pytest.approx(7500)
    # fad first: ends 2: 1000 x 10 x (1 - 0.8^2) = 3,600; launch ends 5, a week late: 90,000.
    assert sequence_delay_cost(items, ["fad", "launch"]).total_delay_cost == pytest.approx(93_600)


def test_item_validation():
    with pytest.raises(ForecastError) as info:
        compare_orders([{"id": 42, "cod_per_week": 10, "duration_weeks": 0}])
    assert str(info.value) == "duration_weeks must be > 0 (item 42)"
    with pytest.raises(ForecastError) as info:
        compare_orders([{"id": 1, "cod_per_week": -1, "duration_weeks": 1}])
    assert info.value.field == "cod_per_week"
    with pytest.raises(ForecastError, match="duplicated"):
        compare_orders([BLACK_SWAN[0], BLACK_SWAN[0]])


# --- teams -----------------------------------------------------------------------------------------------------------


def test_one_team_is_the_cd3_sequence():
    schedule = schedule_teams(BLACK_SWAN, ["team"])
    assert [s.item_id for s in schedule.items] == ["B", "C", "A"]
    assert schedule.total_delay_cost == 27_000
    assert schedule.team_finish_weeks == {"team": 8}


def test_two_teams_greedy_by_cd3():
    schedule = schedule_teams(BLACK_SWAN, ["x", "y"])
    # B (CD3 4000) -> x at 0, ends 1; C (2500) -> y at 0, ends 2; A (200) -> x (free at 1), ends 6.
    assert [(s.item_id, s.team, s.start_week, s.end_week) for s in schedule.items] == [
        ("B", "x", 0, 1), ("C", "y", 0, 2), ("A", "x", 1, 6)]
    assert schedule.total_delay_cost == 4000 * 1 + 5000 * 2 + 1000 * 6


def test_team_restrictions_availability_and_capacity():
    items = [dict(item) for item in BLACK_SWAN]
    items[1]["team"] = "y"  # B can only be done by y
    teams = [Team("x"), Team("y", available_from_weeks=1), Team("z", capacity=2)]
    schedule = schedule_teams(items, teams)
    placed = {s.item_id: (s.team, s.start_week, s.end_week) for s in schedule.items}
    assert placed["B"] == ("y", 1, 2)  # waits for y
    assert placed["C"] == ("x", 0, 2)  # x and z both free at 0: the first listed wins
    assert placed["A"] == ("z", 0, 2.5)  # z works twice as fast: 5 / 2
    assert schedule.team_finish_weeks == {"x": 2, "y": 2, "z": 2.5}
    items[0]["team"] = "nope"
    with pytest.raises(ForecastError) as info:
        schedule_teams(items, teams)
    assert (info.value.field, info.value.item_id) == ("team", "A")
    with pytest.raises(ForecastError):
        schedule_teams(BLACK_SWAN, [])
    with pytest.raises(ForecastError, match="capacity"):
        schedule_teams(BLACK_SWAN, [{"team_id": "x", "capacity": 0}])


def test_every_item_is_scheduled_exactly_once():
    rng = random.Random(8)
    items = [
        {"id": k, "cod_per_week": rng.uniform(0, 100), "duration_weeks": rng.uniform(1, 5),
         "team": rng.choice([None, "a", "b", "c"])}
        for k in range(200)
    ]
    schedule = schedule_teams(items, ["a", "b", "c"])
    assert sorted(s.item_id for s in schedule.items) == list(range(200))
    by_team: dict[str, list] = {}
    for s in schedule.items:
        by_team.setdefault(s.team, []).append(s)
    for team_items in by_team.values():  # no overlap on a team
        spans = sorted((s.start_week, s.end_week) for s in team_items)
        assert all(a_end <= b_start + 1e-9 for (_, a_end), (b_start, _) in itertools.pairwise(spans))


# --- Monte Carlo -----------------------------------------------------------------------------------------------------


def test_constant_throughput_is_deterministic():
    when = forecast_when([5, 5, 5, 5], 500, trials=2000, seed=1)
    assert when.weeks == {50: 100, 85: 100, 95: 100}
    assert when.histogram.edges == (100, 101) and when.histogram.counts == (2000,)
    assert forecast_when([5], 7, seed=1).weeks[95] == 2  # 5 then 10 >= 7
    how_many = forecast_how_many([5, 5], 12, seed=1)
    assert how_many.items == {50: 60, 85: 60, 95: 60}
    assert forecast_when([3], 0, seed=1).weeks == {50: 0, 85: 0, 95: 0}


def _exact_when_cdf_two_values(items: int, weeks: np.ndarray) -> np.ndarray:
    # History [1, 3]: S_w = w + 2 B with B ~ Binomial(w, 1/2); done within w weeks iff S_w >= items.
    need = np.ceil((items - weeks) / 2)
    return np.where(need <= 0, 1.0, stats.binom.sf(need - 1, weeks, 0.5))


def test_when_distribution_matches_exact_binomial():
    items, trials = 40, 20_000
    samples = simulate_when([1, 3], items, trials=trials, seed=7)
    weeks = np.arange(0, items + 2)
    simulated_cdf = np.array([(samples <= w).mean() for w in weeks])
    exact_cdf = _exact_when_cdf_two_values(items, weeks)
    # Dvoretzky-Kiefer-Wolfowitz: P(sup |F_n - F| > 0.02) <= 2 exp(-2 n 0.02^2) ~ 2e-7 for n = 20,000.
    assert np.abs(simulated_cdf - exact_cdf).max() < 0.02
    forecast = forecast_when([1, 3], items, trials=trials, seed=7)
    for p, w in forecast.weeks.items():
        exact_quantile = int(weeks[np.argmax(exact_cdf >= p / 100)])
        assert abs(w - exact_quantile) <= 1


def test_how_many_distribution_matches_exact_convolution():
    history, horizon, trials = [0, 2, 5, 5], 10, 20_000
    # Exact pmf of the sum of 10 draws: convolve the one-week pmf with itself 10 times.
    week_pmf = np.zeros(6)
    for v in history:
        week_pmf[v] += 1 / len(history)
    pmf = np.array([1.0])
    for _ in range(horizon):
        pmf = np.convolve(pmf, week_pmf)
    exact_cdf = np.cumsum(pmf)
    samples = simulate_how_many(history, horizon, trials=trials, seed=3)
    simulated_cdf = np.array([(samples <= k).mean() for k in range(pmf.size)])
    assert np.abs(simulated_cdf - exact_cdf).max() < 0.02
    assert samples.mean() == pytest.approx(np.dot(np.arange(pmf.size), pmf), rel=0.02)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confidence_levels_are_the_documented_order_statistics(seed):
    history = [0, 1, 1, 2, 3, 3, 4, 8]
    when = forecast_when(history, 60, trials=3001, seed=seed)
    samples = simulate_when(history, 60, trials=3001, seed=seed)
    for p, w in when.weeks.items():
        assert (samples <= w).mean() >= p / 100 > (samples <= w - 1).mean()
    how_many = forecast_how_many(history, 13, trials=3001, seed=seed)
    totals = simulate_how_many(history, 13, trials=3001, seed=seed)
    for p, m in how_many.items.items():
        assert (totals >= m).mean() >= p / 100 > (totals >= m + 1).mean()
    # Higher confidence: more weeks, fewer items. The 85% "how many" is a low (15th) percentile.
    assert when.weeks[50] <= when.weeks[85] <= when.weeks[95]
    assert how_many.items[50] >= how_many.items[85] >= how_many.items[95]
    assert how_many.items[85] <= np.percentile(totals, 50)


def test_histograms_cover_every_trial():
    when = forecast_when([0, 1, 2, 7], 300, trials=5000, seed=4, max_bins=10)
    assert sum(when.histogram.counts) == 5000
    assert len(when.histogram.edges) == len(when.histogram.counts) + 1 <= 11
    samples = simulate_when([0, 1, 2, 7], 300, trials=5000, seed=4)
    assert when.histogram.edges[0] == samples.min() and when.histogram.edges[-1] > samples.max()


def test_seed_makes_results_reproducible():
    a = simulate_when([2, 4, 0, 6], 120, seed=123)
    b = simulate_when([2, 4, 0, 6], 120, seed=123)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, simulate_when([2, 4, 0, 6], 120, seed=124))
    assert forecast_how_many([2, 4, 0, 6], 8, seed=5) == forecast_how_many([2, 4, 0, 6], 8, seed=5)
    from_generator = simulate_when([1, 2], 10, seed=np.random.default_rng(9))
    assert np.array_equal(from_generator, simulate_when([1, 2], 10, seed=np.random.default_rng(9)))


def test_how_many_by_date_counts_whole_weeks():
    start = dt.date(2025, 1, 1)
    forecast = forecast_how_many([3], start=start, until=start + dt.timedelta(days=20), seed=1)
    assert forecast.weeks == 2 and forecast.items[50] == 6
    with pytest.raises(ForecastError, match="before start"):
        forecast_how_many([3], start=start, until=start - dt.timedelta(days=1))
    with pytest.raises(ForecastError, match="either weeks or until"):
        forecast_how_many([3], 4, until=start)


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([], "history is empty"),
        ([0, 0, 0], "every week in the throughput history is 0"),
        ([3, -1, 2], r"throughput_history\[1\] must be >= 0"),
        ([3, 1.5], "whole number"),
        ([3, True], "must be a number"),
        ([3, float("nan")], "finite"),
        ("123", "list of weekly counts"),
    ],
)
def test_history_validation(history, message):
    with pytest.raises(ForecastError, match=message) as info:
        forecast_when(history, 10)
    assert info.value.field in ("throughput_history", "throughput_history[1]")


def test_argument_validation():
    with pytest.raises(ForecastError):
        forecast_when([1], -1)
    with pytest.raises(ForecastError):
        forecast_when([1], 5, trials=0)
    with pytest.raises(ForecastError):
        forecast_when([1], 5, confidences=[0])
    with pytest.raises(ForecastError, match="more than 50 weeks"):
        forecast_when([0, 0, 0, 1], 100, max_weeks=50, seed=1)
    with pytest.raises(ForecastError):
        forecast_how_many([1], 3, seed=-1)


def test_ten_thousand_trials_for_500_items_is_fast():
    history = [3, 5, 0, 7, 4, 6, 2, 5, 1, 8]
    start = time.perf_counter()
    forecast = forecast_when(history, 500, trials=10_000, seed=42)
    elapsed = time.perf_counter() - start
    assert forecast.trials == 10_000
    assert math.isclose(forecast.mean_weeks, 500 / np.mean(history), rel_tol=0.05)
    assert elapsed < 1.0, f"took {elapsed:.3f}s"
