"""Rows from an uploaded file as one uniform table, and the column mapping presets that name its columns.

Invariants:
- A ``Table`` is a header and its data rows; each row keeps the number the user sees in their spreadsheet
  (the header is row 1), so every problem can name it. Blank rows are dropped, never renumbered.
- CSV: the delimiter is sniffed from the header line outside quotes (``, ; tab |``), and Excel's ``sep=;``
  first line is honoured; every row goes through ``reading.csv_rows`` (limits, NUL, malformed CSV).
- JSON records (a list of objects) give the same table: the columns are the keys in first-seen order, the
  row number is the item's 1-based position plus one (as if the header were row 1).
- Column names are compared normalised (``normalise_header``: case, spaces and underscores ignored), so
  "Renewal_Date", "renewal date" and "RENEWAL DATE" are one column. A preset (a CRM's export) lists the
  column names each field goes by; ``detect_preset`` picks the preset whose own names the header uses, and
  only when exactly one preset wins; ``match_columns`` maps each field to the first free matching column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import reading
from .reading import ImportRefused, UploadLimits

DELIMITERS = (",", ";", "\t", "|")


def normalise_header(name: str) -> str:
    return " ".join(str(name).replace("_", " ").strip().strip("\ufeff").casefold().split())


def sniff_delimiter(first_line: str) -> str:
    """The delimiter used most often outside quotes on the header line (a comma when none is)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (the user's row number, cells); blank rows dropped
    delimiter: str = ","

    def column(self, name: str) -> int | None:
        """The index of the column named ``name`` (compared normalised), or None."""
        wanted = normalise_header(name)
        return next((i for i, h in enumerate(self.header) if normalise_header(h) == wanted), None)


def read_csv_table(text: str, limits: UploadLimits) -> Table:
    """CSV text as a ``Table`` (see the invariants); a file without a header row is refused."""
    first, _, rest = text.partition("\n")
    delimiter = None
    if first.strip().lower().startswith("sep=") and len(first.strip()) == 5:
        delimiter = first.strip()[4]
        text = rest
        first = rest.partition("\n")[0]
    if not first.strip():  # leading blank lines: sniff the header line itself
        first = next((line for line in text.split("\n", 50)[:50] if line.strip()), "")
    delimiter = delimiter or sniff_delimiter(first)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    number = 0
    for cells in reading.csv_rows(text, limits, delimiter=delimiter):
        number += 1
        if header is None:
            if not any(c.strip() for c in cells):
                number -= 1  # leading blank lines are not the header
                continue
            header = [c.strip().strip("\ufeff").strip() for c in cells]
            continue
        if any(c.strip() for c in cells):
            rows.append((number, cells))
    if header is None:
        raise ImportRefused("The file has no header row.", fields={"file": "No header row."})
    header = [h or f"(column {i + 1})" for i, h in enumerate(header)]
    return Table(header=header, rows=rows, delimiter=delimiter)


def records_table(records: Iterable[Mapping[str, Any]]) -> Table:
    """JSON records as a ``Table``: keys in first-seen order, ``None`` as an empty cell, other values as text."""
    records = list(records)
    header: dict[str, None] = {}
    for record in records:
        header.update(dict.fromkeys(record))
    columns = list(header)
    rows = [
        (number, ["" if record.get(c) is None else str(record.get(c)) for c in columns])
        for number, record in enumerate(records, start=2)
    ]
    return Table(header=columns, rows=[(n, cells) for n, cells in rows if any(c.strip() for c in cells)])


def detect_preset(header: Iterable[str], presets: Mapping[str, Mapping[str, list[str]]]) -> str | None:
    """The preset (name -> field -> its column names) whose *own* names the header uses most, or None when
    none does or two tie."""
    columns = {normalise_header(h) for h in header}
    names = {p: {normalise_header(c) for cands in fields.values() for c in cands} for p, fields in presets.items()}
    scores = {}
    for preset, own in names.items():
        others = set().union(*(n for p, n in names.items() if p != preset))
        scores[preset] = len(columns & (own - others))
    if not scores:
        return None
    best = max(scores, key=lambda p: scores[p])
    return best if scores[best] >= 1 and list(scores.values()).count(scores[best]) == 1 else None


def match_columns(header: Iterable[str], candidates: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Field -> column: each field (in order) takes the first of its candidate names the header has and no
    earlier field took."""
    index: dict[str, str] = {}
    for h in header:
        index.setdefault(normalise_header(h), h)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for field_name, names in candidates.items():
        for candidate in names:
            column = index.get(normalise_header(candidate))
            if column is not None and column not in taken:
                mapping[field_name] = column
                taken.add(column)
                break
    return mapping
