"""Template filters for flag values: shown as JSON (what SDKs and code see), never as Python reprs."""

import json

from django import template

register = template.Library()


@register.filter
def tojson(value) -> str:
    """Compact JSON, e.g. true, "grid", {"theme": "dark"} (autoescaped by the template)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        return str(value)
