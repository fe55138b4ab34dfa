"""The OpenFeature provider (openfeature-sdk 0.10): values, reasons, variants and error codes."""

from __future__ import annotations

import socket
from datetime import datetime

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason
from openfeature.track import TrackingEventDetails

from valueloop.sdk import Client
from valueloop.sdk.openfeature import ValueloopProvider

PAYLOAD = {
    "features": {
        "checkout": {"defaultValue": False, "rules": [{"id": "de", "condition": {"country": "DE"}, "force": True}]},
        "layout": {
            "defaultValue": "classic",
            "rules": [
                {
                    "id": "exp",
                    "key": "layout-test",
                    "variations": ["classic", "grid"],
                    "hashVersion": 2,
                    "meta": [{"key": "control"}, {"key": "grid"}],
                }
            ],
        },
        "limit": {"defaultValue": 10, "rules": [{"condition": {"plan": "pro"}, "force": 25.0}]},
        "ratio": {"defaultValue": 0.5},
        "config": {"defaultValue": {"theme": "dark", "items": [1, 2]}},
        "since": {"defaultValue": False, "rules": [{"condition": {"signup": {"$lt": "2026-01-01"}}, "force": True}]},
        "killed-gate": {
            "defaultValue": False,
            "rules": [
                {"parentConditions": [{"id": "checkout", "condition": {"value": True}, "gate": True}]},
                {"force": True},
            ],
        },
    }
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def provider():
    client = Client(
        f"http://127.0.0.1:{closed_port()}",
        "sdk-x",
        timeout=0.2,
        refresh_interval=0,
        track_exposures=False,
        payload=PAYLOAD,
    )
    provider = ValueloopProvider(client, owns_client=True)
    yield provider
    provider.shutdown()


def ctx(key=None, **attributes):
    return EvaluationContext(targeting_key=key, attributes=attributes)


def test_boolean__targeting_match_and_default(provider):
    hit = provider.resolve_boolean_details("checkout", False, ctx("u1", country="DE"))
    assert (hit.value, hit.reason, hit.variant, hit.error_code) == (True, Reason.TARGETING_MATCH, "de", None)
    assert hit.flag_metadata == {"source": "force", "ruleId": "de"}
    miss = provider.resolve_boolean_details("checkout", True, ctx("u1", country="FR"))
    assert (miss.value, miss.reason, miss.variant) == (False, Reason.DEFAULT, "default")


def test_string__experiment_is_a_split_with_the_variation_key(provider):
    seen = set()
    for i in range(200):
        details = provider.resolve_string_details("layout", "x", ctx(f"user-{i}"))
        assert details.reason == Reason.SPLIT and details.error_code is None
        assert details.variant == {"classic": "control", "grid": "grid"}[details.value]
        assert details.flag_metadata["experimentKey"] == "layout-test"
        seen.add(details.value)
    assert seen == {"classic", "grid"}
    # no targeting key: nobody to bucket, so the default value
    assert provider.resolve_string_details("layout", "x", ctx()).reason == Reason.DEFAULT


def test_numbers_and_objects(provider):
    assert provider.resolve_integer_details("limit", 0, ctx("u", plan="pro")).value == 25  # 25.0 is an integer
    assert type(provider.resolve_integer_details("limit", 0, ctx("u", plan="pro")).value) is int
    assert provider.resolve_float_details("limit", 0.0, ctx("u")).value == 10.0
    assert provider.resolve_float_details("ratio", 0.0, ctx("u")).value == 0.5
    mismatch = provider.resolve_integer_details("ratio", 7, ctx("u"))
    assert (mismatch.value, mismatch.error_code, mismatch.reason) == (7, ErrorCode.TYPE_MISMATCH, Reason.ERROR)
    assert provider.resolve_object_details("config", {}, ctx("u")).value == {"theme": "dark", "items": [1, 2]}
    wrong = provider.resolve_boolean_details("layout", False, ctx("u"))
    assert wrong.error_code == ErrorCode.TYPE_MISMATCH and wrong.value is False


def test_unknown_flags_datetimes_and_prerequisites(provider):
    missing = provider.resolve_boolean_details("nope", True, ctx("u"))
    assert (missing.value, missing.error_code, missing.reason) == (True, ErrorCode.FLAG_NOT_FOUND, Reason.ERROR)
    old = provider.resolve_boolean_details("since", False, ctx("u", signup=datetime(2025, 3, 1)))
    assert old.value is True  # datetimes reach conditions as ISO strings
    gated = provider.resolve_boolean_details("killed-gate", True, ctx("u", country="FR"))
    assert gated.reason == Reason.DISABLED and gated.value is True  # the prerequisite blocks: caller's default


def test_not_ready_when_no_payload_could_be_loaded():
    client = Client(
        f"http://127.0.0.1:{closed_port()}", "sdk-x", timeout=0.2, refresh_interval=0, track_exposures=False
    )
    provider = ValueloopProvider(client, owns_client=True)
    try:
        details = provider.resolve_boolean_details("checkout", True, ctx("u"))
        assert (details.value, details.error_code) == (True, ErrorCode.PROVIDER_NOT_READY)
        assert "could not reach" in details.error_message
    finally:
        provider.shutdown()


def test_through_the_openfeature_api_and_tracking(provider):
    api.set_provider(provider)
    try:
        client = api.get_client()
        assert client.get_boolean_value("checkout", False, ctx("u1", country="DE")) is True
        details = client.get_string_details("layout", "x", ctx("user-1"))
        assert details.reason == Reason.SPLIT and details.variant in ("control", "grid")
        assert client.get_integer_value("nope", 3, ctx("u")) == 3
        client.track("checkout_completed", ctx("u1"), TrackingEventDetails(value=99.5, attributes={"currency": "EUR"}))
        event = provider.client._event(provider.client._queue[-1])
        assert event["type"] == "track" and event["name"] == "checkout_completed" and event["value"] == 99.5
        assert event["attributes"] == {"id": "u1"} and event["details"] == {"currency": "EUR"}
        assert provider.get_metadata().name == "Valueloop"
    finally:
        api.clear_providers()
