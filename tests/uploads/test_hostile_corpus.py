"""Issue 10 item 6: every upload endpoint and page, against a corpus of hostile files: no 5xx, nothing written.

The endpoints come from the routing tables (``discovery.upload_routes``), so a new upload endpoint fails
``test_every_upload_route_is_covered`` until it gets a way to post here. "Nothing written": the row count of
every model (``AuditEvent`` among them) and the event store's Parquet parts are the same after each post.
"""

from __future__ import annotations

import io
import json

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.test import Client

from tests.conftest import token_client
from tests.routes import fill
from valueloop.core.permissions import Role

from .discovery import UploadRoute, upload_routes
from .hostile import build

# How to post a file to each upload route: the file's form field and the other fields a real form sends.
HOW_TO_POST: dict[str, dict] = {
    "customers_import_create": {"field": "file", "data": {"kind": "accounts"}},
    "events_upload_create": {"field": "file", "data": {}},
    "feedback_import_create": {"field": "file", "data": {}},
    "planning_kano_import": {"field": "csv", "data": {}},
    "research_survey_import": {"field": "csv", "data": {"kind": "nps"}},
    "customers:customer_import": {"field": "file", "data": {"step": "upload", "kind": "accounts", "preset": "auto"}},
    "events:upload": {"field": "file", "data": {}},
    "feedback:import": {"field": "file", "data": {"action": "upload", "preset": "generic"}},
    "planning:kano": {"field": "file", "data": {}},
    "research:survey_import": {"field": "file", "data": {}},
}

ROUTES = upload_routes()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, bytes]:
    return build(tmp_path_factory.mktemp("uploads") / "hostile")


def test_every_upload_route_is_covered():
    found = {route.key for route in ROUTES}
    assert found == set(HOW_TO_POST), (
        f"upload routes without a way to post the hostile corpus: {sorted(found - set(HOW_TO_POST))}; "
        f"listed but not found: {sorted(set(HOW_TO_POST) - found)}"
    )
    # the discovery itself finds both kinds, so an empty routing table cannot pass
    assert {route.kind for route in ROUTES} == {"multipart", "json-text", "page"}


def _snapshot() -> dict[str, int]:
    counts = {model._meta.label: model._default_manager.count() for model in apps.get_models()}
    events_dir = django_settings.EVENTS_DIR
    # Event parts (not the lock files that reading the store leaves behind)
    counts["event store parts"] = sum(1 for p in events_dir.rglob("*.parquet") if not p.name.startswith("."))
    return counts


def _post(client: Client, route: UploadRoute, url: str, name: str, data: bytes):
    how = HOW_TO_POST[route.key]
    if route.kind == "json-text":
        # The file's own bytes inside the JSON string (latin-1 maps each byte to one character and back), so a
        # file that is not UTF-8 makes a body that is not UTF-8 either, as a careless client would send it.
        body = json.dumps({how["field"]: data.decode("latin-1"), **how["data"]}, ensure_ascii=False)
        return client.post(url, body.encode("latin-1"), content_type="application/json")
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(url, {how["field"]: handle, **how["data"]})


@pytest.mark.parametrize("route", ROUTES, ids=[route.key for route in ROUTES])
def test_hostile_corpus__no_5xx_and_nothing_written(world, settings, hostile, route):
    # A declared-size limit small enough for a few-KB file to declare past it.
    settings.UPLOAD_LIMITS = {"max_decoded_bytes": 8 * 1024 * 1024}
    if route.kind == "page":
        client = Client()
        client.force_login(world.users[Role.ADMIN])
        url = "/" + fill(route.path, {"ws": world.ws_a.slug})
    else:
        client = token_client(world.actor(Role.ADMIN))
        url = route.path
    before = _snapshot()
    failures = []
    for name, data in hostile.items():
        response = _post(client, route, url, name, data)
        if response.status_code >= 500:
            failures.append(f"{name}: {response.status_code}")
        elif route.kind == "multipart" and not 400 <= response.status_code < 500:
            failures.append(f"{name}: {response.status_code}, expected a refusal (4xx)")
        after = _snapshot()
        changed = {label: (before[label], after[label]) for label in before if before[label] != after[label]}
        if changed:
            failures.append(f"{name}: wrote {changed}")
            before = after
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("route", ROUTES, ids=[route.key for route in ROUTES])
def test_a_limit_is_named__422_on_the_api_and_beside_the_file_field_on_pages(world, route):
    # A header cell longer than every importer's longest string: the header is the first thing every importer reads.
    long_field = b"x" * 200_000 + b",name\nN,N\n"
    if route.kind == "page":
        client = Client()
        client.force_login(world.users[Role.ADMIN])
        response = _post(client, route, "/" + fill(route.path, {"ws": world.ws_a.slug}), "long.csv", long_field)
        assert response.status_code == 400
        assert "max string length" in response.content.decode()
        errors, form = response.context.get("errors") or {}, response.context.get("form")
        assert "file" in errors or (form is not None and "file" in form.errors)  # beside the file field
    else:
        response = _post(token_client(world.actor(Role.ADMIN)), route, route.path, "long.csv", long_field)
        assert response.status_code == 422, response.content[:300]
        body = response.json()
        assert body["code"] == "import_refused" and "max string length" in body["message"]
        assert [error["field"] for error in body["errors"]] == [HOW_TO_POST[route.key]["field"]]
