"""Currency codes and amounts of customers' ARR: parsing what people type or CRMs export, and converting to the
workspace currency. Pure functions; no database access. The parsing itself is ``core.money``'s.

Invariants:
- An amount is a ``Decimal`` with two decimal places, never negative, at most 14 integer digits
  (the ``Customer.arr`` column).
- Conversion multiplies by the rate "units of workspace currency per unit" and rounds half up to cents.
"""

from __future__ import annotations

from decimal import Decimal

from valueloop.core.money import ISO_4217, SYMBOLS, AmountError, convert, is_currency
from valueloop.core.money import parse_amount as _parse_amount

MAX_AMOUNT = Decimal("99999999999999.99")

__all__ = ["ISO_4217", "MAX_AMOUNT", "SYMBOLS", "AmountError", "convert", "is_currency", "parse_amount"]


def parse_amount(text: str) -> tuple[Decimal, str | None]:
    """An ARR cell: ``"£12,500.00"`` -> (Decimal("12500.00"), "GBP"); never negative, at most ``MAX_AMOUNT``."""
    return _parse_amount(text, what="ARR", maximum=MAX_AMOUNT)
