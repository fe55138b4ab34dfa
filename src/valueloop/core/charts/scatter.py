"""A scatter plot with optional rays through the origin (lines of equal ratio y/x, e.g. equal CD3) and moved points
(a what-if: the old position as a ring, an arrow to the new one).

Invariants: both axes start at zero; only the first ``limit`` points are drawn (the caller passes them best first)
and tabled, and the note says how many are left out; only the first ``label_top`` points get a label in the drawing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import palette
from .model import Chart, DataTable, LegendEntry
from .scales import linear, short_number
from .svg import DESIGN_WIDTH, FONT_SIZE, Svg, centred_at, fit, text_width


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    moved_from: tuple[float, float] | None = None
    cells: Sequence[str] = ()  # extra data-table cells, under ``extra_columns``


def ray_levels(ratios: Sequence[float]) -> list[float]:
    """Up to three round ratios around the quartiles of ``ratios``, for the rays."""
    finite = sorted(v for v in ratios if v > 0 and math.isfinite(v))
    levels: list[float] = []
    for q in (0.25, 0.5, 0.85):
        if not finite:
            break
        v = finite[min(len(finite) - 1, int(q * len(finite)))]
        exponent = math.floor(math.log10(v))
        rounded = round(v / 10**exponent) * 10**exponent
        if rounded > 0 and rounded not in levels:
            levels.append(rounded)
    return levels


def scatter(
    title: str,
    points: Sequence[Point],
    *,
    x_label: str,
    y_label: str,
    x_format: Callable[[float], str],
    y_format: Callable[[float], str],
    rays: Sequence[float] = (),
    ray_label: str = "",
    extra_columns: Sequence[str] = (),
    label_top: int = 5,
    limit: int = 400,
) -> Chart:
    width, height, top, bottom, right = DESIGN_WIDTH, 310, 24, 42, 10
    drawn = list(points[:limit])
    xs = [p.x for p in drawn] + [p.moved_from[0] for p in drawn if p.moved_from]
    ys = [p.y for p in drawn] + [p.moved_from[1] for p in drawn if p.moved_from]
    y = linear(ys, start=height - bottom, end=top, count=4, pad=0.06)
    left = max(30.0, max(text_width(short_number(t)) for t in y.ticks()) + 10)
    x = linear(xs, start=left, end=width - right, count=4, pad=0.06)
    description = (
        f"{title}: {len(points)} points, {y_label} against {x_label}"
        + (f"; dashed rays are lines of equal {ray_label}, steeper is better" if rays else "")
        + "."
    )
    svg = Svg(width=width, height=height, title=title, description=description, kind="scatter")
    for tick in y.ticks():
        svg.add("line", x1=left, x2=width - right, y1=y(tick), y2=y(tick), class_="grid")
        svg.add("text", short_number(tick), x=left - 5, y=y(tick) + 4, text_anchor="end", class_="tick")
    for tick in x.ticks():
        label = short_number(tick)
        svg.add("text", label, y=height - bottom + FONT_SIZE + 3, class_="tick", **centred_at(x(tick), label, width))
    svg.add("line", x1=left, x2=left, y1=top, y2=y(0), class_="axis")
    svg.add("line", x1=left, x2=width - right, y1=y(0), y2=y(0), class_="axis")
    svg.add("text", f"{x_label} →", x=left, y=height - 6, class_="axis-label")
    svg.add("text", f"↑ {y_label}", x=left, y=FONT_SIZE, class_="axis-label")
    for level in rays:
        if level <= 0:
            continue
        x_end, y_end = (x.hi, level * x.hi) if level * x.hi <= y.hi else (y.hi / level, y.hi)
        svg.add("line", x1=x(0), y1=y(0), x2=x(x_end), y2=y(y_end), class_="ray")
        svg.add(
            "text",
            f"{ray_label} {short_number(level)}".strip(),
            x=x(x_end) - 4,
            y=y(y_end) + (FONT_SIZE if y_end >= y.hi * 0.98 else -4),
            text_anchor="end",
            class_="ray-label",
        )
    for k, p in enumerate(drawn):
        px, py = x(p.x), y(p.y)
        if p.moved_from:
            ox, oy = x(p.moved_from[0]), y(p.moved_from[1])
            svg.add("circle", cx=ox, cy=oy, r=6, class_="pt-old")
            svg.add("line", x1=ox, y1=oy, x2=px, y2=py, class_=f"move {palette.HIGHLIGHT}", stroke="currentColor")
        swatch = palette.HIGHLIGHT if p.moved_from else palette.series(0)
        svg.add(
            "circle",
            cx=px,
            cy=py,
            r=7 if p.moved_from else 5,
            class_=f"pt {swatch}",
            fill="currentColor",
            tooltip=f"{p.label}: {y_format(p.y)}, {x_format(p.x)}",
        )
        if k < label_top:
            right_side = px > left + (width - left - right) * 0.55
            room = (px - left - 9) if right_side else (width - px - 9)
            svg.add(
                "text",
                fit(p.label, max(40.0, room)),
                x=px - 9 if right_side else px + 9,
                y=py + 4,
                text_anchor="end" if right_side else "start",
                class_="label",
            )
    table = DataTable(
        ["", y_label, x_label, *extra_columns],
        [[p.label, y_format(p.y), x_format(p.x), *p.cells] for p in drawn],
    )
    legend = (
        [LegendEntry("moved by the what-if (grey ring: before)", palette.HIGHLIGHT)]
        if any(p.moved_from for p in drawn)
        else []
    )
    hidden = len(points) - len(drawn)
    note = f"The chart and its table show the first {len(drawn)}; {hidden} more are left out." if hidden > 0 else ""
    return Chart("scatter", title, description, svg.render(), table, legend, note)
