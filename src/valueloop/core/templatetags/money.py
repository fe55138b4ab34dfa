"""The money filters, the only way templates print money (``tests/test_money_templates.py`` checks):

- ``{{ amount|money }}``: full, in the active workspace's currency and locale ("€12,500", "12.500 €");
  ``{{ amount|money:"GBP" }}`` for an amount in another currency (an account's own ARR).
- ``{{ amount|money_compact }}``: short, for charts and cards ("€5.8M", "5,8 Mio. €").

Both are built in (settings ``TEMPLATES`` ``builtins``), so no template needs to load them.
"""

from django import template

from valueloop.core.money import format_money, format_money_compact

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    return format_money(value, currency or None)


@register.filter
def money_compact(value, currency: str = "") -> str:
    return format_money_compact(value, currency or None)
