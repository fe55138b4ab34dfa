"""Bar charts: grouped columns (with optional error whiskers), horizontal row bars, and a histogram.

Invariants: columns start at zero and negative values hang below it; every value drawn is also a cell of the data
table, formatted by the same function as its tick labels; labels too long for their slot are shortened in the
drawing only (the full label is the bar's tooltip and its table row).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import palette
from .model import Chart, DataTable, LegendEntry
from .scales import linear, short_number
from .svg import DESIGN_WIDTH, FONT_SIZE, Svg, centred_at, fit, text_width

Format = Callable[[float], str]


def _default_format(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2g}"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    errors: Sequence[float | None] | None = None  # half-widths (e.g. margins of error)


def _at(values: Sequence | None, i: int):
    return values[i] if values is not None and i < len(values) else None


def _describe(title: str, labels: Sequence[str], series: Sequence[Series], fmt: Format) -> str:
    parts = []
    for s in series:
        pairs = [(c, v) for c, v in zip(labels, s.values, strict=False) if v is not None]
        if pairs:
            peak = max(pairs, key=lambda p: p[1])
            parts.append(f"{s.name}: {fmt(pairs[-1][1])} in {pairs[-1][0]}, highest {fmt(peak[1])} in {peak[0]}")
    span = f" from {labels[0]} to {labels[-1]}" if labels else ""
    return f"{title}{span}. " + ("; ".join(parts) + "." if parts else "No values yet.")


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    y_label: str = "",
    fmt: Format | None = None,
    row_labels: Sequence[str] = (),
    table_head: str = "Month",
    whole_numbers: bool = False,
) -> Chart:
    """Grouped vertical bars, one group per category (months, weeks, segments), in the product palette;
    ``whole_numbers`` for counts (no 0.5 ticks)."""
    fmt = fmt or _default_format
    labels = list(row_labels) or list(categories)
    description = _describe(title, labels, series, fmt)
    highs, lows = [], []
    for s in series:
        for i, v in enumerate(s.values):
            if v is not None:
                e = _at(s.errors, i) or 0
                highs.append(v + e)
                lows.append(v - e)
    width, height, top, bottom = DESIGN_WIDTH, 210, 10, 24
    y = linear(highs + lows, start=height - bottom, end=top, count=4, whole=whole_numbers)
    left = max(28.0, max(text_width(fmt(t)) for t in y.ticks()) + 10)
    right = 4
    plot_w = width - left - right
    n = max(1, len(categories))
    band = plot_w / n
    group = band * 0.8
    bar_w = group / max(1, len(series))
    svg = Svg(width=width, height=height, title=title, description=description, kind="bars")
    for tick in y.ticks():
        svg.add("line", x1=left, x2=width - right, y1=y(tick), y2=y(tick), class_="zero" if tick == 0 else "grid")
        svg.add("text", fmt(tick), x=left - 5, y=y(tick) + 4, text_anchor="end", class_="tick")
    for i, category in enumerate(categories):
        gx = left + band * i + (band - group) / 2
        for j, s in enumerate(series):
            v = _at(s.values, i)
            if v is None:
                continue
            x = gx + bar_w * j
            y0, y1 = sorted((y(0), y(v)))
            e = _at(s.errors, i) or 0
            tooltip = f"{labels[i] if i < len(labels) else category}: {s.name} {fmt(v)}" + (f" ± {fmt(e)}" if e else "")
            svg.add(
                "rect",
                x=x,
                y=y0,
                width=max(1.0, bar_w - 1),
                height=max(0.5, y1 - y0),
                class_=palette.series(j),
                fill="currentColor",
                tooltip=tooltip,
            )
            if e:
                cx = x + (bar_w - 1) / 2
                svg.add(
                    "path",
                    d=f"M{cx:.1f} {y(v + e):.1f}V{y(v - e):.1f}"  # the whisker and its two caps
                    f"M{cx - 3:.1f} {y(v + e):.1f}h6M{cx - 3:.1f} {y(v - e):.1f}h6",
                    class_="whisker",
                )
    # Category labels: every k-th, so that no two overlap; each at most one band-step wide.
    widest = max((text_width(c) for c in categories), default=0)
    every = max(1, math.ceil((min(widest, 84) + 6) / band))
    for i in range(0, len(categories), every):
        svg.add(
            "text",
            fit(categories[i], band * every - 4),
            x=left + band * i + band / 2,
            y=height - bottom + FONT_SIZE + 3,
            text_anchor="middle",
            class_="tick",
        )
    legend = [LegendEntry(s.name, palette.series(j)) for j, s in enumerate(series)] if len(series) > 1 else []
    has_errors = any(s.errors and any(s.errors) for s in series)
    table = DataTable(
        [table_head, *(s.name for s in series)],
        [
            [
                label,
                *(
                    "—"
                    if (v := _at(s.values, i)) is None
                    else fmt(v) + (f" ± {fmt(e)}" if (e := _at(s.errors, i)) else "")
                    for s in series
                ),
            ]
            for i, label in enumerate(labels)
        ],
    )
    note = " ".join(filter(None, [y_label and f"Values {y_label}.", has_errors and "Whiskers: margin of error."]))
    return Chart("bars", title, description, svg.render(), table, legend, note)


def row_bars(
    title: str,
    rows: Sequence[tuple[str, float, bool]],
    *,
    value_format: Format,
    label_head: str = "",
    value_head: str = "Value",
) -> Chart:
    """Horizontal bars, one row each ``(label, value, highlight)``; the label sits above its bar, so long labels
    keep the full width on a phone instead of squeezing the bars."""
    width, left, right, top, row_h = DESIGN_WIDTH, 4, 8, 4, 40
    height = top + len(rows) * row_h + 22
    x = linear([v for _, v, _ in rows], start=left, end=width - right, count=4)
    description = title + ". " + "; ".join(f"{label}: {value_format(v)}" for label, v, _ in rows) + "."
    svg = Svg(width=width, height=height, title=title, description=description, kind="row-bars")
    bottom = top + len(rows) * row_h
    for tick in x.ticks():
        svg.add("line", x1=x(tick), x2=x(tick), y1=top, y2=bottom, class_="zero" if tick == 0 else "grid")
        label = short_number(tick)
        svg.add("text", label, y=bottom + FONT_SIZE + 4, class_="tick", **centred_at(x(tick), label, width))
    for k, (label, value, highlight) in enumerate(rows):
        y0 = top + k * row_h
        value_text = value_format(value)
        svg.add("text", fit(label, width - 8 - text_width(value_text)), x=left, y=y0 + FONT_SIZE, class_="label")
        svg.add("text", value_text, x=width - right, y=y0 + FONT_SIZE, text_anchor="end", class_="label")
        x0, x1 = sorted((x(0), x(value)))
        svg.add(
            "rect",
            x=x0,
            y=y0 + FONT_SIZE + 5,
            width=max(1.0, x1 - x0),
            height=16,
            rx=2,
            class_=palette.HIGHLIGHT if highlight else palette.NEUTRAL,
            fill="currentColor",
            tooltip=f"{label}: {value_text}",
        )
    table = DataTable([label_head or "Row", value_head], [[label, value_format(v)] for label, v, _ in rows])
    return Chart("row-bars", title, description, svg.render(), table)


def histogram(
    title: str,
    edges: Sequence[int],
    counts: Sequence[int],
    *,
    markers: Sequence[tuple[float, str]] = (),
    x_label: str,
    unit: str,
) -> Chart:
    """Counts per bin (``edges`` has one more entry than ``counts``), with labelled vertical markers (e.g. the
    50/85/95 % levels of a forecast)."""
    width, height, top, bottom, right = DESIGN_WIDTH, 220, 30, 40, 8
    total = sum(counts) or 1
    y = linear(counts, start=height - bottom, end=top, count=4)
    left = max(28.0, max(text_width(short_number(t)) for t in y.ticks()) + 10)
    low, high = (edges[0], edges[-1]) if edges else (0, 1)
    span = max(1, high - low)

    def sx(v: float) -> float:
        return left + (width - left - right) * (v - low) / span

    rows = []
    for k, count in enumerate(counts):
        lo, hi = edges[k], edges[k + 1] - 1
        rows.append((f"{lo}" if lo == hi else f"{lo}–{hi}", count))
    description = f"{title}: {sum(counts)} trials in {len(counts)} bins of {x_label.lower()}" + (
        "; " + ", ".join(f"{label} at {v:g} {unit}" for v, label in markers) if markers else ""
    )
    svg = Svg(width=width, height=height, title=title, description=description + ".", kind="histogram")
    for tick in y.ticks():
        svg.add("line", x1=left, x2=width - right, y1=y(tick), y2=y(tick), class_="grid")
        svg.add("text", short_number(tick), x=left - 5, y=y(tick) + 4, text_anchor="end", class_="tick")
    for k, (which, count) in enumerate(rows):
        x0, x1 = sx(edges[k]), sx(edges[k + 1])
        svg.add(
            "rect",
            x=x0 + 0.5,
            y=y(count),
            width=max(1.0, x1 - x0 - 1),
            height=max(0.0, y(0) - y(count)),
            class_=palette.series(0),
            fill="currentColor",
            tooltip=f"{which} {unit}: {count} trials ({100 * count / total:.1f} %)",
        )
    every = max(1, math.ceil(len(counts) / 6))
    for k in range(0, len(counts), every):
        svg.add(
            "text",
            str(edges[k]),
            x=(sx(edges[k]) + sx(edges[k + 1])) / 2,
            y=height - bottom + 16,
            text_anchor="middle",
            class_="tick",
        )
    for n, (value, label) in enumerate(markers):
        mx = sx(value + 0.5)
        svg.add("line", x1=mx, x2=mx, y1=top - 6, y2=y(0), class_=f"marker {palette.ALERT}", stroke="currentColor")
        svg.add(
            "text",
            label,
            y=top - (16 if n % 2 == 0 else 4) + 2,
            **centred_at(mx, label, width),
            class_=f"marker-label {palette.ALERT}",
            fill="currentColor",
        )
    svg.add("text", f"{x_label} →", x=left, y=height - 6, class_="axis-label")
    table = DataTable(
        [f"{x_label} ({unit})", "Trials", "Share"],
        [[which, f"{count:,}", f"{100 * count / total:.1f} %"] for which, count in rows],
    )
    return Chart("histogram", title, description + ".", svg.render(), table)
