"""Feedback ingestion: CSV / JSON files and API batches -> validated rows -> a report.

This module reads and validates; it never writes. ``services.feedback_import`` and
``services.feedback_batch_create`` write what ``prepare`` accepted, in one transaction.

Invariants:
- Reading is bounded by ``core.importing.reading`` (``ImportOptions.limits``): the size before reading; CSV
  rows, field lengths and lines as they are read; JSON nesting before it is parsed (a document nested 5,000
  deep is a refusal naming the depth) and the number of records. A limit raises ``reading.ImportRefused``.
- Everything is checked before anything is written: size (refused before reading), encoding
  (``core.importing.encoding``: UTF-8 first, else detected and named in the report), format, columns
  (required missing, unknown ignored), then every row: dates, customers, contacts, sources, URLs, duplicate
  external ids, empty text.
- Every problem names where it is: ``Problem(row, field, message)``. CSV rows are numbered as in a
  spreadsheet (the header is row 1, the first item row 2); JSON items from 1; JSON lines by line.
- Idempotent by (source, external_id): a row whose key already exists is "unchanged" and is never
  written again. A row without an external id gets a content hash as its id, so re-importing a
  file without ids is idempotent too.
- Customers are resolved with one query up front (external id, then name, then domain);
  contacts by email. An unknown customer is an error unless ``unknown_customer="skip_link"``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import html
import json
import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from valueloop.core import importing as core_importing
from valueloop.core.importing import UploadLimits, dates, human_size, idempotency, reading
from valueloop.core.importing import encoding as encoding_policy
from valueloop.core.importing import problems as problems_kit

from .models import IMPORTANCE, SOURCES, FeedbackItem

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_REPORTED_PROBLEMS = 1000
PREVIEW_ROWS = 10
MAX_TAGS_PER_ITEM = 20
MAX_TEXT = 100_000
MAX_TITLE = 300
MAX_EXTERNAL_ID = 120
MAX_TAG = 60

# Our fields, in the order the mapping step shows them.
FIELDS: dict[str, str] = {
    "external_id": "External id (makes re-imports idempotent)",
    "title": "Title / subject",
    "text": "Text (required)",
    "received_at": "Date received (required)",
    "source": "Source",
    "customer": "Customer (external id, name or domain)",
    "contact_email": "Contact email",
    "url": "Link to the original",
    "importance": "Importance as the customer stated it",
    "tags": "Tags",
}
REQUIRED_FIELDS = ("text", "received_at")
SOURCE_KEYS = [key for key, _ in SOURCES]
IMPORTANCE_KEYS = [key for key, _ in IMPORTANCE if key]

SOURCE_SYNONYMS = {
    **{key: key for key in SOURCE_KEYS},
    **{label.lower().replace("-", "_").replace(" ", "_"): key for key, label in SOURCES},
    "ticket": "support",
    "support_ticket": "support",
    "zendesk": "support",
    "helpdesk": "support",
    "freshdesk": "support",
    "sales": "sales_call",
    "call": "sales_call",
    "gong": "sales_call",
    "demo": "sales_call",
    "user_interview": "interview",
    "research": "interview",
    "nps": "survey",
    "csat": "survey",
    "g2": "review",
    "capterra": "review",
    "app_store": "review",
    "trustpilot": "review",
    "inapp": "in_app",
    "intercom": "in_app",
    "chat": "in_app",
    "widget": "in_app",
    "mail": "email",
}
IMPORTANCE_SYNONYMS = {
    "nice_to_have": "nice_to_have",
    "nice": "nice_to_have",
    "low": "nice_to_have",
    "minor": "nice_to_have",
    "important": "important",
    "medium": "important",
    "normal": "important",
    "high": "important",
    "major": "important",
    "critical": "critical",
    "blocker": "critical",
    "critical_/_blocker": "critical",
    "urgent": "critical",
    "must_have": "critical",
}


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    # our field -> candidate columns / JSON paths; the first one present in the file is used
    mapping: dict[str, tuple[str, ...]]
    default_source: str = "other"
    html_text: bool = False  # the text column holds HTML (Intercom)
    tag_separator: str = ","  # inside one cell; JSON lists need none
    title_as_text: bool = False  # an item with no text uses its title (Canny posts often have no details)
    extra_tags: tuple[str, ...] = ()
    help: str = ""


PRESETS: dict[str, Preset] = {
    "generic": Preset(
        key="generic",
        label="Generic CSV / JSON",
        mapping={
            "external_id": ("external_id", "id", "ID", "Id"),
            "title": ("title", "Title", "subject", "Subject"),
            "text": ("text", "Text", "feedback", "Feedback", "body", "Body", "description", "Description"),
            "received_at": ("received_at", "date", "Date", "created_at", "Created at", "created"),
            "source": ("source", "Source"),
            "customer": ("customer", "Customer", "company", "Company", "account", "Account"),
            "contact_email": ("contact_email", "email", "Email", "contact", "Contact"),
            "url": ("url", "URL", "link", "Link"),
            "importance": ("importance", "Importance", "priority", "Priority"),
            "tags": ("tags", "Tags"),
        },
        help="One row per item; columns named like our fields are picked up automatically.",
    ),
    "zendesk": Preset(
        key="zendesk",
        label="Zendesk ticket export",
        mapping={
            "external_id": ("Id", "ID", "id"),
            "title": ("Subject", "subject", "raw_subject"),
            "text": ("Description", "description"),
            "received_at": ("Created at", "created_at"),
            "customer": ("Organization", "organization.name", "organization_name", "Requester domain"),
            "contact_email": ("Requester email", "requester.email", "via.source.from.address"),
            "url": ("Ticket URL", "url"),
            "tags": ("Tags", "tags"),
        },
        default_source="support",
        tag_separator=" ",
        extra_tags=("zendesk",),
        help="CSV from a Zendesk view export, or the JSON (one ticket per line) full export.",
    ),
    "intercom": Preset(
        key="intercom",
        label="Intercom conversation export",
        mapping={
            "external_id": ("conversation_id", "Conversation ID", "id"),
            "title": ("Subject", "source.subject"),
            "text": ("message_body", "First message", "Message", "source.body"),
            "received_at": ("conversation_created_at", "Created at", "created_at"),
            "customer": ("message_author_companies", "Company name", "Company", "company.name"),
            "contact_email": ("message_author_email", "User email", "Email", "source.author.email"),
            "url": ("Conversation URL", "source.url"),
            "tags": ("conversation_tags", "Tags", "tags.tags[].name"),
        },
        default_source="in_app",
        html_text=True,
        extra_tags=("intercom",),
        help="Conversation CSV export, or conversations as JSON from the API (source.body is HTML).",
    ),
    "canny": Preset(
        key="canny",
        label="Canny post export",
        mapping={
            "external_id": ("Post ID", "ID", "id"),
            "title": ("Title", "Post Title", "title"),
            "text": ("Details", "Post Details", "details"),
            "received_at": ("Created", "Created At", "Date", "created"),
            "customer": ("Company", "Company Name", "Author Company", "author.companies[].name"),
            "contact_email": ("Author Email", "Email", "author.email"),
            "url": ("URL", "Post URL", "url"),
            "tags": ("Tags", "tags[].name"),
        },
        title_as_text=True,
        extra_tags=("canny",),
        help="Posts CSV export or posts JSON from the API; a post without details uses its title.",
    ),
}


# --- report -----------------------------------------------------------------------------------


# The one per-row/field problem (row, field, message, value) of every importer.
Problem = problems_kit.Problem


@dataclass
class ImportReport:
    preset: str
    format: str = ""
    filename: str = ""
    encoding: str = ""  # the encoding the file was read with ("Windows-1252 (detected)")
    row_unit: str = "row"
    total_rows: int = 0
    valid_rows: int = 0
    to_create: int = 0
    created: int = 0
    unchanged: int = 0
    invalid_rows: int = 0
    error_count: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    mapping: dict[str, str | None] = field(default_factory=dict)
    preview: list[dict] = field(default_factory=list)
    fatal: bool = False  # a whole-file problem: nothing can be imported, even skipping rows
    dry_run: bool = False
    skip_invalid: bool = False
    written: bool = False
    created_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def can_write(self) -> bool:
        return not self.fatal and (self.ok or self.skip_invalid)

    def error(self, row: int | None, fld: str | None, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_PROBLEMS:
            self.errors.append(Problem(row, fld, message))

    def warn(self, row: int | None, fld: str | None, message: str) -> None:
        if len(self.warnings) < MAX_REPORTED_PROBLEMS:
            self.warnings.append(Problem(row, fld, message))

    def summary(self) -> str:
        if self.fatal:
            return "The file cannot be imported: " + "; ".join(p.message for p in self.errors[:3])
        verb = "would be" if self.dry_run or not self.written else "were"
        parts = [f"{self.total_rows} {self.row_unit}{'s' if self.total_rows != 1 else ''} read"]
        if self.written:
            parts.append(f"{self.created} created")
        else:
            parts.append(f"{self.to_create} {verb} created")
        parts.append(f"{self.unchanged} unchanged (already imported)")
        if self.invalid_rows:
            if self.skip_invalid:
                parts.append(f"{self.invalid_rows} invalid {'skipped' if self.written else 'to skip'}")
            else:
                parts.append(f"{self.invalid_rows} invalid")
        text = ", ".join(parts) + "."
        if self.error_count and not self.skip_invalid:
            text += " Nothing was written: fix the rows below, or choose to skip invalid rows."
        return text

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["summary"] = self.summary()
        return data

    def as_text(self, limit: int = 200) -> str:
        lines = [self.summary()]
        if self.mapping:
            used = ", ".join(f"{k} <- {v!r}" for k, v in self.mapping.items() if v)
            lines.append(f"Mapping: {used}")
        if self.ignored_columns:
            lines.append("Ignored columns: " + ", ".join(self.ignored_columns))
        for problem in self.errors[:limit]:
            lines.append(f"  ERROR   {problem.where(self.row_unit)}: {problem.message}")
        if self.error_count > min(limit, len(self.errors)):
            lines.append(f"  ... and {self.error_count - min(limit, len(self.errors))} more errors")
        for problem in self.warnings[:limit]:
            lines.append(f"  warning {problem.where(self.row_unit)}: {problem.message}")
        return "\n".join(lines)


@dataclass(slots=True)
class Row:
    number: int
    external_id: str
    title: str
    text: str
    received_at: dt.datetime
    source: str
    customer_id: int | None
    contact_id: int | None
    url: str
    importance: str
    tags: list[str]
    exists: bool = False
    status: str = "new"
    persona_ids: list[int] = field(default_factory=list)


@dataclass
class ImportOptions:
    preset: str = "generic"
    fmt: str | None = None  # csv | json | jsonl; None: from the file name, else sniffed
    mapping: dict[str, Any] | None = None  # our field -> column / JSON path ("" or None: unmapped)
    default_source: str | None = None
    unknown_customer: str = "error"  # or "skip_link": import the item without a customer
    date_format: str | None = None  # strptime format for dates that are not ISO 8601
    encoding: str | None = None  # None/"auto": UTF-8 first, else detected (core.importing.encoding)
    skip_invalid: bool = False
    dry_run: bool = False
    max_bytes: int | None = None
    default_received_now: bool = False  # API batches: a missing date means "now"

    @property
    def limit(self) -> int:
        return self.limits.max_bytes

    @property
    def limits(self) -> UploadLimits:
        return UploadLimits.from_settings(
            max_bytes=self.max_bytes or getattr(settings, "FEEDBACK_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)
        )


class ImportRefused(Exception):
    """A whole-file problem found before parsing (size); carries the report."""

    def __init__(self, report: ImportReport):
        super().__init__(report.summary())
        self.report = report


# --- reading ----------------------------------------------------------------------------------


def size_problem(size: int, limit: int) -> str | None:
    if size > limit:
        return (
            f"The file is {human_size(size)}; the limit is {human_size(limit)}. "
            "Split it into smaller files (each import is idempotent, so overlapping files are fine)."
        )
    return None


def check_size(size: int, options: ImportOptions, filename: str = "") -> None:
    """Refuse an oversized file before reading it."""
    problem = size_problem(size, options.limit)
    if problem:
        report = ImportReport(preset=options.preset, filename=filename, fatal=True)
        report.error(None, None, problem)
        raise ImportRefused(report)


def decode(data: bytes, report: ImportReport, encoding: str | None = None) -> str | None:
    """The file's text by the one encoding policy (``core.importing.encoding``: UTF-8 first, detection
    otherwise, ``encoding`` overrides); a file that cannot be read is an error naming its line and byte."""
    try:
        decoded = encoding_policy.decode(data, encoding)
    except encoding_policy.EncodingRefused as exc:
        report.error(exc.line, None, exc.message)
        return None
    except core_importing.ImportRefused as exc:  # an unknown explicit encoding
        report.error(None, "encoding", exc.message)
        return None
    report.encoding = decoded.label
    return decoded.text


def detect_format(filename: str, text: str, fmt: str | None) -> str:
    if fmt in {"csv", "json", "jsonl"}:
        return fmt
    name = (filename or "").lower()
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".json"):
        stripped = text.lstrip()
        return "jsonl" if stripped.startswith("{") and _looks_like_json_lines(stripped) else "json"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    stripped = text.lstrip()
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        return "jsonl" if _looks_like_json_lines(stripped) else "json"
    return "csv"


def _looks_like_json_lines(text: str) -> bool:
    first_line = text.split("\n", 1)[0].strip()
    if not first_line.endswith("}"):
        return False
    try:
        json.loads(first_line)  # read_table checked the whole text's depth before
    except (ValueError, RecursionError):
        return False
    return "\n" in text.strip()


@dataclass
class Table:
    """Parsed input: records (lists for CSV, dicts for JSON) and how to reach a column."""

    kind: str  # csv | json | jsonl | records
    columns: list[str]
    records: list[Any]
    numbers: list[int]  # the row number to report for each record
    column_index: dict[str, int] = field(default_factory=dict)

    def has(self, column: str) -> bool:
        if self.kind == "csv":
            return column in self.column_index
        return column in self.columns or any(_resolve(rec, column) is not None for rec in self.records[:1000])

    def getter(self, column: str) -> Callable[[Any], Any]:
        if self.kind == "csv":
            index = self.column_index[column]
            return lambda rec: rec[index] if index < len(rec) else None
        return lambda rec: _resolve(rec, column)


def _resolve(record: Any, path: str) -> Any:
    """A value by JSON path: ``a.b``, ``tags[].name`` (maps over a list); a flat key wins."""
    if not isinstance(record, dict):
        return None
    if path in record:
        return record[path]
    current: Any = record
    for segment in path.split("."):
        many = segment.endswith("[]")
        key = segment[:-2] if many else segment
        if isinstance(current, list):
            current = [item.get(key) for item in current if isinstance(item, dict)]
        elif isinstance(current, dict):
            current = current.get(key)
        else:
            return None
        if current is None:
            return None
        if many and not isinstance(current, list):
            return None
    return current


def parse_csv(text: str, report: ImportReport, limits: UploadLimits) -> Table | None:
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first_line.count) if first_line else ","
    # csv_rows refuses too many rows and over-long fields or lines as they are read.
    reader = reading.csv_rows(text, limits, delimiter=delimiter, strict=False)
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            report.error(1, None, "The file is empty or has no header row; the first row must name the columns.")
            report.fatal = True
            return None
        columns: list[str] = []
        index: dict[str, int] = {}
        for i, name in enumerate(header):
            name = name.strip() or f"column {i + 1}"
            if name in index:
                report.warn(1, None, f"The column {name!r} appears twice; the first one is used.")
            else:
                index[name] = i
            columns.append(name)
        records: list[list[str]] = []
        numbers: list[int] = []
        width = len(header)
        number = 1
        for record in reader:
            number += 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line
            if len(record) != width:
                if len(record) > width and not any(v.strip() for v in record[width:]):
                    record = record[:width]  # trailing empty cells (spreadsheet exports add them)
                elif len(record) > width:
                    extra = ", ".join(repr(v[:40]) for v in record[width:][:3])
                    report.error(
                        number,
                        None,
                        f"This row has {len(record)} values but the header has {width} columns "
                        f"(extra values: {extra}). Check for an unquoted delimiter ({delimiter!r}) in a cell.",
                    )
                    records.append(None)  # counted, never imported
                    numbers.append(number)
                    continue
                else:
                    missing = ", ".join(columns[len(record) :][:5])
                    report.error(
                        number,
                        None,
                        f"This row has {len(record)} values but the header has {width} columns "
                        f"(no value for: {missing}).",
                    )
                    records.append(None)
                    numbers.append(number)
                    continue
            records.append(record)
            numbers.append(number)
    except reading.ImportRefused as exc:
        if exc.limit:
            raise
        report.error(None, None, exc.message)
        report.fatal = True
        return None
    return Table("csv", columns, records, numbers, index)


def parse_json(text: str, report: ImportReport, limits: UploadLimits) -> Table | None:
    try:
        document = json.loads(text)  # read_table checked its depth
    except json.JSONDecodeError as exc:
        report.error(exc.lineno, None, f"The JSON is not valid at line {exc.lineno}, column {exc.colno}: {exc.msg}.")
        report.fatal = True
        return None
    except ValueError as exc:  # an integer longer than Python converts
        report.error(None, None, f"The JSON cannot be read: {exc}.")
        report.fatal = True
        return None
    if isinstance(document, dict):
        lists = [value for value in document.values() if isinstance(value, list)]
        # {"tickets": [...]} / {"conversations": [...]} / {"posts": [...]}, or a single object
        document = lists[0] if len(lists) == 1 else [document]
    if not isinstance(document, list):
        report.error(None, None, "The JSON must be an array of objects, or one object per line (JSON lines).")
        report.fatal = True
        return None
    if len(document) > limits.max_rows:
        limits.refuse("max_rows", f"The file has {len(document):,} items")
    numbers = list(range(1, len(document) + 1))
    return Table("json", _json_columns(document), document, numbers)


def parse_jsonl(text: str, report: ImportReport, limits: UploadLimits) -> Table | None:
    records: list[Any] = []
    numbers: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(records) >= limits.max_rows:
            limits.refuse("max_rows", f"The file has more than {limits.max_rows:,} lines")
        try:
            records.append(json.loads(line))  # read_table checked the depth
        except json.JSONDecodeError as exc:
            report.error(number, None, f"This line is not valid JSON (column {exc.colno}): {exc.msg}.")
            records.append(None)
        except ValueError as exc:
            report.error(number, None, f"This line cannot be read: {exc}.")
            records.append(None)
        numbers.append(number)
    return Table("jsonl", _json_columns(records), records, numbers)


def _json_columns(records: list[Any]) -> list[str]:
    """Keys seen in the first records, nested ones as dotted paths (two levels), in order."""
    seen: dict[str, None] = {}
    for record in records[:1000]:
        if not isinstance(record, dict):
            continue
        for key, value in record.items():
            if isinstance(value, dict):
                for sub, subvalue in value.items():
                    if isinstance(subvalue, dict):
                        for leaf in subvalue:
                            seen.setdefault(f"{key}.{sub}.{leaf}", None)
                    else:
                        seen.setdefault(f"{key}.{sub}", None)
            else:
                seen.setdefault(key, None)
    return list(seen)


def read_table(data: bytes, *, filename: str, options: ImportOptions, report: ImportReport) -> Table | None:
    problem = size_problem(len(data), options.limit)
    if problem:
        report.error(None, None, problem)
        report.fatal = True
        return None
    text = decode(data, report, options.encoding)
    if text is None:
        report.fatal = True
        return None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        report.error(line, None, f"The file contains a NUL byte at line {line}; it is probably not a text file.")
        report.fatal = True
        return None
    limits = options.limits
    if options.fmt in ("json", "jsonl") or text.lstrip()[:1] in ("[", "{"):
        reading.check_json_depth(text, limits)  # before any json.loads, detect_format's included
    report.format = detect_format(filename, text, options.fmt)
    if report.format == "csv":
        return parse_csv(text, report, limits)
    report.row_unit = "item" if report.format == "json" else "line"
    if report.format == "json":
        return parse_json(text, report, limits)
    return parse_jsonl(text, report, limits)


# --- values -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value if v is not None)
    return json.dumps(value, ensure_ascii=False)[:2000]


_BREAK_RE = re.compile(r"(?i)<\s*br\s*/?\s*>|</\s*(p|div|li|h[1-6])\s*>")


def html_to_text(value: str) -> str:
    if "<" not in value and "&" not in value:
        return value
    import nh3

    text = _BREAK_RE.sub("\n", value)
    text = html.unescape(nh3.clean(text, tags=set()))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2,4})(?:[ T](.*))?$")
EXTRA_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%d %H:%M:%S %Z",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%b %d, %Y %I:%M %p",
    "%b %d, %Y %H:%M",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d %b %Y %H:%M",
)
_TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M %p", "%I:%M:%S %p")


class DateError(ValueError):
    pass


def infer_date_order(values: Iterable[Any]) -> str | None:
    """For d/m/y vs m/d/y: the file decides, from the dates only one order can read (``core.importing.dates``)."""
    return dates.infer_order(value for value in values if isinstance(value, str))


def parse_date(
    value: Any,
    *,
    tz: dt.tzinfo,
    date_format: str | None,
    date_order: str | None,
    latest: dt.datetime | None = None,
) -> dt.datetime:
    """A timezone-aware datetime, or DateError saying what was found and what is accepted."""
    if type(value) is str and not date_format and len(value) >= 10 and value[4:5] == "-":
        try:  # the common case, ISO 8601, without the detours below
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return _aware(parsed, tz, value, latest)
    if isinstance(value, bool) or value is None or value == "":
        raise DateError("no date given")
    if isinstance(value, str) and len(value.strip()) == 8 and value.strip().isdigit():
        value = value.strip()
        try:
            return _aware(dt.datetime.strptime(value, "%Y%m%d"), tz, value, latest)
        except ValueError:
            raise DateError(f"could not read the date {value!r}; use ISO 8601 (2025-03-31)") from None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        return _from_epoch(float(value))
    raw = str(value).strip()
    parsed: dt.datetime | None = None
    if date_format:
        try:
            parsed = dt.datetime.strptime(raw, date_format)
        except ValueError:
            parsed = None
    if parsed is None:
        try:
            parsed = dt.datetime.fromisoformat(raw)
        except ValueError:
            parsed = _parse_other(raw, date_order)
    if parsed is None:
        hint = f" or the date format {date_format!r}" if date_format else ", or set a date format (e.g. %d/%m/%Y)"
        raise DateError(
            f"could not read the date {raw[:60]!r}; use ISO 8601 (2025-03-31 or 2025-03-31T14:05:00Z){hint}"
        )
    return _aware(parsed, tz, raw, latest)


def _aware(parsed: dt.datetime, tz: dt.tzinfo, raw: str, latest: dt.datetime | None) -> dt.datetime:
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    if parsed.year < 1970:
        raise DateError(f"the date {raw[:60]!r} is before 1970")
    if parsed > (latest or timezone.now() + dt.timedelta(days=1)):
        raise DateError(f"the date {raw[:60]!r} is in the future")
    return parsed


def _from_epoch(number: float) -> dt.datetime:
    if number > 1e11:  # milliseconds
        number /= 1000
    if not 0 < number < 4102444800:
        raise DateError(f"{number!r} is not a date (expected Unix seconds or an ISO 8601 date)")
    moment = dt.datetime.fromtimestamp(number, tz=dt.UTC)
    if moment > timezone.now() + dt.timedelta(days=1):
        raise DateError(f"the timestamp {number:.0f} is in the future")
    return moment


def _parse_other(raw: str, date_order: str | None) -> dt.datetime | None:
    match = _SLASH_DATE.match(raw)
    if match:
        a, b, year_text, rest = int(match.group(1)), int(match.group(2)), match.group(3), match.group(4)
        if date_order is None:
            if a > 12 and b <= 12:
                date_order = "dmy"
            elif b > 12 and a <= 12:
                date_order = "mdy"
            else:
                raise DateError(
                    f"the date {raw!r} is ambiguous (day/month or month/day); "
                    "set the date format to %d/%m/%Y or %m/%d/%Y"
                )
        day, month = (a, b) if date_order == "dmy" else (b, a)
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        try:
            moment = dt.datetime(year, month, day)
        except ValueError:
            return None
        if rest:
            for fmt in _TIME_FORMATS:
                try:
                    clock = dt.datetime.strptime(rest.strip(), fmt).time()
                except ValueError:
                    continue
                return dt.datetime.combine(moment.date(), clock)
            return None
        return moment
    for fmt in EXTRA_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt)
        except ValueError:
            continue
    try:
        return email.utils.parsedate_to_datetime(raw)  # RFC 2822: "Tue, 05 Mar 2024 14:22:01 +0000"
    except (TypeError, ValueError, IndexError):
        return None


def normalise_source(value: str) -> str | None:
    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    return SOURCE_SYNONYMS.get(key)


def normalise_importance(value: str) -> str | None:
    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    return IMPORTANCE_SYNONYMS.get(key)


def normalise_tag(name: str) -> str:
    return " ".join((name or "").lower().split())


def split_tags(value: Any, separator: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        names = [_text(v) if not isinstance(v, dict) else _text(v.get("name")) for v in value]
    else:
        text = _text(value)
        if not text:
            return []
        if separator == ",":
            names = text.split(",") if ";" not in text else re.split(r"[,;]", text)
        else:
            names = re.split(r"[\s,;]+", text)
    out: list[str] = []
    for name in names:
        tag = normalise_tag(name)
        if tag and tag not in out:
            out.append(tag)
    return out


# A web address: http(s), a host with a dot (or localhost), optional port, then anything but spaces.
_URL_RE = re.compile(r"^https?://(?:[^\s/?#@:]+\.[^\s/?#@:]+|localhost)(?::\d{1,5})?(?:[/?#]\S*)?$", re.IGNORECASE)


def _nothing(record: Any) -> None:
    return None


# --- customers --------------------------------------------------------------------------------


class CustomerIndex:
    """Every customer and contact of the workspace, loaded once, matched in memory.

    Private helper over the customers app's models (read-only): its facade answers one lookup at
    a time, and an import of 100,000 rows needs every account in two queries.
    """

    def __init__(self, workspace):
        from valueloop.customers.facade import Contact, Customer

        self.names: dict[int, str] = {}
        self.by_external: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        self.by_domain: dict[str, int] = {}
        for pk, name, domain, external_id in Customer.objects.filter(workspace=workspace).values_list(
            "id", "name", "domain", "external_id"
        ):
            self.names[pk] = name
            if external_id:
                self.by_external.setdefault(external_id.strip(), pk)
            self.by_name.setdefault(name.strip().casefold(), pk)
            if domain:
                self.by_domain.setdefault(_domain(domain), pk)
        self.contacts: dict[str, tuple[int, int | None]] = {}
        self.contact_emails: dict[int, str] = {}
        for pk, mail, customer_id in (
            Contact.objects.filter(workspace=workspace).exclude(email="").values_list("id", "email", "customer_id")
        ):
            self.contacts.setdefault(mail.strip().lower(), (pk, customer_id))
            self.contact_emails[pk] = mail

    def customer(self, value: str) -> int | None:
        value = value.strip()
        if not value:
            return None
        found = self.by_external.get(value) or self.by_name.get(value.casefold()) or self.by_domain.get(_domain(value))
        if found is None and "," in value:  # "Acme, Globex" (Intercom lists a user's companies)
            for part in value.split(","):
                part = part.strip()
                if part:
                    found = self.by_external.get(part) or self.by_name.get(part.casefold())
                    if found:
                        break
        return found

    def contact(self, mail: str) -> tuple[int, int | None] | None:
        return self.contacts.get(mail.strip().lower())

    def customer_for_email(self, mail: str) -> int | None:
        return self.by_domain.get(_domain(mail)) if "@" in mail else None


def _domain(value: str) -> str:
    value = value.strip().lower()
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    value = re.sub(r"^[a-z]+://", "", value).split("/", 1)[0]
    return value.removeprefix("www.")


# --- validation -------------------------------------------------------------------------------


@dataclass
class Prepared:
    report: ImportReport
    rows: list[Row]  # valid rows that do not exist yet: what a write inserts
    all_rows: list[Row] = field(default_factory=list)  # every valid row, in file order


def resolve_mapping(table: Table, preset: Preset, mapping: dict[str, Any] | None, report: ImportReport):
    """our field -> column actually used. Explicit choices must exist; preset candidates may not."""
    resolved: dict[str, str | None] = {}
    errored: set[str] = set()
    explicit = dict(mapping or {})
    unknown = sorted(set(explicit) - set(FIELDS))
    for name in unknown:
        report.error(None, name, f"{name!r} is not a field we import; choose from: {', '.join(FIELDS)}.")
    for name in FIELDS:
        if name in explicit:
            column = explicit[name]
            if column in (None, ""):
                resolved[name] = None
                continue
            if not isinstance(column, str):
                report.error(None, name, f"The mapping for {name} must be a column name, not {column!r}.")
                resolved[name] = None
                errored.add(name)
                continue
            if not table.has(column):
                report.error(
                    None,
                    name,
                    f"The column {column!r} chosen for {name} is not in the file. "
                    f"Columns found: {', '.join(table.columns[:40]) or 'none'}.",
                )
                resolved[name] = None
                errored.add(name)
                continue
            resolved[name] = column
        else:
            resolved[name] = next((c for c in preset.mapping.get(name, ()) if table.has(c)), None)
    for name in REQUIRED_FIELDS:
        if resolved.get(name) is not None or name in errored:
            continue
        if name == "text" and preset.title_as_text and resolved.get("title"):
            continue
        looked = ", ".join(repr(c) for c in preset.mapping.get(name, ())) or "none"
        report.error(
            None,
            name,
            f"The file has no column for {name} (looked for {looked}). "
            f"Map one of the file's columns to it: {', '.join(table.columns[:40]) or 'none'}.",
        )
    return resolved


def prepare(
    *,
    workspace,
    data: bytes | None = None,
    filename: str = "",
    options: ImportOptions,
    records: list[dict] | None = None,
) -> Prepared:
    """Read, map and validate; nothing is written. ``records`` (API batches) replaces the file."""
    preset = PRESETS.get(options.preset)
    report = ImportReport(
        preset=options.preset,
        filename=filename,
        dry_run=options.dry_run,
        skip_invalid=options.skip_invalid,
    )
    if preset is None:
        report.error(None, "preset", f"Unknown preset {options.preset!r}; choose from: {', '.join(PRESETS)}.")
        report.fatal = True
        return Prepared(report, [])
    if options.unknown_customer not in ("error", "skip_link"):
        report.error(None, "unknown_customer", "unknown_customer is either 'error' or 'skip_link'.")
        report.fatal = True
        return Prepared(report, [])
    default_source = options.default_source or preset.default_source
    if default_source not in SOURCE_KEYS:
        report.error(None, "source", f"Unknown source {default_source!r}; choose from: {', '.join(SOURCE_KEYS)}.")
        report.fatal = True
        return Prepared(report, [])
    if records is not None:
        report.format, report.row_unit = "records", "item"
        table: Table | None = Table("records", list(FIELDS), records, list(range(len(records))))
        mapping = {name: name for name in FIELDS}
    else:
        table = read_table(data or b"", filename=filename, options=options, report=report)
        mapping = options.mapping
    if table is None:
        return Prepared(report, [])
    report.columns = table.columns
    report.total_rows = len(table.records)
    if records is not None:
        resolved: dict[str, str | None] = {name: name for name in FIELDS}
    else:
        resolved = resolve_mapping(table, preset, mapping, report)
    report.mapping = resolved
    if report.error_count and any(p.row is None for p in report.errors):
        report.fatal = True
        report.invalid_rows = report.total_rows
        return Prepared(report, [])
    used = {column for column in resolved.values() if column}
    if table.kind == "csv":
        report.ignored_columns = [c for c in table.columns if c not in used]
        if report.ignored_columns:
            report.warn(None, None, "Ignored columns (not mapped): " + ", ".join(report.ignored_columns[:40]))
    if report.total_rows == 0:
        report.warn(None, None, "The file has no rows to import.")
        return Prepared(report, [])
    return _validate_rows(workspace, table, preset, resolved, options, default_source, report)


def _validate_rows(workspace, table, preset, resolved, options, default_source, report) -> Prepared:
    getters = {name: table.getter(column) for name, column in resolved.items() if column}
    tz = _tzinfo(workspace)
    date_order = None
    if options.date_format is None and "received_at" in getters:
        get_date = getters["received_at"]
        date_order = infer_date_order(get_date(rec) for rec in table.records if rec is not None)
    needs_customers = "customer" in getters or "contact_email" in getters or table.kind == "records"
    index = CustomerIndex(workspace) if needs_customers else None
    batch = table.kind == "records"
    extra_tags = list(preset.extra_tags)
    seen: dict[tuple[str, str], int] = {}
    valid: list[Row] = []
    now = timezone.now()
    nothing = _nothing
    g_title = getters.get("title", nothing)
    g_text = getters.get("text", nothing)
    g_date = getters.get("received_at", nothing)
    g_source = getters.get("source", nothing)
    g_importance = getters.get("importance", nothing)
    g_url = getters.get("url", nothing)
    g_mail = getters.get("contact_email", nothing)
    g_customer = getters.get("customer", nothing)
    g_tags = getters.get("tags", nothing)
    g_external = getters.get("external_id", nothing)
    date_format = options.date_format
    latest = now + dt.timedelta(days=1)
    html_text, title_as_text, separator = preset.html_text, preset.title_as_text, preset.tag_separator

    def col(name: str) -> str:
        return "" if batch else f" (column {resolved[name]!r})"

    for record, number in zip(table.records, table.numbers, strict=True):
        if record is None:  # already reported while parsing
            report.invalid_rows += 1
            continue
        if table.kind != "csv" and not isinstance(record, dict):
            report.error(number, None, f"This {report.row_unit} is not an object but {type(record).__name__}.")
            report.invalid_rows += 1
            continue
        errors_before = report.error_count

        # text and title
        title = _text(g_title(record))
        raw_text = g_text(record)
        text = _text(raw_text) if not isinstance(raw_text, list) else "\n".join(_text(v) for v in raw_text)
        if html_text:
            text = html_to_text(text)
            title = html_to_text(title)
        if not text and title_as_text:
            text = title
        if not text:
            report.error(number, "text", f"The text is empty{col('text')}; every item needs the customer's words.")
        elif len(text) > MAX_TEXT:
            report.error(number, "text", f"The text has {len(text)} characters; at most {MAX_TEXT} are allowed.")
        if len(title) > MAX_TITLE:
            report.error(number, "title", f"The title has {len(title)} characters; at most {MAX_TITLE} are allowed.")

        # date
        raw_date = g_date(record)
        received_at = now
        if raw_date in (None, "") and options.default_received_now:
            pass
        else:
            try:
                received_at = parse_date(raw_date, tz=tz, date_format=date_format, date_order=date_order, latest=latest)
            except DateError as exc:
                report.error(number, "received_at", f"{str(exc)[0].upper()}{str(exc)[1:]}{col('received_at')}.")

        # source
        source = default_source
        raw_source = _text(g_source(record))
        if raw_source:
            normalised = normalise_source(raw_source)
            if normalised is None:
                report.error(
                    number,
                    "source",
                    f"Unknown source {raw_source[:60]!r}{col('source')}; use one of: {', '.join(SOURCE_KEYS)}.",
                )
            else:
                source = normalised

        # importance
        importance = ""
        raw_importance = _text(g_importance(record))
        if raw_importance:
            importance = normalise_importance(raw_importance) or ""
            if not importance:
                report.error(
                    number,
                    "importance",
                    f"Unknown importance {raw_importance[:60]!r}{col('importance')}; "
                    f"use one of: {', '.join(IMPORTANCE_KEYS)} (or leave it empty).",
                )

        # url
        url = _text(g_url(record))
        if url:
            if not _URL_RE.match(url):
                report.error(number, "url", f"{url[:80]!r} is not a web address (http:// or https://){col('url')}.")
            elif len(url) > 1000:
                report.error(number, "url", "The link is longer than 1,000 characters.")

        # customer and contact
        customer_id: int | None = None
        contact_id: int | None = None
        mail = _text(g_mail(record))
        if index is not None and mail:
            found = index.contact(mail)
            if found:
                contact_id, customer_id = found
        raw_customer_id = record.get("customer_id") if batch else None
        if raw_customer_id is not None:
            if index is not None and raw_customer_id in index.names:
                customer_id = raw_customer_id
            else:
                report.error(number, "customer_id", f"No customer with id {raw_customer_id} in this workspace.")
        raw_customer = _text(g_customer(record))
        if raw_customer and raw_customer_id is None:
            matched = index.customer(raw_customer) if index else None
            if matched is not None:
                customer_id = matched
            elif options.unknown_customer == "error":
                report.error(
                    number,
                    "customer",
                    f"Unknown customer {raw_customer[:80]!r}{col('customer')}: no customer in this workspace has "
                    "that external id, name or domain. Add the customer first, fix the name, or import with "
                    "unknown customers left unlinked.",
                )
        if customer_id is None and index is not None and mail and not raw_customer:
            customer_id = index.customer_for_email(mail)

        # tags
        tags = split_tags(g_tags(record), separator)
        for tag in extra_tags:
            if tag not in tags:
                tags.append(tag)
        if any(len(tag) > MAX_TAG for tag in tags):
            long_tag = next(tag for tag in tags if len(tag) > MAX_TAG)
            report.error(number, "tags", f"The tag {long_tag[:80]!r} is longer than {MAX_TAG} characters.")
        if len(tags) > MAX_TAGS_PER_ITEM:
            report.error(number, "tags", f"{len(tags)} tags; at most {MAX_TAGS_PER_ITEM} per item.")

        # external id (and duplicates inside the file)
        external_id = _text(g_external(record))
        if len(external_id) > MAX_EXTERNAL_ID:
            report.error(number, "external_id", f"The external id is longer than {MAX_EXTERNAL_ID} characters.")
        if not external_id and text:
            digest = hashlib.sha256(
                f"{received_at.isoformat()}\x1f{title}\x1f{text}\x1f{customer_id}\x1f{mail}".encode()
            ).hexdigest()
            external_id = "auto-" + digest[:40]
        key = (source, external_id)
        if external_id and key in seen:
            what = "external id" if not external_id.startswith("auto-") else "text, date and customer"
            shown = f" {external_id!r}" if not external_id.startswith("auto-") else ""
            report.error(
                number,
                "external_id",
                f"Duplicate {what}{shown}: {report.row_unit} {seen[key]} has the same; "
                "each item may appear once in a file.",
            )
        elif external_id:
            seen[key] = number

        if report.error_count > errors_before:
            report.invalid_rows += 1
            continue
        valid.append(
            Row(
                number=number,
                external_id=external_id,
                title=title,
                text=text,
                received_at=received_at,
                source=source,
                customer_id=customer_id,
                contact_id=contact_id,
                url=url,
                importance=importance,
                tags=tags,
            )
        )

    report.valid_rows = len(valid)
    new_rows = _mark_existing(workspace, valid)
    report.unchanged = len(valid) - len(new_rows)
    report.to_create = len(new_rows)
    report.preview = [_preview(row, index) for row in valid[:PREVIEW_ROWS]]
    return Prepared(report, new_rows, valid)


def _mark_existing(workspace, rows: list[Row]) -> list[Row]:
    """Rows whose (source, external_id) is already in the workspace are unchanged: not written."""
    if not rows:
        return []
    stored = idempotency.existing_keys(
        FeedbackItem.objects.filter(workspace=workspace, source__in={row.source for row in rows}),
        ("source", "external_id"),
    )
    fresh, already = idempotency.split_already_imported(rows, lambda row: (row.source, row.external_id), stored)
    for row in already:
        row.exists = True
    return fresh


def _preview(row: Row, index: CustomerIndex | None) -> dict:
    return {
        "row": row.number,
        "external_id": row.external_id,
        "received_at": row.received_at.isoformat(),
        "source": row.source,
        "title": row.title[:120],
        "text": row.text[:240],
        "customer": index.names.get(row.customer_id, "") if index and row.customer_id else "",
        "contact_email": index.contact_emails.get(row.contact_id, "") if index and row.contact_id else "",
        "importance": row.importance,
        "tags": row.tags,
        "url": row.url,
        "already_imported": row.exists,
    }


def _tzinfo(workspace) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(getattr(workspace, "timezone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def parse_mapping(text: str | dict | None) -> dict[str, Any] | None:
    """A mapping from JSON text (CLI, API form field); ValueError with a readable message."""
    if text in (None, ""):
        return None
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"The mapping is not valid JSON: {exc.msg} (column {exc.colno}).") from None
    if not isinstance(value, dict):
        raise ValueError('The mapping must be a JSON object, e.g. {"text": "Body", "received_at": "Date"}.')
    return value
