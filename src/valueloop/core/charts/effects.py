"""The experiment effects chart: each variation's relative effect on each metric, with its interval.

Laid out for a phone: every row stacks its label ("metric · variation" and the verdict in words) above a full-width
interval line, so the drawing keeps the whole design width for the scale however long the names are, and its text
stays readable when the chart shrinks to a phone. Verdicts differ by colour (better/worse/neutral from the palette),
by shape (worse is a square) and by word, never by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import palette
from .model import Chart, DataTable, LegendEntry
from .scales import linear, percent_label
from .svg import DESIGN_WIDTH, FONT_SIZE, Svg, centred_at, fit, text_width

VERDICT_WORDS = {"better": "better", "worse": "worse", "inconclusive": "no clear difference"}
VERDICT_SWATCH = {"better": palette.BETTER, "worse": palette.WORSE}


def _estimate(value: float | None) -> str:
    return "unknown" if value is None else percent_label(value)


def _interval(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"{percent_label(low)} to {percent_label(high)}"


def effects_chart(title: str, rows: Sequence[dict], *, note: str = "") -> Chart:
    """``rows``: dicts with ``label`` (metric), ``sublabel`` (variation), ``estimate``, ``ci_low``, ``ci_high``
    (relative effects as fractions; None when unknown) and ``verdict`` (better, worse, inconclusive, unknown)."""
    width, left, right, top, row_h = DESIGN_WIDTH, 8, 8, 6, 46
    height = top + len(rows) * row_h + 42
    values = [v for r in rows for v in (r.get("estimate"), r.get("ci_low"), r.get("ci_high"))]
    x = linear(values, start=left, end=width - right, count=4, pad=0.06)
    bottom = top + len(rows) * row_h
    description = (
        f"{title}. Dots are the estimated relative effects, lines their intervals, the line at 0% is no change. "
        + "; ".join(
            f"{r['label']}, {r.get('sublabel', '')}: {_estimate(r.get('estimate'))}"
            f" ({VERDICT_WORDS.get(r.get('verdict', ''), 'unknown')})"
            for r in rows
        )
        + "."
    )
    svg = Svg(width=width, height=height, title=title, description=description, kind="effects")
    for k in range(1, len(rows), 2):  # alternate rows shaded, so a row's label reads with its line
        svg.add("rect", x=0, y=top + k * row_h, width=width, height=row_h, class_="band-row")
    for tick in x.ticks():
        svg.add("line", x1=x(tick), x2=x(tick), y1=top, y2=bottom, class_="grid")
        label = percent_label(tick)
        svg.add("text", label, y=bottom + FONT_SIZE + 4, class_="tick", **centred_at(x(tick), label, width))
    svg.add("line", x1=x(0), x2=x(0), y1=top, y2=bottom, class_="zero")
    for k, row in enumerate(rows):
        y0 = top + k * row_h
        verdict = row.get("verdict", "")
        swatch = VERDICT_SWATCH.get(verdict, palette.NEUTRAL)
        word = VERDICT_WORDS.get(verdict, "unknown")
        label = f"{row['label']} · {row.get('sublabel', '')}".strip(" ·")
        svg.add(
            "text",
            fit(label, width - left - right - text_width(word) - 10),
            x=left,
            y=y0 + FONT_SIZE + 2,
            class_="label",
        )
        svg.add(
            "text", word, x=width - right, y=y0 + FONT_SIZE + 2, text_anchor="end", class_=swatch, fill="currentColor"
        )
        cy = y0 + FONT_SIZE + 19
        est, low, high = row.get("estimate"), row.get("ci_low"), row.get("ci_high")
        tooltip = (
            f"{label}: {percent_label(est) if est is not None else 'unknown'}, interval {_interval(low, high)}, {word}"
        )
        svg.open("g", class_=swatch)
        if low is not None and high is not None:
            svg.add(
                "line", x1=x(low), x2=x(high), y1=cy, y2=cy, class_="ci-line", stroke="currentColor", tooltip=tooltip
            )
        if est is not None:
            if verdict == "worse":
                svg.add("rect", x=x(est) - 5, y=cy - 5, width=10, height=10, fill="currentColor", tooltip=tooltip)
            else:
                svg.add("circle", cx=x(est), cy=cy, r=5.5, fill="currentColor", tooltip=tooltip)
        svg.close("g")
    svg.add("text", "relative change against the control →", x=left, y=height - 4, class_="axis-label")
    table = DataTable(
        ["Metric", "Variation", "Relative change", "Interval", "Verdict"],
        [
            [
                r["label"],
                r.get("sublabel", ""),
                percent_label(r["estimate"]) if r.get("estimate") is not None else "—",
                _interval(r.get("ci_low"), r.get("ci_high")),
                VERDICT_WORDS.get(r.get("verdict", ""), "unknown"),
            ]
            for r in rows
        ],
    )
    legend = [
        LegendEntry("better", palette.BETTER),
        LegendEntry("worse (square)", palette.WORSE),
        LegendEntry("no clear difference", palette.NEUTRAL),
    ]
    return Chart("effects", title, description, svg.render(), table, legend, note)
