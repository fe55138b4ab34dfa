"""A small server-side SVG bar chart (grouped bars, optional error whiskers), accessible and
script-free, for pages that must render without JavaScript or a CDN.

Stop-gap until the product's chart pattern (Vega-Lite specs built with Altair, rendered by
vega-embed) is installed; every chart here is shown with its data table behind it, so swapping the
renderer later changes no page's content. Every label is escaped; the output is safe to embed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import count

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#3b5bdb", "#f08c00", "#2b8a3e", "#c2255c"]
_ids = count(1)


@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    errors: Sequence[float | None] | None = None  # half-widths (e.g. margins of error)
    color: str = ""


@dataclass
class Chart:
    title: str
    categories: Sequence[str]
    series: list[Series]
    y_label: str = ""
    fmt: Callable[[float], str] = field(default=lambda v: f"{v:,.0f}")
    svg: SafeString = field(default=SafeString(""))
    description: str = ""
    row_labels: Sequence[str] = ()  # longer category names for the data table

    @property
    def rows(self) -> list[tuple[str, list[str]]]:
        """The data table behind the chart: (category, formatted value per series)."""
        labels = list(self.row_labels) or list(self.categories)
        out = []
        for i, label in enumerate(labels):
            cells = []
            for s in self.series:
                v = s.values[i] if i < len(s.values) else None
                e = s.errors[i] if s.errors and i < len(s.errors) else None
                cells.append("—" if v is None else self.fmt(v) + (f" ± {self.fmt(e)}" if e else ""))
            out.append((label, cells))
        return out


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / max(1, ticks)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude:
            return m * magnitude
    return 10 * magnitude


def _describe(chart: Chart) -> str:
    parts = []
    labels = list(chart.row_labels) or list(chart.categories)
    for s in chart.series:
        pairs = [(c, v) for c, v in zip(labels, s.values, strict=False) if v is not None]
        if not pairs:
            continue
        peak = max(pairs, key=lambda p: p[1])
        parts.append(
            f"{s.name}: {chart.fmt(pairs[-1][1])} in {pairs[-1][0]}, highest {chart.fmt(peak[1])} in {peak[0]}"
        )
    span = f"from {labels[0]} to {labels[-1]}" if labels else ""
    return f"{chart.title} {span}. " + "; ".join(parts) + "."


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: list[Series],
    *,
    y_label: str = "",
    fmt: Callable[[float], str] | None = None,
    row_labels: Sequence[str] = (),
    width: int = 560,
    height: int = 230,
) -> Chart:
    """Grouped vertical bars, one group per category; negative values hang below the zero line."""
    fmt = fmt or (lambda v: f"{v:,.0f}")
    chart = Chart(title, list(categories), series, y_label, fmt, row_labels=list(row_labels))
    chart.description = _describe(chart)
    uid = f"chart{next(_ids)}"
    left, right, top, bottom = 48, 12, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    highs, lows = [0.0], [0.0]
    for s in series:
        for i, v in enumerate(s.values):
            if v is None:
                continue
            e = (s.errors[i] or 0) if s.errors and i < len(s.errors) else 0
            highs.append(v + e)
            lows.append(v - e)
    hi, lo = max(highs), min(lows)
    if hi == lo:
        hi = lo + 1
    step = _nice_step(hi - lo)
    hi, lo = math.ceil(hi / step) * step, math.floor(lo / step) * step

    def y(v: float) -> float:
        return top + plot_h * (hi - v) / (hi - lo)

    n = max(1, len(categories))
    band = plot_w / n
    group = band * 0.8
    bar_w = group / max(1, len(series))
    out = [
        f'<svg class="bar-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(chart.description)}</desc>',
    ]
    tick = lo
    while tick <= hi + step / 1000:
        ty = y(tick)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'stroke="{"#868e96" if tick == 0 else "#dde1e8"}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="12" fill="#5c6577">'
            f"{escape(fmt(tick))}</text>"
        )
        tick += step
    label_every = max(1, math.ceil(n / 12))
    for i, category in enumerate(categories):
        gx = left + band * i + (band - group) / 2
        for j, s in enumerate(series):
            v = s.values[i] if i < len(s.values) else None
            if v is None:
                continue
            color = s.color or PALETTE[j % len(PALETTE)]
            x = gx + bar_w * j
            y0, y1 = sorted((y(0), y(v)))
            out.append(
                f'<rect x="{x:.1f}" y="{y0:.1f}" width="{max(1.0, bar_w - 1):.1f}" height="{max(0.5, y1 - y0):.1f}" '
                f'fill="{color}"><title>{escape(category)}: {escape(s.name)} {escape(fmt(v))}</title></rect>'
            )
            e = (s.errors[i] or 0) if s.errors and i < len(s.errors) else 0
            if e:
                cx = x + (bar_w - 1) / 2
                out.append(
                    f'<path d="M{cx:.1f} {y(v + e):.1f}V{y(v - e):.1f}M{cx - 3:.1f} {y(v + e):.1f}h6'
                    f'M{cx - 3:.1f} {y(v - e):.1f}h6" stroke="#1d2330" stroke-width="1" fill="none"/>'
                )
        if i % label_every == 0:
            out.append(
                f'<text x="{left + band * i + band / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'font-size="12" fill="#5c6577">{escape(category)}</text>'
            )
    if y_label:
        out.append(
            f'<text x="12" y="{top + plot_h / 2:.1f}" transform="rotate(-90 12 {top + plot_h / 2:.1f})" '
            f'text-anchor="middle" font-size="12" fill="#5c6577">{escape(y_label)}</text>'
        )
    if len(series) > 1 or any(s.errors for s in series):
        lx = left
        for j, s in enumerate(series):
            color = s.color or PALETTE[j % len(PALETTE)]
            out.append(
                f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{color}"/>'
                f'<text x="{lx + 14}" y="{height - 5}" font-size="12" fill="#1d2330">{escape(s.name)}</text>'
            )
            lx += 24 + 7 * len(s.name)
        if any(s.errors for s in series):
            out.append(f'<text x="{lx}" y="{height - 5}" font-size="12" fill="#5c6577">I = margin of error</text>')
    out.append("</svg>")
    chart.svg = mark_safe("".join(out))  # noqa: S308 - every text above is escaped
    return chart
