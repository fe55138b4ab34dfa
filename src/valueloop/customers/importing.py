"""CSV import of customer accounts and contacts: read, map, validate every row, then write.

Invariants:
- Reading is bounded by ``core.importing.reading``: nothing is read past the size limit
  (``CUSTOMER_IMPORT_MAX_BYTES``, at most the instance's ``VALUELOOP_UPLOAD_MAX_BYTES``): a bigger file is
  refused from its size alone; rows, field lengths and lines are refused as the CSV is read.
- The text is decoded by ``core.importing.encoding``: UTF-8 (with or without BOM) first, otherwise the
  encoding is detected and named in the report; an explicit ``encoding`` overrides, and a byte it cannot
  read (or a file mixing encodings) is refused with the byte offset and line.
- Every row is validated before anything is written. A problem names the row (the header is
  row 1, as in a spreadsheet), our field and their column. By default one problem means nothing
  is written; with ``skip_invalid`` only the valid rows are written. Problems with the file or
  the mapping itself (missing required column, a mapped column that is not in the file) are never
  skipped. ``dry_run`` validates and counts, and writes nothing.
- Re-importing the same file changes nothing: rows are matched to existing records by external
  id (else by account name / contact email), and a record whose mapped fields already hold the
  file's values is left alone (counted as unchanged: no write, no version bump, no audit row).
- A mapped column is authoritative for its field (an empty cell clears it), except ARR and the
  lifecycle stage, where an empty cell keeps the current value (0 and "customer" for new accounts).
  Columns that are not mapped are never touched. An import never re-subscribes a contact.
- One transaction: the records, one audit record per created or changed record, and one summary
  audit record of the import.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from valueloop.core.audit import _plain, audit_records
from valueloop.core.errors import Conflict, Invalid
from valueloop.core.importing import ImportRefused, UploadLimits, dates, reading
from valueloop.core.importing import encoding as encoding_policy
from valueloop.core.importing import table as table_kit
from valueloop.core.models import AuditEvent
from valueloop.core.tenancy import Actor

from . import selectors
from .models import Contact, Customer
from .money import MAX_AMOUNT, AmountError, convert, is_currency, parse_amount
from .services import WRITE_SCOPE, no_rate_message, normalise_domain

KINDS = ("accounts", "contacts")
PRESETS_OFFERED = ("auto", "salesforce", "hubspot", "none")
ENCODINGS = ("auto", "utf-8", "cp1252")  # "auto": UTF-8 first, else detected
DATE_ORDERS = dates.ORDERS
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
PREVIEW_ROWS = 10
MAX_PROBLEMS_KEPT = 1000
BATCH = 1000


def max_import_bytes() -> int:
    return int(getattr(settings, "CUSTOMER_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


# --- fields, presets -------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    required: bool = False
    help: str = ""


ACCOUNT_FIELDS = (
    Field("external_id", "External id", help="Their id for the account; re-imports update it in place."),
    Field("name", "Name", required=True),
    Field("domain", "Domain", help="acme.com; a website URL is reduced to its domain."),
    Field("segment", "Segment", help="Enterprise, Mid-market, SMB, Startup, Public sector, Other."),
    Field("plan", "Plan"),
    Field("arr", "ARR", help="Annual recurring revenue; may carry a currency (EUR 12,000 or £12,000)."),
    Field("arr_currency", "ARR currency", help="ISO code (EUR, USD, GBP…); empty means the workspace currency."),
    Field("lifecycle", "Lifecycle stage", help="Prospect, Trial, Customer or Churned (CRM stage names are mapped)."),
    Field("region", "Region"),
    Field("owner", "Owner", help="Email or name of a member of this workspace."),
    Field("renewal_date", "Renewal date"),
    Field("health", "Health", help="Good, At risk, Poor (or green/amber/red, or a 0–100 score)."),
)
CONTACT_FIELDS = (
    Field("external_id", "External id", help="Their id for the person; re-imports update it in place."),
    Field("name", "Full name"),
    Field("first_name", "First name"),
    Field("last_name", "Last name"),
    Field("email", "Email", help="A contact needs an email or an external id."),
    Field("title", "Job title"),
    Field("account_external_id", "Account external id", help="Links the person to an imported account."),
    Field("account_name", "Account name", help="Links the person to the account of that name."),
    Field("unsubscribed", "Unsubscribed", help="true/yes/1 marks the person as unsubscribed (never undone)."),
)
FIELDS = {"accounts": ACCOUNT_FIELDS, "contacts": CONTACT_FIELDS}

# Column names per field, most specific first. The presets come from the CRMs' standard exports
# (Salesforce reports/Data Loader, HubSpot "Export" of the companies and contacts views).
PRESETS: dict[str, dict[str, dict[str, list[str]]]] = {
    "salesforce": {
        "accounts": {
            "external_id": ["Account ID", "Id", "Account: Account ID"],
            "name": ["Account Name", "Name"],
            "domain": ["Website"],
            "segment": ["Segment", "Customer Segment"],
            "plan": ["Plan", "Product Plan"],
            "arr": ["ARR", "Annual Recurring Revenue", "Annual Revenue", "AnnualRevenue"],
            "arr_currency": ["Annual Revenue Currency", "Account Currency", "CurrencyIsoCode", "Currency"],
            "lifecycle": ["Type", "Account Type"],
            "region": ["Billing Country", "BillingCountry", "Region"],
            "owner": ["Account Owner Email", "Account Owner", "Owner Email"],
            "renewal_date": ["Renewal Date", "Contract End Date"],
            "health": ["Health Score", "Customer Health", "Health"],
        },
        "contacts": {
            "external_id": ["Contact ID", "Id"],
            "name": ["Full Name"],
            "first_name": ["First Name", "FirstName"],
            "last_name": ["Last Name", "LastName"],
            "email": ["Email"],
            "title": ["Title"],
            "account_external_id": ["Account ID", "AccountId"],
            "account_name": ["Account Name"],
            "unsubscribed": ["Email Opt Out", "HasOptedOutOfEmail"],
        },
    },
    "hubspot": {
        "accounts": {
            "external_id": ["Record ID", "Company ID"],
            "name": ["Company name", "Name"],
            "domain": ["Company Domain Name", "Website URL"],
            "segment": ["Segment", "Company segment"],
            "plan": ["Plan"],
            "arr": ["Annual recurring revenue", "ARR", "Annual Revenue"],
            "arr_currency": ["Currency", "Company currency"],
            "lifecycle": ["Lifecycle Stage"],
            "region": ["Country/Region", "Country"],
            "owner": ["Company owner", "HubSpot Owner"],
            "renewal_date": ["Renewal date", "Contract end date"],
            "health": ["Health", "Customer health"],
        },
        "contacts": {
            "external_id": ["Record ID", "Contact ID"],
            "name": ["Full Name"],
            "first_name": ["First Name"],
            "last_name": ["Last Name"],
            "email": ["Email"],
            "title": ["Job Title"],
            "account_external_id": ["Associated Company ID", "Associated Company IDs", "Company ID"],
            "account_name": ["Associated Company", "Company Name"],
            "unsubscribed": ["Unsubscribed from all email"],
        },
    },
}
GENERIC: dict[str, dict[str, list[str]]] = {
    "accounts": {
        "external_id": ["External id", "Customer ID", "ID"],
        "name": ["Account", "Company", "Customer", "Customer name", "Organisation", "Organization"],
        "domain": ["Website", "URL", "Web site"],
        "segment": ["Customer segment", "Tier"],
        "plan": ["Subscription", "Edition"],
        "arr": ["Annual recurring revenue", "Revenue"],
        "arr_currency": ["Currency", "Currency code"],
        "lifecycle": ["Lifecycle", "Stage", "Status"],
        "region": ["Country", "Territory"],
        "owner": ["Owner email", "Account manager", "CSM"],
        "renewal_date": ["Renewal", "Renews on", "Contract end"],
        "health": ["Health score"],
    },
    "contacts": {
        "external_id": ["External id", "ID"],
        "name": ["Name", "Contact name", "Contact"],
        "first_name": ["Given name"],
        "last_name": ["Surname", "Family name"],
        "email": ["E-mail", "Email address", "Work email"],
        "title": ["Role", "Position"],
        "account_external_id": ["Account external id", "Customer ID"],
        "account_name": ["Account", "Company", "Customer"],
        "unsubscribed": ["Opted out", "Email opt out"],
    },
}

LIFECYCLE_SYNONYMS = {
    "prospect": "prospect",
    "lead": "prospect",
    "subscriber": "prospect",
    "marketing qualified lead": "prospect",
    "marketingqualifiedlead": "prospect",
    "mql": "prospect",
    "sales qualified lead": "prospect",
    "salesqualifiedlead": "prospect",
    "sql": "prospect",
    "opportunity": "prospect",
    "trial": "trial",
    "free trial": "trial",
    "trialing": "trial",
    "pilot": "trial",
    "poc": "trial",
    "proof of concept": "trial",
    "evaluation": "trial",
    "customer": "customer",
    "customer - direct": "customer",
    "customer - channel": "customer",
    "active": "customer",
    "active customer": "customer",
    "paying": "customer",
    "evangelist": "customer",
    "churned": "churned",
    "churn": "churned",
    "former customer": "churned",
    "ex-customer": "churned",
    "cancelled": "churned",
    "canceled": "churned",
    "lost customer": "churned",
}
SEGMENT_SYNONYMS = {
    "enterprise": "enterprise",
    "ent": "enterprise",
    "large enterprise": "enterprise",
    "strategic": "enterprise",
    "mid-market": "mid_market",
    "mid market": "mid_market",
    "midmarket": "mid_market",
    "mid_market": "mid_market",
    "mm": "mid_market",
    "smb": "smb",
    "sme": "smb",
    "small business": "smb",
    "small and medium business": "smb",
    "startup": "startup",
    "start-up": "startup",
    "public sector": "public_sector",
    "public_sector": "public_sector",
    "public": "public_sector",
    "government": "public_sector",
    "gov": "public_sector",
    "other": "other",
}
HEALTH_SYNONYMS = {
    "good": "good",
    "green": "good",
    "healthy": "good",
    "at risk": "at_risk",
    "at-risk": "at_risk",
    "at_risk": "at_risk",
    "risk": "at_risk",
    "amber": "at_risk",
    "yellow": "at_risk",
    "poor": "poor",
    "red": "poor",
    "bad": "poor",
    "critical": "poor",
    "unknown": "",
}
TRUE_WORDS = {"true", "yes", "y", "1", "x", "checked", "opted out", "unsubscribed"}
FALSE_WORDS = {"", "false", "no", "n", "0", "unchecked", "subscribed"}

LIMITS = {"external_id": 120, "name": 200, "plan": 80, "region": 80, "title": 120, "email": 254}


# --- report ----------------------------------------------------------------------------------


@dataclass
class Problem:
    row: int | None  # spreadsheet row (header = 1); None for the file or the mapping
    field: str  # our field name ("" for the whole row)
    column: str  # their column name
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        what = f", {self.field}" + (f" (column {self.column!r})" if self.column else "") if self.field else ""
        return f"{where}{what}: {self.message}"


@dataclass
class ImportReport:
    kind: str
    filename: str = ""
    encoding: str = ""
    delimiter: str = ","
    preset: str = "none"
    date_order: str = "dmy"
    columns: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0
    valid_rows: int = 0
    invalid_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    notes: list[str] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    dry_run: bool = False
    written: bool = False

    @property
    def file_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.row is None]

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(problem)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["problems"] = [asdict(p) for p in self.problems]
        return data

    def summary(self) -> str:
        if self.written or (self.dry_run and not self.problem_count):
            verb = "Would import" if self.dry_run else "Imported"
            text = f"{verb} {self.kind}: {self.created} new, {self.updated} updated, {self.unchanged} unchanged"
            return text + (f", {self.skipped} invalid row(s) skipped." if self.skipped else ".")
        return (
            f"{self.problem_count} problem(s) in {self.invalid_rows} of {self.rows} row(s)"
            + (" and in the file or mapping" if self.file_problems else "")
            + "; nothing was imported."
        )


class ImportInvalid(Invalid):
    """Rows or the mapping have problems and nothing was written; ``report`` names them all."""

    code = "import_invalid"

    def __init__(self, report: ImportReport):
        fields: dict[str, str] = {}
        for p in report.problems[:200]:
            key = f"row {p.row}: {p.field or 'row'}" if p.row is not None else f"file: {p.field or 'file'}"
            fields[key] = f"{fields[key]} {p.message}" if key in fields else p.message
        super().__init__(report.summary(), fields=fields)
        self.report = report


# --- reading ---------------------------------------------------------------------------------


def upload_limits(max_bytes: int | None = None) -> UploadLimits:
    return UploadLimits.from_settings(max_bytes=max_import_bytes() if max_bytes is None else max_bytes)


_SIZE_ADVICE = "Split it (for example by region) and import the parts one after another: re-importing is safe."


def check_size(size: int | None, limit: int | None = None) -> None:
    reading.check_size(size, upload_limits(limit), advice=_SIZE_ADVICE)


def read_limited(fileobj, limit: int | None = None) -> bytes:
    """Read an uploaded or opened file, refusing it from its size (or after limit+1 bytes)."""
    return reading.read_upload(fileobj, upload_limits(limit), advice=_SIZE_ADVICE)


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """(text, label) by the one encoding policy (``core.importing.encoding``): UTF-8 first, detection
    otherwise, ``encoding`` ("cp1252", "utf-8") overrides. An Excel workbook is named as such."""
    if not data.strip():
        raise ImportRefused("The file is empty.", fields={"file": "The file is empty."})
    if data.startswith(b"PK\x03\x04"):
        raise ImportRefused(
            "This is an Excel workbook (or another zip file), not CSV. In Excel choose File › Save As › "
            "'CSV UTF-8 (comma delimited)'.",
            fields={"file": "Not a CSV file."},
        )
    decoded = encoding_policy.decode(data, encoding)
    if not decoded.text.strip():
        raise ImportRefused("The file is empty.", fields={"file": "The file is empty."})
    return decoded.text, decoded.label


sniff_delimiter = table_kit.sniff_delimiter
Table = table_kit.Table


def read_table(text: str, limits: UploadLimits | None = None) -> Table:
    """Parse CSV text (``core.importing.table``): delimiter sniffed from the header line (Excel's ``sep=`` line
    honoured), rows keep their spreadsheet numbers."""
    return table_kit.read_csv_table(text, limits or upload_limits())


# --- mapping ---------------------------------------------------------------------------------


_norm = table_kit.normalise_header


def _candidates(kind: str, preset: str, field_name: str) -> list[str]:
    names: list[str] = []
    if preset in PRESETS:
        names += PRESETS[preset][kind].get(field_name, [])
    spec = next(f for f in FIELDS[kind] if f.name == field_name)
    names += [field_name, spec.label]
    names += GENERIC[kind].get(field_name, [])
    for other in PRESETS:
        if other != preset:
            names += PRESETS[other][kind].get(field_name, [])
    return names


def detect_preset(kind: str, header: list[str]) -> str:
    return table_kit.detect_preset(header, {preset: kinds[kind] for preset, kinds in PRESETS.items()}) or "none"


def auto_mapping(kind: str, header: list[str], preset: str) -> dict[str, str]:
    mapping = table_kit.match_columns(
        header, {spec.name: _candidates(kind, preset, spec.name) for spec in FIELDS[kind]}
    )
    if kind == "contacts" and "name" in mapping and ("first_name" in mapping or "last_name" in mapping):
        # A "Name" column beside first/last names is usually the account's name in CRM exports.
        mapping.pop("name")
    return mapping


def resolve_mapping(
    kind: str, header: list[str], preset: str, user_mapping: dict[str, str] | None, report: ImportReport
) -> dict[str, int]:
    """Merge the user's mapping over the automatic one; returns field -> column index."""
    mapping = auto_mapping(kind, header, preset)
    names = {f.name for f in FIELDS[kind]}
    for key, column in (user_mapping or {}).items():
        if key not in names:
            report.add(Problem(None, key, "", f"unknown field {key!r}; fields are: {', '.join(sorted(names))}"))
            continue
        column = (column or "").strip() if isinstance(column, str) else ""
        if column:
            mapping[key] = column
        else:
            mapping.pop(key, None)
    positions: dict[str, list[int]] = defaultdict(list)
    for i, h in enumerate(header):
        positions[h].append(i)
    by_norm = {}
    for h in header:
        by_norm.setdefault(_norm(h), h)
    result: dict[str, int] = {}
    for key, column in list(mapping.items()):
        real = column if column in positions else by_norm.get(_norm(column))
        if real is None:
            report.add(
                Problem(
                    None,
                    key,
                    column,
                    f"the column {column!r} is not in the file; its columns are: " + ", ".join(header),
                )
            )
            mapping.pop(key)
            continue
        if len(positions[real]) > 1:
            report.add(
                Problem(
                    None,
                    key,
                    real,
                    f"the file has {len(positions[real])} columns named {real!r}; "
                    "rename them so the mapping is unambiguous",
                )
            )
            mapping.pop(key)
            continue
        mapping[key] = real
        result[key] = positions[real][0]
    for spec in FIELDS[kind]:
        if (
            spec.required
            and spec.name not in result
            and not any(p.row is None and p.field == spec.name for p in report.problems)
        ):
            report.add(
                Problem(
                    None,
                    spec.name,
                    "",
                    f"required column for {spec.label} is missing: map one of the file's "
                    "columns to it (columns: " + ", ".join(header) + ")",
                )
            )
    if kind == "contacts" and not ({"name", "first_name", "last_name", "email", "external_id"} & set(result)):
        report.add(Problem(None, "email", "", "map a column to Email, External id or a name field"))
    report.mapping = {k: header[i] for k, i in result.items()}
    used = set(result.values())
    report.ignored_columns = [h for i, h in enumerate(header) if i not in used]
    return result


