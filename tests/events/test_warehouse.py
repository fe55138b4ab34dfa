"""The aggregation on PostgreSQL through SQLAlchemy equals the embedded DuckDB result and numpy, exactly.

Runs against the real server at ``postgresql+psycopg://postgres@127.0.0.1:5432/test`` (trust auth; the database
exists here and on CI) in a uniquely named schema that is dropped afterwards. Skipped, saying why, when the server
is unreachable and ``CI`` is unset; fails when ``CI`` is set.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket

import pytest

from valueloop.core.errors import Invalid
from valueloop.events import services, store
from valueloop.events.facade import event_names, experiment_data, experiment_exposure_summary

from .reference import EPOCH, T0, assert_matches, expected, random_data
from .test_aggregation import KEY, METRICS

PG_URL = os.environ.get("VALUELOOP_TEST_WAREHOUSE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_schema(settings):
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)
    # The test server is on loopback: the operator's allow list names it, as on an install whose warehouse is local.
    settings.OUTBOUND_ALLOW = [url.host]
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = psycopg.connect(dsn, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_URL} is required on CI: {exc}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL} (set CI to make this a failure): {exc}")
    schema = f"vl_events_test_{secrets.token_hex(4)}"
    connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield connection, schema
    finally:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        connection.close()


def load(connection, schema, data) -> None:
    """Our random data in tables with the team's own column names (and both timestamp types)."""
    connection.execute(
        f'CREATE TABLE "{schema}".assignments (exp text, arm integer, user_ref text, seen_at timestamptz)'
    )
    connection.execute(
        f'CREATE TABLE "{schema}".tracks (name text, user_ref text, amount double precision, occurred_at timestamp)'
    )

    def moment(us):
        return EPOCH + dt.timedelta(microseconds=int(us))

    with connection.cursor() as cursor:
        with cursor.copy(f'COPY "{schema}".assignments FROM STDIN') as copy:
            for key, arm, unit, ts in zip(data.x_key, data.x_var, data.x_unit, data.x_ts, strict=True):
                copy.write_row((key, int(arm), unit, moment(ts).replace(tzinfo=dt.UTC)))
        with cursor.copy(f'COPY "{schema}".tracks FROM STDIN') as copy:
            for name, unit, value, ts in zip(data.e_name, data.e_unit, data.e_value, data.e_ts, strict=True):
                copy.write_row((name, unit, float(value), moment(ts)))


COLUMNS = {
    "exposures": {"experiment_key": "exp", "variation": "arm", "unit_id": "user_ref", "ts": "seen_at"},
    "events": {"event": "name", "unit_id": "user_ref", "value": "amount", "ts": "occurred_at"},
}


def configure(world, schema, url=PG_URL):
    return services.event_source_update(
        actor=world.actor_a,
        kind="warehouse",
        url=url,
        exposures_table=f"{schema}.assignments",
        events_table=f"{schema}.tracks",
        columns=COLUMNS,
    )


def test_postgres_equals_duckdb_equals_numpy(world, pg_schema):
    connection, schema = pg_schema
    data = random_data(seed=41)
    load(connection, schema, data)
    for kind, table in data.tables().items():  # the same rows in workspace B's embedded store
        store.append(world.ws_b.pk, kind, table)
    configure(world, schema)
    for start, end in [
        (None, None),
        ((T0 + dt.timedelta(days=3)).replace(tzinfo=dt.UTC), (T0 + dt.timedelta(days=15)).replace(tzinfo=dt.UTC)),
    ]:
        warehouse = experiment_data(world.ws_a.pk, KEY, variations=3, metrics=METRICS, start=start, end=end)
        embedded = experiment_data(world.ws_b.pk, KEY, variations=3, metrics=METRICS, start=start, end=end)
        assert warehouse == embedded
        assert_matches(warehouse, expected(data, KEY, 3, METRICS, start=start, end=end))
        assert sum(warehouse.units) > 500 and warehouse.multiple_exposures > 0
    assert event_names(world.ws_a.pk) == event_names(world.ws_b.pk)
    assert experiment_exposure_summary(world.ws_a.pk, KEY) == experiment_exposure_summary(world.ws_b.pk, KEY)
    # Nothing was written to workspace A's embedded store: its analysis ran on PostgreSQL.
    assert store.list_parts(world.ws_a.pk, "exposures") == []


def test_test_connection_counts_rows_and_reports_failures(world, pg_schema):
    connection, schema = pg_schema
    load(connection, schema, random_data(seed=42, units=50))
    configure(world, schema)
    source = services.event_source_test(actor=world.actor_a)
    assert source.last_test_ok is True and "Connected" in source.last_test_message
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    configure(world, schema, url=f"postgresql+psycopg://postgres@127.0.0.1:{closed}/test")
    source = services.event_source_test(actor=world.actor_a)
    assert source.last_test_ok is False and source.last_test_message.startswith("Failed:")


def test_event_source_test__reaches_a_real_server_by_name_at_the_checked_address(world, pg_schema, settings):
    import ipaddress

    from sqlalchemy.engine import make_url

    connection, schema = pg_schema
    load(connection, schema, random_data(seed=43, units=20))
    url = make_url(PG_URL)
    try:
        ipaddress.ip_address(url.host)
    except ValueError:
        pytest.skip("VALUELOOP_TEST_WAREHOUSE_URL names a host; this test maps a name to an address")
    settings.OUTBOUND_RESOLVER = {
        "BACKEND": "valueloop.core.outbound.StaticResolver",
        "OPTIONS": {"hosts": {"warehouse-pg.example": [url.host]}},
    }
    configure(world, schema, url=url.set(host="warehouse-pg.example").render_as_string(hide_password=False))
    source = services.event_source_test(actor=world.actor_a)
    assert source.last_test_ok is True, source.last_test_message


