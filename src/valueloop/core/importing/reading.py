"""Bounded reading of uploaded files: nothing is decoded past a limit, and every refusal names the limit.

Invariants:
- One ``UploadLimits`` says how much any upload may hold: bytes, rows, the characters of one string (a CSV
  field, a Parquet value), the decoded bytes of one Parquet record batch and of the whole file, and the nesting
  depth of JSON. Operators set the defaults through ``VALUELOOP_UPLOAD_*`` (see ``settings.py``); an importer
  may only tighten them for its own files (``limits.tighter(...)``).
- The size is checked before anything is parsed.
- Parquet is decoded one record batch at a time. String columns are read dictionary-encoded, so a batch's rows,
  its longest string and its decoded size are known from the dictionary and the indices *before* any string is
  expanded or any Python object made: a 25 KB file whose dictionary holds one 1,000-character string for
  200,000 rows costs one small batch, not 200 MB. The sizes the file declares (rows, uncompressed bytes) are
  checked first, and the real ones are counted as the batches come.
- CSV text is fed to ``csv.reader`` one physical line at a time: a line, a field, the row count and a NUL
  byte are refused as soon as they are seen.
- JSON nesting is measured by an iterative scan before ``json.loads`` runs, so a document nested 5,000 deep is
  a refusal naming its depth, never a ``RecursionError``.
- Every refusal is an ``ImportRefused`` (422, code ``import_refused``): its message says what was found and the
  limit (with the setting that raises it), and ``fields`` names the form field (``file`` unless told).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from valueloop.core.errors import Invalid

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

MB = 1024 * 1024


def human_size(size: int) -> str:
    """The one way sizes are printed: "512 bytes", "12 KB", "1.5 MB", "50 MB" (binary units)."""
    if size >= MB:
        return f"{size / MB:.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


class ImportRefused(Invalid):
    """The file cannot be read within the limits, or cannot be read at all: nothing was written.

    ``limit`` names the ``UploadLimits`` field that refused it (``None`` for a file that is simply unreadable).
    """

    code = "import_refused"

    def __init__(self, message: str, *, field: str = "file", limit: str | None = None, fields=None):
        super().__init__(message, fields=fields or {field: message})
        self.limit = limit


@contextlib.contextmanager
def refusals_name(field: str) -> Iterator[None]:
    """Inside, a refusal about the file names ``field`` instead: for an API that takes the file's text in a JSON
    field (``csv``), so the client is told which field of its body was refused."""
    try:
        yield
    except ImportRefused as exc:
        if "file" not in exc.fields:
            raise
        fields = {(field if name == "file" else name): message for name, message in exc.fields.items()}
        raise ImportRefused(exc.message, limit=exc.limit, fields=fields) from None


# The setting (and environment variable) behind each limit, named in refusals so the operator knows what to raise.
_SETTINGS = {
    "max_bytes": "VALUELOOP_UPLOAD_MAX_BYTES",
    "max_rows": "VALUELOOP_UPLOAD_MAX_ROWS",
    "max_string_length": "VALUELOOP_UPLOAD_MAX_STRING_LENGTH",
    "max_batch_bytes": "VALUELOOP_UPLOAD_MAX_BATCH_BYTES",
    "max_decoded_bytes": "VALUELOOP_UPLOAD_MAX_DECODED_BYTES",
    "max_json_depth": "VALUELOOP_UPLOAD_MAX_JSON_DEPTH",
}


_SPLIT = "Split the file into smaller ones."
_ADVICE = {
    "max_string_length": "Shorten the longest values, or check the file's quoting.",
    "max_json_depth": "Flatten the records: one object per item.",
}


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 50 * MB  # the file as uploaded
    max_rows: int = 500_000  # data rows (CSV), records (JSON), rows (Parquet)
    max_string_length: int = 100_000  # characters of one CSV field or Parquet string value
    max_batch_bytes: int = 64 * MB  # decoded bytes of one Parquet record batch
    max_decoded_bytes: int = 256 * MB  # decoded bytes of a whole Parquet file (declared and real)
    max_json_depth: int = 64  # nesting of arrays and objects
    batch_rows: int = 8192  # rows decoded at a time (not a limit: how the work is cut)
    tightened: frozenset[str] = frozenset()  # limits an importer lowered (their refusals name no setting)

    @classmethod
    def from_settings(cls, **tighter: int) -> UploadLimits:
        """The operator's limits (``settings.UPLOAD_LIMITS``), tightened by an importer's own."""
        configured = getattr(settings, "UPLOAD_LIMITS", None) or {}
        return cls(**configured).tighter(**tighter)

    def tighter(self, **limits: int | None) -> UploadLimits:
        """These limits with some lowered (an importer's smaller files); a value can never raise a limit."""
        lowered = {name: value for name, value in limits.items() if value is not None and value < getattr(self, name)}
        return dataclasses.replace(self, **lowered, tightened=self.tightened | set(lowered))

    def refuse(self, limit: str, found: str, advice: str | None = None, *, field="file"):
        allowed = getattr(self, limit)
        advice = advice or _ADVICE.get(limit, _SPLIT)
        shown = human_size(allowed) if limit.endswith("bytes") else f"{allowed:,}"
        source = "for this import" if limit in self.tightened else _SETTINGS[limit]
        raise ImportRefused(
            f"{found}; the limit is {shown} ({limit.replace('_', ' ')}, {source}). {advice}",
            field=field,
            limit=limit,
        )


def check_size(size: int | None, limits: UploadLimits, *, field: str = "file", advice: str = _SPLIT) -> None:
    """Refuse a file from its size alone (before reading it when the size is known up front)."""
    if size is not None and size > limits.max_bytes:
        shown = human_size(size)
        if shown == human_size(limits.max_bytes):  # "5 MB; the limit is 5 MB" would read as a bug
            shown = f"{size:,} bytes"
        limits.refuse("max_bytes", f"The file is {shown}", advice, field=field)


def read_upload(fileobj, limits: UploadLimits, *, field: str = "file", advice: str = _SPLIT) -> bytes:
    """Read an uploaded (or opened) file, refusing it from its declared size or after ``max_bytes + 1`` bytes."""
    check_size(getattr(fileobj, "size", None), limits, field=field, advice=advice)
    data = fileobj.read(limits.max_bytes + 1)
    check_size(len(data), limits, field=field, advice=advice)
    return data


def line_of(data: bytes | str, offset: int) -> int:
    return data.count(b"\n" if isinstance(data, bytes) else "\n", 0, offset) + 1


def refuse_nul(data: bytes | str, *, field: str = "file") -> None:
    """A NUL byte means a binary file (or a UTF-16 one): refused, naming where it is."""
    nul = data.find(b"\x00" if isinstance(data, bytes) else "\x00")
    if nul >= 0:
        raise ImportRefused(
            f"The file contains a NUL byte at byte offset {nul} (line {line_of(data, nul)}): it is binary, not text.",
            field=field,
        )


# --- CSV -----------------------------------------------------------------------------------------------------------


def _bounded_lines(text: str, limits: UploadLimits) -> Iterator[str]:
    # A physical line may hold several fields but not unbounded ones: this stops a line of millions of
    # delimiters (millions of empty cells) before csv builds the row. Fields spanning lines are bounded by
    # the csv module's own field limit, checked again per cell below.
    longest = limits.max_string_length * 4 + 1024
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if len(line) > longest:
            limits.refuse(
                "max_string_length",
                f"Line {number} is {len(line):,} characters long",
                "Check that the file is CSV and that its fields are quoted.",
            )
        yield line


def csv_rows(text: str, limits: UploadLimits, **reader_options: Any) -> Iterator[list[str]]:
    """``csv.reader`` over ``text`` (every option passed on), within the limits: the row count (data rows, the
    header and blank rows aside), the length of every field, the length of every physical line, and no NUL.
    Rows are yielded as they are read, so a refusal comes before the rest of the file is parsed."""
    refuse_nul(text)
    reader = csv.reader(_bounded_lines(text, limits), **reader_options)
    rows = -1  # the header is not a data row
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                limits.refuse(
                    "max_string_length",
                    f"A field near line {reader.line_num} is longer than {csv.field_size_limit():,} characters",
                    "Check the file's quoting: an unclosed quote swallows the rest of the file.",
                )
            raise ImportRefused(
                f"The file cannot be read as CSV near line {reader.line_num}: {exc}.",
                fields={"file": f"Not valid CSV (line {reader.line_num})."},
            ) from None
        for cell in cells:
            if len(cell) > limits.max_string_length:
                limits.refuse("max_string_length", f"A field on line {reader.line_num} has {len(cell):,} characters")
        if any(cell.strip() for cell in cells):
            rows += 1
            if rows > limits.max_rows:
                limits.refuse("max_rows", f"The file has more than {limits.max_rows:,} rows")
        yield cells


# --- JSON ----------------------------------------------------------------------------------------------------------

# A whole string literal (skipped in one step, so brackets inside strings do not count) or one bracket.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def check_json_depth(text: str, limits: UploadLimits) -> None:
    """Refuse JSON nested deeper than ``max_json_depth`` without parsing it (one iterative regex pass)."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limits.max_json_depth:
                limits.refuse(
                    "max_json_depth",
                    f"The JSON is nested more than {limits.max_json_depth} levels deep at line "
                    f"{line_of(text, match.start())}",
                    "Flatten the records: one object per item.",
                )
        elif token in "]}":
            depth = max(0, depth - 1)


def load_json(text: str, limits: UploadLimits) -> Any:
    """``json.loads`` after the depth check; a document that cannot be parsed is refused naming where."""
    check_json_depth(text, limits)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRefused(f"The JSON is not valid at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (sys.get_int_max_str_digits)
        raise ImportRefused(f"The JSON cannot be read: {exc}.") from None


# --- Parquet -------------------------------------------------------------------------------------------------------


def open_parquet(data: bytes, limits: UploadLimits) -> pq.ParquetFile:
    """Open a Parquet file, checking what it declares (rows, uncompressed bytes) before any column is read.

    String and binary columns are opened dictionary-encoded, so ``parquet_batches`` can measure them before they
    are expanded.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_size(len(data), limits)
    if data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        raise ImportRefused("Not a Parquet file (it does not start and end with PAR1).", fields={"file": "not Parquet"})
    try:
        probe = pq.ParquetFile(io.BytesIO(data))
        metadata = probe.metadata
        schema = probe.schema_arrow
    except (pa.ArrowException, OSError, ValueError):
        raise ImportRefused("Not a readable Parquet file.", fields={"file": "not Parquet"}) from None
    if metadata.num_rows > limits.max_rows:
        limits.refuse("max_rows", f"The file declares {metadata.num_rows:,} rows")
    declared = sum(
        metadata.row_group(g).column(c).total_uncompressed_size
        for g in range(metadata.num_row_groups)
        for c in range(metadata.num_columns)
    )
    if declared > limits.max_decoded_bytes:
        limits.refuse("max_decoded_bytes", f"The file declares {human_size(declared)} of uncompressed data")
    text_columns = [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type) or _is_binary(f.type)
    ]
    try:
        return pq.ParquetFile(io.BytesIO(data), read_dictionary=text_columns or None)
    except (pa.ArrowException, OSError, ValueError):
        raise ImportRefused("Not a readable Parquet file.", fields={"file": "not Parquet"}) from None


