from django import template
from django.utils.safestring import mark_safe

from valueloop.core.changes import describe as describe_changes
from valueloop.core.changes import words as change_words
from valueloop.core.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    # render_markdown disables raw HTML and sanitises with an allow-list, so the output is safe.
    return mark_safe(render_markdown(text))  # noqa: S308


@register.filter
def changes_summary(changes: dict) -> str:
    """An audit row's changes in words (core.changes): "status: planned → released; rules: 1 added"."""
    return "; ".join(describe_changes(changes))


@register.filter
def kind_words(name: str) -> str:
    """An entity type or action in words: ``experiment_decision`` -> "experiment decision"."""
    return change_words(name)


@register.filter
def entries(mapping) -> list:
    """A dict's (key, value) pairs. ``{% for k, v in d.items %}`` looks ``d["items"]`` up first, so a dict with a
    key named "items", "keys" or "values" (a form field called "items") would break the loop."""
    return list((mapping or {}).items())
