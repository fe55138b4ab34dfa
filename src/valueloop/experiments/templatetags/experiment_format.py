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
    """0.0452 -> "+4.5%"; a change that would round to zero keeps two significant digits ("+0.0041%"), so an
    interval end just above zero never reads as touching it."""
    if not _ok(value):
        return "—"
    text = f"{value * 100:+.{int(decimals)}f}%"
    if value != 0 and float(text[:-1]) == 0:
        text = f"{value * 100:+.2g}%"
    return text


@register.filter
def pval(value, alpha=None) -> str:
    """A p-value to 3 decimals (4 below 0.01). Given ``alpha``, a p-value below it never rounds up to it: 0.04996
    at alpha 0.05 reads "< 0.05", not "0.050" beside a significant verdict."""
    if not _ok(value):
        return "—"
    if value < 0.0001:
        return "< 0.0001"
    text = f"{value:.4f}" if value < 0.01 else f"{value:.3f}"
    if _ok(alpha) and value < alpha <= float(text):
        return f"< {alpha:g}"
    return text


@register.filter
def confidence(alpha, divisor: int = 1) -> str:
    """The confidence level of an error rate: 0.0125 -> "98.75%"; ``divisor`` 2 gives the one-sided 1 - alpha/2."""
    return f"{(1 - alpha / int(divisor)) * 100:.4g}%" if _ok(alpha) else "—"


@register.filter
def share(alpha, divisor: int = 1) -> str:
    """An error rate as a percentage: 0.05 -> "5%", with ``divisor`` 2 -> "2.5%"."""
    return f"{alpha / int(divisor) * 100:.4g}%" if _ok(alpha) else "—"


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
        text = f"{value * 100:+.2f}"
        return (f"{value * 100:+.2g}" if value != 0 and float(text) == 0 else text) + " pp"
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