# --- cell parsers ----------------------------------------------------------------------------


def date_evidence(values: Iterable[str]) -> tuple[int, int]:
    """How many numeric dates can only be day-first, and how many only month-first (``core.importing.dates``)."""
    return dates.order_evidence(values)


def parse_date(text: str, order: str = "dmy") -> dt.date:
    return dates.parse_date(text, order)


def parse_choice(text: str, synonyms: dict[str, str], what: str, shown: str) -> str:
    key = " ".join(text.strip().casefold().split())
    if key in synonyms:
        return synonyms[key]
    raise ValueError(f"unknown {what} {text.strip()!r}; use one of: {shown}")


def parse_health(text: str) -> str:
    s = text.strip()
    number = s.rstrip("%").strip()
    if re.fullmatch(r"\d{1,3}(\.\d+)?", number):
        score = float(number)
        if score > 100:
            raise ValueError(f"health score {s!r} is above 100")
        return "good" if score >= 70 else "at_risk" if score >= 40 else "poor"
    return parse_choice(s, HEALTH_SYNONYMS, "health", "Good, At risk, Poor (or a 0–100 score)")


def parse_bool(text: str) -> bool:
    key = text.strip().casefold()
    if key in TRUE_WORDS:
        return True
    if key in FALSE_WORDS:
        return False
    raise ValueError(f"{text.strip()!r} is not yes/no (use true/false, yes/no or 1/0)")


