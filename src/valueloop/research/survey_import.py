"""Parsing and validating a survey-response CSV (NPS or CSAT) before anything is written.

One row per response: score, comment, account (external id, name or domain), contact email, date,
kind (nps|csat) and an optional response id. Every problem is reported with its row number and
column; the service writes nothing while a single row is invalid (all-or-nothing).

Reading is bounded by ``core.importing.reading``: the size (``MAX_BYTES``), the rows (``MAX_ROWS``), field and
line lengths and NUL bytes are refused with ``ImportRefused`` naming the limit. The text is decoded by
``core.importing.encoding`` (UTF-8 first, otherwise detected and named in the report); a file mixing
encodings, or with bytes no encoding reads, is refused naming the byte and line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models.functions import Lower
from django.utils import timezone

from valueloop.core.importing import UploadLimits, idempotency, reading
from valueloop.core.importing import encoding as encoding_policy
from valueloop.core.importing import table as table_kit
from valueloop.core.importing.problems import Problem
from valueloop.customers.facade import Contact, Customer

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
MAX_PROBLEMS_SHOWN = 200
SCALES = {"nps": (0, 10), "csat": (1, 5)}

ALIASES = {
    "score": {"score", "rating", "nps", "csat", "nps_score", "csat_score", "value"},
    "comment": {"comment", "comments", "feedback", "verbatim", "text", "reason", "answer"},
    "account": {
        "account",
        "customer",
        "company",
        "organisation",
        "organization",
        "account_id",
        "customer_id",
        "account_external_id",
        "account_name",
        "customer_name",
        "domain",
    },
    "email": {"email", "contact_email", "contact", "respondent_email", "e_mail", "respondent"},
    "date": {"date", "responded_at", "submitted_at", "created_at", "timestamp", "response_date", "time"},
    "kind": {"kind", "type", "survey", "survey_type", "metric"},
    "external_id": {"id", "external_id", "response_id", "responseid"},
}


# The one per-row/field problem of every importer; here row 0 is the file itself (the API's row is an int).
RowProblem = Problem


@dataclass
class PreparedRow:
    line: int
    kind: str
    score: int
    comment: str
    customer_id: int | None
    contact_id: int | None
    responded_at: dt.datetime
    external_id: str


@dataclass
class SurveyImportReport:
    filename: str = ""
    encoding: str = ""  # the encoding the file was read with ("Windows-1252 (detected)")
    total_rows: int = 0
    created: int = 0
    unchanged: int = 0  # already imported (same kind and response id)
    feedback_created: int = 0
    unmatched_emails: int = 0
    unknown_accounts: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # our field -> the file's column
    problems: list[RowProblem] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problems_shown(self) -> list[RowProblem]:
        return self.problems[:MAX_PROBLEMS_SHOWN]

    def problem(self, row: int, name: str, message: str) -> None:
        self.problems.append(RowProblem(row, name, message))


def _normal(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", (name or "").strip().lower()).strip("_")


def upload_limits() -> UploadLimits:
    return UploadLimits.from_settings(max_bytes=MAX_BYTES, max_rows=MAX_ROWS)


def decode(data: bytes) -> str:
    """The file's text by the one encoding policy (``core.importing.encoding``)."""
    return encoding_policy.decode(data).text


def _domain(value: str) -> str:
    value = value.strip().lower()
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    value = value.split("/")[0].split("@")[-1]
    return value[4:] if value.startswith("www.") else value


def parse_when(value: str, tz: dt.tzinfo) -> dt.datetime:
    text = (value or "").strip()
    if not text:
        raise ValueError("A date is required.")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = dt.date.fromisoformat(text)
        return dt.datetime(day.year, day.month, day.day, 12, tzinfo=tz)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date; use ISO 8601, e.g. 2026-03-31 or 2026-03-31T14:05:00Z.") from None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


class _Accounts:
    """Find an account by external id, then name (case-insensitive), then domain."""

    def __init__(self, workspace):
        self.by_external: dict[str, int] = {}
        self.by_name: dict[str, set[int]] = {}
        self.by_domain: dict[str, set[int]] = {}
        for pk, external_id, name, domain in Customer.objects.filter(workspace=workspace).values_list(
            "id", "external_id", "name", "domain"
        ):
            if external_id:
                self.by_external[external_id] = pk
            self.by_name.setdefault(name.strip().lower(), set()).add(pk)
            if domain:
                self.by_domain.setdefault(_domain(domain), set()).add(pk)

    def find(self, reference: str) -> tuple[int | None, str]:
        ref = reference.strip()
        if ref in self.by_external:
            return self.by_external[ref], ""
        for index in (self.by_name.get(ref.lower()), self.by_domain.get(_domain(ref)) if "." in ref else None):
            if index:
                if len(index) > 1:
                    return None, f"{ref!r} names {len(index)} accounts; use the account's external id."
                return next(iter(index)), ""
        return None, f"No account matches {ref!r} (by external id, name or domain)."


