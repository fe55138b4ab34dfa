"""The event data page (counts, upload) and the event source page (admin only)."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from tests.page_forms import error_beside
from valueloop.core.permissions import Role
from valueloop.events import store
from valueloop.events.facade import ingest
from valueloop.events.models import EventSource

from .test_api import CSV
from .test_ingest import event, exposure


def client_for(world, role: Role) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


def url(world, name="overview") -> str:
    return f"/w/{world.ws_a.slug}/events/" + ("" if name == "overview" else f"{name}/")


def test_overview__empty_state_says_what_to_do(world):
    response = client_for(world, Role.STAKEHOLDER).get(url(world))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No exposures yet" in html and "No metric events yet" in html
    assert "Upload events" not in html  # stakeholders cannot send events
    assert "Event source" not in html.split("<h1>")[1].split("</div>")[0]


def test_overview__counts_per_event_and_experiment(world, experiment):
    ingest(
        world.ws_a.pk,
        [exposure("u1"), exposure("u2", 1), event("u1"), event("u1"), event("u2", "signup")],
        source="api",
    )
    html = client_for(world, Role.CONTRIBUTOR).get(url(world)).content.decode()
    assert '<code>checkout-test</code></td><td data-label="Exposures">2</td>' in html
    assert '<code>purchase</code></td><td data-label="Events">2</td><td data-label="Units">1</td>' in html
    assert "Upload events" in html


def test_upload__csv_from_the_page(world, experiment):
    client = client_for(world, Role.CONTRIBUTOR)
    handle = io.BytesIO(CSV.encode())
    handle.name = "events.csv"
    response = client.post(url(world, "upload"), {"file": handle}, follow=True)
    assert response.status_code == 200
    assert "Stored 2 exposures and 1 metric event from events.csv" in response.content.decode()
    assert store.part_count(world.ws_a.pk, "exposures") == 1


def test_upload__errors_listed_by_row_and_nothing_stored(world, experiment):
    client = client_for(world, Role.CONTRIBUTOR)
    handle = io.BytesIO((CSV + "purchase,,,u9,tomorrow,1\n").encode())
    handle.name = "events.csv"
    response = client.post(url(world, "upload"), {"file": handle})
    assert response.status_code == 400
    html = response.content.decode()
    assert "rows[5].timestamp" in html and "nothing was stored" in html
    assert store.part_count(world.ws_a.pk, "events") == 0


def test_upload__stakeholder_forbidden(world):
    handle = io.BytesIO(CSV.encode())
    handle.name = "events.csv"
    assert client_for(world, Role.STAKEHOLDER).post(url(world, "upload"), {"file": handle}).status_code == 403


def test_source__admin_only(world):
    assert client_for(world, Role.PRODUCT_MANAGER).get(url(world, "source")).status_code == 403
    assert client_for(world, Role.ADMIN).get(url(world, "source")).status_code == 200


def test_source__save_warehouse_hides_password_and_keeps_it(world):
    client = client_for(world, Role.ADMIN)
    form = {
        "action": "save",
        "kind": "warehouse",
        "url": "postgresql+psycopg://analyst:s3cret-pw@warehouse.example:5432/analytics",
        "exposures_table": "analytics.exposures",
        "events_table": "analytics.events",
        "col_exposures_unit_id": "user_id",
    }
    response = client.post(url(world, "source"), form, follow=True)
    assert response.status_code == 200, response.content.decode()[:2000]
    html = response.content.decode()
    assert "s3cret-pw" not in html and "analyst:***@warehouse.example" in html
    source = EventSource.objects.get(workspace=world.ws_a)
    assert "s3cret-pw" not in source.url and "s3cret-pw" not in source.password and source.password
    assert source.columns == {"exposures": {"unit_id": "user_id"}}
    # Saving the form again as shown (*** in the URL, empty password) keeps the stored password.
    stored = source.password
    form.update(url="postgresql+psycopg://analyst:***@warehouse.example:5432/analytics", version=str(source.version))
    client.post(url(world, "source"), form)
    source.refresh_from_db()
    assert source.password == stored


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "sqlite:////etc/passwd"}, "src-url"),
        ({"url": "not a url"}, "src-url"),
        ({"url": "postgresql+psycopg://u@169.254.169.254/x"}, "src-url"),
        ({"url": "postgresql+psycopg://u@warehouse.example/x?sslkey=/etc/ssl/private/k.pem"}, "src-url"),
        ({"exposures_table": "x; drop table y"}, "src-exposures_table"),
        ({"col_events_ts": "ts desc"}, "src-col_events_ts"),
    ],
)
def test_source__bad_input_named(world, change, field):
    # The service's error is shown beside the control it names (``columns.events.ts`` is its column's text box).
    form = {
        "action": "save",
        "kind": "warehouse",
        "url": "postgresql+psycopg://analyst@warehouse.example/analytics",
        "exposures_table": "exposures",
        "events_table": "events",
        **change,
    }
    response = client_for(world, Role.ADMIN).post(url(world, "source"), form)
    assert response.status_code == 400
    assert error_beside(response, field)
    assert not EventSource.objects.filter(workspace=world.ws_a, kind="warehouse").exists()


def test_overview__a_failing_warehouse_reads_generically_to_members(world, settings, not_a_database):
    from valueloop.events import services

    settings.OUTBOUND_ALLOW = ["127.0.0.1"]
    services.event_source_update(
        actor=world.actor_a,
        kind="warehouse",
        url=f"postgresql+psycopg://u@127.0.0.1:{not_a_database.port}/x",
        exposures_table="e",
        events_table="v",
    )
    response = client_for(world, Role.STAKEHOLDER).get(url(world))
    assert response.status_code == 200 and not_a_database.connections >= 1
    html = response.content.decode()
    assert "Could not connect to the warehouse; the server log has the details." in html
    assert "SSL" not in html and "HTTP/1.1" not in html