def test_missing_table_is_a_clear_error(world, pg_schema):
    _, schema = pg_schema
    configure(world, schema)  # tables not created
    source = services.event_source_test(actor=world.actor_a)
    assert source.last_test_ok is False and "assignments" in source.last_test_message


def test_only_admins_configure_the_source(world):
    from valueloop.core.errors import PermissionDenied
    from valueloop.core.permissions import Role

    with pytest.raises(PermissionDenied):
        services.event_source_update(actor=world.actor(Role.PRODUCT_MANAGER), kind="embedded")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////tmp/x.sqlite3",
        "duckdb:///tmp/x.duckdb",
        "postgresql+psycopg:///only-a-socket",
        "http://example.com",
    ],
)
def test_file_databases_and_hostless_urls_are_refused(world, url):
    with pytest.raises(Invalid) as caught:
        services.event_source_update(
            actor=world.actor_a, kind="warehouse", url=url, exposures_table="e", events_table="v"
        )
    assert "url" in caught.value.fields


def save(world, url):
    return services.event_source_update(
        actor=world.actor_a, kind="warehouse", url=url, exposures_table="e", events_table="v"
    )


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8000",
        "169.254.169.254",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "2130706433",
        "0x7f000001",
        "localhost",
        "sneaky.example",  # resolves to 127.0.0.1
        "10.0.0.5",
        "0.0.0.0",
    ],
)
def test_event_source_update__refuses_hosts_the_outbound_guard_refuses(world, settings, host):
    from valueloop.events.models import EventSource

    settings.OUTBOUND_RESOLVER = {
        "BACKEND": "valueloop.core.outbound.StaticResolver",
        "OPTIONS": {"hosts": {"sneaky.example": ["127.0.0.1"], "localhost": ["127.0.0.1", "::1"]}},
    }
    with pytest.raises(Invalid) as caught:
        save(world, f"postgresql+psycopg://u@{host}/x")
    assert caught.value.code == "outbound_refused" and "url" in caught.value.fields
    assert not EventSource.objects.filter(workspace=world.ws_a).exists()


@pytest.mark.parametrize(
    "query, named",
    [
        ("host=/tmp", "host"),
        ("hostaddr=127.0.0.1", "hostaddr"),
        ("passfile=/etc/passwd", "passfile"),
        ("sslkey=/etc/ssl/private/server.key", "sslkey"),
        ("sslcert=/etc/passwd", "sslcert"),
        ("sslrootcert=/etc/passwd", "sslrootcert"),
        ("options=-c%20log_connections=on", "options"),
        ("service=prod", "service"),
        ("port=22", "port"),
        ("sslmode=yes", "sslmode"),
        ("connect_timeout=3600", "connect_timeout"),
        ("sslmode=require&sslmode=disable", "sslmode"),
    ],
)
def test_event_source_update__refuses_url_options_outside_the_list_by_name(world, query, named):
    with pytest.raises(Invalid) as caught:
        save(world, f"postgresql+psycopg://u@warehouse.example/x?{query}")
    assert f"{named}" in caught.value.message and "url" in caught.value.fields


def test_event_source_update__keeps_the_documented_url_options(world):
    query = "sslmode=verify-full&sslrootcert=system&channel_binding=require&connect_timeout=5&application_name=vl"
    source = save(world, f"postgresql+psycopg://u:pw@warehouse.example/x?{query}")
    from urllib.parse import parse_qsl

    from sqlalchemy.engine import make_url

    assert dict(make_url(source.url).query) == dict(parse_qsl(query)) and "pw" not in source.url


def test_event_source_update__only_dialects_the_guard_can_pin(world):
    with pytest.raises(Invalid) as caught:
        save(world, "mysql+pymysql://u@warehouse.example/x")
    assert "'mysql' is not a supported warehouse" in caught.value.message


def test_event_source_test__answers_generically_and_logs_what_the_server_said(world, settings, not_a_database, caplog):
    settings.OUTBOUND_ALLOW = ["127.0.0.1"]  # the operator lets workspaces reach this machine
    settings.OUTBOUND_RESOLVER = {
        "BACKEND": "valueloop.core.outbound.StaticResolver",
        "OPTIONS": {"hosts": {"pg.example": ["127.0.0.1"]}},
    }
    save(world, f"postgresql+psycopg://u@pg.example:{not_a_database.port}/x")
    source = services.event_source_test(actor=world.actor_a)
    generic = "Failed: Could not connect to the warehouse; the server log has the details."
    assert (source.last_test_ok, source.last_test_message) == (False, generic)
    # libpq dialled the address the guard checked: the system resolver knows no pg.example.
    assert not_a_database.connections >= 1
    assert "could not connect" in caplog.text and "pg.example" not in source.last_test_message
    # A closed port reads the same: open and closed ports are not told apart.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    save(world, f"postgresql+psycopg://u@pg.example:{closed}/x")
    assert services.event_source_test(actor=world.actor_a).last_test_message == generic


def test_event_source_test__a_saved_url_is_checked_again_when_connecting(world, settings, not_a_database):
    settings.OUTBOUND_ALLOW = ["127.0.0.1"]
    save(world, f"postgresql+psycopg://u@127.0.0.1:{not_a_database.port}/x")
    settings.OUTBOUND_ALLOW = []  # the operator withdrew it
    with pytest.raises(Invalid) as caught:
        services.event_source_test(actor=world.actor_a)
    assert caught.value.code == "outbound_refused"
    assert not_a_database.connections == 0