def _text(value: str, name: str) -> str:
    value = " ".join(value.split()) if name != "external_id" else value.strip()
    limit = LIMITS.get(name)
    if limit and len(value) > limit:
        raise ValueError(f"longer than {limit} characters ({len(value)})")
    return value


# --- planning --------------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    cells: dict[str, str]  # field -> raw cell (mapped fields only)
    values: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    target: object | None = None  # the existing record it updates
    status: str = ""  # new, update, unchanged, invalid


class _Planner(ABC):
    kind = ""

    def __init__(
        self, actor: Actor, table: Table, mapping: dict[str, int], report: ImportReport, date_order: str, lock: bool
    ):
        self.actor = actor
        self.lock = lock
        self.workspace = actor.workspace
        self.table = table
        self.mapping = mapping
        self.report = report
        self.date_order = date_order
        self.columns = {f: table.header[i] for f, i in mapping.items()}
        self.rows: list[_Row] = []
        self.creates: list[_Row] = []
        self.updates: list[tuple[_Row, dict]] = []

    def problem(self, row: _Row, name: str, message: str) -> None:
        row.problems.append(Problem(row.number, name, self.columns.get(name, ""), message))

    def extract(self) -> None:
        width = len(self.table.header)
        for number, cells in self.table.rows:
            row = _Row(number, {f: (cells[i] if i < len(cells) else "") for f, i in self.mapping.items()})
            extra = [c for c in cells[width:] if c.strip()]
            if extra:
                self.problem(
                    row,
                    "",
                    f"the row has {len(cells)} cells but the header has {width} columns (a stray "
                    "delimiter, or a line break outside quotes?)",
                )
            self.rows.append(row)

    def run(self) -> None:
        self.extract()
        for row in self.rows:
            self.parse(row)
        self.check_duplicates()
        self.match()
        for row in self.rows:
            if row.problems:
                row.status = "invalid"
                continue
            changes = self.changes(row)
            if row.problems:
                row.status = "invalid"
            elif row.target is None:
                row.status = "new"
                row.values = changes
                self.creates.append(row)
            elif changes:
                row.status = "update"
                self.updates.append((row, changes))
            else:
                row.status = "unchanged"
        report = self.report
        report.rows = len(self.rows)
        for row in self.rows:
            for p in row.problems:
                report.add(p)
        report.invalid_rows = sum(1 for r in self.rows if r.status == "invalid")
        report.valid_rows = report.rows - report.invalid_rows
        report.created = len(self.creates)
        report.updated = len(self.updates)
        report.unchanged = sum(1 for r in self.rows if r.status == "unchanged")
        report.skipped = report.invalid_rows
        report.problems.sort(key=lambda p: p.row if p.row is not None else -1)
        report.preview = [
            {"row": r.number, "status": r.status, "cells": r.cells, "problems": [p.message for p in r.problems]}
            for r in self.rows[:PREVIEW_ROWS]
        ]

    @abstractmethod
    def key_for(self, row: _Row) -> tuple[str, str] | None: ...

    def check_duplicates(self) -> None:
        seen: dict[tuple[str, str], list[_Row]] = defaultdict(list)
        for row in self.rows:
            key = self.key_for(row)
            if key is not None:
                seen[key].append(row)
        for (kind, value), rows in seen.items():
            if len(rows) < 2:
                continue
            numbers = ", ".join(str(r.number) for r in rows)
            label = {"external_id": "external id", "name": "name", "email": "email"}[kind]
            for row in rows:
                self.problem(row, kind, f"duplicate {label} {value!r} in this file (rows {numbers})")

    @abstractmethod
    def parse(self, row: _Row) -> None: ...

    @abstractmethod
    def match(self) -> None: ...

    @abstractmethod
    def changes(self, row: _Row) -> dict: ...


