"""Date-order parsing for imported cells: ISO 8601, day-first, month-first, and the dates no order can decide.

Invariants:
- ISO dates (2026-03-31, with or without a time) are read the same under every order.
- A numeric date a/b/yyyy is read by the order given ("dmy" or "mdy"); with a dot separator (31.03.2026) it
  is always day-first, as no locale writes month-first with dots.
- With no order (``order=None``) a date is read only when it can mean one thing: 13/03/2026 is day-first,
  03/13/2026 month-first, 03/03/2026 either; 03/04/2026 raises ``AmbiguousDate`` so the importer reports the
  row and field, instead of guessing.
- ``infer_order`` decides an order for a whole column only from dates that can mean one thing, and only when
  they all agree; otherwise it returns None and says nothing is decided.
- Pure: no Django, no time zone (importers attach their workspace's zone).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

ORDERS = ("auto", "dmy", "mdy")

ISO_DATE = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})?)?$"
)
NUMERIC_DATE = re.compile(
    r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?)?$"
)
TEXT_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%d-%b-%Y", "%d-%b-%y", "%d %b %y", "%Y%m%d")


class DateError(ValueError):
    """The cell is not a date (the message says what is accepted)."""


class AmbiguousDate(DateError):
    """The cell is a date in two orders (03/04/2026): the importer reports the row, or asks for the order."""


def order_evidence(values: Iterable[str]) -> tuple[int, int]:
    """(day-first only, month-first only): how many numeric dates can be read in one order alone."""
    dmy = mdy = 0
    for value in values:
        match = NUMERIC_DATE.match((value or "").strip())
        if match and match.group(2) != ".":
            a, b = int(match.group(1)), int(match.group(3))
            dmy += a > 12 >= b
            mdy += b > 12 >= a
    return dmy, mdy


def infer_order(values: Iterable[str]) -> str | None:
    """ "dmy" or "mdy" when the unambiguous dates all agree; None when there are none, or they disagree."""
    dmy, mdy = order_evidence(values)
    if dmy and not mdy:
        return "dmy"
    if mdy and not dmy:
        return "mdy"
    return None


def parse_date(text: str, order: str | None = "dmy") -> dt.date:
    """The date in ``text`` read in ``order`` ("dmy", "mdy", or None: only if it can mean one thing)."""
    s = (text or "").strip()
    try:
        match = ISO_DATE.match(s)
        if match:
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        match = NUMERIC_DATE.match(s)
        if match:
            a, sep, b, year = int(match.group(1)), match.group(2), int(match.group(3)), int(match.group(4))
            year += 2000 if year < 100 else 0
            if sep == ".":
                order = "dmy"
            elif order is None:
                if a <= 12 and b <= 12 and a != b:
                    raise AmbiguousDate(
                        f"{s!r} could be day/month/year or month/day/year; choose the date order, or use "
                        "YYYY-MM-DD (2026-03-31)"
                    )
                order = "dmy" if a > 12 or a == b else "mdy"
            day, month = (a, b) if order == "dmy" else (b, a)
            return dt.date(year, month, day)
    except AmbiguousDate:
        raise
    except ValueError:
        pass
    else:
        cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", s.replace(",", " "))
        cleaned = " ".join(cleaned.replace(".", " ").split()) if not cleaned.isdigit() else cleaned
        for fmt in TEXT_FORMATS:
            try:
                return dt.datetime.strptime(cleaned, fmt).date()
            except ValueError:
                continue
    example = "03/31/2026" if order == "mdy" else "31/03/2026"
    raise DateError(f"cannot read {text!r} as a date; use YYYY-MM-DD (2026-03-31) or {example}")
