"""The real Python SDK against a live Valueloop server: exposures flushed to /api/v1/events/batch land in the store;
a revoked key makes the SDK drop them quietly (it never raises)."""

from __future__ import annotations

import pytest

from valueloop.events.facade import MetricSpec, experiment_data
from valueloop.flags import services as flag_services
from valueloop.sdk import Client

pytestmark = pytest.mark.django_db(transaction=True)


def test_sdk_exposures_and_tracked_events_land_in_the_store(live_server, flags):
    flag = flags.flag("layout", value_type="string", default_value="classic")
    flags.rule(flag, flags.dev, kind="experiment", variations=["classic", "grid"], tracking_key="layout-test")
    key = flags.dev.sdk_keys.get(revoked_at=None).key
    errors: list[Exception] = []
    client = Client(live_server.url, key, refresh_interval=0, timeout=15, flush_interval=3600, on_error=errors.append)
    try:
        assert client.ready.is_set(), client.last_error
        assigned = {f"user-{i}": client.get_value("layout", {"id": f"user-{i}"}) for i in range(200)}
        for user, value in list(assigned.items())[:50]:
            if value == "grid":
                client.track("signup", {"user_id": user, "value": 2})
        assert client.flush() == 200 + sum(1 for v in list(assigned.values())[:50] if v == "grid")
        assert errors == []
    finally:
        client.close()
    data = experiment_data(
        flags.world.ws_a.pk,
        "layout-test",
        variations=2,
        metrics=[MetricSpec("signups", "mean", "signup", "sum")],
    )
    grid = sum(1 for v in assigned.values() if v == "grid")
    assert data.units == (200 - grid, grid)
    assert data.metrics["signups"][0].sum_x == 0
    assert data.metrics["signups"][1].sum_x == 2 * sum(1 for v in list(assigned.values())[:50] if v == "grid")


def test_sdk_with_a_revoked_key_drops_quietly(live_server, flags):
    flag = flags.flag("layout", value_type="string", default_value="classic")
    flags.rule(flag, flags.dev, kind="experiment", variations=["classic", "grid"])
    key = flags.dev.sdk_keys.get(revoked_at=None).key
    errors: list[Exception] = []
    client = Client(live_server.url, key, refresh_interval=0, timeout=15, flush_interval=3600, on_error=errors.append)
    try:
        client.get_value("layout", {"id": "u1"})
        flag_services.sdk_key_revoke(actor=flags.admin, environment_id=flags.dev.pk)
        assert client.flush() == 0  # no exception into the host application
        assert any("401" in str(e) for e in errors)
    finally:
        client.close()
    assert experiment_data(flags.world.ws_a.pk, "layout", variations=2, metrics=[]).units == (0, 0)
