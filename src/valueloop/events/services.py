"""Writes of the events app: ingestion into the embedded store, compaction, the event source setting.

Invariants:
- Ingestion is all or nothing: every row is validated (``rows.parse_rows``) before any file is written, and the
  parts of one batch (exposures, events) are renamed into place only after all of them were written.
- Ingestion appends files, not database rows, so it is not part of a database transaction and is not audited per
  request (the batch API is a high-volume write path); uploads from the page are audited once per upload.
- Compaction is queued (``django.tasks``) when a workspace's kind has more than ``store.COMPACT_AFTER_PARTS``
  parts, at most once a minute per workspace and kind; it never changes any query result.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from valueloop.core.audit import audit_record
from valueloop.core.errors import Invalid
from valueloop.core.outbound import OutboundFailed
from valueloop.core.permissions import Scope
from valueloop.core.services import update_audited
from valueloop.core.tenancy import Actor

from . import aggregation, rows, store
from .models import EventSource

COMPACT_REQUEST_EVERY_SECONDS = 60
logger = logging.getLogger("valueloop.events.warehouse")


@dataclass(frozen=True)
class IngestResult:
    """How many rows of each kind one ingestion appended (other apps get it through ``facade.IngestResult``)."""

    exposures: int
    events: int


def _known_experiments(workspace_id: int) -> Callable[[], set[str]]:
    def load() -> set[str]:
        from valueloop.flags.facade import experiment_keys

        return experiment_keys(workspace_id)

    return load


def ingest_rows(
    workspace_id: int,
    events: Iterable[Mapping[str, Any]],
    *,
    source: str,
    label: Callable[[int], str] | None = None,
) -> IngestResult:
    """Validate and append a batch. Raises ``Invalid`` (nothing written)."""
    if source not in rows.SOURCES:
        raise ValueError(f"unknown event source {source!r}")
    kwargs = {"label": label} if label else {}
    columns = rows.parse_rows(events, known_experiments=_known_experiments(workspace_id), **kwargs)
    tables = store.tables_from_columns(columns, source)
    if tables:
        store.append_batch(workspace_id, tables)
        for kind in tables:
            _maybe_request_compaction(workspace_id, kind)
    return IngestResult(exposures=columns.exposures, events=columns.events)


def _maybe_request_compaction(workspace_id: int, kind: str) -> None:
    if not store.needs_compaction(workspace_id, kind):
        return
    marker = store.workspace_dir(workspace_id) / f".compact-{kind}.requested"
    try:
        if time.time() - marker.stat().st_mtime < COMPACT_REQUEST_EVERY_SECONDS:
            return
    except FileNotFoundError:
        pass
    marker.touch()
    os.utime(marker)

    def enqueue() -> None:
        from .tasks import compact_events_task

        compact_events_task.enqueue(workspace_id, kind)

    transaction.on_commit(enqueue)


def events_compact(workspace_id: int, kind: str) -> int:
    """Merge the small parts of one kind; returns how many parts were replaced."""
    replaced = store.compact(workspace_id, kind)
    marker = store.workspace_dir(workspace_id) / f".compact-{kind}.requested"
    marker.unlink(missing_ok=True)
    return replaced


# --- uploads (pages and the API) -------------------------------------------------------------------------------


def events_upload(*, actor: Actor, data: bytes, filename: str, fmt: str | None = None):
    """Ingest a CSV or Parquet file (all or nothing); one audit record per upload."""
    from . import files

    actor.require(Scope.EVENTS_WRITE)
    kind, parsed, label = files.read(data, filename, fmt)
    result = ingest_rows(actor.workspace.pk, parsed, source=kind, label=label)
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="events",
        entity_id=None,
        entity_label=(filename or "upload")[:200],
        action="uploaded",
        changes={"exposures": [None, result.exposures], "events": [None, result.events], "format": [None, kind]},
    )
    return result


# --- the event source (admin) ------------------------------------------------------------------------------------

SOURCE_FIELDS = ["kind", "url", "exposures_table", "events_table", "columns"]
COLUMN_FIELDS = {"exposures": aggregation.EXPOSURE_COLUMNS, "events": aggregation.EVENT_COLUMNS}


def _clean_table(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(f"Enter the {field.replace('_', ' ')}.", fields={field: "required"})
    parts = value.split(".")
    if len(parts) > 2 or not all(aggregation.IDENTIFIER_RE.match(p) for p in parts):
        raise Invalid(
            "Use a table name, optionally with its schema (schema.table): letters, digits and _ only.",
            fields={field: "e.g. analytics.exposures"},
        )
    return value


def _clean_columns(columns: Any) -> dict[str, dict[str, str]]:
    if columns in (None, ""):
        return {}
    if not isinstance(columns, dict) or not set(columns) <= set(COLUMN_FIELDS):
        raise Invalid("columns must map exposures/events to {field: column}.", fields={"columns": "bad shape"})
    clean: dict[str, dict[str, str]] = {}
    for kind, mapping in columns.items():
        if not isinstance(mapping, dict):
            raise Invalid(f"columns.{kind} must be an object.", fields={f"columns.{kind}": "an object"})
        clean[kind] = {}
        for logical, physical in mapping.items():
            where = f"columns.{kind}.{logical}"
            if logical not in COLUMN_FIELDS[kind]:
                raise Invalid(f"{where}: unknown field.", fields={where: f"one of {', '.join(COLUMN_FIELDS[kind])}"})
            if physical in (None, ""):
                continue
            if not isinstance(physical, str) or not aggregation.IDENTIFIER_RE.match(physical):
                raise Invalid(f"{where}: a column name (letters, digits, _).", fields={where: "a column name"})
            clean[kind][logical] = physical
    return {kind: mapping for kind, mapping in clean.items() if mapping}


@transaction.atomic
def event_source_update(
    *,
    actor: Actor,
    kind: str,
    url: str = "",
    password: str | None = None,
    exposures_table: str = "",
    events_table: str = "",
    columns: Any = None,
    expected_version: int | None = None,
):
    """Switch the workspace between the embedded store and a warehouse.

    ``url`` may carry the password; ``password`` (when not None) replaces the stored one; a URL whose password is
    ``***`` (as shown back) keeps the stored one.
    """
    from . import warehouse

    actor.require(Scope.WORKSPACE_MANAGE)
    source, _ = EventSource.objects.select_for_update().get_or_create(workspace=actor.workspace)
    if kind not in ("embedded", "warehouse"):
        raise Invalid("kind must be embedded or warehouse.", fields={"kind": "embedded or warehouse"})
    changes: dict[str, Any] = {"kind": kind}
    sealed = source.password
    if kind == "warehouse":
        bare, in_url = warehouse.parse_url(url)
        if in_url and in_url != "***":
            sealed = warehouse.seal(in_url)
        if password is not None:
            sealed = warehouse.seal(password)
        if bare != source.url and not in_url and password is None:
            sealed = ""  # a new server without a password: do not send the old one there
        changes.update(
            url=bare,
            exposures_table=_clean_table(exposures_table, "exposures_table"),
            events_table=_clean_table(events_table, "events_table"),
            columns=_clean_columns(columns),
        )
    source = update_audited(actor, source, changes, entity_type="event_source", expected_version=expected_version)
    if sealed != source.password:
        source.password = sealed
        source.save(update_fields=["password", "updated_at"])
        audit_record(
            actor=actor.user,
            workspace=actor.workspace,
            via=actor.via,
            entity_type="event_source",
            entity_id=source.pk,
            entity_label=str(source),
            action="password_changed",
        )
    return source


@transaction.atomic
def event_source_test(*, actor: Actor):
    """Connect to the configured warehouse and count the rows of both tables; records the outcome."""
    from . import warehouse

    actor.require(Scope.WORKSPACE_MANAGE)
    source = EventSource.objects.select_for_update().filter(workspace=actor.workspace).first()
    if source is None or source.kind != "warehouse":
        raise Invalid(
            "The workspace uses the embedded store; there is no connection to test.", fields={"kind": "embedded"}
        )
    try:
        message, ok = warehouse.check(source), True
    except Invalid:  # the URL is refused (policy, options): nothing to record, the admin fixes the URL
        raise
    except OutboundFailed as exc:  # generic on purpose: the remote end's answer stays in the server log
        message, ok = f"Failed: {exc.message}", False
    except Exception:  # a driver error we did not foresee: the same generic answer, the traceback in the log
        logger.exception("warehouse of workspace %s: the connection test failed", actor.workspace.pk)
        message, ok = f"Failed: {warehouse.COULD_NOT_CONNECT}", False
    source.last_tested_at = timezone.now()
    source.last_test_ok = ok
    source.last_test_message = message[:500]
    source.save(update_fields=["last_tested_at", "last_test_ok", "last_test_message", "updated_at"])
    return source
