"""The Parquet store: atomic parts, compaction (results unchanged, readers never see a half state), isolation."""

from __future__ import annotations

import threading

import pytest

from valueloop.events import services, store
from valueloop.events.facade import MetricSpec, event_names, experiment_data, experiment_exposure_summary, ingest
from valueloop.events.selectors import clear_result_cache

from .reference import random_data
from .test_aggregation import KEY, METRICS, write
from .test_ingest import event, exposure

pytestmark = pytest.mark.django_db


def test_compaction__merges_parts_and_keeps_results_identical():
    data = random_data(seed=21)
    write(31, data, parts=20)
    before = experiment_data(31, KEY, variations=3, metrics=METRICS)
    names_before = event_names(31)
    assert store.part_count(31, "events") == 20
    assert store.compact(31, "events") == 20
    assert store.compact(31, "exposures") == 20
    assert store.part_count(31, "events") == 1 and store.part_count(31, "exposures") == 1
    assert experiment_data(31, KEY, variations=3, metrics=METRICS) == before
    assert event_names(31) == names_before
    assert store.compact(31, "events") == 0  # one part: nothing to merge
    # No temporary files are left behind.
    leftovers = [p.name for p in store.workspace_dir(31).rglob("*.parquet") if not p.name.startswith("part-")]
    assert leftovers == []


def test_compaction__big_parts_are_left_alone():
    data = random_data(seed=22)
    write(32, data, parts=4)
    assert store.compact(32, "events", small_bytes=1) == 0
    assert store.part_count(32, "events") == 4


def test_compaction__readers_see_all_or_nothing_while_it_runs():
    data = random_data(seed=23)
    write(33, data, parts=30)
    want = experiment_data(33, KEY, variations=3, metrics=METRICS[:3])
    seen: list[bool] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read():
        try:
            while not done.is_set():
                clear_result_cache()  # really read the files every time
                seen.append(experiment_data(33, KEY, variations=3, metrics=METRICS[:3]) == want)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for kind in ("events", "exposures"):
            store.compact(33, kind)
    finally:
        done.set()
        reader.join()
    assert errors == []
    assert seen and all(seen)


def test_ingest__queues_compaction_after_64_parts(world, experiment, django_capture_on_commit_callbacks):
    ws = world.ws_a.pk
    for i in range(store.COMPACT_AFTER_PARTS):
        ingest(ws, [event(f"u{i}")], source="api")
    assert store.part_count(ws, "events") == store.COMPACT_AFTER_PARTS
    # The 65th part crosses the threshold; the test task backend runs the queued task at once.
    with django_capture_on_commit_callbacks(execute=True) as queued:
        ingest(ws, [event("u-last"), exposure("u1")], source="api")
    assert len(queued) == 1
    assert store.part_count(ws, "events") == 1
    assert event_names(ws) == [("purchase", store.COMPACT_AFTER_PARTS + 1)]
    assert store.part_count(ws, "exposures") == 1


def test_compaction_task_runs_the_service(world):
    ingest(world.ws_a.pk, [event("u1")], source="api")
    ingest(world.ws_a.pk, [event("u2")], source="api")
    assert services.events_compact(world.ws_a.pk, "events") == 2


def test_workspaces_never_see_each_others_events(world, experiment):
    from tests.events.conftest import add_experiment

    add_experiment(world.actor_b, "new-checkout", "checkout-test")
    ingest(world.ws_a.pk, [exposure("a1", 0), exposure("a2", 1), event("a1", name="purchase-a")], source="api")
    ingest(world.ws_b.pk, [exposure("b1", 2), event("b1", name="purchase-b")], source="api")
    a = experiment_data(
        world.ws_a.pk, "checkout-test", variations=3, metrics=[MetricSpec("p", "binomial", "purchase-a")]
    )
    b = experiment_data(
        world.ws_b.pk, "checkout-test", variations=3, metrics=[MetricSpec("p", "binomial", "purchase-b")]
    )
    assert a.units == (1, 1, 0) and b.units == (0, 0, 1)
    assert [n for n, _ in event_names(world.ws_a.pk)] == ["purchase-a"]
    assert [n for n, _ in event_names(world.ws_b.pk)] == ["purchase-b"]
    assert experiment_exposure_summary(world.ws_b.pk, "checkout-test")["units"] == 1
    assert experiment_exposure_summary(world.ws_a.pk, "checkout-test")["units"] == 2


def test_exposure_summary(world, experiment):
    assert experiment_exposure_summary(world.ws_a.pk, "checkout-test") == {"units": 0, "last_seen": None}
    ingest(world.ws_a.pk, [exposure("a1", 0), exposure("a1", 0), exposure("a2", 1)], source="api")
    summary = experiment_exposure_summary(world.ws_a.pk, "checkout-test")
    assert summary["units"] == 2 and summary["last_seen"].tzinfo is not None


def test_result_cache__a_new_part_is_seen_at_once(world, experiment):
    ingest(world.ws_a.pk, [exposure("a1", 0)], source="api")
    assert experiment_exposure_summary(world.ws_a.pk, "checkout-test")["units"] == 1
    ingest(world.ws_a.pk, [exposure("a2", 1)], source="api")
    assert experiment_exposure_summary(world.ws_a.pk, "checkout-test")["units"] == 2
