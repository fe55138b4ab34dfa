from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.flags.conftest import flags  # noqa: F401  (workspace A's environments and flag helpers)
from valueloop.core.permissions import Role
from valueloop.flags import services as flag_services
from valueloop.flags.bootstrap import ensure_environments


@pytest.fixture(autouse=True)
def events_dir(settings, tmp_path):
    """Every test gets its own event store (Parquet files live outside the rolled-back test database)."""
    settings.EVENTS_DIR = tmp_path / "events"
    return settings.EVENTS_DIR


def add_experiment(actor, flag_key: str, tracking_key: str = "", variations: int = 2):
    """A flag with an experiment rule in development; its experiment key is ``tracking_key or flag_key``."""
    flag = flag_services.flag_create(actor=actor, key=flag_key, value_type="string", default_value="a")
    env = {e.key: e for e in ensure_environments(actor.workspace)}["development"]
    flag_services.rule_create(
        actor=actor,
        flag_id=flag.pk,
        environment_id=env.pk,
        kind="experiment",
        variations=[chr(ord("a") + i) for i in range(variations)],
        tracking_key=tracking_key,
    )
    return tracking_key or flag_key


@pytest.fixture
def experiment(world):
    """Workspace A knows the experiment ``checkout-test`` (3 variations)."""
    return add_experiment(world.actor_a, "new-checkout", "checkout-test", variations=3)


@pytest.fixture
def pm(world):
    return world.actor(Role.PRODUCT_MANAGER)


@dataclass
class NotADatabase:
    port: int
    connections: int = 0


@pytest.fixture
def not_a_database() -> Iterator[NotADatabase]:
    """A listener on 127.0.0.1 that answers like a web server, as Valueloop's own port did in the review."""
    state = NotADatabase(port=0)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            state.connections += 1
            self.request.recv(64)
            self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
