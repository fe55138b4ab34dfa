"""The product's one chart palette, by name.

The colours themselves live in ``static/valueloop/charts.css`` as CSS custom properties (``--chart-1`` …
``--chart-6``, ``--chart-better`` …): builders only name classes, so a theme changes every chart at once and no
builder carries a hex code. The series colours are the Okabe–Ito set, distinguishable with the common colour-vision
deficiencies; charts never rely on colour alone (legends, shapes and the data table name every series).
"""

from __future__ import annotations

SERIES_COUNT = 6

# Meaningful colours, for what is not a series: better/worse/inconclusive effects, alerts (deadlines, forecast
# levels), highlights (the row or point the page is about) and neutral marks.
BETTER, WORSE, NEUTRAL = "c-better", "c-worse", "c-neutral"
ALERT, HIGHLIGHT = "c-alert", "c-highlight"


def series(index: int) -> str:
    """The class of the ``index``-th (0-based) series colour; colours repeat after SERIES_COUNT."""
    return f"c-{index % SERIES_COUNT + 1}"
