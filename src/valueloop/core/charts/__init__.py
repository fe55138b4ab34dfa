"""The product's one chart module: server-drawn SVG in one palette, each chart with its data table.

Every builder returns a ``Chart`` (the sparkline glyph returns its SVG): an accessible SVG (``role="img"``, a
``<title>`` and a ``<desc>`` that says what the chart shows) with a ``viewBox`` and ``width="100%"``, drawn
``DESIGN_WIDTH`` units wide with text large enough to stay readable when it shrinks to a 390 px phone, and the data
table behind it. Pages show a chart with ``{% include "charts/_chart.html" with chart=... %}``; the colours are CSS
custom properties in ``static/valueloop/charts.css`` (see ``palette``). Labels are escaped by the SVG writer, so
no user text is ever marked safe here. No JavaScript, no CDN, no Node build.
"""

from .bars import Series, bar_chart, histogram, row_bars
from .effects import effects_chart
from .gantt import gantt
from .lines import sparkline, timeline
from .model import Chart, DataTable, LegendEntry
from .scatter import Point, ray_levels, scatter

__all__ = [
    "Chart",
    "DataTable",
    "LegendEntry",
    "Point",
    "Series",
    "bar_chart",
    "effects_chart",
    "gantt",
    "histogram",
    "ray_levels",
    "row_bars",
    "scatter",
    "sparkline",
    "timeline",
]
