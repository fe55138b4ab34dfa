"""Running the aggregation on a team's own warehouse through SQLAlchemy.

Invariants:
- Outbound connections happen only for a workspace whose admin configured a warehouse source, and only when an
  analysis, the overview or "test connection" asks for it. No connection pool is kept (``NullPool``).
- Every connection goes through the outbound guard (``core.outbound``): the host is checked when the URL is saved
  and again, resolved once, when connecting; libpq dials the checked address (``hostaddr``) and keeps the name
  for TLS. Only dialects whose driver can be pinned that way are accepted (``DIALECTS``: PostgreSQL, through
  libpq); file-based dialects (SQLite, DuckDB) would read the server's files, and the server's own database is
  refused outright.
- A URL's query may set only ``URL_OPTIONS`` (sslmode, channel_binding, sslrootcert=system, connect_timeout,
  application_name); host, hostaddr, port, passfile, service, sslkey, sslcert, certificate paths, options and
  everything else would point libpq at another host or at the server's files, and are refused by name. libpq
  never reads the server's own password file (``passfile`` points at a file that does not exist).
- What the remote end answered is never shown to users (it made "test connection" a port scanner): they see a
  generic "could not connect" or the name of the table that could not be read; the details go to the log.
- The password is stored apart from the URL, encrypted (Fernet, key derived from ``SECRET_KEY``), and never shown
  back: pages and the API see the URL with ``***`` in its place.
- PostgreSQL sessions run with ``TIME ZONE 'UTC'`` so dates are UTC days; other warehouses are expected to store
  UTC timestamps.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

from django.conf import settings
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from valueloop.core import outbound
from valueloop.core.errors import Invalid

from . import aggregation

logger = logging.getLogger("valueloop.events.warehouse")

# Dialect -> default port. A dialect is listed only when its driver can be made to dial the guard's checked address.
DIALECTS = {"postgresql": 5432}
CONNECT_TIMEOUT_SECONDS = 10
STATEMENT_TIMEOUT_MS = 300_000
COULD_NOT_CONNECT = "Could not connect to the warehouse; the server log has the details."


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


# The query options a warehouse URL may carry, with the values each accepts (None: checked in _check_options).
URL_OPTIONS: dict[str, frozenset[str] | None] = {
    "sslmode": frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}),
    "channel_binding": frozenset({"disable", "prefer", "require"}),
    "sslrootcert": frozenset({"system"}),  # the system's CA store; a file path would probe the server's files
    "connect_timeout": None,  # seconds, 1 to CONNECT_TIMEOUT_SECONDS
    "application_name": None,  # up to 64 printable characters
}


def _bad_url(message: str, field_message: str) -> Invalid:
    return Invalid(message, fields={"url": field_message})


def _check_options(query: Any) -> None:
    for name, value in query.items():
        if name not in URL_OPTIONS:
            raise _bad_url(
                f"The URL option '{name}' is not allowed; a warehouse URL may set only {', '.join(URL_OPTIONS)}.",
                f"option '{name}' is not allowed",
            )
        if not isinstance(value, str):
            raise _bad_url(f"The URL option '{name}' is given more than once.", f"option '{name}' given twice")
        allowed = URL_OPTIONS[name]
        if allowed is not None and value not in allowed:
            raise _bad_url(
                f"The URL option {name}={value[:40]} is not allowed; use one of {', '.join(sorted(allowed))}.",
                f"{name}: one of {', '.join(sorted(allowed))}",
            )
        if name == "connect_timeout" and not (value.isdigit() and 1 <= int(value) <= CONNECT_TIMEOUT_SECONDS):
            raise _bad_url(
                f"connect_timeout must be a whole number of seconds from 1 to {CONNECT_TIMEOUT_SECONDS}.",
                f"connect_timeout: 1 to {CONNECT_TIMEOUT_SECONDS}",
            )
        if name == "application_name" and (len(value) > 64 or not value.isprintable()):
            raise _bad_url("application_name may have at most 64 printable characters.", "application_name: too long")


def _checked(value: str) -> tuple[URL, outbound.Target]:
    """Parse a warehouse URL and check it against the dialect list, the option list and the outbound guard."""
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise _bad_url(
            "Not a SQLAlchemy URL; use e.g. postgresql+psycopg://user:password@host:5432/database.",
            "e.g. postgresql+psycopg://user@host/db",
        ) from None
    backend = url.get_backend_name()
    if backend not in DIALECTS:
        raise _bad_url(
            f"'{backend}' is not a supported warehouse; use {', '.join(sorted(DIALECTS))} (Valueloop connects only "
            "to warehouses whose driver it can route through its outbound-connection guard).",
            "a network warehouse URL",
        )
    if not url.host:
        raise _bad_url("The URL needs a host.", "add the host")
    _check_options(url.query)
    for part, label in ((url.database, "database name"), (url.username, "user name")):
        # libpq reads "key=value" in some of its parameters as more parameters.
        if part and ("=" in part or not part.isprintable()):
            raise _bad_url(f"The {label} may not contain '=' or control characters.", f"{label} not allowed")
    target = outbound.check_target(url.host, url.port or DIALECTS[backend], field="url")
    return url, target


def parse_url(value: str) -> tuple[str, str]:
    """Split a SQLAlchemy URL into (URL without password, password); refuse what we will not connect to."""
    value = (value or "").strip()
    if not value:
        raise Invalid("Enter the warehouse's SQLAlchemy URL.", fields={"url": "required"})
    if len(value) > 500 or "\x00" in value:
        raise Invalid("The URL is too long.", fields={"url": "at most 500 characters"})
    url, _ = _checked(value)
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
    """An engine that dials the guard's checked address. Raises ``OutboundRefused`` (or ``Invalid``) when the
    stored URL is no longer acceptable (the policy or the operator's allow list changed since it was saved)."""
    parsed, target = _checked(url)
    if password:
        parsed = parsed.set(password=password)
    timeout = min(int(parsed.query.get("connect_timeout") or CONNECT_TIMEOUT_SECONDS), CONNECT_TIMEOUT_SECONDS)
    connect_args: dict[str, Any] = {
        **outbound.libpq_address(target),
        "connect_timeout": timeout,
        "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c TimeZone=UTC",
        # The server's ~/.pgpass must never answer for a host a workspace admin chose: point libpq at a file that
        # does not exist (an empty value would mean "the default file").
        "passfile": str(settings.DATA_DIR / "no-pgpass-for-warehouses"),
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
    """An open connection to the workspace's warehouse; ``OutboundFailed`` (generic, details logged) when it fails."""
    engine = engine_for(source.url, unseal(source.password))
    try:
        return engine.connect()
    except (SQLAlchemyError, OSError) as exc:
        logger.warning("warehouse of workspace %s: could not connect: %s", source.workspace_id, exc)
        raise outbound.OutboundFailed(COULD_NOT_CONNECT) from None


def execute(connection, statement) -> list[tuple]:
    return [tuple(row) for row in connection.execute(statement).all()]


def check(source) -> str:
    """Connect and count the rows of each table through the mapping; returns a short success message.

    Raises ``OutboundFailed`` naming the table that could not be read, never echoing the server's answer."""
    exposures, events = aggregation.sources(table_map(source))
    counts = []
    with connect(source) as connection:
        for name, selectable in ((source.exposures_table, exposures), (source.events_table, events)):
            try:
                counts.append(connection.execute(select(func.count()).select_from(selectable)).scalar_one())
            except SQLAlchemyError as exc:
                logger.warning("warehouse of workspace %s: reading %s failed: %s", source.workspace_id, name, exc)
                raise outbound.OutboundFailed(
                    f"Connected, but could not read {name}: check that the table and its mapped columns exist and "
                    "that the user may read them (the server log has the details)."
                ) from None
    return f"Connected: {counts[0]} exposure rows, {counts[1]} event rows."
