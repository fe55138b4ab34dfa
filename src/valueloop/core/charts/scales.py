"""Scales and tick labels shared by every chart: nice round steps, a linear scale, short numbers.

Invariants: a domain always contains zero when asked (bars start at zero; negative values hang below it), is never
empty (a single value or no value still gives a span), and its ends are multiples of the tick step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


def nice_step(span: float, count: int = 5) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that cuts ``span`` into about ``count`` parts."""
    raw = span / max(1, count)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude * (1 + 1e-9):
            return m * magnitude
    return 10 * magnitude


@dataclass(frozen=True)
class Linear:
    """Maps the domain ``lo..hi`` onto the range ``start..end`` (in viewBox units; ``end < start`` for y)."""

    lo: float
    hi: float
    start: float
    end: float
    step: float

    def __call__(self, value: float) -> float:
        # float(): money arrives as Decimal (exact sums); a position on the drawing needs no more than a float.
        return self.start + (self.end - self.start) * (float(value) - self.lo) / (self.hi - self.lo)

    def ticks(self) -> list[float]:
        out, k = [], 0
        while (value := self.lo + k * self.step) <= self.hi + self.step * 1e-6:
            out.append(0.0 if abs(value) < self.step * 1e-9 else round(value, 10))
            k += 1
        return out


def linear(
    values: Iterable[float | None],
    *,
    start: float,
    end: float,
    count: int = 5,
    zero: bool = True,
    pad: float = 0.0,
    whole: bool = False,
) -> Linear:
    """A scale whose nice domain covers ``values`` (and 0 when ``zero``); ``pad`` widens it by that share first;
    ``whole`` keeps the step at 1 or more (counts have no half items)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if zero:
        finite.append(0.0)
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = (lo - 0.5, hi + 0.5) if lo else (0.0, 1.0)
        if zero:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
    margin = (hi - lo) * pad
    lo, hi = (lo - margin if lo < 0 else lo), (hi + margin if hi > 0 else hi)
    step = max(1.0, nice_step(hi - lo, count)) if whole else nice_step(hi - lo, count)
    lo, hi = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    return Linear(lo, hi, start, end, step)


def short_number(value: float) -> str:
    """12, 2.5, 1,200, 15k, 3.4M: tick labels that fit a phone."""
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if magnitude >= 10_000:
        return f"{value / 1000:.3g}k"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2g}"


def percent_label(value: float) -> str:
    """A relative change as a signed percentage: +4.2%, -12%, 0%."""
    if abs(value) < 1e-12:
        return "0%"
    return f"{value * 100:+.1f}%" if abs(value) < 0.1 else f"{value * 100:+.0f}%"
