"""Number formats for the experiment pages: rates as percentages, effects with their sign, p-values."""

from __future__ import annotations

import math

from django import template

register = template.Library()


def _ok(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _sig(value: float, digits: int = 3) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    decimals = max(0, digits - 1 - math.floor(math.log10(magnitude)))
    return f"{value:,.{min(decimals, 6)}f}"


@register.filter
def pct(value, decimals: int = 2) -> str:
    """0.04523 -> "4.52%"."""
    return f"{value * 100:.{int(decimals)}f}%" if _ok(value) else "—"


@register.filter
def spct(value, decimals: int = 1) -> str:
    """0.0452 -> "+4.5%"."""
    return f"{value * 100:+.{int(decimals)}f}%" if _ok(value) else "—"


@register.filter
def pval(value) -> str:
    if not _ok(value):
        return "—"
    if value < 0.0001:
        return "< 0.0001"
    return f"{value:.4f}" if value < 0.01 else f"{value:.3f}"


@register.filter
def mval(value, kind: str = "mean") -> str:
    """A metric's value: a rate for conversion metrics, a number otherwise."""
    if not _ok(value):
        return "—"
    return pct(value) if kind == "binomial" else _sig(value)


@register.filter
def sabs(value, kind: str = "mean") -> str:
    """An absolute effect: percentage points for conversion metrics, a signed number otherwise."""
    if not _ok(value):
        return "—"
    if kind == "binomial":
        return f"{value * 100:+.2f} pp"
    text = _sig(value)
    return text if text.startswith("-") or value == 0 else "+" + text


@register.filter
def num(value) -> str:
    return _sig(value) if _ok(value) else "—"


@register.filter
def get(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def jsontext(value) -> str:
    """A JSON value as text (escaped by the template engine like any string)."""
    import json

    return json.dumps(value, ensure_ascii=False)
