"""Line charts: a day-by-day timeline with interval bands, and the sparkline glyph for list rows.

Invariants: the timeline's lines and bands use the series palette in order of the series' keys; a sparkline is a
glyph inside a list row, not a figure: it carries its numbers in its accessible name instead of a data table.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence

from django.utils.safestring import SafeString

from . import palette
from .model import Chart, DataTable, LegendEntry
from .scales import linear, percent_label
from .svg import DESIGN_WIDTH, FONT_SIZE, Svg, centred_at, text_width


def timeline(
    title: str,
    points: Sequence[Mapping],
    names: Mapping[int, str],
    *,
    fmt: Callable[[float], str] = percent_label,
    legend_suffix: str = "",
) -> Chart | None:
    """``points``: mappings with ``day`` (a date), ``variation`` (a series key), ``estimate``, ``ci_low``,
    ``ci_high`` and optionally ``units`` (users so far). None when no point has an estimate."""
    usable = [p for p in points if p.get("estimate") is not None]
    if not usable:
        return None
    width, height, top, bottom, right = DESIGN_WIDTH, 230, 10, 40, 10
    values = [v for p in usable for v in (p["estimate"], p.get("ci_low"), p.get("ci_high"))]
    y = linear(values, start=height - bottom, end=top, count=4)
    left = max(30.0, max(text_width(fmt(t)) for t in y.ticks()) + 10)
    days = sorted({p["day"] for p in usable})
    first, span = days[0], max(1, (days[-1] - days[0]).days)

    def sx(day: dt.date) -> float:
        if len(days) == 1:
            return left + (width - left - right) / 2
        return left + (width - left - right) * (day - first).days / span

    keys = sorted({p["variation"] for p in usable})
    name_of = {key: names.get(key, f"Variation {key}") for key in keys}
    description = f"{title}, from {days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}. " + "; ".join(
        f"{name_of[key]}: {fmt(max((p for p in usable if p['variation'] == key), key=lambda p: p['day'])['estimate'])}"
        " on the last day"
        for key in keys
    )
    svg = Svg(width=width, height=height, title=title, description=description + ".", kind="timeline")
    for tick in y.ticks():
        svg.add("line", x1=left, x2=width - right, y1=y(tick), y2=y(tick), class_="zero" if tick == 0 else "grid")
        svg.add("text", fmt(tick), x=left - 5, y=y(tick) + 4, text_anchor="end", class_="tick")
    label_w = text_width("30 Sep") + 10
    every = max(1, math.ceil(len(days) / max(1, int((width - left - right) / label_w))))
    for day in days[::every]:
        label = f"{day.day} {day:%b}"
        svg.add("text", label, y=height - bottom + FONT_SIZE + 4, class_="tick", **centred_at(sx(day), label, width))
    for index, key in enumerate(keys):
        series = sorted((p for p in usable if p["variation"] == key), key=lambda p: p["day"])
        swatch = palette.series(index)
        svg.open("g", class_=swatch)
        with_ci = [p for p in series if p.get("ci_low") is not None and p.get("ci_high") is not None]
        if with_ci:
            upper = [f"{sx(p['day']):.1f} {y(p['ci_high']):.1f}" for p in with_ci]
            lower = [f"{sx(p['day']):.1f} {y(p['ci_low']):.1f}" for p in reversed(with_ci)]
            svg.add("path", d="M" + " L".join(upper + lower) + " Z", class_="ci-band", fill="currentColor")
        path = "M" + " L".join(f"{sx(p['day']):.1f} {y(p['estimate']):.1f}" for p in series)
        svg.add("path", d=path, class_="est-line", stroke="currentColor", fill="none", tooltip=name_of[key])
        end = series[-1]
        svg.add("circle", cx=sx(end["day"]), cy=y(end["estimate"]), r=3.5, fill="currentColor")
        svg.close("g")
    svg.add("text", "day (cumulative) →", x=left, y=height - 4, class_="axis-label")
    with_units = any(p.get("units") is not None for p in usable)
    columns = ["Day", "Variation", *(["Users so far"] if with_units else []), "Relative change", "Interval"]
    rows = []
    for p in sorted(usable, key=lambda p: (p["day"], p["variation"])):
        interval = (
            f"{fmt(p['ci_low'])} to {fmt(p['ci_high'])}"
            if p.get("ci_low") is not None and p.get("ci_high") is not None
            else "—"
        )
        units = [f"{p['units']:,}" if p.get("units") is not None else "—"] if with_units else []
        rows.append([f"{p['day']:%Y-%m-%d}", name_of[p["variation"]], *units, fmt(p["estimate"]), interval])
    legend = [LegendEntry(name_of[key] + legend_suffix, palette.series(i)) for i, key in enumerate(keys)]
    return Chart("timeline", title, description + ".", svg.render(), DataTable(columns, rows), legend)


def sparkline(values: Sequence[float | None], *, label: str, width: int = 110, height: int = 26) -> SafeString:
    """A small trend line for a list row, drawn in the row's text colour; ``label`` (which should carry the numbers)
    is its accessible name."""
    numbers = [float(v or 0) for v in values] or [0.0]
    peak = max(numbers) or 1.0
    step = width / max(1, len(numbers) - 1)
    pad = 2
    coords = [(i * step, pad + (height - 2 * pad) * (1 - v / peak)) for i, v in enumerate(numbers)]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    svg = Svg(width=width, height=height, title=label, description=", ".join(f"{v:g}" for v in numbers), kind="spark")
    svg.add("polygon", points=f"0,{height} {points} {coords[-1][0]:.1f},{height}", fill="currentColor", opacity="0.12")
    svg.add("polyline", points=points, fill="none", stroke="currentColor", stroke_width=1.5, stroke_linejoin="round")
    svg.add("circle", cx=coords[-1][0], cy=coords[-1][1], r=2, fill="currentColor")
    return svg.render()
