"""A check for pages that show charts: every chart figure has its viewBox SVG and a data table with rows."""

from __future__ import annotations

import re

FIGURE = re.compile(r'<figure class="chart".*?</figure>', re.DOTALL)


def assert_every_chart_complete(html: str, *, at_least: int = 1) -> None:
    figures = FIGURE.findall(html)
    assert len(figures) >= at_least, f"expected {at_least} chart(s), found {len(figures)}"
    for figure in figures:
        assert re.search(r'<svg [^>]*viewBox="0 0 \d+(\.\d)? \d+(\.\d)?"[^>]*width="100%"', figure), figure[:200]
        assert '<details class="chart-data">' in figure and re.search(r"<tbody><tr>", figure), figure[:200]
