"""Number formatting for the planning pages (weeks, scores). Money prints through the built-in ``money`` filter
(``core.money``)."""

from __future__ import annotations

import math
from decimal import Decimal

from django import template

register = template.Library()


def _float(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@register.filter
def num(value, digits: int = 2) -> str:
    """A number with at most ``digits`` decimals and no trailing zeros."""
    number = _float(value)
    if number is None:
        return "—"
    if abs(number) >= 1000:
        return f"{number:,.0f}"
    text = f"{number:.{int(digits)}f}".rstrip("0").rstrip(".")
    return text or "0"


@register.filter
def score(value) -> str:
    number = _float(value)
    if number is None:
        return "—"
    magnitude = abs(number)
    if number == 0:
        return "0"
    if magnitude >= 1000:
        return f"{number:,.0f}"
    if magnitude >= 100:
        return f"{number:.0f}"
    if magnitude >= 10:
        return f"{number:.1f}"
    return f"{number:.2f}"


@register.filter
def plain(value) -> str:
    """A value for an <input>: decimals without trailing zeros, blanks for None."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    return str(value)


@register.filter
def get(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None
