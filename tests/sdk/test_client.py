"""The Python SDK: defaults when the server is down or answers nonsense, background refresh against a real
Valueloop server, ETag revalidation, exposures batched to the events endpoint, and GrowthBook's own SDK reading
the same server."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from valueloop.engines.flags import FeatureResult
from valueloop.sdk import Client

EXPERIMENT_PAYLOAD = {
    "features": {
        "layout": {
            "defaultValue": "classic",
            "rules": [
                {
                    "id": "r1",
                    "key": "layout-test",
                    "variations": ["classic", "grid"],
                    "hashVersion": 2,
                    "meta": [{"key": "control"}, {"key": "grid"}],
                }
            ],
        },
        "banner": {"defaultValue": True},
    }
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeServer:
    """A tiny HTTP server with programmable answers; records every request."""

    def __init__(self):
        self.routes: dict[tuple[str, str], tuple[int, dict, bytes]] = {}
        self.requests: list[tuple[str, str, dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, self.path, dict(self.headers), body))
                status, headers, content = outer.routes.get((self.command, self.path), (404, {}, b'{"error": "nope"}'))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def route(self, method, path, status=200, body: object = b"", headers=None):
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.routes[(method, path)] = (status, headers or {}, content)

    def posts(self, path):
        return [json.loads(body) for method, p, _, body in self.requests if method == "POST" and p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Captured(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def sdk_log():
    """The SDK's log lines (pytest's caplog is off in this suite's runs: -p no:logging)."""
    logger = logging.getLogger("valueloop.sdk")
    handler, level = Captured(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def fake():
    server = FakeServer()
    yield server
    server.close()


def test_server_down__defaults_and_no_exception(sdk_log):
    errors = []
    client = Client(
        f"http://127.0.0.1:{closed_port()}",
        "sdk-x",
        timeout=0.5,
        refresh_interval=0,
        track_exposures=False,
        on_error=errors.append,
    )
    try:
        assert client.is_on("banner") is False
        assert client.get_value("banner", {"id": "u"}, default="fallback") == "fallback"
        assert client.evaluate("banner").source == "unknownFeature"
        assert not client.ready.is_set()
        assert "could not reach" in client.last_error and len(errors) == 1
        assert "could not reach" in sdk_log.text
        assert client.refresh() is False
    finally:
        client.close()


def test_server_down__a_bundled_payload_keeps_working(fake):
    client = Client(
        f"http://127.0.0.1:{closed_port()}",
        "sdk-x",
        timeout=0.5,
        refresh_interval=0,
        track_exposures=False,
        payload=EXPERIMENT_PAYLOAD,
    )
    try:
        assert client.is_on("banner") is True and client.ready.is_set()
    finally:
        client.close()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            401,
            {"status": 401, "error": "This SDK key was revoked on 2026-01-01."},
            "answered 401: This SDK key was revoked",
        ),
        (404, {"status": 404, "error": "Unknown SDK key."}, "answered 404: Unknown SDK key"),
        (500, b"<html>oops</html>", "answered 500"),
        (200, b"{not json", "not valid JSON"),
        (200, [1, 2], "not valid JSON"),
        (200, {"features": {}, "encryptedFeatures": "abc.def"}, "encrypted"),
    ],
)
def test_bad_answers__keep_the_last_payload_and_say_why(fake, status, body, expected):
    fake.route("GET", "/api/features/sdk-k", 200, EXPERIMENT_PAYLOAD, {"ETag": '"v1"'})
    errors = []
    client = Client(fake.url, "sdk-k", refresh_interval=0, track_exposures=False, on_error=errors.append)
    try:
        assert client.get_value("layout", {"id": "u1"}) in ("classic", "grid")
        fake.route("GET", "/api/features/sdk-k", status, body)
        assert client.refresh() is False
        assert expected in client.last_error and expected in str(errors[-1])
        assert client.is_on("banner") is True  # the last good payload is still used
    finally:
        client.close()


