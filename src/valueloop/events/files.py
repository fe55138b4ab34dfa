"""Reading uploaded CSV and Parquet files into event rows, defensively.

Invariants:
- Reading is bounded by ``core.importing.reading`` (``upload_limits()``): the size before parsing; CSV rows and
  fields as they are read; Parquet by what its metadata declares (rows, uncompressed bytes) and then one record
  batch at a time, each batch's rows, longest string and decoded size measured before its strings are expanded
  or any Python object is made, so a small dictionary-encoded file cannot expand into gigabytes. No value may be
  longer than the longest an event field accepts (``rows.MAX_EXTRA_LENGTH``).
- Columns carry the JSON field names (``type``, ``experiment_key``, ``variation_id``, ``user_id`` or
  ``hash_value``, ``timestamp``, ``value``); an unknown column is an error naming it. Empty CSV cells are
  absent fields. CSV rows are numbered as in a spreadsheet (the header is row 1); Parquet rows from 1.
- Parsing only turns text into the types the row validator expects (integers, numbers); the validator
  (``rows.parse_rows``) decides what is valid, so a file and the batch API accept exactly the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from valueloop.core.errors import Invalid
from valueloop.core.importing import UploadLimits, human_size, reading
from valueloop.core.importing import encoding as encoding_policy
from valueloop.core.importing import table as table_kit

from .rows import EVENT_ALLOWED, EXPOSURE_ALLOWED, MAX_EXTRA_LENGTH

MAX_UPLOAD_ROWS = 500_000
COLUMNS = EXPOSURE_ALLOWED | EVENT_ALLOWED
_INT_RE = re.compile(r"^[+-]?\d{1,12}$")

__all__ = ["human_size", "read", "read_upload", "upload_limit", "upload_limits"]


def upload_limits() -> UploadLimits:
    """The instance's upload limits, tightened for event files (``EVENTS_UPLOAD_MAX_BYTES`` may lower the size)."""
    return UploadLimits.from_settings(
        max_bytes=getattr(settings, "EVENTS_UPLOAD_MAX_BYTES", None),
        max_rows=MAX_UPLOAD_ROWS,
        max_string_length=MAX_EXTRA_LENGTH,
    )


def upload_limit() -> int:
    return upload_limits().max_bytes


def check_size(size: int) -> None:
    reading.check_size(size, upload_limits())


def read_upload(fileobj) -> bytes:
    """An uploaded file's bytes, refused from its size before more than the limit is read."""
    return reading.read_upload(fileobj, upload_limits())


def detect_format(filename: str, data: bytes, fmt: str | None) -> str:
    if fmt:
        if fmt not in ("csv", "parquet"):
            raise Invalid("The format must be csv or parquet.", fields={"format": "csv or parquet"})
        return fmt
    if data[:4] == b"PAR1":
        return "parquet"
    if filename.lower().endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


def _check_columns(names: list[str]) -> None:
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        shown = ", ".join(repr(n[:40]) for n in unknown[:5])
        raise Invalid(
            f"Unknown column(s) {shown}. Columns are the batch API's field names: type, experiment_key, "
            "variation_id, user_id (or hash_value), timestamp, value.",
            fields={f"columns.{unknown[0][:40]}": "Unknown column."},
        )
    if "type" not in names or "timestamp" not in names:
        missing = "type" if "type" not in names else "timestamp"
        raise Invalid(f"The file needs a '{missing}' column.", fields={f"columns.{missing}": "Required column."})


def _csv_cell(name: str, cell: str) -> Any:
    if name == "variation_id":
        return int(cell) if _INT_RE.match(cell) else cell
    if name == "value":
        try:
            return float(cell)
        except ValueError:
            return cell
    return cell


def read_csv(data: bytes) -> tuple[list[dict[str, Any]], Callable[[int], str]]:
    limits = upload_limits()
    text = encoding_policy.decode(data, advice="Save it as CSV UTF-8.").text
    if not text.strip():
        raise Invalid("The file is empty.", fields={"file": "empty"})
    # The shared table: delimiter sniffed from the header line (Excel's ";" too), rows keep their line numbers,
    # blank rows dropped, and csv_rows's limits and NUL refusal on the way.
    table = table_kit.read_csv_table(text, limits)
    names = table.header
    if len(set(names)) != len(names):
        raise Invalid("A column appears twice in the header.", fields={"columns": "duplicate column"})
    _check_columns(names)
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    for number, cells in table.rows:
        if len(cells) != len(names):
            raise Invalid(
                f"Row {number} has {len(cells)} cells; the header has {len(names)}.",
                fields={f"rows[{number}]": f"{len(cells)} cells, expected {len(names)}"},
            )
        rows.append({name: _csv_cell(name, cell) for name, cell in zip(names, cells, strict=True) if cell != ""})
        numbers.append(number)
    return rows, lambda i: f"rows[{numbers[i]}]"


def _supported(t) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return _supported(t.value_type)
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_null(t)
    )


def read_parquet(data: bytes) -> tuple[list[dict[str, Any]], Callable[[int], str]]:
    limits = upload_limits()
    handle = reading.open_parquet(data, limits)
    schema = handle.schema_arrow
    names = list(schema.names)
    if len(set(names)) != len(names):
        raise Invalid("A column appears twice.", fields={"columns": "duplicate column"})
    _check_columns(names)
    for f in schema:
        if not _supported(f.type):
            raise Invalid(
                f"Column '{f.name}' has type {f.type}; use strings, integers, numbers or timestamps.",
                fields={f"columns.{f.name}": f"unsupported type {f.type}"},
            )
    rows: list[dict[str, Any]] = []
    for row in reading.iter_batches_as_rows(reading.parquet_batches(handle, limits)):
        clean = {}
        for name, value in row.items():
            if value is None:
                continue
            if isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)  # Parquet timestamps without a zone are UTC by convention
            clean[name] = value
        rows.append(clean)
    return rows, lambda i: f"rows[{i + 1}]"


def read(data: bytes, filename: str, fmt: str | None = None) -> tuple[str, list[dict[str, Any]], Callable[[int], str]]:
    """Returns (format, rows, label of row i)."""
    check_size(len(data))
    kind = detect_format(filename, data, fmt)
    rows, label = read_parquet(data) if kind == "parquet" else read_csv(data)
    if not rows:
        raise Invalid("The file has no rows.", fields={"file": "no rows"})
    return kind, rows, label
