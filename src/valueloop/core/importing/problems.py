"""The per-row/field problem report every importer fills: row number, field, message and the value found.

Invariants:
- Rows are counted as the user counts them in their file: the header is row 1 (a CSV line number, or the
  1-based item number of a JSON array); ``row=None`` is a problem with the whole file or its mapping.
- The list kept is capped (``cap``) so a million bad rows cannot fill memory or a page, but the counts are
  not: ``count`` is every problem, ``rows`` every row that had one and ``by_field`` how many per field, so a
  report can say "and 9,800 more" truthfully.
- A value is shortened for display (``VALUE_SHOWN`` characters); the message never depends on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

DEFAULT_CAP = 200
VALUE_SHOWN = 60


def shown_value(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= VALUE_SHOWN else text[: VALUE_SHOWN - 1] + "…"


@dataclass(frozen=True)
class Problem:
    row: int | None  # the user's row (header = 1); None: the whole file or the mapping
    field: str  # our field name, or "file" / "header" / "mapping"
    message: str
    value: str = ""  # what the row held, shortened

    def where(self, unit: str = "row") -> str:
        parts = [f"{unit} {self.row}"] if self.row is not None else []
        if self.field and self.field != "file":
            parts.append(self.field)
        return " · ".join(parts) or "file"

    def __str__(self) -> str:
        shown = f" (found {self.value!r})" if self.value else ""
        return f"{self.where()}: {self.message}{shown}"

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message, "value": self.value}


@dataclass
class ProblemReport:
    cap: int = DEFAULT_CAP
    problems: list[Problem] = field(default_factory=list)
    count: int = 0
    rows: set[int] = field(default_factory=set)
    by_field: Counter = field(default_factory=Counter)

    def add(self, row: int | None, field_name: str, message: str, value: object = None) -> Problem:
        problem = Problem(row, field_name, message, shown_value(value))
        self.count += 1
        self.by_field[field_name] += 1
        if row is not None:
            self.rows.add(row)
        if len(self.problems) < self.cap:
            self.problems.append(problem)
        return problem

    @property
    def ok(self) -> bool:
        return self.count == 0

    @property
    def more(self) -> int:
        """Problems counted but not kept."""
        return self.count - len(self.problems)

    def row_has_problem(self, row: int) -> bool:
        return row in self.rows

    def __iter__(self) -> Iterator[Problem]:
        """The problems kept (at most ``cap``)."""
        return iter(self.problems)

    def __len__(self) -> int:
        """Every problem counted, kept or not: ``if report.problems`` and ``{{ problems|length }}`` tell the truth."""
        return self.count

    def summary(self, unit: str = "row") -> str:
        if not self.count:
            return "No problems."
        text = f"{self.count:,} problem{'s' if self.count != 1 else ''}"
        if self.rows:
            text += f" in {len(self.rows):,} {unit}{'s' if len(self.rows) != 1 else ''}"
        if self.more:
            text += f" (the first {len(self.problems):,} are listed)"
        return text + "."
