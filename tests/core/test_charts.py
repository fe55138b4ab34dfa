"""The chart module (core/charts): scales, empty data, one point, negative values, long labels, escaping, and the
invariant that every chart has a viewBox, an accessible name and a data table with every value it draws."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from pathlib import Path

import pytest
from django.template.loader import render_to_string

from valueloop.core import charts
from valueloop.core.charts.scales import linear, nice_step, percent_label, short_number
from valueloop.core.charts.svg import DESIGN_WIDTH, fit

DAY = dt.date(2026, 3, 2)


def _effects_rows():
    return [
        {"label": "Checkout", "sublabel": "One page", "estimate": 0.12, "ci_low": 0.03, "ci_high": 0.2,
         "verdict": "better"},
        {"label": "Refunds", "sublabel": "One page", "estimate": -0.05, "ci_low": -0.09, "ci_high": -0.01,
         "verdict": "worse"},
    ]  # fmt: skip


# One sample call per builder that returns a Chart; a new builder must be added here (see the test below).
SAMPLES = {
    "bar_chart": lambda: charts.bar_chart("Demand", ["Jan", "Feb"], [charts.Series("Items", [3, 5])]),
    "row_bars": lambda: charts.row_bars("Cost", [("Current", 1200.0, False), ("CD3", 800.0, True)], value_format=str),
    "histogram": lambda: charts.histogram("Trials", [1, 2, 3], [4, 6], markers=[(1, "50 %")], x_label="Weeks",
                                         unit="weeks"),
    "effects_chart": lambda: charts.effects_chart("Effects", _effects_rows()),
    "timeline": lambda: charts.timeline(
        "Over time", [{"day": DAY, "variation": 1, "estimate": 0.1, "ci_low": 0.0, "ci_high": 0.2}], {1: "B"}
    ),
    "scatter": lambda: charts.scatter("CoD", [charts.Point(2, 100, "A")], x_label="Weeks", y_label="CoD",
                                      x_format=str, y_format=str, rays=[50]),
    "gantt": lambda: charts.gantt("Plan", [{"title": "A", "team": "T", "start_week": 0, "end_week": 2, "start": DAY,
                                            "end": DAY + dt.timedelta(weeks=2)}], today=DAY),
}  # fmt: skip


def _chart_builders() -> set[str]:
    return {
        name
        for name in charts.__all__
        if inspect.isfunction(getattr(charts, name))
        and "Chart" in str(inspect.signature(getattr(charts, name)).return_annotation)
    }


def test_samples__cover_every_chart_builder():
    assert _chart_builders() == set(SAMPLES), "add a sample call for the new chart builder"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_chart__has_a_viewbox_an_accessible_name_and_a_data_table(name):
    chart = SAMPLES[name]()
    svg = str(chart.svg)
    assert re.match(r'<svg [^>]*viewBox="0 0 360 \d+(\.\d)?"[^>]*width="100%"', svg)
    assert 'role="img"' in svg and "aria-labelledby=" in svg and f">{chart.title}</title>" in svg
    assert 'height="' not in svg.split(">", 1)[0], "a fixed height would stop the chart from scaling"
    assert chart.table.rows and all(len(row) == len(chart.table.columns) for row in chart.table.rows)
    html = render_to_string("charts/_chart.html", {"chart": chart})
    assert "<details" in html and "<table" in html and html.count("<tr>") == len(chart.table.rows) + 1
    assert html.index("<svg") < html.index("<table")


def test_nice_step__round_steps():
    assert nice_step(100, 5) == 20
    assert nice_step(7, 4) == 2
    assert nice_step(0.3, 4) == 0.1
    assert nice_step(0, 4) == 1.0


def test_linear__covers_the_values_and_zero_with_round_ends():
    y = linear([3, 47], start=200, end=0, count=4)  # 47 / 4 ≈ 12 rounds up to a step of 20
    assert (y.lo, y.hi) == (0, 60) and y.ticks() == [0, 20, 40, 60]
    assert y(0) == 200 and y(60) == 0 and y(30) == 100


def test_linear__negative_values_extend_below_zero():
    y = linear([-30, 20], start=100, end=0, count=5)
    assert y.lo <= -30 and y.hi >= 20 and 0 in y.ticks()
    assert y(y.lo) == 100 and y.ticks()[0] < 0


def test_linear__no_values_or_one_value_still_gives_a_span():
    empty = linear([], start=0, end=100)
    assert empty.hi > empty.lo and empty(empty.lo) == 0
    one = linear([5], start=0, end=100, zero=False)
    assert one.lo < 5 < one.hi


def test_labels__short_numbers_and_percentages():
    assert [short_number(v) for v in (0, 12, 2.5, 1200, 15_000, 3_400_000)] == ["0", "12", "2.5", "1,200", "15k",
                                                                                "3.4M"]  # fmt: skip
    assert [percent_label(v) for v in (0.0, 0.042, -0.12)] == ["0%", "+4.2%", "-12%"]


def test_fit__shortens_long_labels_with_an_ellipsis():
    assert fit("short", 200) == "short"
    cut = fit("A very long feature title that cannot fit", 100)
    assert cut.endswith("…") and len(cut) < 20


def test_bar_chart__negative_values_hang_below_the_zero_line():
    chart = charts.bar_chart("NPS", ["Jan", "Feb"], [charts.Series("NPS", [20, -10])])
    svg = str(chart.svg)
    zero_y = float(re.search(r'y1="([\d.]+)" y2="[\d.]+" class="zero"', svg).group(1))
    bars = re.findall(r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', svg)
    (top_pos, h_pos), (top_neg, _h_neg) = ((float(a), float(b)) for a, b in bars)
    assert abs(top_pos + h_pos - zero_y) < 0.2  # the positive bar ends on the zero line
    assert abs(top_neg - zero_y) < 0.2  # the negative bar starts on it and goes down
    assert chart.table.rows == [["Jan", "20"], ["Feb", "-10"]]


def test_bar_chart__empty_and_missing_values():
    chart = charts.bar_chart("Nothing yet", [], [charts.Series("Items", [])])
    assert "<rect" not in str(chart.svg) and chart.table.rows == [] and "No values yet" in chart.description
    gaps = charts.bar_chart("Gaps", ["Jan", "Feb"], [charts.Series("Items", [None, 4], errors=[None, 1])])
    assert gaps.table.rows == [["Jan", "—"], ["Feb", "4 ± 1"]] and str(gaps.svg).count("<rect") == 1
    assert "margin of error" in gaps.note


def test_bar_chart__one_point_and_two_series_get_a_legend_in_the_palette():
    chart = charts.bar_chart("One", ["Jan"], [charts.Series("Items", [7]), charts.Series("Accounts", [2])])
    assert [e.swatch for e in chart.legend] == ["c-1", "c-2"]
    assert 'class="c-1"' in str(chart.svg) and 'class="c-2"' in str(chart.svg)
    assert "#" not in re.sub(r"&#\d+;", "", str(chart.svg)), "colours come from charts.css, not the markup"


def test_bar_chart__long_category_labels_are_shortened_and_thinned_out():
    long = [f"Category number {i} with a long name" for i in range(12)]
    chart = charts.bar_chart("Long", long, [charts.Series("Items", list(range(12)))])
    labels = re.findall(r'class="tick">([^<]+)</text>', str(chart.svg))
    categories = [t for t in labels if t.startswith("Cat")]
    assert 0 < len(categories) < 12 and all(t.endswith("…") for t in categories)
    assert [row[0] for row in chart.table.rows] == long  # the table keeps the full names


def test_every_label__is_escaped():
    chart = charts.bar_chart("<b>Demand</b>", ["<script>"], [charts.Series("A & B", [1])])
    svg = str(chart.svg)
    assert "<script>" not in svg and "<b>" not in svg and "&lt;script&gt;" in svg and "A &amp; B" in svg


def test_effects_chart__stacks_label_above_line_within_the_design_width():
    rows = _effects_rows()
    rows[0]["label"] = "A metric with a very long name that would squeeze the plot on a phone"
    chart = charts.effects_chart("Effects", rows)
    svg = str(chart.svg)
    xs = [float(v) for v in re.findall(r' (?:x|x1|x2|cx)="(-?[\d.]+)"', svg)]
    assert min(xs) >= 0 and max(xs) <= DESIGN_WIDTH
    assert "better" in svg and "worse" in svg  # verdicts in words, not colour alone
    assert re.search(r'<g class="c-worse">(?:(?!</g>).)*<rect', svg)  # worse is a square
    assert re.search(r'<g class="c-better">(?:(?!</g>).)*<circle', svg)  # better a dot
    assert chart.table.rows[1] == ["Refunds", "One page", "-5.0%", "-9.0% to -1.0%", "worse"]


def test_effects_chart__unknown_estimate_draws_no_dot():
    chart = charts.effects_chart(
        "Effects", [{"label": "M", "sublabel": "B", "estimate": None, "ci_low": None, "ci_high": None}]
    )
    assert "<circle" not in str(chart.svg) and chart.table.rows == [["M", "B", "—", "—", "unknown"]]


def test_timeline__no_estimate_is_no_chart_and_one_day_is_centred():
    assert charts.timeline("T", [{"day": DAY, "variation": 1, "estimate": None}], {}) is None
    chart = charts.timeline("T", [{"day": DAY, "variation": 1, "estimate": 0.1, "units": 1200}], {1: "B"})
    assert chart.table.rows == [["2026-03-02", "B", "1,200", "+10%", "—"]]
    assert [e.label for e in chart.legend] == ["B"]


def test_scatter__limit_rays_and_moved_points():
    points = [charts.Point(i + 1, 10 * (i + 1), f"F{i}") for i in range(5)]
    points[0] = charts.Point(1, 10, "F0", moved_from=(3, 5))
    chart = charts.scatter("S", points, x_label="Weeks", y_label="CoD", x_format=str, y_format=str, rays=[10],
                           limit=3)  # fmt: skip
    assert len(chart.table.rows) == 3 and "2 more are left out" in chart.note
    assert 'class="ray"' in str(chart.svg) and 'class="pt-old"' in str(chart.svg) and chart.legend


def test_ray_levels__round_quartiles():
    assert charts.ray_levels([]) == []
    assert charts.ray_levels([120, 480, 950]) == [100, 500, 1000]
    assert charts.ray_levels([7, 7, 7]) == [7]


def test_gantt__late_items_say_so_and_hidden_rows_are_counted():
    items = [
        {"title": f"F{i}", "team": "AB"[i % 2], "start_week": i, "end_week": i + 2, "start": DAY, "end": DAY,
         "deadline": DAY + dt.timedelta(weeks=1), "late": i == 1}
        for i in range(5)
    ]  # fmt: skip
    chart = charts.gantt("Plan", items, today=DAY, limit=3)
    assert "F1 (late)" in str(chart.svg) and chart.table.rows[1][4].endswith("(missed)")
    assert len(chart.table.rows) == 5 and "first 3" in chart.note
    assert [e.label for e in chart.legend] == ["A", "B", "deadline"]


def test_histogram__markers_and_shares():
    chart = charts.histogram("H", [0, 2, 4], [1, 3], markers=[(2, "85 %")], x_label="Weeks", unit="weeks")
    assert chart.table.rows == [["0–1", "1", "25.0 %"], ["2–3", "3", "75.0 %"]]
    assert ">85 %</text>" in str(chart.svg)


def test_sparkline__scales_and_names_its_values():
    svg = str(charts.sparkline([0, 4, 2], label="Mentions per week: 0, 4, 2"))
    assert 'viewBox="0 0 110 26"' in svg and "Mentions per week: 0, 4, 2" in svg
    assert str(charts.sparkline([], label="none")).count("<polyline") == 1


def test_one_chart_module__no_template_or_other_module_draws_svg_by_hand():
    src = Path(charts.__file__).resolve().parent.parent.parent
    chart_dir = Path(charts.__file__).resolve().parent
    by_hand = [
        str(path.relative_to(src))
        for path in [*src.glob("**/templates/**/*.html"), *src.glob("**/*.py")]
        if chart_dir not in path.parents and re.search(r"<svg\b", path.read_text())
    ]
    assert not by_hand, f"draw these charts with valueloop.core.charts: {by_hand}"


def test_bar_chart__whole_numbers_have_no_half_ticks():
    series = [charts.Series("Items", [1, 2, 2])]
    ticks = lambda chart: re.findall(r'class="tick">([^<]+)</text>', str(chart.svg))  # noqa: E731
    assert "0.5" in ticks(charts.bar_chart("Counts", ["a", "b", "c"], series))
    whole = ticks(charts.bar_chart("Counts", ["a", "b", "c"], series, whole_numbers=True))
    assert [t for t in whole if t[0].isdigit()][:3] == ["0", "1", "2"]


def test_scales_accept_decimal_money():
    """Planning's money sums are Decimals (exact); the chart scales place them like floats."""
    from decimal import Decimal

    from valueloop.core import charts

    rows = [("CD3", Decimal("1200.50"), True), ("As is", Decimal("2400.00"), False)]
    chart = charts.row_bars("Total delay cost", rows, value_format=str)
    assert "<svg" in chart.svg and chart.table.rows[0][0] == "CD3"