def _owner_index(workspace) -> tuple[dict[str, object], dict[str, list]]:
    by_email, by_name = {}, defaultdict(list)
    for user in selectors.members(workspace):
        by_email[user.email.casefold()] = user
        if user.name:
            by_name[" ".join(user.name.casefold().split())].append(user)
    return by_email, by_name


class AccountPlanner(_Planner):
    kind = "accounts"
    COMPARED = (
        "name",
        "domain",
        "segment",
        "plan",
        "arr",
        "arr_currency",
        "arr_base",
        "lifecycle",
        "region",
        "owner_id",
        "renewal_date",
        "health",
        "external_id",
    )

    def run(self) -> None:
        self.rates = selectors.rates_for(self.workspace)
        self.owners_by_email, self.owners_by_name = _owner_index(self.workspace)
        if "renewal_date" in self.mapping and self.date_order == "auto":
            dmy, mdy = date_evidence(r.cells["renewal_date"] for r in self.rows_for_evidence())
            if dmy and not mdy:
                self.date_order = "dmy"
            elif mdy and not dmy:
                self.date_order = "mdy"
            else:
                self.date_order = "mdy" if mdy > dmy else "dmy"
                if dmy and mdy:
                    self.report.notes.append(
                        "The renewal dates mix day/month/year and month/day/year; they were read as "
                        + ("month/day/year" if self.date_order == "mdy" else "day/month/year")
                        + ". Choose the date order to be sure."
                    )
        elif self.date_order == "auto":
            self.date_order = "dmy"
        self.report.date_order = self.date_order
        super().run()

    def rows_for_evidence(self):
        column = self.mapping["renewal_date"]
        return [_Row(n, {"renewal_date": cells[column] if column < len(cells) else ""}) for n, cells in self.table.rows]

    def key_for(self, row: _Row):
        if row.values.get("external_id"):
            return ("external_id", row.values["external_id"])
        if row.values.get("name"):
            return ("name", row.values["name"].casefold())
        return None

    def parse(self, row: _Row) -> None:
        values = row.values
        cells = row.cells
        for name, raw in cells.items():
            text = raw.strip()
            try:
                if name in ("external_id", "plan", "region"):
                    values[name] = _text(text, name)
                elif name == "name":
                    if not text:
                        raise ValueError("the account name is empty (required)")
                    values[name] = _text(text, name)
                elif name == "domain":
                    try:
                        values[name] = normalise_domain(text)
                    except ValueError as exc:
                        raise ValueError(f"{exc} (e.g. acme.com)")
                elif name == "segment":
                    values[name] = (
                        parse_choice(
                            text,
                            SEGMENT_SYNONYMS,
                            "segment",
                            "Enterprise, Mid-market, SMB, Startup, Public sector, Other",
                        )
                        if text
                        else ""
                    )
                elif name == "lifecycle":
                    if text:
                        values[name] = parse_choice(
                            text, LIFECYCLE_SYNONYMS, "lifecycle stage", "Prospect, Trial, Customer, Churned"
                        )
                elif name == "health":
                    values[name] = parse_health(text) if text else ""
                elif name == "renewal_date":
                    values[name] = parse_date(text, self.date_order) if text else None
                elif name == "owner":
                    values["owner_id"] = self.owner(text)
                elif name == "arr":
                    if text:
                        values["arr"], values["_cell_currency"] = parse_amount(text)
                elif name == "arr_currency":
                    code = text.upper()
                    if code and not is_currency(code):
                        raise ValueError(f"unknown currency {text!r}; use an ISO 4217 code such as EUR, USD, GBP")
                    values["arr_currency"] = code
            except (ValueError, AmountError) as exc:
                self.problem(row, name, str(exc))
        in_cell = values.pop("_cell_currency", None)
        column = values.pop("arr_currency", None)  # None: not mapped; "": empty cell
        if "arr" in values:
            if in_cell and column and in_cell != column:
                self.problem(row, "arr_currency", f"the ARR cell says {in_cell} but the currency column says {column}")
            values["arr_currency"] = column or in_cell or self.workspace.currency
        elif column:
            values["arr_currency"] = column  # re-denominate the current amount

    def owner(self, text: str):
        if not text:
            return None
        key = " ".join(text.casefold().split())
        user = self.owners_by_email.get(key)
        if user is not None:
            return user.pk
        named = self.owners_by_name.get(key, [])
        if len(named) == 1:
            return named[0].pk
        if len(named) > 1:
            raise ValueError(f"several members are named {text!r}; use their email")
        raise ValueError(f"owner {text!r} is not a member of this workspace (unmap the owner column to skip owners)")

    def match(self) -> None:
        query = Customer.objects.filter(workspace=self.workspace)
        existing = list(query.select_for_update() if self.lock else query)
        by_ext = {c.external_id: c for c in existing if c.external_id}
        by_name: dict[str, list[Customer]] = defaultdict(list)
        for c in existing:
            by_name[c.name.casefold()].append(c)
        claimed: dict[int, _Row] = {}
        for row in self.rows:
            if row.problems:
                continue
            ext, name = row.values.get("external_id", ""), row.values.get("name", "")
            target = by_ext.get(ext) if ext else None
            if target is None and name:
                named = by_name.get(name.casefold(), [])
                if ext:
                    named = [c for c in named if not c.external_id and c.pk not in claimed]
                    target = named[0] if len(named) == 1 else None
                elif len(named) > 1:
                    self.problem(
                        row,
                        "name",
                        f"{len(named)} accounts are named {name!r}; add an external id column to tell them apart",
                    )
                    continue
                elif named:
                    target = named[0]
            if target is not None:
                if target.pk in claimed:
                    self.problem(
                        row,
                        "name",
                        f"this row and row {claimed[target.pk].number} both match the account {target.name!r}",
                    )
                    continue
                claimed[target.pk] = row
            row.target = target

    def changes(self, row: _Row) -> dict:
        values = dict(row.values)
        current: Customer | None = row.target  # type: ignore[assignment]
        if current is None:
            values.setdefault("lifecycle", "customer")
            values.setdefault("arr_currency", self.workspace.currency)
        if "arr_currency" in values:
            arr = values.get("arr", current.arr if current else Decimal("0"))
            currency = values["arr_currency"]
            rate = self.rates.get(currency)
            if rate is None:
                self.problem(row, "arr_currency", no_rate_message(currency))
                return {}
            values["arr"] = arr
            values["arr_base"] = arr if currency == self.workspace.currency else convert(arr, rate)
            if values["arr_base"] > MAX_AMOUNT:
                self.problem(row, "arr", f"{arr} {currency} is too large once converted to {self.workspace.currency}")
                return {}
        if current is None:
            return values
        return {k: v for k, v in values.items() if k in self.COMPARED and getattr(current, k) != v}


