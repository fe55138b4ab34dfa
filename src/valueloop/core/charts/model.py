"""What every chart builder returns: the drawing, its data table and its legend.

Invariant: a ``Chart`` cannot be made without a ``DataTable``; ``charts/_chart.html`` shows the table behind the
drawing (a ``<details>`` with a real ``<table>``) so screen readers and copy-paste get every number the picture
shows, unshortened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.safestring import SafeString


@dataclass(frozen=True)
class DataTable:
    """``columns[0]`` heads the row labels; each row is ``(label, *cells)``, already formatted."""

    columns: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class LegendEntry:
    label: str
    swatch: str  # a palette class from palette.py, e.g. "c-1" or "c-alert"


@dataclass(frozen=True)
class Chart:
    kind: str
    title: str
    description: str
    svg: SafeString
    table: DataTable
    legend: Sequence[LegendEntry] = field(default_factory=tuple)
    note: str = ""  # a line under the drawing, e.g. "The chart shows the first 40; the table has all."
