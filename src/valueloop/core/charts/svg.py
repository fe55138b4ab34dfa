"""A tiny SVG writer for the chart builders.

Invariant: every attribute value and every text node goes through ``escape``; numbers are rounded to one decimal.
So the markup it returns holds no unescaped user text and is safe to embed (the only ``mark_safe`` is in
``Svg.render``). The root element always has a ``viewBox`` and ``width="100%"`` with no fixed height, so the
drawing scales to its container and keeps its aspect ratio (it fits a 390 px phone), and it is ``role="img"``
named by its ``<title>`` and ``<desc>``.
"""

from __future__ import annotations

from itertools import count

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Font size of chart text in viewBox units. Charts are drawn DESIGN_WIDTH units wide; on a 390 px phone the chart
# box is about 320 px wide, so text is drawn at 13 * 320 / 360 ≈ 11.5 px there (the e2e test checks ≥ 11 px).
FONT_SIZE = 13
DESIGN_WIDTH = 360
CHAR_WIDTH = (
    8.0  # a generous average advance of FONT_SIZE text (DejaVu digits are 8.3), to fit labels without a font engine
)

_ids = count(1)


def num(value: float) -> str:
    """A coordinate for an attribute: one decimal, no trailing ``.0``."""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded}"


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return len(text) * CHAR_WIDTH * size / FONT_SIZE


def fit(text: str, width: float, size: float = FONT_SIZE) -> str:
    """``text`` cut with an ellipsis so that it fits ``width`` units (the full text stays in the data table)."""
    chars = max(1, int(width / (CHAR_WIDTH * size / FONT_SIZE)))
    return text if len(text) <= chars else text[: max(1, chars - 1)].rstrip() + "…"


def centred_at(x: float, text: str, width: float) -> dict[str, object]:
    """Attributes that centre ``text`` on ``x`` but keep it inside ``0..width`` (an axis's end ticks)."""
    half = text_width(text) / 2
    if x - half < 0:
        return {"x": max(0.0, x - 2), "text_anchor": "start"}
    if x + half > width:
        return {"x": min(width, x + 2), "text_anchor": "end"}
    return {"x": x, "text_anchor": "middle"}


def _attrs(attrs: dict[str, object]) -> str:
    out = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        text = num(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
        out.append(f' {name}="{escape(text)}"')
    return "".join(out)


class Svg:
    """Collects elements; ``render()`` wraps them in the accessible, responsive root."""

    def __init__(self, *, width: float, height: float, title: str, description: str, kind: str) -> None:
        self.width, self.height = width, height
        self.title, self.description, self.kind = title, description, kind
        self.uid = f"chart-{next(_ids)}"
        self._parts: list[str] = []

    def add(self, tag: str, text: str | None = None, *, tooltip: str | None = None, **attrs: object) -> None:
        """One element; ``text`` is its (escaped) content, ``tooltip`` a ``<title>`` child."""
        inner = (f"<title>{escape(tooltip)}</title>" if tooltip else "") + (escape(text) if text else "")
        if inner:
            self._parts.append(f"<{tag}{_attrs(attrs)}>{inner}</{tag}>")
        else:
            self._parts.append(f"<{tag}{_attrs(attrs)}/>")

    def open(self, tag: str, **attrs: object) -> None:
        self._parts.append(f"<{tag}{_attrs(attrs)}>")

    def close(self, tag: str) -> None:
        self._parts.append(f"</{tag}>")

    def render(self) -> SafeString:
        root = _attrs(
            {
                "xmlns": "http://www.w3.org/2000/svg",
                "class": f"chart-svg chart-{self.kind}",
                "viewBox": f"0 0 {num(self.width)} {num(self.height)}",
                "width": "100%",
                "role": "img",
                "aria-labelledby": f"{self.uid}-t {self.uid}-d",
                "font-size": FONT_SIZE,
            }
        )
        head = (
            f'<title id="{self.uid}-t">{escape(self.title)}</title>'
            f'<desc id="{self.uid}-d">{escape(self.description)}</desc>'
        )
        return mark_safe(f"<svg{root}>{head}{''.join(self._parts)}</svg>")  # noqa: S308 - every value is escaped
