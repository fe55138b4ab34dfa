"""Reads of the events app: the aggregation run on the workspace's source, counts for the overview page.

Invariants: every function reads one workspace's files (``store.snapshot``) or its configured warehouse and
nothing else; the warehouse is contacted only when the workspace's admin configured one.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from sqlalchemy import func, select

from valueloop.core.errors import DomainError
from valueloop.core.permissions import Scope

from . import aggregation, store
from .models import EventSource

EXPOSURE_TYPE = "experiment_viewed"
logger = logging.getLogger("valueloop.events.warehouse")


def event_source_for(workspace_id: int) -> EventSource | None:
    return EventSource.objects.filter(workspace_id=workspace_id).first()


def _warehouse(workspace_id: int) -> EventSource | None:
    source = event_source_for(workspace_id)
    return source if source is not None and source.kind == "warehouse" else None


def _naive(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.astimezone(dt.UTC).replace(tzinfo=None)


# Parts are immutable and their names unique, so a query over the same set of parts always returns the same rows:
# results are cached per (store, parts, SQL, parameters) until a new part or a compaction changes the set.
_RESULTS: OrderedDict[tuple, list[tuple]] = OrderedDict()
_RESULTS_LOCK = threading.Lock()
_RESULTS_MAX = 128


def _run_embedded(workspace_id: int, statements: Sequence[Any]) -> list[list[tuple]]:
    """Run statements over the workspace's Parquet parts (empty views when it has none)."""
    compiled = [aggregation.compile_for_duckdb(statement) for statement in statements]
    with store.snapshot(workspace_id) as parts:
        names = (str(settings.EVENTS_DIR), workspace_id, *(tuple(p.name for p in parts[k]) for k in store.KINDS))
        keys = [(names, sql, tuple(params)) for sql, params in compiled]
        with _RESULTS_LOCK:
            cached = [_RESULTS.get(key) for key in keys]
        if all(rows is not None for rows in cached):
            return cached  # type: ignore[return-value]
        con = store.connect()
        try:
            store.register_views(con, parts)
            results = [con.execute(sql, params).fetchall() for sql, params in compiled]
        finally:
            con.close()
    with _RESULTS_LOCK:
        for key, rows in zip(keys, results, strict=True):
            _RESULTS[key] = rows
            _RESULTS.move_to_end(key)
        while len(_RESULTS) > _RESULTS_MAX:
            _RESULTS.popitem(last=False)
    return results


def _run_warehouse(source: EventSource, statements: Sequence[Any]) -> list[list[tuple]]:
    from . import warehouse

    with warehouse.connect(source) as connection:
        return [warehouse.execute(connection, statement) for statement in statements]


def run_statements(workspace_id, experiment_key, variations, metrics, start, end):
    """Build and run the aggregation; returns ``(statements, aggregation.Raw)``."""
    source = _warehouse(workspace_id)
    if source is None:
        statements = aggregation.build(None, experiment_key, variations, metrics, _naive(start), _naive(end))
        results = _run_embedded(workspace_id, [statements.stats, statements.summary])
    else:
        from . import warehouse

        statements = aggregation.build(warehouse.table_map(source), experiment_key, variations, metrics, start, end)
        results = _run_warehouse(source, [statements.stats, statements.summary])
    stats_rows, summary = results
    unknown, first_ts, last_ts = summary[0] if summary else (0, None, None)
    raw = aggregation.Raw(
        stats_rows=stats_rows,
        unknown=int(unknown or 0),
        first_ts=first_ts,
        last_ts=last_ts,
    )
    return statements, raw


def _tables(workspace_id: int):
    source = _warehouse(workspace_id)
    if source is None:
        return None, aggregation.sources(None)
    from . import warehouse

    return source, aggregation.sources(warehouse.table_map(source))


def _run(workspace_id: int, source: EventSource | None, statements: Sequence[Any]) -> list[list[tuple]]:
    if source is None:
        return _run_embedded(workspace_id, statements)
    return _run_warehouse(source, statements)


def event_name_counts(workspace_id: int, limit: int = 500) -> list[tuple[str, int]]:
    source, (_, events) = _tables(workspace_id)
    statement = (
        select(events.c.event, func.count().label("n"))
        .group_by(events.c.event)
        .order_by(func.count().desc(), events.c.event)
        .limit(limit)
    )
    (rows,) = _run(workspace_id, source, [statement])
    return [(str(name), int(n)) for name, n in rows]


def exposure_summary(workspace_id: int, experiment_key: str) -> dict:
    source, (exposures, _) = _tables(workspace_id)
    from sqlalchemy import String, bindparam

    statement = select(func.count(exposures.c.unit_id.distinct()), func.max(exposures.c.ts)).where(
        exposures.c.experiment_key == bindparam("experiment_key", experiment_key, type_=String())
    )
    (rows,) = _run(workspace_id, source, [statement])
    units, last = rows[0] if rows else (0, None)
    return {"units": int(units or 0), "last_seen": aggregation.as_utc(last)}


def overview(*, actor, limit: int = 200) -> dict[str, Any]:
    """What the events page shows: counts per event name and per experiment key, last received, the source."""
    actor.require(Scope.WORKSPACE_READ)
    workspace_id = actor.workspace.pk
    source, (exposures, events) = _tables(workspace_id)
    statements = [
        select(events.c.event, func.count(), func.count(events.c.unit_id.distinct()), func.max(events.c.ts))
        .group_by(events.c.event)
        .order_by(func.count().desc(), events.c.event)
        .limit(limit),
        select(
            exposures.c.experiment_key,
            func.count(),
            func.count(exposures.c.unit_id.distinct()),
            func.max(exposures.c.ts),
        )
        .group_by(exposures.c.experiment_key)
        .order_by(func.max(exposures.c.ts).desc(), exposures.c.experiment_key)
        .limit(limit),
    ]
    error = None
    try:
        event_rows, exposure_rows = _run(workspace_id, source, statements)
    except Exception as exc:  # a warehouse that is down must not take the page with it
        if source is None:
            raise
        event_rows, exposure_rows = [], []
        # Every member sees this page: the warehouse's own answer stays in the server log.
        logger.warning("warehouse of workspace %s: the overview failed: %s", workspace_id, exc)
        from . import warehouse

        error = exc.message if isinstance(exc, DomainError) else warehouse.COULD_NOT_CONNECT
    events_out = [
        {"name": r[0], "count": int(r[1]), "units": int(r[2]), "last": aggregation.as_utc(r[3])} for r in event_rows
    ]
    experiments_out = [
        {"key": r[0], "count": int(r[1]), "units": int(r[2]), "last": aggregation.as_utc(r[3])} for r in exposure_rows
    ]
    lasts = [row["last"] for row in events_out + experiments_out if row["last"]]
    parts = {kind: store.part_count(workspace_id, kind) for kind in store.KINDS} if source is None else None
    return {
        "events": events_out,
        "experiments": experiments_out,
        "last_received": max(lasts) if lasts else None,
        "source": source or event_source_for(workspace_id),
        "warehouse_error": error,
        "parts": parts,
    }


def event_name_list(*, actor) -> list[tuple[str, int]]:
    actor.require(Scope.WORKSPACE_READ)
    return event_name_counts(actor.workspace.pk)


def event_source_get(*, actor) -> EventSource | None:
    actor.require(Scope.WORKSPACE_MANAGE)
    return event_source_for(actor.workspace.pk)


def clear_result_cache() -> None:
    """Forget cached query results (benchmarks time cold runs)."""
    with _RESULTS_LOCK:
        _RESULTS.clear()
