from django import template
from django.utils.safestring import mark_safe

from valueloop.core.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    # render_markdown disables raw HTML and sanitises with an allow-list, so the output is safe.
    return mark_safe(render_markdown(text))  # noqa: S308


@register.filter
def changes_summary(changes: dict) -> str:
    parts = []
    for field, pair in (changes or {}).items():
        before, after = ([*pair, None, None])[:2] if isinstance(pair, list) else (None, pair)
        text = lambda v: "∅" if v in (None, "") else str(v)[:80]  # noqa: E731
        parts.append(f"{field}: {text(before)} → {text(after)}")
    return "; ".join(parts)


@register.filter
def entries(mapping) -> list:
    """A dict's (key, value) pairs. ``{% for k, v in d.items %}`` looks ``d["items"]`` up first, so a dict with a
    key named "items", "keys" or "values" (a form field called "items") would break the loop."""
    return list((mapping or {}).items())
