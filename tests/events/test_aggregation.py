"""The SQL aggregation (DuckDB over Parquet) against an independent numpy computation on random data."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from valueloop.core.errors import Invalid
from valueloop.events import store
from valueloop.events.facade import MetricSpec, experiment_data

from .reference import T0, assert_matches, expected, random_data

pytestmark = pytest.mark.django_db

KEY = "checkout-test"
METRICS = [
    MetricSpec(key="converted", kind="binomial", event="purchase"),
    MetricSpec(key="revenue", kind="mean", event="purchase", aggregation="sum"),
    MetricSpec(key="views", kind="mean", event="page_view"),
    MetricSpec(
        key="revenue_per_view",
        kind="ratio",
        event="purchase",
        aggregation="sum",
        denominator_event="page_view",
    ),
    MetricSpec(key="signup_72h", kind="binomial", event="signup", window_hours=72),
    MetricSpec(
        key="revenue_48h_cuped", kind="mean", event="purchase", aggregation="sum", window_hours=48, cuped_days=7
    ),
    MetricSpec(key="converted_cuped", kind="binomial", event="purchase", cuped_days=3),
    MetricSpec(
        key="ratio_cuped",
        kind="ratio",
        event="refund",
        aggregation="sum",
        denominator_event="purchase",
        denominator_aggregation="sum",
        window_hours=240,
        cuped_days=5,
    ),
]


def write(workspace_id, data, parts=1):
    """Write the data as ``parts`` parts per kind."""
    for kind, size in (("exposures", len(data.x_key)), ("events", len(data.e_name))):
        bounds = [round(i * size / parts) for i in range(parts + 1)]
        for lo, hi in itertools.pairwise(bounds):
            store.append(workspace_id, kind, data.slice(kind, lo, hi).tables()[kind])


@pytest.mark.parametrize("seed", [1, 2])
def test_experiment_data__matches_numpy(seed):
    data = random_data(seed=seed)
    write(11, data, parts=3)
    result = experiment_data(11, KEY, variations=3, metrics=METRICS)
    want = expected(data, KEY, 3, METRICS)
    assert want.multiple > 0 and want.unknown > 0  # the data exercise both exclusions
    assert sum(result.units) > 1000
    assert_matches(result, want)
    # Totals are the sums of the days.
    for key in result.metrics:
        for v in range(3):
            total = result.days[0].metrics[key][v]
            for day in result.days[1:]:
                total = total + day.metrics[key][v]
            assert total == result.metrics[key][v]


def test_experiment_data__start_end_bound_units_and_events():
    data = random_data(seed=3)
    write(12, data)
    start = (T0 + dt.timedelta(days=4)).replace(tzinfo=dt.UTC)
    end = (T0 + dt.timedelta(days=12, hours=5)).replace(tzinfo=dt.timezone(dt.timedelta(hours=2)))
    result = experiment_data(12, KEY, variations=3, metrics=METRICS, start=start, end=end)
    assert_matches(result, expected(data, KEY, 3, METRICS, start=start, end=end))
    everything = experiment_data(12, KEY, variations=3, metrics=METRICS)
    assert sum(result.units) < sum(everything.units)


def test_experiment_data__fewer_variations_counts_more_unknown():
    data = random_data(seed=4)
    write(13, data)
    result = experiment_data(13, KEY, variations=2, metrics=METRICS[:2])
    assert_matches(result, expected(data, KEY, 2, METRICS[:2]))
    assert (
        result.unknown_variation_exposures
        > experiment_data(13, KEY, variations=3, metrics=[]).unknown_variation_exposures
    )


def test_experiment_data__no_data_is_empty_not_an_error():
    result = experiment_data(14, KEY, variations=2, metrics=METRICS)
    assert result.units == (0, 0)
    assert result.days == ()
    assert result.metrics["revenue"][0].n == 0
    assert result.metrics["revenue_per_view"][1].sum_y == 0
    assert result.first_exposure is None


def test_experiment_data__units_without_events_count_as_zero():
    data = random_data(seed=5)
    data = data.slice("exposures", 0, len(data.x_key))  # exposures only
    write(15, data)
    result = experiment_data(15, KEY, variations=3, metrics=METRICS[:2])
    assert result.metrics["revenue"][0].n == result.units[0] > 0
    assert result.metrics["revenue"][0].sum_x == 0


def test_experiment_data__only_this_workspace(tmp_path):
    data = random_data(seed=6)
    write(16, data)
    assert sum(experiment_data(17, KEY, variations=3, metrics=[]).units) == 0


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (MetricSpec(key="r", kind="ratio", event="purchase"), "metrics[0].denominator_event"),
        (MetricSpec(key="m", kind="median", event="purchase"), "metrics[0].kind"),  # type: ignore[arg-type]
        (MetricSpec(key="m", kind="mean", event="purchase", window_hours=0), "metrics[0].window_hours"),
        (MetricSpec(key="m", kind="mean", event="purchase", cuped_days=-1), "metrics[0].cuped_days"),
        (MetricSpec(key="m", kind="mean", event="", aggregation="sum"), "metrics[0].event"),
        (MetricSpec(key="m", kind="mean", event="x", aggregation="avg"), "metrics[0].aggregation"),  # type: ignore[arg-type]
    ],
)
def test_experiment_data__bad_metric_names_the_field(spec, field):
    with pytest.raises(Invalid) as caught:
        experiment_data(18, KEY, variations=2, metrics=[spec])
    assert field in caught.value.fields


def test_experiment_data__naive_datetimes_refused():
    with pytest.raises(Invalid) as caught:
        experiment_data(18, KEY, variations=2, metrics=[], start=dt.datetime(2026, 1, 1))
    assert "start" in caught.value.fields