class ContactPlanner(_Planner):
    kind = "contacts"
    COMPARED = ("name", "email", "title", "external_id", "customer_id")

    def run(self) -> None:
        customers = Customer.objects.filter(workspace=self.workspace).only("id", "name", "external_id")
        self.accounts_by_ext = {c.external_id: c for c in customers if c.external_id}
        self.accounts_by_name: dict[str, list[Customer]] = defaultdict(list)
        for c in customers:
            self.accounts_by_name[c.name.casefold()].append(c)
        super().run()

    def key_for(self, row: _Row):
        if row.values.get("external_id"):
            return ("external_id", row.values["external_id"])
        if row.values.get("email"):
            return ("email", row.values["email"].casefold())
        return None

    def check_duplicates(self) -> None:
        super().check_duplicates()
        # Two rows with different ids but the same email would make two contacts of one person.
        emails: dict[str, list[_Row]] = defaultdict(list)
        for row in self.rows:
            if row.values.get("external_id") and row.values.get("email"):
                emails[row.values["email"].casefold()].append(row)
        for email, rows in emails.items():
            if len(rows) > 1:
                numbers = ", ".join(str(r.number) for r in rows)
                for row in rows:
                    self.problem(row, "email", f"duplicate email {email!r} in this file (rows {numbers})")

    def parse(self, row: _Row) -> None:
        values, cells = row.values, row.cells
        for name, raw in cells.items():
            text = raw.strip()
            try:
                if name in ("external_id", "name", "title", "first_name", "last_name"):
                    values[name] = _text(text, name)
                elif name == "email":
                    if text:
                        validate_email(text)
                    values[name] = _text(text, name)
                elif name == "unsubscribed":
                    values[name] = parse_bool(text)
            except ValidationError:
                self.problem(row, name, f"{text!r} is not an email address")
            except ValueError as exc:
                self.problem(row, name, str(exc))
        first, last = values.pop("first_name", None), values.pop("last_name", None)
        if "name" not in self.mapping and (first is not None or last is not None):
            values["name"] = " ".join(p for p in (first, last) if p)
            if len(values["name"]) > LIMITS["name"]:
                self.problem(row, "last_name", f"the full name is longer than {LIMITS['name']} characters")
        if not values.get("email") and not values.get("external_id") and not row.problems:
            self.problem(row, "email", "a contact needs an email or an external id (so a re-import finds it again)")
        account_ext = cells.get("account_external_id", "").strip()
        account_name = " ".join(cells.get("account_name", "").split())
        if account_ext:
            first_id = re.split(r"[;,]", account_ext)[0].strip()
            account = self.accounts_by_ext.get(first_id)
            if account is None:
                self.problem(
                    row,
                    "account_external_id",
                    f"unknown customer: no account has the external id {first_id!r} (import the accounts first)",
                )
            else:
                values["customer_id"] = account.pk
        elif account_name:
            named = self.accounts_by_name.get(account_name.casefold(), [])
            if not named:
                self.problem(row, "account_name", f"unknown customer: no account is named {account_name!r}")
            elif len(named) > 1:
                self.problem(
                    row,
                    "account_name",
                    f"{len(named)} accounts are named {account_name!r}; map the account external id instead",
                )
            else:
                values["customer_id"] = named[0].pk
        elif "account_external_id" in self.mapping or "account_name" in self.mapping:
            values["customer_id"] = None

    def match(self) -> None:
        query = Contact.objects.filter(workspace=self.workspace)
        existing = list(query.select_for_update() if self.lock else query)
        by_ext = {c.external_id: c for c in existing if c.external_id}
        by_email: dict[str, list[Contact]] = defaultdict(list)
        for c in existing:
            if c.email:
                by_email[c.email.casefold()].append(c)
        claimed: dict[int, _Row] = {}
        for row in self.rows:
            if row.problems:
                continue
            ext, email = row.values.get("external_id", ""), (row.values.get("email") or "").casefold()
            target = by_ext.get(ext) if ext else None
            if target is None and email:
                same = by_email.get(email, [])
                if ext:
                    other = [c for c in same if c.external_id]
                    if other:
                        self.problem(
                            row,
                            "email",
                            f"{row.values['email']} already belongs to the contact with "
                            f"external id {other[0].external_id!r}",
                        )
                        continue
                    same = [c for c in same if c.pk not in claimed]
                target = same[0] if same else None
            if target is not None:
                if target.pk in claimed:
                    self.problem(
                        row, "email", f"this row and row {claimed[target.pk].number} both match the contact {target}"
                    )
                    continue
                claimed[target.pk] = row
            row.target = target

    def changes(self, row: _Row) -> dict:
        values = dict(row.values)
        unsubscribe = values.pop("unsubscribed", False)
        current: Contact | None = row.target  # type: ignore[assignment]
        if unsubscribe and (current is None or current.unsubscribed_at is None):
            values["unsubscribed_at"] = timezone.now()
        if current is None:
            return values
        changed = {k: v for k, v in values.items() if k in self.COMPARED and getattr(current, k) != v}
        if "unsubscribed_at" in values:
            changed["unsubscribed_at"] = values["unsubscribed_at"]
        return changed


