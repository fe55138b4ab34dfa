"""Currency codes and amounts: parsing what people type or CRMs export, and converting to the
workspace currency. Pure functions; no database access.

Invariants:
- An amount is a ``Decimal`` with two decimal places, never negative, at most 14 integer digits
  (the ``Customer.arr`` column).
- Conversion multiplies by the rate "units of workspace currency per unit" and rounds half up to cents.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999999999.99")

# ISO 4217 codes in use (2025), so that an account in MXN or ZAR can be imported with a rate.
ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
    CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
    GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
    LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
    NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905
)

# Symbols a spreadsheet may leave in an amount cell. "$" alone is read as USD.
SYMBOLS = {
    "US$": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "S$": "SGD",
    "R$": "BRL",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "zł": "PLN",
    "Fr.": "CHF",
}
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’_]")


def is_currency(code: str) -> bool:
    return code in ISO_4217


class AmountError(ValueError):
    """A cell that is not a usable amount; the message says why, for a person."""


def parse_amount(text: str) -> tuple[Decimal, str | None]:
    """``"£12,500.00"`` -> (Decimal("12500.00"), "GBP"); ``"12.500,50 EUR"`` -> (12500.50, "EUR").

    Thousands and decimal separators: when both ``,`` and ``.`` occur the last one is the decimal
    separator; a lone separator followed by exactly three digits is a thousands separator.
    Raises ``AmountError`` for anything else, and for negative amounts.
    """
    raw = (text or "").strip()
    if not raw:
        raise AmountError("empty")
    s = raw
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s.startswith(("-", "−")):
        negative, s = True, s[1:].strip()
    currency = None
    for symbol in sorted(SYMBOLS, key=len, reverse=True):
        if s.startswith(symbol) or s.endswith(symbol):
            currency = SYMBOLS[symbol]
            s = s[len(symbol) :] if s.startswith(symbol) else s[: -len(symbol)]
            s = s.strip()
            break
    if currency is None:
        code, number = None, s
        if len(s) > 3 and s[:3].isalpha() and not s[3].isalpha():
            code, number = s[:3], s[3:]
        elif len(s) > 3 and s[-3:].isalpha() and not s[-4].isalpha():
            code, number = s[-3:], s[:-3]
        if code is not None:
            code = code.upper()
            if not is_currency(code):
                raise AmountError(f"unknown currency {code!r} in {raw!r}")
            currency, s = code, number.strip()
    if s.startswith(("-", "−")):
        negative, s = True, s[1:].strip()
    s = _SPACES.sub("", s)
    if not s or not re.fullmatch(r"[0-9.,]+([eE][+-]?[0-9]+)?", s):
        raise AmountError(f"{raw!r} is not a number")
    s = _normalise_separators(s, raw)
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise AmountError(f"{raw!r} is not a number")
    if not value.is_finite():
        raise AmountError(f"{raw!r} is not a number")
    if negative and value != 0:
        raise AmountError(f"ARR cannot be negative ({raw})")
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    if value > MAX_AMOUNT:
        raise AmountError(f"{raw} is too large (at most {MAX_AMOUNT:,})")
    return value, currency


def _normalise_separators(s: str, raw: str) -> str:
    mantissa, _, exponent = s.lower().partition("e")
    exponent = f"e{exponent}" if exponent else ""
    has_comma, has_dot = "," in mantissa, "." in mantissa
    if has_comma and has_dot:
        decimal_sep = "," if mantissa.rfind(",") > mantissa.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        if mantissa.count(decimal_sep) > 1:
            raise AmountError(f"{raw!r} is not a number")
        mantissa = mantissa.replace(thousands, "").replace(decimal_sep, ".")
    elif has_comma or has_dot:
        sep = "," if has_comma else "."
        parts = mantissa.split(sep)
        if len(parts) > 2:  # 1,234,567 or 1.234.567: thousands only
            if any(len(p) != 3 for p in parts[1:]):
                raise AmountError(f"{raw!r} is not a number")
            mantissa = "".join(parts)
        elif len(parts[1]) == 3 and parts[0] not in ("", "0"):
            mantissa = "".join(parts)  # 12,500 -> 12500
        else:
            mantissa = parts[0] + "." + parts[1]  # 12,5 -> 12.5
    return mantissa + exponent


def convert(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)