def test_callbacks_that_raise_do_not_escape(fake):
    def boom(_error):
        raise RuntimeError("callback bug")

    client = Client(fake.url, "sdk-missing", refresh_interval=0, track_exposures=False, on_error=boom)
    try:
        assert client.get_value("anything", default=3) == 3
    finally:
        client.close()


def test_etag_revalidation__304_keeps_the_payload(fake):
    fake.route("GET", "/api/features/sdk-k", 200, EXPERIMENT_PAYLOAD, {"ETag": '"v1"'})
    client = Client(fake.url, "sdk-k", refresh_interval=0, track_exposures=False)
    try:
        fake.route("GET", "/api/features/sdk-k", 304, b"", {"ETag": '"v1"'})
        assert client.refresh() is True
        assert fake.requests[-1][2].get("If-None-Match") == '"v1"'
        assert client.stats["not_modified"] == 1 and client.is_on("banner")
    finally:
        client.close()


def test_exposures__deduplicated_and_posted_in_batches(fake):
    fake.route("GET", "/api/features/sdk-k", 200, EXPERIMENT_PAYLOAD)
    fake.route("POST", "/api/v1/events/batch", 202, {"accepted": True})
    client = Client(fake.url, "sdk-k", refresh_interval=0, flush_interval=3600, batch_size=100)
    try:
        for i in range(250):
            client.get_value("layout", {"id": f"u{i}"})
            client.get_value("layout", {"id": f"u{i}"})  # the same exposure again: not queued twice
        client.get_value("banner", {"id": "u1"})  # not an experiment: no exposure
        assert client.stats["exposures"] == 250
        client.flush()  # the background thread may have sent full batches already
        batches = fake.posts("/api/v1/events/batch")
        assert sum(len(b["events"]) for b in batches) == 250 and client.stats["sent"] == 250
        assert max(len(b["events"]) for b in batches) == 100 and len(batches) >= 3
        event = batches[0]["events"][0]
        assert event["type"] == "experiment_viewed" and event["experiment_key"] == "layout-test"
        assert event["hash_attribute"] == "id" and event["hash_value"] == "u0"
        assert event["variation_key"] in ("control", "grid") and event["client_key"] == "sdk-k"
        headers = next(h for m, _, h, _ in fake.requests if m == "POST")
        assert headers["X-Valueloop-Client-Key"] == "sdk-k"
    finally:
        client.close()


def test_exposures__bounded_queue_and_a_missing_endpoint(fake, sdk_log):
    fake.route("GET", "/api/features/sdk-k", 200, EXPERIMENT_PAYLOAD)  # no events endpoint: 404
    errors = []
    client = Client(
        fake.url,
        "sdk-k",
        refresh_interval=0,
        flush_interval=3600,
        max_queue=10,
        batch_size=1000,
        on_error=errors.append,
    )
    try:
        for i in range(25):
            client.get_value("layout", {"id": f"u{i}"})
        assert client.queued == 10  # the oldest are dropped, and counted
        assert client.stats["exposures"] == 25 and client.stats["dropped"] == 15
        assert client.flush() == 0 and client.queued == 0
        assert errors == []  # a 404 events endpoint is not an error: it is not there yet
        assert "no events endpoint" in sdk_log.text
        client.get_value("layout", {"id": "u-new"})
        client.flush()  # not retried before events_retry_after: no second POST
        assert len([r for r in fake.requests if r[0] == "POST"]) == 1
    finally:
        client.close()


def test_exposures__flushed_by_the_background_thread(fake):
    fake.route("GET", "/api/features/sdk-k", 200, EXPERIMENT_PAYLOAD)
    fake.route("POST", "/api/v1/events/batch", 202, {})
    client = Client(fake.url, "sdk-k", refresh_interval=0, flush_interval=0.1)
    try:
        for i in range(30):
            client.get_value("layout", {"id": f"u{i}"})
        deadline = time.time() + 10
        while client.stats["sent"] < 30 and time.time() < deadline:
            time.sleep(0.05)
        assert client.stats["sent"] == 30
        assert sum(len(b["events"]) for b in fake.posts("/api/v1/events/batch")) == 30
    finally:
        client.close()


