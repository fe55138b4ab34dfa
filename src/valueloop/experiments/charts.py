"""Geometry for the results charts, drawn as inline SVG by the templates (the planning charts' pattern).

Pure functions: numbers in, coordinates and path strings (numbers only) out. Labels (metric and variation names)
are passed through untouched and escaped by the template engine, never marked safe here. Every chart is shown
with a data table beside it for screen readers and copy-paste.

- ``forest``: one row per metric and treatment, the relative effect as a dot with its interval as a line, and the
  zero line; coloured by verdict (better, worse, inconclusive).
- ``timeline``: the primary metric's cumulative relative effect per treatment over the days, its interval as a
  band.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

PALETTE = ("#3b5bdb", "#e8590c", "#2b8a3e", "#9c36b5", "#0b7285", "#c92a2a", "#5c940d", "#862e9c")
VERDICT_CLASS = {"better": "better", "worse": "worse", "inconclusive": "flat", "unknown": "flat"}


def _nice_step(span: float, count: int = 5) -> float:
    raw = span / max(1, count)
    if raw <= 0 or not math.isfinite(raw):
        return 0.01
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude + 1e-12:
            return m * magnitude
    return 10 * magnitude


def percent_label(value: float) -> str:
    text = f"{value * 100:+.1f}%" if abs(value) < 0.1 else f"{value * 100:+.0f}%"
    return "0%" if abs(value) < 1e-12 else text


@dataclass
class Tick:
    pos: float
    label: str


@dataclass
class ForestRow:
    y: float
    label: str
    sublabel: str
    x: float | None
    x_low: float | None
    x_high: float | None
    verdict: str
    title: str


@dataclass
class Forest:
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    zero_x: float
    ticks: list[Tick]
    rows: list[ForestRow]
    bands: list[tuple[float, float]] = field(default_factory=list)  # alternate metric groups: (y, height)


def forest(rows: Sequence[dict], *, width: int = 720) -> Forest:
    """``rows``: dicts with ``label`` (metric), ``sublabel`` (variation), ``estimate``, ``ci_low``, ``ci_high``
    (relative effects, fractions; None when unknown), ``verdict`` and ``title`` (the tooltip text)."""
    left, right, top, row_h, bottom = 230, 24, 12, 30, 34
    plot_w = width - left - right
    plot_h = max(1, len(rows)) * row_h
    height = top + plot_h + bottom
    values = [0.0]
    for row in rows:
        values += [v for v in (row.get("estimate"), row.get("ci_low"), row.get("ci_high")) if v is not None]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.05, hi + 0.05
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    step = _nice_step(hi - lo)
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step

    def sx(v: float) -> float:
        return round(left + plot_w * (v - lo) / (hi - lo), 1)

    ticks, t = [], lo
    while t <= hi + step / 1000:
        ticks.append(Tick(sx(t), percent_label(t)))
        t += step
    out: list[ForestRow] = []
    bands: list[tuple[float, float]] = []
    previous_label, group, group_start = None, -1, 0.0
    for i, row in enumerate(rows):
        y = top + row_h * i + row_h / 2
        if row["label"] != previous_label:
            if group >= 0 and group % 2 == 1:
                bands.append((group_start, top + row_h * i - group_start))
            group += 1
            group_start = top + row_h * i
            previous_label = row["label"]
        est, low, high = row.get("estimate"), row.get("ci_low"), row.get("ci_high")
        out.append(
            ForestRow(
                y=round(y, 1),
                label=row["label"],
                sublabel=row.get("sublabel", ""),
                x=sx(est) if est is not None else None,
                x_low=sx(low) if low is not None else None,
                x_high=sx(high) if high is not None else None,
                verdict=VERDICT_CLASS.get(row.get("verdict", ""), "flat"),
                title=row.get("title", ""),
            )
        )
    if group % 2 == 1:
        bands.append((group_start, top + plot_h - group_start))
    return Forest(width, height, left, top, plot_w, plot_h, sx(0.0), ticks, out, bands)


@dataclass
class Line:
    name: str
    color: str
    path: str  # the estimate
    band: str  # the interval, as a closed polygon
    last_x: float
    last_y: float


@dataclass
class Timeline:
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    zero_y: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: list[Line]


def timeline(points: Sequence[dict], names: dict[int, str], *, width: int = 720, height: int = 300) -> Timeline | None:
    """``points``: dicts with ``day`` (date), ``variation``, ``estimate``, ``ci_low``, ``ci_high`` (fractions)."""
    usable = [p for p in points if p.get("estimate") is not None]
    if not usable:
        return None
    left, right, top, bottom = 64, 24, 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    days = sorted({p["day"] for p in usable})
    first, last = days[0], days[-1]
    span_days = max(1, (last - first).days)
    values = [0.0]
    for p in usable:
        values += [v for v in (p["estimate"], p.get("ci_low"), p.get("ci_high")) if v is not None]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.05, hi + 0.05
    step = _nice_step(hi - lo)
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step

    def sx(day: dt.date) -> float:
        return round(left + plot_w * (day - first).days / span_days, 1) if span_days else left + plot_w / 2

    def sy(v: float) -> float:
        return round(top + plot_h * (hi - v) / (hi - lo), 1)

    y_ticks, t = [], lo
    while t <= hi + step / 1000:
        y_ticks.append(Tick(sy(t), percent_label(t)))
        t += step
    every = max(1, math.ceil(len(days) / 8))
    x_ticks = [Tick(sx(d), d.strftime("%-d %b")) for d in days[::every]]
    lines: list[Line] = []
    for index, variation in enumerate(sorted({p["variation"] for p in usable})):
        series = sorted((p for p in usable if p["variation"] == variation), key=lambda p: p["day"])
        path = "M" + " L".join(f"{sx(p['day'])} {sy(p['estimate'])}" for p in series)
        with_ci = [p for p in series if p.get("ci_low") is not None and p.get("ci_high") is not None]
        band = ""
        if with_ci:
            upper = [f"{sx(p['day'])} {sy(p['ci_high'])}" for p in with_ci]
            lower = [f"{sx(p['day'])} {sy(p['ci_low'])}" for p in reversed(with_ci)]
            band = "M" + " L".join(upper + lower) + " Z"
        end = series[-1]
        lines.append(
            Line(
                names.get(variation, f"Variation {variation}"),
                PALETTE[index % len(PALETTE)],
                path,
                band,
                sx(end["day"]),
                sy(end["estimate"]),
            )
        )
    return Timeline(width, height, left, top, plot_w, plot_h, sy(0.0), x_ticks, y_ticks, lines)