PLANNERS = {"accounts": AccountPlanner, "contacts": ContactPlanner}
AUDIT_FIELDS = {
    "accounts": (
        "customer",
        Customer,
        [
            "name",
            "domain",
            "segment",
            "plan",
            "arr",
            "arr_currency",
            "arr_base",
            "lifecycle",
            "region",
            "owner_id",
            "renewal_date",
            "health",
            "external_id",
        ],
    ),
    "contacts": ("contact", Contact, ["customer_id", "name", "email", "title", "external_id", "unsubscribed_at"]),
}


# --- writing ---------------------------------------------------------------------------------


def _write(actor: Actor, kind: str, planner: _Planner) -> None:
    entity_type, model, audit_fields = AUDIT_FIELDS[kind]
    now = timezone.now()
    new_objects = []
    for row in planner.creates:
        new_objects.append(model(workspace=actor.workspace, **row.values))
    model.objects.bulk_create(new_objects, batch_size=BATCH)
    events = []
    for obj in new_objects:
        after = {f: _plain(getattr(obj, f)) for f in audit_fields}
        events.append(
            (entity_type, obj.pk, str(obj), "created", {k: [None, v] for k, v in after.items() if v not in (None, "")})
        )
    changed_objects, changed_fields = [], set()
    for row, changes in planner.updates:
        obj = row.target
        before = {k: _plain(getattr(obj, k)) for k in changes}
        for k, v in changes.items():
            setattr(obj, k, v)
        obj.version += 1
        if kind == "accounts":
            obj.updated_at = now
        changed_fields.update(changes)
        changed_objects.append(obj)
        events.append(
            (entity_type, obj.pk, str(obj), "updated", {k: [before[k], _plain(v)] for k, v in changes.items()})
        )
    if changed_objects:
        fields = sorted(changed_fields | {"version"} | ({"updated_at"} if kind == "accounts" else set()))
        model.objects.bulk_update(changed_objects, fields, batch_size=BATCH)
    audit_records(actor=actor.user, workspace=actor.workspace, rows=events, via=actor.via, batch_size=BATCH)


