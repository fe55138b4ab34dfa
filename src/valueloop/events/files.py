"""Reading uploaded CSV and Parquet files into event rows, defensively.

Invariants:
- The size is checked before parsing (``MAX_UPLOAD_BYTES``); Parquet files are also checked on their metadata
  (rows, uncompressed size, column types) before any column is decoded, so a small file cannot expand into
  gigabytes.
- Columns carry the JSON field names (``type``, ``experiment_key``, ``variation_id``, ``user_id`` or
  ``hash_value``, ``timestamp``, ``value``); an unknown column is an error naming it. Empty CSV cells are
  absent fields. CSV rows are numbered as in a spreadsheet (the header is row 1); Parquet rows from 1.
- Parsing only turns text into the types the row validator expects (integers, numbers); the validator
  (``rows.parse_rows``) decides what is valid, so a file and the batch API accept exactly the same rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from valueloop.core.errors import Invalid

from .rows import EVENT_ALLOWED, EXPOSURE_ALLOWED

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_UPLOAD_ROWS = 500_000
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
COLUMNS = EXPOSURE_ALLOWED | EVENT_ALLOWED
_INT_RE = re.compile(r"^[+-]?\d{1,12}$")


def upload_limit() -> int:
    return int(getattr(settings, "EVENTS_UPLOAD_MAX_BYTES", MAX_UPLOAD_BYTES))


def human_size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def check_size(size: int) -> None:
    limit = upload_limit()
    if size > limit:
        raise Invalid(
            f"The file is {human_size(size)}; the limit is {human_size(limit)}. Split it into smaller files.",
            fields={"file": f"at most {human_size(limit)}"},
        )


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
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(
            f"The file is not UTF-8 text (byte {exc.start}). Save it as CSV UTF-8.", fields={"file": "not UTF-8"}
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise Invalid("The file is empty.", fields={"file": "empty"}) from None
    except csv.Error as exc:
        raise Invalid(f"Not a readable CSV file: {exc}.", fields={"file": "not CSV"}) from None
    names = [h.strip() for h in header]
    if len(set(names)) != len(names):
        raise Invalid("A column appears twice in the header.", fields={"columns": "duplicate column"})
    _check_columns(names)
    rows: list[dict[str, Any]] = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cells):
                continue
            if len(rows) >= MAX_UPLOAD_ROWS:
                raise Invalid(
                    f"The file has more than {MAX_UPLOAD_ROWS} rows; split it.", fields={"file": "too many rows"}
                )
            if len(cells) != len(names):
                raise Invalid(
                    f"Row {number} has {len(cells)} cells; the header has {len(names)}.",
                    fields={f"rows[{number}]": f"{len(cells)} cells, expected {len(names)}"},
                )
            row = {name: _csv_cell(name, cell) for name, cell in zip(names, cells, strict=True) if cell != ""}
            row["__row"] = number
            rows.append(row)
    except csv.Error as exc:
        raise Invalid(f"Not a readable CSV file: {exc}.", fields={"file": "not CSV"}) from None
    numbers = [row.pop("__row") for row in rows]
    return rows, lambda i: f"rows[{numbers[i]}]"


def read_parquet(data: bytes) -> tuple[list[dict[str, Any]], Callable[[int], str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(io.BytesIO(data))
        metadata = handle.metadata
        schema = handle.schema_arrow
    except (pa.ArrowException, OSError, ValueError):
        raise Invalid("Not a readable Parquet file.", fields={"file": "not Parquet"}) from None
    if metadata.num_rows > MAX_UPLOAD_ROWS:
        raise Invalid(f"The file has more than {MAX_UPLOAD_ROWS} rows; split it.", fields={"file": "too many rows"})
    expanded = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if expanded > MAX_UNCOMPRESSED_BYTES:
        raise Invalid("The file expands to too much data; split it.", fields={"file": "too large uncompressed"})
    names = list(schema.names)
    if len(set(names)) != len(names):
        raise Invalid("A column appears twice.", fields={"columns": "duplicate column"})
    _check_columns(names)
    for f in schema:
        t = f.type
        ok = (
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_integer(t)
            or pa.types.is_floating(t)
            or pa.types.is_timestamp(t)
            or pa.types.is_null(t)
            or pa.types.is_dictionary(t)
        )
        if not ok:
            raise Invalid(
                f"Column '{f.name}' has type {t}; use strings, integers, numbers or timestamps.",
                fields={f"columns.{f.name}": f"unsupported type {t}"},
            )
    try:
        table = handle.read()
    except (pa.ArrowException, OSError, ValueError):
        raise Invalid("The Parquet file is damaged.", fields={"file": "damaged"}) from None
    rows: list[dict[str, Any]] = []
    for row in table.to_pylist():
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
