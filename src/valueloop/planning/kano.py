"""Reading Kano questionnaire answers from CSV. Reads and validates; never writes.

Invariants: the whole file is checked before anything is written (``services.kano_import``
writes only a file without problems: all or nothing). Every problem names its row as in a
spreadsheet (the header is row 1) and its column. Answers are matched case-insensitively
against the five Kano answers and their common wordings. Reading is bounded by ``core.importing.reading``
(``MAX_BYTES``, ``MAX_ROWS``, field and line lengths, NUL bytes): a file past a limit raises ``ImportRefused``
naming the limit, before any row is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from valueloop.core.importing import UploadLimits, reading
from valueloop.core.importing import encoding as encoding_policy
from valueloop.core.importing import table as table_kit
from valueloop.core.importing.problems import ProblemReport
from valueloop.engines import prioritisation as prio

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
MAX_PROBLEMS = 200
ANSWERS = {
    "like": "like",
    "i like it": "like",
    "i like it that way": "like",
    "must_be": "must_be",
    "must-be": "must_be",
    "must be": "must_be",
    "expect": "must_be",
    "i expect it": "must_be",
    "i expect it that way": "must_be",
    "it must be that way": "must_be",
    "neutral": "neutral",
    "i am neutral": "neutral",
    "i'm neutral": "neutral",
    "live_with": "live_with",
    "live with": "live_with",
    "live-with": "live_with",
    "tolerate": "live_with",
    "i can live with it": "live_with",
    "i can tolerate it": "live_with",
    "dislike": "dislike",
    "i dislike it": "dislike",
    "i dislike it that way": "dislike",
}
COLUMNS = ("feature", "respondent", "functional", "dysfunctional")


@dataclass
class KanoRow:
    row: int
    feature_id: int
    respondent: str
    functional: str
    dysfunctional: str


@dataclass
class KanoFile:
    rows: list[KanoRow] = field(default_factory=list)
    problems: ProblemReport = field(default_factory=lambda: ProblemReport(cap=MAX_PROBLEMS))

    def problem(self, row: int, column: str, message: str, value: object = None) -> None:
        self.problems.add(row, column, message, value)


def upload_limits() -> UploadLimits:
    return UploadLimits.from_settings(max_bytes=MAX_BYTES, max_rows=MAX_ROWS)


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    return encoding_policy.decode(data, advice="Save it as CSV UTF-8 and try again.").text


def read_kano_csv(data: bytes | str, features_by_id: dict[int, str], features_by_title: dict[str, int]) -> KanoFile:
    """Parse and check the file. ``features_*`` are the workspace's features (ids and lower-cased
    titles); a row naming any other feature is a problem, never a silent skip."""
    result = KanoFile()
    limits = upload_limits()
    reading.check_size(len(data.encode("utf-8") if isinstance(data, str) else data), limits)
    text = _decode(data)
    if not text.strip():
        result.problem(1, "file", "The file is empty.")
        return result
    # The shared table: the delimiter sniffed (Excel writes ";" in many locales), rows keep their line numbers,
    # and csv_rows refuses rows, fields and lines past the limits, and NUL.
    table = table_kit.read_csv_table(text, limits)
    header = [table_kit.normalise_header(h).replace(" ", "_") for h in table.header]
    header = ["feature" if h == "feature_id" else h for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        result.problem(1, "header", f"Missing column(s): {', '.join(missing)}. Expected: {', '.join(COLUMNS)}.")
        return result
    index = {c: header.index(c) for c in COLUMNS}
    seen: dict[tuple[int, str], int] = {}
    for number, cells in table.rows:
        _row(result, number, cells, index, features_by_id, features_by_title, seen)
    if not result.rows and result.problems.ok:
        result.problem(2, "file", "The file has a header but no answers.")
    return result


def _row(result, number, cells, index, features_by_id, features_by_title, seen) -> None:
    def cell(name: str) -> str:
        k = index[name]
        return cells[k].strip() if k < len(cells) else ""

    ok = True
    raw_feature = cell("feature")
    feature_id = None
    if raw_feature.isdigit() and int(raw_feature) in features_by_id:
        feature_id = int(raw_feature)
    elif raw_feature.lower() in features_by_title:
        feature_id = features_by_title[raw_feature.lower()]
    if feature_id is None:
        result.problem(
            number, "feature", f"No feature {raw_feature!r} in this workspace (use its id or exact title).", raw_feature
        )
        ok = False
    respondent = cell("respondent")
    if not respondent or len(respondent) > 120:
        result.problem(number, "respondent", "A respondent id of 1 to 120 characters is required.")
        ok = False
    answers = {}
    for column in ("functional", "dysfunctional"):
        answer = ANSWERS.get(cell(column).lower())
        if answer is None:
            result.problem(
                number,
                column,
                f"{cell(column)!r} is not a Kano answer (like, expect, neutral, live with, dislike).",
                cell(column),
            )
            ok = False
        answers[column] = answer
    if not ok:
        return
    prio.kano_classify(answers["functional"], answers["dysfunctional"])  # the engine's own check
    key = (feature_id, respondent)
    if key in seen:
        result.problem(number, "respondent", f"Same feature and respondent as row {seen[key]}.")
        return
    seen[key] = number
    result.rows.append(KanoRow(number, feature_id, respondent, answers["functional"], answers["dysfunctional"]))
