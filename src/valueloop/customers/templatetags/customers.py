"""Template helpers of the customers pages. Money prints through the built-in ``money`` filter (``core.money``)."""

from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""