def _summary_audit(actor: Actor, report: ImportReport) -> None:
    AuditEvent.objects.create(
        workspace=actor.workspace,
        actor=actor.user if getattr(actor.user, "pk", None) else None,
        actor_label=actor.user.email if getattr(actor.user, "pk", None) else "system",
        via=actor.via,
        entity_type="customer_import" if report.kind == "accounts" else "contact_import",
        entity_id=None,
        entity_label=(report.filename or f"{report.kind} import")[:200],
        action="imported",
        changes={
            "created": [None, report.created],
            "updated": [None, report.updated],
            "unchanged": [None, report.unchanged],
            "skipped_rows": [None, report.skipped],
            "rows": [None, report.rows],
            "preset": [None, report.preset],
            "mapping": [None, report.mapping],
        },
    )


def analyse(
    *,
    actor: Actor,
    data: bytes,
    kind: str = "accounts",
    preset: str = "auto",
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    date_order: str = "auto",
    filename: str = "",
    max_bytes: int | None = None,
    lock: bool = False,
) -> tuple[ImportReport, _Planner | None]:
    """Read and validate without writing; raises ImportRefused when the file cannot be read."""
    actor.require(WRITE_SCOPE)
    if kind not in KINDS:
        raise Invalid(f"Unknown kind {kind!r}.", fields={"kind": "accounts or contacts."})
    if preset not in PRESETS_OFFERED:
        raise Invalid(f"Unknown preset {preset!r}.", fields={"preset": "auto, salesforce, hubspot or none."})
    if date_order not in DATE_ORDERS:
        raise Invalid(f"Unknown date order {date_order!r}.", fields={"date_order": "auto, dmy or mdy."})
    limits = upload_limits(max_bytes)
    reading.check_size(len(data), limits, advice=_SIZE_ADVICE)
    text, encoding_label = decode(data, encoding)
    table = read_table(text, limits)
    report = ImportReport(kind=kind, filename=filename[:200], encoding=encoding_label, delimiter=table.delimiter)
    report.columns = table.header
    report.preset = detect_preset(kind, table.header) if preset == "auto" else preset
    columns = resolve_mapping(kind, table.header, report.preset, mapping, report)
    if not table.rows:
        report.add(Problem(None, "", "", "the file has a header but no data rows"))
    if report.problem_count:
        return report, None
    planner = PLANNERS[kind](actor, table, columns, report, date_order, lock)
    planner.run()
    if kind == "accounts" and "arr" in columns and "arr_currency" not in columns:
        report.notes.append(f"ARR without a currency is read as {actor.workspace.currency}, the workspace currency.")
    return report, planner


