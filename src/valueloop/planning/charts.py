"""Geometry for the planning charts, rendered as inline SVG by the templates.

Pure functions: numbers in, coordinates out. Text (feature titles) is passed through untouched
and escaped by the template engine, never marked safe here. Every chart has a data table beside
it in the page, for screen readers and copy-paste.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

PALETTE = ("#3b5bdb", "#2b8a3e", "#e8590c", "#9c36b5", "#0b7285", "#c92a2a", "#5c940d", "#862e9c")


def nice_ceiling(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    base = 10**exponent
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * base + 1e-9:
            return step * base
    return 10 * base


def ticks(maximum: float, count: int = 5) -> list[float]:
    step = nice_ceiling(maximum / count)
    values, v = [], 0.0
    while v <= maximum + 1e-9:
        values.append(round(v, 10))
        v += step
    return values


def short_number(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if magnitude >= 10_000:
        return f"{value / 1000:.3g}k"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2g}"


@dataclass
class Tick:
    pos: float
    label: str


@dataclass
class Point:
    x: float
    y: float
    title: str
    feature_id: int
    label: str = ""
    moved_from: tuple[float, float] | None = None
    highlight: bool = False
    anchor: str = "start"
    label_x: float = 0.0


@dataclass
class IsoLine:
    x2: float
    y2: float
    label: str
    lx: float
    ly: float


@dataclass
class Scatter:
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    points: list[Point]
    iso: list[IsoLine]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    x_label: str
    y_label: str
    hidden: int = 0


def scatter(
    items: Sequence[dict], *, currency: str, cd3_levels: Sequence[float] = (), label_top: int = 8, limit: int = 400
) -> Scatter:
    """Cost of Delay (y) against likely duration (x); CD3 iso-lines are rays y = k·x.

    ``items``: dicts with ``duration``, ``cod``, ``title``, ``id`` and optional ``from`` (an old
    ``(duration, cod)`` for what-if arrows). Only the first ``limit`` items are drawn (the caller
    passes them best first); the rest are counted in ``hidden``.
    """
    width, height, left, right, top, bottom = 720, 430, 72, 24, 16, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    drawn = list(items[:limit])
    xs = [i["duration"] for i in drawn] + [i["from"][0] for i in drawn if i.get("from")]
    ys = [i["cod"] for i in drawn] + [i["from"][1] for i in drawn if i.get("from")]
    x_max = nice_ceiling(max(xs, default=1) * 1.08)
    y_max = nice_ceiling(max(ys, default=1) * 1.08)

    def sx(x: float) -> float:
        return round(left + plot_w * x / x_max, 1)

    def sy(y: float) -> float:
        return round(top + plot_h * (1 - y / y_max), 1)

    points = []
    for k, item in enumerate(drawn):
        previous = item.get("from")
        x = sx(item["duration"])
        right_side = x > left + plot_w * 0.6
        points.append(
            Point(
                x,
                sy(item["cod"]),
                item["title"],
                item["id"],
                label=item["title"][:28] if k < label_top else "",
                moved_from=(sx(previous[0]), sy(previous[1])) if previous else None,
                highlight=bool(previous),
                anchor="end" if right_side else "start",
                label_x=x - 9 if right_side else x + 9,
            )
        )
    iso = []
    for level in cd3_levels:
        if level <= 0:
            continue
        if level * x_max <= y_max:
            x_end, y_end = x_max, level * x_max
        else:
            x_end, y_end = y_max / level, y_max
        iso.append(
            IsoLine(
                sx(x_end),
                sy(y_end),
                f"CD3 {short_number(level)}",
                sx(x_end) - 4,
                sy(y_end) + (12 if y_end >= y_max * 0.98 else -4),
            )
        )
    return Scatter(
        width,
        height,
        left,
        top,
        plot_w,
        plot_h,
        points,
        iso,
        [Tick(sx(v), short_number(v)) for v in ticks(x_max)],
        [Tick(sy(v), short_number(v)) for v in ticks(y_max)],
        "Duration, likely (weeks)",
        f"Cost of Delay ({currency} per week)",
        hidden=max(0, len(items) - limit),
    )


def cd3_levels(values: Sequence[float]) -> list[float]:
    """Three round CD3 values around the quartiles, for the iso-lines."""
    finite = sorted(v for v in values if v > 0 and math.isfinite(v))
    if not finite:
        return []
    levels = []
    for q in (0.25, 0.5, 0.85):
        v = finite[min(len(finite) - 1, int(q * len(finite)))]
        exponent = math.floor(math.log10(v))
        rounded = round(v / 10**exponent) * 10**exponent
        if rounded > 0 and rounded not in levels:
            levels.append(rounded)
    return levels


@dataclass
class Bar:
    y: float
    width: float
    label: str
    value_label: str
    highlight: bool
    x_text: float


@dataclass
class Bars:
    width: int
    height: int
    left: int
    bar_h: int
    bars: list[Bar]
    axis: list[Tick]


def bars(rows: Sequence[tuple[str, float, bool]], *, value_format) -> Bars:
    """Horizontal bars: (label, value, highlight)."""
    width, left, right, bar_h, gap = 720, 230, 110, 26, 12
    plot_w = width - left - right
    top = 8
    maximum = nice_ceiling(max((v for _, v, _ in rows), default=1))
    out = []
    for k, (label, value, highlight) in enumerate(rows):
        w = round(plot_w * value / maximum, 1) if maximum else 0
        out.append(Bar(top + k * (bar_h + gap), w, label, value_format(value), highlight, left + w + 6))
    height = top + len(rows) * (bar_h + gap) + 24
    axis = [Tick(round(left + plot_w * v / maximum, 1), short_number(v)) for v in ticks(maximum, 4)]
    return Bars(width, height, left, bar_h, out, axis)


@dataclass
class GanttBar:
    y: float
    x: float
    w: float
    color: str
    title: str
    label: str
    deadline_x: float | None = None
    late: bool = False


@dataclass
class Gantt:
    width: int
    height: int
    left: int
    top: int
    row_h: int
    bars: list[GanttBar]
    axis: list[Tick]
    legend: list[tuple[str, str]]
    hidden: int = 0
    plot_bottom: float = 0


def gantt(items: Sequence[dict], *, today: dt.date, limit: int = 60) -> Gantt:
    width, left, right, top, row_h = 720, 220, 20, 28, 22
    plot_w = width - left - right
    drawn = list(items[:limit])
    horizon = nice_ceiling(max((i["end_week"] for i in drawn), default=1))
    teams = list(dict.fromkeys(i["team"] for i in drawn))
    colors = {t: PALETTE[k % len(PALETTE)] for k, t in enumerate(teams)}

    def sx(week: float) -> float:
        return round(left + plot_w * week / horizon, 1)

    out = []
    for k, item in enumerate(drawn):
        deadline_x = None
        if item.get("deadline"):
            weeks = (item["deadline"] - today).days / 7
            if 0 <= weeks <= horizon:
                deadline_x = sx(weeks)
        out.append(
            GanttBar(
                top + k * row_h,
                sx(item["start_week"]),
                max(2.0, sx(item["end_week"]) - sx(item["start_week"])),
                colors[item["team"]],
                f"{item['title']}: {item['team']}, {item['start']:%Y-%m-%d} to {item['end']:%Y-%m-%d}",
                item["title"][:30],
                deadline_x,
                bool(item.get("late")),
            )
        )
    axis = [Tick(sx(w), (today + dt.timedelta(weeks=w)).strftime("%d %b")) for w in ticks(horizon, 6) if w <= horizon]
    height = top + len(drawn) * row_h + 16
    return Gantt(
        width,
        height,
        left,
        top,
        row_h,
        out,
        axis,
        [(t, colors[t]) for t in teams],
        hidden=max(0, len(items) - limit),
        plot_bottom=top + len(drawn) * row_h,
    )


@dataclass
class HistBar:
    x: float
    y: float
    w: float
    h: float
    title: str


@dataclass
class Marker:
    x: float
    label: str


@dataclass
class Histogram:
    width: int
    height: int
    left: int
    top: int
    plot_h: int
    bars: list[HistBar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    markers: list[Marker] = field(default_factory=list)
    x_label: str = ""


def histogram(
    edges: Sequence[int], counts: Sequence[int], *, markers: Sequence[tuple[float, str]], x_label: str, unit: str
) -> Histogram:
    width, height, left, right, top, bottom = 720, 300, 56, 20, 28, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    low, high = edges[0], edges[-1]
    span = max(1, high - low)
    y_max = nice_ceiling(max(counts, default=1))
    total = sum(counts) or 1

    def sx(v: float) -> float:
        return round(left + plot_w * (v - low) / span, 1)

    out = []
    for k, count in enumerate(counts):
        x0, x1 = sx(edges[k]), sx(edges[k + 1])
        h = round(plot_h * count / y_max, 1)
        lo, hi = edges[k], edges[k + 1] - 1
        which = f"{lo}" if lo == hi else f"{lo}–{hi}"
        out.append(
            HistBar(
                x0 + 0.5,
                top + plot_h - h,
                max(1.0, x1 - x0 - 1),
                h,
                f"{which} {unit}: {count} trials ({100 * count / total:.1f} %)",
            )
        )
    step = max(1, math.ceil(len(counts) / 10))
    x_ticks = [
        Tick(round((sx(edges[k]) + sx(edges[k + 1])) / 2, 1), str(edges[k])) for k in range(0, len(counts), step)
    ]
    y_ticks = [Tick(round(top + plot_h * (1 - v / y_max), 1), short_number(v)) for v in ticks(y_max, 4)]
    marks = [Marker(sx(v + 0.5), label) for v, label in markers]
    return Histogram(width, height, left, top, plot_h, out, x_ticks, y_ticks, marks, x_label)