def _is_binary(t: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_binary(t) or pa.types.is_large_binary(t)


def _decoded_bytes(name: str, column: pa.Array, limits: UploadLimits) -> int:
    """The bytes ``column`` takes once expanded, refusing a string longer than the limit, computed from the
    dictionary and the indices (the values themselves are never expanded here)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_dictionary(column.type):
        return column.nbytes
    values = column.dictionary
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        lengths = pc.utf8_length(values)
        unit = "characters"
    else:
        lengths = pc.binary_length(values)
        unit = "bytes"
    if len(values):
        used = pc.unique(column.indices.drop_null())
        longest = pc.max(pc.take(lengths, used)).as_py() if len(used) else 0
        if longest and longest > limits.max_string_length:
            limits.refuse("max_string_length", f"A value in column '{name[:60]}' has {longest:,} {unit}")
    byte_lengths = pc.binary_length(values) if unit == "characters" else lengths
    expanded = pc.sum(pc.take(byte_lengths, column.indices.drop_null())).as_py() or 0
    return int(expanded) + 8 * len(column)  # the values plus offsets and validity, roughly


def parquet_batches(handle: pq.ParquetFile, limits: UploadLimits) -> Iterator[pa.RecordBatch]:
    """Yield record batches with their string columns expanded, each one checked before it is expanded: the row
    count so far, every string's length, the batch's decoded bytes and the file's decoded bytes so far."""
    import pyarrow as pa

    rows = 0
    total = 0
    batches = handle.iter_batches(batch_size=limits.batch_rows)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError, ValueError):
            raise ImportRefused("The Parquet file is damaged.", fields={"file": "damaged"}) from None
        rows += batch.num_rows
        if rows > limits.max_rows:
            limits.refuse("max_rows", f"The file has more than {limits.max_rows:,} rows")
        size = sum(_decoded_bytes(name, batch.column(i), limits) for i, name in enumerate(batch.schema.names))
        if size > limits.max_batch_bytes:
            limits.refuse(
                "max_batch_bytes", f"Rows {rows - batch.num_rows + 1:,} to {rows:,} decode to {human_size(size)}"
            )
        total += size
        if total > limits.max_decoded_bytes:
            limits.refuse("max_decoded_bytes", f"The file decodes to more than {human_size(total)}")
        yield pa.RecordBatch.from_arrays(
            [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns],
            names=batch.schema.names,
        )


def iter_batches_as_rows(batches: Iterable[pa.RecordBatch]) -> Iterator[dict[str, Any]]:
    """Python rows from checked batches, one batch's objects at a time."""
    for batch in batches:
        yield from batch.to_pylist()
