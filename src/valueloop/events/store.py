"""The embedded event store: append-only Parquet part files per workspace, read with an in-memory DuckDB.

Layout: ``EVENTS_DIR / "w<workspace id>" / ("exposures" | "events") / "part-<ns time>-<random>.parquet"``.

Invariants:
- Parts are immutable and appear atomically: written to a hidden temporary file in the same directory, fsynced,
  then renamed (``os.replace``) and the directory fsynced. Readers list only ``part-*.parquet``, so they never
  see a half-written file. Several processes (granian workers, the task worker) may write at once: each write
  is a new file, so nothing is shared but the directory (a DuckDB database file would admit one writer only).
- Compaction merges the small parts of one kind into one sorted part. It writes the merged part under a hidden
  name first, then swaps (rename the merged part in, unlink the parts it replaces) holding the workspace's lock
  exclusively; readers hold the same lock shared while they list and read, so a reader sees either all the
  old parts or the merged one, never both and never neither. One compaction per workspace at a time (a second
  lock, taken without waiting: a compaction already running makes the next one a no-op).
- DuckDB runs in memory, one connection per call, with extension auto-install and auto-load off (they would
  try to download in an offline install); nothing here ever runs INSTALL or LOAD. File paths never reach SQL
  text: they are passed to DuckDB's ``read_parquet`` relation API (and checked against the part-name pattern).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings

from .rows import Columns

KINDS = ("exposures", "events")
EXPOSURE_SCHEMA = pa.schema(
    [
        ("experiment_key", pa.string()),
        ("variation", pa.int32()),
        ("unit_id", pa.string()),
        ("ts", pa.timestamp("us")),  # UTC, stored without a zone so DuckDB needs no ICU time-zone extension
        ("source", pa.string()),
    ]
)
EVENT_SCHEMA = pa.schema(
    [
        ("event", pa.string()),
        ("unit_id", pa.string()),
        ("value", pa.float64()),
        ("ts", pa.timestamp("us")),
        ("source", pa.string()),
    ]
)
SCHEMAS = {"exposures": EXPOSURE_SCHEMA, "events": EVENT_SCHEMA}
SORT_KEYS = {"exposures": "experiment_key", "events": "event"}
COMPACT_AFTER_PARTS = 64
SMALL_PART_BYTES = 64 * 1024 * 1024  # parts below this size are merged; bigger ones stay as they are
_PART_RE = re.compile(r"^part-\d{20}-[0-9a-f]{8}\.parquet$")
DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def workspace_dir(workspace_id: int) -> Path:
    return Path(settings.EVENTS_DIR) / f"w{int(workspace_id)}"


def kind_dir(workspace_id: int, kind: str) -> Path:
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    return workspace_dir(workspace_id) / kind


def list_parts(workspace_id: int, kind: str) -> list[Path]:
    folder = kind_dir(workspace_id, kind)
    try:
        names = [entry.name for entry in os.scandir(folder) if _PART_RE.match(entry.name)]
    except FileNotFoundError:
        return []
    return [folder / name for name in sorted(names)]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _part_name() -> str:
    return f"part-{time.time_ns():020d}-{secrets.token_hex(4)}.parquet"


def _write_atomically(folder: Path, table: pa.Table, *, rename_to: Path | None = None) -> Path:
    """Write ``table`` as a new part of ``folder`` (or to ``rename_to``'s temporary twin, for compaction)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{secrets.token_hex(8)}.parquet"
    try:
        pq.write_table(table, tmp, compression="zstd", compression_level=1)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if rename_to is not None:
            return tmp
        final = folder / _part_name()
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return final


def tables_from_columns(columns: Columns, source: str) -> dict[str, pa.Table]:
    """The Arrow tables of a validated batch (only the kinds it has rows for)."""
    out: dict[str, pa.Table] = {}
    if columns.exposures:
        n = columns.exposures
        out["exposures"] = pa.table(
            [
                pa.array(columns.exposure_keys, pa.string()),
                pa.array(columns.exposure_variations, pa.int32()),
                pa.array(columns.exposure_units, pa.string()),
                pa.array(columns.exposure_ts, pa.int64()).cast(pa.timestamp("us")),
                pa.array([source] * n, pa.string()),
            ],
            schema=EXPOSURE_SCHEMA,
        )
    if columns.events:
        n = columns.events
        out["events"] = pa.table(
            [
                pa.array(columns.event_names, pa.string()),
                pa.array(columns.event_units, pa.string()),
                pa.array(columns.event_values, pa.float64()),
                pa.array(columns.event_ts, pa.int64()).cast(pa.timestamp("us")),
                pa.array([source] * n, pa.string()),
            ],
            schema=EVENT_SCHEMA,
        )
    return out


def _conform(kind: str, table: pa.Table) -> pa.Table:
    if table.schema != SCHEMAS[kind]:
        table = table.select(SCHEMAS[kind].names).cast(SCHEMAS[kind])
    return table


def append(workspace_id: int, kind: str, table: pa.Table) -> Path:
    """Add one part. The table must have the kind's columns."""
    return _write_atomically(kind_dir(workspace_id, kind), _conform(kind, table))


def append_batch(workspace_id: int, tables: dict[str, pa.Table]) -> list[Path]:
    """Add one part per kind; every file is written and synced before the first one is renamed into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for kind, table in tables.items():
            folder = kind_dir(workspace_id, kind)
            staged.append((folder, _write_atomically(folder, _conform(kind, table), rename_to=folder)))
    except BaseException:
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)
        raise
    finals = []
    for folder, tmp in staged:
        final = folder / _part_name()
        os.replace(tmp, final)
        _fsync_dir(folder)
        finals.append(final)
    return finals


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, mode)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def snapshot(workspace_id: int) -> Iterator[dict[str, list[Path]]]:
    """The parts of both kinds, stable (no compaction swap) for as long as the block runs."""
    with _flock(workspace_dir(workspace_id) / ".swap.lock", fcntl.LOCK_SH):
        yield {kind: list_parts(workspace_id, kind) for kind in KINDS}


def connect() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:", config=dict(DUCKDB_CONFIG))


def _checked(path: Path) -> str:
    if not _PART_RE.match(path.name):
        raise ValueError(f"not an event part: {path.name}")
    return str(path)


_EMPTY_SELECT = {
    "exposures": "SELECT CAST(NULL AS VARCHAR) AS experiment_key, CAST(NULL AS INTEGER) AS variation, "
    "CAST(NULL AS VARCHAR) AS unit_id, CAST(NULL AS TIMESTAMP) AS ts, CAST(NULL AS VARCHAR) AS source WHERE FALSE",
    "events": "SELECT CAST(NULL AS VARCHAR) AS event, CAST(NULL AS VARCHAR) AS unit_id, "
    "CAST(NULL AS DOUBLE) AS value, CAST(NULL AS TIMESTAMP) AS ts, CAST(NULL AS VARCHAR) AS source WHERE FALSE",
}
VIEW_NAMES = {"exposures": "vl_exposures", "events": "vl_events"}


def register_views(con: duckdb.DuckDBPyConnection, parts: dict[str, list[Path]]) -> None:
    """Create the views ``vl_exposures`` and ``vl_events`` over the given parts (empty views when none)."""
    for kind in KINDS:
        files = [_checked(p) for p in parts.get(kind) or []]
        relation = con.read_parquet(files) if files else con.sql(_EMPTY_SELECT[kind])
        relation.create_view(VIEW_NAMES[kind], replace=True)


def part_count(workspace_id: int, kind: str) -> int:
    return len(list_parts(workspace_id, kind))


def compact(workspace_id: int, kind: str, *, small_bytes: int = SMALL_PART_BYTES, min_parts: int = 2) -> int:
    """Merge the small parts of one kind into one part sorted by event name / experiment key and time.

    Returns how many parts were replaced (0 when there was nothing to do or another compaction was running).
    """
    folder = kind_dir(workspace_id, kind)
    with _flock(workspace_dir(workspace_id) / f".compact-{kind}.lock", fcntl.LOCK_EX | fcntl.LOCK_NB) as got:
        if not got:
            return 0
        small = [p for p in list_parts(workspace_id, kind) if p.stat().st_size < small_bytes]
        if len(small) < min_parts:
            return 0
        # Only this (locked) compaction deletes parts, so the chosen parts stay readable while we merge. DuckDB
        # sorts and writes the merged part itself (streaming, both cores), under a hidden temporary name.
        tmp = folder / f".tmp-{secrets.token_hex(8)}.parquet"
        con = connect()
        try:
            relation = con.read_parquet([_checked(p) for p in small])
            relation = relation.select(", ".join(SCHEMAS[kind].names)).order(f"{SORT_KEYS[kind]}, ts")
            relation.write_parquet(str(tmp), compression="zstd", row_group_size=122_880)
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            con.close()
        final = folder / _part_name()
        try:
            with _flock(workspace_dir(workspace_id) / ".swap.lock", fcntl.LOCK_EX):
                os.replace(tmp, final)
                for part in small:
                    part.unlink(missing_ok=True)
                _fsync_dir(folder)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return len(small)


def needs_compaction(workspace_id: int, kind: str) -> bool:
    return part_count(workspace_id, kind) > COMPACT_AFTER_PARTS


def remove_workspace(workspace_id: int) -> None:
    """Delete a workspace's event files (used by tests and workspace deletion)."""
    import shutil

    shutil.rmtree(workspace_dir(workspace_id), ignore_errors=True)