@transaction.atomic
def import_csv(
    *,
    actor: Actor,
    data: bytes,
    kind: str = "accounts",
    preset: str = "auto",
    mapping: dict[str, str] | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    encoding: str | None = None,
    date_order: str = "auto",
    filename: str = "",
    max_bytes: int | None = None,
) -> ImportReport:
    """Import accounts or contacts from CSV bytes; see the module docstring for the rules.

    Returns the report. Raises ``ImportRefused`` for an unreadable file and ``ImportInvalid``
    (carrying the report) when there are problems and nothing was written. A dry run returns the
    report with its problems instead of raising.
    """
    report, planner = analyse(
        actor=actor,
        data=data,
        kind=kind,
        preset=preset,
        mapping=mapping,
        encoding=encoding,
        date_order=date_order,
        filename=filename,
        max_bytes=max_bytes,
        lock=not dry_run,
    )
    report.dry_run = dry_run
    if dry_run:
        return report
    if planner is None or report.file_problems or (report.problem_count and not skip_invalid):
        raise ImportInvalid(report)
    if report.valid_rows == 0:
        raise ImportInvalid(report)
    try:
        with transaction.atomic():
            _write(actor, kind, planner)
    except IntegrityError as exc:  # another import or edit created the same external id meanwhile
        raise Conflict(
            "These records were changed by someone else while the file was being imported; nothing was "
            "imported. Run the import again: it picks up their changes.",
            code="import_conflict",
        ) from exc
    _summary_audit(actor, report)
    report.written = True
    return report