def test_exposures__server_errors_are_retried(fake):
    fake.route("GET", "/api/features/sdk-k", 200, EXPERIMENT_PAYLOAD)
    fake.route("POST", "/api/v1/events/batch", 503, b"busy")
    client = Client(fake.url, "sdk-k", refresh_interval=0, flush_interval=3600)
    try:
        client.get_value("layout", {"id": "u1"})
        assert client.flush() == 0 and client.queued == 1
        fake.route("POST", "/api/v1/events/batch", 200, {})
        assert client.flush() == 1 and client.queued == 0
    finally:
        client.close()


def test_never_raises_even_on_internal_bugs(fake, monkeypatch):
    fake.route("GET", "/api/features/sdk-k", 200, EXPERIMENT_PAYLOAD)
    client = Client(fake.url, "sdk-k", refresh_interval=0, track_exposures=False)
    try:

        def broken(*args, **kwargs):
            raise RuntimeError("bug")

        monkeypatch.setattr(client, "_evaluator", type("E", (), {"evaluate": broken})())
        assert client.evaluate("banner") == FeatureResult(None, "unknownFeature")
        assert client.is_on("banner") is False
        assert client.get_value("banner", default=7) == 7
    finally:
        client.close()


# --- against a real Valueloop server -----------------------------------------------------------------------------


def test_background_refresh_picks_up_a_published_change(live_server, flags):
    from valueloop.flags import services

    flag = flags.flag("new-checkout")
    key = flags.dev.sdk_keys.get(revoked_at=None).key
    client = Client(live_server.url, key, refresh_interval=0.2, timeout=15, track_exposures=False)
    try:
        assert client.ready.is_set(), client.last_error
        assert client.is_on("new-checkout", {"id": "u1"}) is False
        services.rule_create(
            actor=flags.pm,
            flag_id=flag.pk,
            environment_id=flags.dev.pk,
            kind="force",
            value=True,
            condition={"country": "DE"},
        )
        deadline = time.time() + 10
        while not client.is_on("new-checkout", {"id": "u1", "country": "DE"}) and time.time() < deadline:
            time.sleep(0.05)
        assert client.is_on("new-checkout", {"id": "u1", "country": "DE"})
        assert not client.is_on("new-checkout", {"id": "u1", "country": "FR"})
        time.sleep(0.5)
        assert client.stats["not_modified"] >= 1  # unchanged payloads are revalidated, not downloaded
        services.sdk_key_revoke(actor=flags.admin, environment_id=flags.dev.pk)
        assert client.refresh() is False and "revoked" in client.last_error
        assert client.is_on("new-checkout", {"id": "u1", "country": "DE"})  # keeps the last good payload
    finally:
        client.close()


def test_growthbooks_python_sdk_reads_a_live_valueloop_server(live_server, flags):
    from growthbook import GrowthBook

    flag = flags.flag("layout", value_type="string", default_value="classic")
    flags.rule(flag, flags.staging, kind="experiment", variations=["classic", "grid"], weights=[0.5, 0.5])
    key = flags.staging.sdk_keys.get(revoked_at=None).key
    ours = Client(live_server.url, key, refresh_interval=0, timeout=15, track_exposures=False)
    gb = GrowthBook(api_host=live_server.url, client_key=key, cache_ttl=0)
    try:
        gb.load_features()
        for i in range(300):
            user = {"id": f"user-{i}"}
            gb.set_attributes(user)
            assert gb.get_feature_value("layout", "fallback") == ours.get_value("layout", user)
    finally:
        ours.close()
        gb.destroy()
