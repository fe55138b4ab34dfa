"""A schedule (Gantt) chart: one bar per item from its start week to its end week, coloured by group (team).

Laid out for a phone like the other row charts: each item's label sits above its bar. Invariants: bars are drawn
for the first ``limit`` items only and the note says so (the data table has every item); an item past its deadline
is outlined and marked in words in its tooltip and table row, not by colour alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from . import palette
from .model import Chart, DataTable, LegendEntry
from .scales import linear
from .svg import DESIGN_WIDTH, FONT_SIZE, Svg, centred_at, fit


def gantt(title: str, items: Sequence[dict], *, today: dt.date, limit: int = 40) -> Chart:
    """``items``: dicts with ``title``, ``team``, ``start_week``/``end_week`` (weeks from ``today``), ``start``/
    ``end`` (dates) and optional ``deadline`` (a date) and ``late``."""
    width, left, right, top, row_h = DESIGN_WIDTH, 4, 8, 24, 34
    drawn = list(items[:limit])
    height = top + len(drawn) * row_h + 6
    x = linear([i["end_week"] for i in drawn], start=left, end=width - right, count=4)
    teams = list(dict.fromkeys(i["team"] for i in items))
    swatch = {team: palette.series(k) for k, team in enumerate(teams)}
    description = f"{title}: {len(items)} items on {len(teams)} team{'s' if len(teams) != 1 else ''}, " + (
        f"the last done {max(i['end'] for i in items):%Y-%m-%d}." if items else "nothing scheduled."
    )
    svg = Svg(width=width, height=height, title=title, description=description, kind="gantt")
    bottom = top + len(drawn) * row_h
    for week in x.ticks():
        svg.add("line", x1=x(week), x2=x(week), y1=top - 6, y2=bottom, class_="grid")
        label = f"{today + dt.timedelta(weeks=week):%-d %b}"
        svg.add("text", label, y=FONT_SIZE + 2, class_="tick", **centred_at(x(week), label, width))
    for k, item in enumerate(drawn):
        y0 = top + k * row_h
        late = bool(item.get("late"))
        svg.add(
            "text",
            fit(item["title"] + (" (late)" if late else ""), width - left - right),
            x=left,
            y=y0 + FONT_SIZE,
            class_="label",
        )
        x0 = x(item["start_week"])
        svg.add(
            "rect",
            x=x0,
            y=y0 + FONT_SIZE + 4,
            width=max(2.0, x(item["end_week"]) - x0),
            height=12,
            rx=2,
            class_=f"{swatch[item['team']]}{' late' if late else ''}",
            fill="currentColor",
            tooltip=f"{item['title']}: {item['team']}, {item['start']:%Y-%m-%d} to {item['end']:%Y-%m-%d}"
            + (" — after its deadline" if late else ""),
        )
        if item.get("deadline"):
            weeks = (item["deadline"] - today).days / 7
            if x.lo <= weeks <= x.hi:
                svg.add(
                    "line",
                    x1=x(weeks),
                    x2=x(weeks),
                    y1=y0 + FONT_SIZE + 1,
                    y2=y0 + row_h - 2,
                    class_=f"deadline {palette.ALERT}",
                    stroke="currentColor",
                )
    legend = [LegendEntry(team, swatch[team]) for team in teams]
    if any(i.get("deadline") for i in drawn):
        legend.append(LegendEntry("deadline", palette.ALERT))
    table = DataTable(
        ["Item", "Team", "Start", "End", "Deadline"],
        [
            [
                i["title"],
                i["team"],
                f"{i['start']:%Y-%m-%d}",
                f"{i['end']:%Y-%m-%d}",
                (f"{i['deadline']:%Y-%m-%d}" + (" (missed)" if i.get("late") else "")) if i.get("deadline") else "—",
            ]
            for i in items
        ],
    )
    note = f"The chart shows the first {len(drawn)}; the table has all {len(items)}." if len(items) > len(drawn) else ""
    return Chart("gantt", title, description, svg.render(), table, legend, note)
