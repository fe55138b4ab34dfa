"""facade.ingest: validation of every row (all or nothing), then one Parquet part per kind."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from valueloop.core.errors import Invalid
from valueloop.events import store
from valueloop.events.facade import MetricSpec, experiment_data, ingest

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def exposure(unit="u1", variation=0, key="checkout-test", at=None, **extra):
    return {
        "type": "experiment_viewed",
        "experiment_key": key,
        "variation_id": variation,
        "hash_value": unit,
        "timestamp": iso(at or NOW - dt.timedelta(hours=2)),
        **extra,
    }


def event(unit="u1", name="purchase", value=None, at=None, **extra):
    row = {"type": name, "user_id": unit, "timestamp": iso(at or NOW - dt.timedelta(hours=1)), **extra}
    if value is not None:
        row["value"] = value
    return row


def test_ingest__stores_exposures_and_events(world, experiment):
    ws = world.ws_a.pk
    sdk_extras = {
        "client_key": "sdk-x",
        "sdk": "valueloop-python/0.1.0",
        "variation_key": "1",
        "feature_key": "f",
        "rule_id": "r1",
        "hash_attribute": "id",
    }
    result = ingest(
        ws,
        [exposure("u1", 0, **sdk_extras), exposure("u2", 1), event("u1", value=12.5), event("u2"), event("u2")],
        source="sdk",
    )
    assert (result.exposures, result.events) == (2, 3)
    assert len(store.list_parts(ws, "exposures")) == 1 and len(store.list_parts(ws, "events")) == 1
    data = experiment_data(
        ws,
        experiment,
        variations=3,
        metrics=[MetricSpec("rev", "mean", "purchase", "sum"), MetricSpec("n", "mean", "purchase")],
    )
    assert data.units == (1, 1, 0)
    assert data.metrics["rev"][0].sum_x == 12.5
    assert data.metrics["rev"][1].sum_x == 2.0  # value defaults to 1
    assert data.metrics["n"][1].sum_x == 2.0


def test_ingest__timestamps_with_offsets_are_utc(world, experiment):
    ws = world.ws_a.pk
    ingest(ws, [exposure("u1", 0, at=None) | {"timestamp": "2026-01-05T01:30:00+02:00"}], source="api")
    data = experiment_data(ws, experiment, variations=3, metrics=[])
    assert data.first_exposure == dt.datetime(2026, 1, 4, 23, 30, tzinfo=dt.UTC)
    assert data.days[0].day == dt.date(2026, 1, 4)


def test_ingest__integer_unit_ids_and_user_id_alias(world, experiment):
    ws = world.ws_a.pk
    row = exposure(0)
    del row["hash_value"]
    row["user_id"] = 42
    ingest(ws, [row, event("42")], source="api")
    data = experiment_data(ws, experiment, variations=3, metrics=[MetricSpec("n", "mean", "purchase")])
    assert data.metrics["n"][0].sum_x == 1


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        (exposure() | {"timestamp": "yesterday"}, "timestamp", "ISO 8601"),
        (exposure() | {"timestamp": "2026-01-05T10:00:00"}, "timestamp", "time zone"),
        (exposure() | {"timestamp": 1767225600}, "timestamp", "ISO 8601"),
        (exposure(at=NOW + dt.timedelta(days=3)), "timestamp", "future"),
        (exposure(variation=-1), "variation_id", "between 0"),
        (exposure(variation=True), "variation_id", "integer"),
        (exposure(variation="1"), "variation_id", "integer"),
        (exposure(key="not-an-experiment"), "experiment_key", "not an experiment"),
        (exposure(unit="x" * 257), "hash_value", "at most 256"),
        (exposure(unit=""), "hash_value", "empty"),
        (exposure(unit="a\x00b"), "hash_value", "control characters"),
        (exposure() | {"colour": "red"}, "colour", "Unknown field"),
        (exposure() | {"value": 3}, "value", "Unknown field"),
        (exposure() | {"user_id": "someone-else"}, "user_id", "differs from hash_value"),
        (exposure() | {"sdk": {"name": "x"}}, "sdk", "string"),
        (exposure(unit=4.5), "hash_value", "string"),
        ({k: v for k, v in exposure().items() if k != "experiment_key"}, "experiment_key", "required"),
        (event(value=math.nan), "value", "finite"),
        (event(value=math.inf), "value", "finite"),
        (event(value=True), "value", "number"),
        (event(value="12"), "value", "number"),
        (event(name="x" * 121), "type", "at most 120"),
        (event() | {"experiment_key": "checkout-test"}, "experiment_key", "Unknown field"),
        ({"user_id": "u1", "timestamp": iso(NOW)}, "type", "required"),
        ({"type": "purchase", "timestamp": iso(NOW)}, "user_id", "required"),
    ],
)
def test_ingest__bad_row_named_and_nothing_written(world, experiment, bad, field, words):
    ws = world.ws_a.pk
    with pytest.raises(Invalid) as caught:
        ingest(ws, [exposure("u1"), event("u1"), bad], source="api")
    assert caught.value.fields[f"events[2].{field}"].lower().count(words.lower()) == 1, caught.value.fields
    assert "nothing was stored" in caught.value.message
    assert store.list_parts(ws, "exposures") == [] and store.list_parts(ws, "events") == []


def test_ingest__same_unit_in_user_id_and_hash_value_is_fine(world, experiment):
    result = ingest(world.ws_a.pk, [exposure("u1") | {"user_id": "u1"}], source="api")
    assert result.exposures == 1


def test_ingest__every_bad_row_counted_and_listed(world, experiment):
    rows = [event(value=math.nan) for _ in range(120)] + [event()]
    with pytest.raises(Invalid) as caught:
        ingest(world.ws_a.pk, rows, source="api")
    assert caught.value.message.startswith("120 rows are not valid (the first 50 are listed)")
    assert len(caught.value.fields) == 50 and "events[119].value" not in caught.value.fields


def test_ingest__not_an_object(world):
    with pytest.raises(Invalid) as caught:
        ingest(world.ws_a.pk, ["purchase"], source="api")
    assert "events[0]" in caught.value.fields


def test_ingest__experiment_known_only_in_its_workspace(world, experiment):
    with pytest.raises(Invalid) as caught:
        ingest(world.ws_b.pk, [exposure()], source="api")
    assert "events[0].experiment_key" in caught.value.fields
