"""A tiny server-side sparkline (inline SVG, no script): weekly volume in a list row.

Only numbers computed here and an escaped label go into the markup, so the result is safe to embed."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def sparkline(values: Sequence[int | float], *, label: str, width: int = 110, height: int = 26) -> SafeString:
    values = [float(v or 0) for v in values] or [0.0]
    top = max(values) or 1.0
    step = width / max(1, len(values) - 1)
    pad = 2
    points = " ".join(f"{i * step:.1f},{pad + (height - 2 * pad) * (1 - v / top):.1f}" for i, v in enumerate(values))
    last_x = (len(values) - 1) * step
    last_y = pad + (height - 2 * pad) * (1 - values[-1] / top)
    area = f"0,{height} {points} {last_x:.1f},{height}"
    svg = (
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f'<polygon points="{area}" fill="currentColor" opacity="0.12"/>'
        f'<polyline points="{points}" fill="none" stroke="currentColor" stroke-width="1.5" '
        f'stroke-linejoin="round"/><circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2" fill="currentColor"/></svg>'
    )
    return mark_safe(svg)  # noqa: S308 - numbers and an escaped label only