def prepare(
    *, workspace, data: bytes, default_kind: str = "", allow_unknown_accounts: bool = False, filename: str = ""
) -> tuple[list[PreparedRow], SurveyImportReport]:
    """Read and check every row. Rows already imported are counted as ``unchanged`` and left out."""
    from .models import SurveyResponse
    from .selectors import workspace_tz

    report = SurveyImportReport(filename=filename)
    limits = upload_limits()
    reading.check_size(len(data), limits)
    if default_kind and default_kind not in SCALES:
        report.problem(0, "kind", "The survey kind is nps or csat.")
        return [], report
    decoded = encoding_policy.decode(data)
    report.encoding, text = decoded.label, decoded.text
    if not text.strip():
        report.problem(0, "file", "The file is empty.")
        return [], report
    # The shared table: delimiter sniffed from the header line, rows keep their line numbers, blank rows dropped,
    # and csv_rows refuses rows and fields past the limits.
    table = table_kit.read_csv_table(text, limits)
    header = table.header
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _normal(name)
        for ours, aliases in ALIASES.items():
            if key in aliases and ours not in columns:
                columns[ours] = index
                report.columns[ours] = name.strip()
    missing = [c for c in ("score", "date") if c not in columns]
    if "kind" not in columns and not default_kind:
        missing.append("kind")
    if missing:
        report.problem(
            1,
            "header",
            f"Missing column(s): {', '.join(missing)}. Found: {', '.join(h.strip() for h in header) or 'nothing'}."
            + (" Or choose the survey kind for the whole file." if "kind" in missing else ""),
        )
        return [], report

    tz = workspace_tz(workspace)
    now = timezone.now()
    accounts = _Accounts(workspace)
    raw_rows: list[tuple[int, dict[str, str]]] = []
    emails: set[str] = set()
    for line, record in table.rows:
        values = {ours: (record[i].strip() if i < len(record) else "") for ours, i in columns.items()}
        raw_rows.append((line, values))
        if values.get("email"):
            emails.add(values["email"].lower())
    report.total_rows = len(raw_rows)
    if not raw_rows:
        report.problem(0, "file", "The file has a header but no responses.")
        return [], report

    contacts: dict[str, tuple[int, int | None]] = {}
    if emails:
        for pk, email, customer_id in (
            Contact.objects.filter(workspace=workspace)
            .annotate(email_lower=Lower("email"))
            .filter(email_lower__in=emails)
            .order_by("id")
            .values_list("id", "email_lower", "customer_id")
        ):
            contacts.setdefault(email, (pk, customer_id))

    prepared: list[PreparedRow] = []
    seen: dict[tuple[str, str], int] = {}
    for line, values in raw_rows:
        errors_before = len(report.problems)
        kind = (values.get("kind") or default_kind).strip().lower()
        if kind not in SCALES:
            report.problem(line, "kind", f"{kind or '(empty)'!r} is not a survey kind; use nps or csat.")
        score = None
        raw_score = values.get("score", "")
        try:
            number = float(raw_score.replace(",", "."))
            if not number.is_integer():
                raise ValueError
            score = int(number)
        except ValueError:
            report.problem(line, "score", f"{raw_score or '(empty)'!r} is not a whole-number score.")
        if score is not None and kind in SCALES:
            low, high = SCALES[kind]
            if not low <= score <= high:
                report.problem(line, "score", f"A {kind.upper()} score is from {low} to {high}; got {score}.")
        try:
            responded_at = parse_when(values.get("date", ""), tz)
            if responded_at > now + dt.timedelta(days=1):
                report.problem(line, "date", f"{values['date']!r} is in the future.")
        except ValueError as exc:
            report.problem(line, "date", str(exc))
            responded_at = now
        comment = values.get("comment", "")
        if len(comment) > 20000:
            report.problem(line, "comment", "The comment is longer than 20,000 characters.")
        external_id = values.get("external_id", "")
        if len(external_id) > 120:
            report.problem(line, "external_id", "The response id is longer than 120 characters.")
        elif external_id and kind in SCALES:
            if (kind, external_id) in seen:
                report.problem(
                    line, "external_id", f"Response id {external_id!r} repeats row {seen[(kind, external_id)]}."
                )
            seen[(kind, external_id)] = line
        contact_id = customer_id = None
        email = values.get("email", "").lower()
        if email:
            found = contacts.get(email)
            if found:
                contact_id, customer_id = found
            else:
                report.unmatched_emails += 1
        reference = values.get("account", "")
        if reference:
            account, problem = accounts.find(reference)
            if account:
                customer_id = account
            elif allow_unknown_accounts:
                report.unknown_accounts += 1
            else:
                report.problem(line, "account", problem + " Add the account first, or allow unknown accounts.")
        if len(report.problems) == errors_before:
            prepared.append(
                PreparedRow(line, kind, score, comment, customer_id, contact_id, responded_at, external_id)  # type: ignore[arg-type]
            )

    existing = set()
    ids = {(r.kind, r.external_id) for r in prepared if r.external_id}
    if ids:
        existing = idempotency.existing_keys(
            SurveyResponse.objects.filter(
                workspace=workspace, external_id__in=[e for _, e in ids], kind__in=list({k for k, _ in ids})
            ),
            ("kind", "external_id"),
        )
    fresh, already = idempotency.split_already_imported(prepared, lambda r: (r.kind, r.external_id), existing)
    report.unchanged = len(already)
    for row in fresh:
        report.by_kind[row.kind] = report.by_kind.get(row.kind, 0) + 1
    return fresh, report
