"""The events pages' forms: bad input (no file, a file over the limit, an unknown format, a bad source setting, a
stale version) is answered with the error beside the field and nothing written; good input saves. One view per
form: the connection test posts to its own URL."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from tests.page_forms import error_beside
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.events import store
from valueloop.events.models import EventSource

from .test_api import CSV


@pytest.fixture
def audit_unchanged():
    """Asserts, at the end of the test, that no write was audited (nothing half-written)."""
    before = AuditEvent.objects.count()
    yield
    assert AuditEvent.objects.count() == before


def client_for(world, role: Role) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


def csv_file(text: str = CSV, name: str = "events.csv") -> io.BytesIO:
    handle = io.BytesIO(text.encode())
    handle.name = name
    return handle


def test_upload_view__bad_input_is_shown_beside_the_field(world, settings, audit_unchanged):
    client = client_for(world, Role.CONTRIBUTOR)
    url = f"/w/{world.ws_a.slug}/events/upload/"
    missing = client.post(url, {})
    assert missing.status_code == 400
    assert error_beside(missing, "events-file") == "Choose a CSV or Parquet file to upload."
    wrong_format = client.post(url, {"file": csv_file(), "format": "xlsx"})
    assert wrong_format.status_code == 400 and "Select a valid choice" in error_beside(wrong_format, "events-format")
    settings.EVENTS_UPLOAD_MAX_BYTES = 64
    too_big = client.post(url, {"file": csv_file()})
    assert too_big.status_code == 400 and "64 bytes" in error_beside(too_big, "events-file")
    assert store.part_count(world.ws_a.pk, "exposures") == 0


def test_upload_view__row_errors_listed_with_their_summary_and_nothing_stored(world, experiment, audit_unchanged):
    response = client_for(world, Role.CONTRIBUTOR).post(
        f"/w/{world.ws_a.slug}/events/upload/", {"file": csv_file(CSV + "purchase,,,u9,tomorrow,1\n")}
    )
    assert response.status_code == 400
    summary = response.context["form"].error_summary
    assert summary["form"].endswith("nothing was stored.") and "rows[5].timestamp" in summary
    assert store.part_count(world.ws_a.pk, "events") == 0


def test_upload_view__a_good_file_is_stored_with_the_chosen_format(world, experiment):
    response = client_for(world, Role.CONTRIBUTOR).post(
        f"/w/{world.ws_a.slug}/events/upload/", {"file": csv_file(name="events.txt"), "format": "csv"}
    )
    assert response.status_code == 302
    assert store.part_count(world.ws_a.pk, "exposures") == 1
    assert AuditEvent.objects.filter(workspace=world.ws_a, entity_type="events", action="uploaded").exists()


WAREHOUSE = {
    "kind": "warehouse",
    "url": "postgresql+psycopg://analyst@warehouse.example/analytics",
    "exposures_table": "analytics.exposures",
    "events_table": "analytics.events",
}


def test_source_view__bad_input_beside_the_field_and_what_was_typed_kept(world, audit_unchanged):
    client = client_for(world, Role.ADMIN)
    url = f"/w/{world.ws_a.slug}/events/source/"
    too_long = client.post(url, {**WAREHOUSE, "url": "postgresql://" + "x" * 600, "col_events_ts": "happened_at"})
    assert too_long.status_code == 400
    assert "at most 500 characters" in error_beside(too_long, "src-url")
    assert 'value="happened_at"' in too_long.content.decode()  # the column typed is kept
    unknown_kind = client.post(url, {**WAREHOUSE, "kind": "s3"})
    assert unknown_kind.status_code == 400 and "Select a valid choice" in unknown_kind.content.decode()
    missing_table = client.post(url, {**WAREHOUSE, "exposures_table": ""})
    assert missing_table.status_code == 400 and error_beside(missing_table, "src-exposures_table")
    assert 'value="analytics.events"' in missing_table.content.decode()
    assert not EventSource.objects.filter(workspace=world.ws_a, kind="warehouse").exists()


def test_source_view__saves_and_refuses_a_stale_version(world):
    client = client_for(world, Role.ADMIN)
    url = f"/w/{world.ws_a.slug}/events/source/"
    assert client.post(url, {**WAREHOUSE, "col_events_ts": "happened_at"}).status_code == 302
    source = EventSource.objects.get(workspace=world.ws_a)
    assert source.kind == "warehouse" and source.columns == {"events": {"ts": "happened_at"}}
    shown = client.get(url).content.decode()
    assert 'value="happened_at"' in shown and f'name="version" value="{source.version}"' in shown
    stale = client.post(url, {"kind": "embedded", "version": source.version + 1})
    assert stale.status_code == 400 and "reload" in stale.content.decode().lower()
    assert EventSource.objects.get(workspace=world.ws_a).kind == "warehouse"
    assert client.post(url, {"kind": "embedded", "version": source.version}).status_code == 302
    assert EventSource.objects.get(workspace=world.ws_a).kind == "embedded"


def test_source_test_view__own_url_admin_only_and_refuses_the_embedded_store(world, audit_unchanged):
    url = f"/w/{world.ws_a.slug}/events/source/test/"
    assert client_for(world, Role.PRODUCT_MANAGER).post(url).status_code == 403
    response = client_for(world, Role.ADMIN).post(url, follow=True)
    assert response.status_code == 200
    assert "no connection to test" in response.content.decode()
    assert client_for(world, Role.ADMIN).get(url).status_code == 405


def test_source_view__another_workspace_is_404(world):
    assert client_for(world, Role.ADMIN).get(f"/w/{world.ws_b.slug}/events/source/").status_code == 404
