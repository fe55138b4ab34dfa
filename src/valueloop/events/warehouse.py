"""Running the aggregation on a team's own warehouse through SQLAlchemy.

Invariants:
- Outbound connections happen only for a workspace whose admin configured a warehouse source, and only when an
  analysis, the overview or "test connection" asks for it. No connection pool is kept (``NullPool``).
- Only network databases are accepted: file-based dialects (SQLite, DuckDB) would let a workspace admin read
  files on the Valueloop server, and the server's own database is refused outright.
- The password is stored apart from the URL, encrypted (Fernet, key derived from ``SECRET_KEY``), and never shown
  back: pages and the API see the URL with ``***`` in its place.
- PostgreSQL sessions run with ``TIME ZONE 'UTC'`` so dates are UTC days; other warehouses are expected to store
  UTC timestamps.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from django.conf import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from valueloop.core.errors import Invalid

from . import aggregation

NETWORK_DIALECTS = frozenset(
    {
        "postgresql",
        "mysql",
        "mariadb",
        "mssql",
        "oracle",
        "snowflake",
        "bigquery",
        "redshift",
        "trino",
        "clickhouse",
        "clickhousedb",
        "databricks",
    }
)
CONNECT_TIMEOUT_SECONDS = 10
STATEMENT_TIMEOUT_MS = 300_000


def _fernet():
    from cryptography.fernet import Fernet

    digest = hashlib.sha256(b"valueloop.events.warehouse-password:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode() if password else ""


def unseal(token: str) -> str:
    if not token:
        return ""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise Invalid(
            "The warehouse password cannot be read (the server's secret key changed); enter it again.",
            fields={"password": "enter the password again"},
        ) from None


def parse_url(value: str) -> tuple[str, str]:
    """Split a SQLAlchemy URL into (URL without password, password); refuse what we will not connect to."""
    value = (value or "").strip()
    if not value:
        raise Invalid("Enter the warehouse's SQLAlchemy URL.", fields={"url": "required"})
    if len(value) > 500 or "\x00" in value:
        raise Invalid("The URL is too long.", fields={"url": "at most 500 characters"})
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise Invalid(
            "Not a SQLAlchemy URL; use e.g. postgresql+psycopg://user:password@host:5432/database.",
            fields={"url": "e.g. postgresql+psycopg://user@host/db"},
        ) from None
    backend = url.get_backend_name()
    if backend not in NETWORK_DIALECTS:
        raise Invalid(
            f"'{backend}' is not a supported warehouse; use a network database "
            f"({', '.join(sorted(NETWORK_DIALECTS))}).",
            fields={"url": "a network warehouse URL"},
        )
    if not url.host and backend not in {"bigquery", "snowflake", "databricks"}:
        raise Invalid("The URL needs a host.", fields={"url": "add the host"})
    if _is_own_database(url):
        raise Invalid(
            "That is Valueloop's own database; point the source at your warehouse instead.",
            fields={"url": "not Valueloop's database"},
        )
    password = url.password or ""
    # ``URL.set(password=None)`` means "unchanged"; build the URL without it instead.
    bare = URL.create(url.drivername, url.username, None, url.host, url.port, url.database, url.query)
    return bare.render_as_string(hide_password=False), str(password)


def _is_own_database(url: URL) -> bool:
    own = settings.DATABASES["default"]
    if "postgresql" not in own.get("ENGINE", "") or url.get_backend_name() != "postgresql":
        return False
    host = (own.get("HOST") or "localhost").lower()
    local = {"localhost", "127.0.0.1", "::1", ""}
    same_host = (url.host or "").lower() == host or ((url.host or "").lower() in local and host in local)
    same_port = int(url.port or 5432) == int(own.get("PORT") or 5432)
    return same_host and same_port and (url.database or "") == (own.get("NAME") or "")


def masked(url: str, has_password: bool) -> str:
    """The URL as shown on pages and in the API: the password as ``***``."""
    if not url:
        return ""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return ""
    if has_password:
        parsed = parsed.set(password="x")  # rendered as *** below
    return parsed.render_as_string(hide_password=True)


def engine_for(url: str, password: str):
    parsed = make_url(url)
    if password:
        parsed = parsed.set(password=password)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args = {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c TimeZone=UTC",
        }
    try:
        return create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as exc:
        raise Invalid(
            f"The driver for this URL is not installed on the Valueloop server ({exc}).",
            fields={"url": "driver not installed"},
        ) from None


def table_map(source) -> aggregation.TableMap:
    columns = source.columns or {}
    return aggregation.TableMap(
        exposures_table=source.exposures_table,
        events_table=source.events_table,
        exposure_columns=dict(columns.get("exposures") or {}),
        event_columns=dict(columns.get("events") or {}),
    )


def connect(source):
    engine = engine_for(source.url, unseal(source.password))
    return engine.connect()


def execute(connection, statement) -> list[tuple]:
    return [tuple(row) for row in connection.execute(statement).all()]


def check(source) -> str:
    """Connect and read one row of each table through the mapping; returns a short success message."""
    from sqlalchemy import func, select

    exposures, events = aggregation.sources(table_map(source))
    with connect(source) as connection:
        connection.execute(text("SELECT 1"))
        n_exposures = connection.execute(select(func.count()).select_from(exposures)).scalar_one()
        n_events = connection.execute(select(func.count()).select_from(events)).scalar_one()
    return f"Connected: {n_exposures} exposure rows, {n_events} event rows."
