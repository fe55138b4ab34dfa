"""Markdown -> safe HTML. User text is rendered with raw HTML disabled and then sanitised
with nh3 (an allow-list), so the result can be marked safe in templates."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable("table")
    .enable("strikethrough")
)

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "span",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "span": {"class"}, "th": {"align"}, "td": {"align"}}
MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|[A-Za-z0-9_.-]{2,40})")


def render_markdown(text: str) -> str:
    html = _md.render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def find_mentions(text: str) -> list[str]:
    """Handles mentioned as @handle or @email, in order, without duplicates."""
    seen: list[str] = []
    for match in MENTION_RE.finditer(text or ""):
        handle = match.group(1).rstrip(".").lower()
        if handle not in seen:
            seen.append(handle)
    return seen
