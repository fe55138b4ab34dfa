"""Money: one representation and one way to print it, in every app.

Invariants:
- An amount is a ``decimal.Decimal`` wherever it crosses into models, the API or pages. ``to_decimal`` turns an
  engine's float into the Decimal of its shortest repr (``0.1`` -> ``Decimal("0.1")``), never its binary expansion.
- Rounding is half up, to the currency's minor unit for display (2 for EUR, 0 for JPY) and to cents for storage.
- Pages print money through ``format_money`` (full) or ``format_money_compact`` (charts, cards), via the template
  filters ``money`` and ``money_compact``, in the workspace's currency and locale (Babel's CLDR data). A whole
  amount prints without minor units ("€12,500"), any other with them ("€12,500.50").
- The workspace's currency and locale are active for the length of a workspace page (``core.pages.workspace_page``
  enters ``override``), as its time zone is; code outside a request passes them explicitly.
- The API sends money as ``core.api_support.MoneyOut`` (data from ``money_out``):
  ``{"amount": "<decimal string>", "currency": "EUR"}``.
- Parsing what people type (``parse_money``) accepts "12,500", "12.500,50 €", "£12,500.00" and refuses anything
  else with an ``Invalid`` naming the field.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.localedata import locale_identifiers
from babel.numbers import format_compact_currency, get_currency_precision
from django.core.exceptions import ValidationError

from .errors import Invalid

CENT = Decimal("0.01")
DEFAULT_LOCALE = "en"
DEFAULT_CURRENCY = "USD"
NO_AMOUNT = "—"

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


# --- locales ---------------------------------------------------------------------------------------------------


@cache
def known_locales() -> frozenset[str]:
    """Babel's locale identifiers ("en", "de", "de_CH", "fr_CA", ...)."""
    return frozenset(locale_identifiers())


@cache
def locale_choices() -> tuple[tuple[str, str], ...]:
    """(identifier, "German (Switzerland) — de_CH") for a picker, sorted by identifier. Names are English, read
    from English's data only: naming each locale in its own language would load all ~1,100 locales' data."""
    english = Locale.parse("en")
    return tuple((code, f"{Locale.parse(code).get_display_name(english)} — {code}") for code in sorted(known_locales()))


def validate_locale(value: str) -> None:
    """A model validator: ``value`` must be one of Babel's locale identifiers (``de_CH``, not ``de-CH``)."""
    if value not in known_locales():
        raise ValidationError(f"{value!r} is not a known locale (e.g. en, de, fr, de_CH, en_GB).")


@cache
def _locale(code: str) -> Locale:
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


# --- the active currency and locale ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyFormat:
    currency: str = DEFAULT_CURRENCY
    locale: str = DEFAULT_LOCALE


_active: ContextVar[MoneyFormat | None] = ContextVar("valueloop_money_format", default=None)


@contextlib.contextmanager
def override(*, currency: str, locale: str) -> Iterator[MoneyFormat]:
    """Print money in ``currency`` and ``locale`` inside the block (a workspace page, a digest being rendered)."""
    token = _active.set(MoneyFormat(currency=currency, locale=locale))
    try:
        yield _active.get()  # type: ignore[misc]
    finally:
        _active.reset(token)


def for_workspace(workspace: Any):
    """``override`` with the workspace's currency and locale."""
    return override(currency=workspace.currency, locale=getattr(workspace, "locale", DEFAULT_LOCALE))


def active() -> MoneyFormat:
    return _active.get() or MoneyFormat()


# --- amounts ---------------------------------------------------------------------------------------------------


def to_decimal(value: Any) -> Decimal | None:
    """``value`` as a Decimal; None for None or "". Floats go through their shortest repr (0.1 -> Decimal("0.1")).

    Raises ``ValueError`` for text that is not a number and for NaN or infinities (money is always finite).
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    else:
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    return amount


def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit: 2 for EUR, 0 for JPY, 3 for KWD."""
    return get_currency_precision(currency)


def quantize(amount: Decimal, currency: str | None = None) -> Decimal:
    """``amount`` rounded half up to the currency's minor unit (to cents without a currency)."""
    step = CENT if currency is None else Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(step, rounding=ROUND_HALF_UP)


def total(amounts: Any) -> Decimal:
    """The exact sum of amounts (None skipped), each taken through ``to_decimal``: no float on the way."""
    result = Decimal(0)
    for value in amounts:
        amount = to_decimal(value)
        if amount is not None:
            result += amount
    return result


# --- printing --------------------------------------------------------------------------------------------------


@cache
def _whole_pattern(locale_code: str):
    """The locale's currency pattern without minor units, for whole amounts."""
    pattern = copy.copy(_locale(locale_code).currency_formats["standard"])
    pattern.frac_prec = (0, 0)
    return pattern


def format_money(value: Any, currency: str | None = None, locale: str | None = None) -> str:
    """``12500`` -> "€12,500" (en, EUR), "12.500 €" (de), "12 500 €" (fr); ``12.5`` -> "€12.50"; None -> "—".

    Without ``currency``/``locale`` the active workspace's are used (``override``).
    """
    try:
        amount = to_decimal(value)
    except ValueError:
        return NO_AMOUNT
    if amount is None:
        return NO_AMOUNT
    fmt = active()
    currency, locale = currency or fmt.currency, locale or fmt.locale
    rounded = quantize(amount, currency)
    if rounded == rounded.to_integral_value():
        pattern = _whole_pattern(locale)
    else:
        pattern = _locale(locale).currency_formats["standard"]
    return pattern.apply(rounded, _locale(locale), currency=currency, currency_digits=False)


def format_money_compact(value: Any, currency: str | None = None, locale: str | None = None) -> str:
    """Short money for charts and cards: ``5_800_000`` -> "€5.8M" (en), "5,8 Mio. €" (de); under a thousand the
    whole amount ("€950")."""
    try:
        amount = to_decimal(value)
    except ValueError:
        return NO_AMOUNT
    if amount is None:
        return NO_AMOUNT
    fmt = active()
    currency, locale = currency or fmt.currency, locale or fmt.locale
    if abs(amount) < 1000:
        return format_money(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP), currency, locale)
    return format_compact_currency(amount, currency, locale=_locale(locale), fraction_digits=1)


# --- parsing ---------------------------------------------------------------------------------------------------


class AmountError(ValueError):
    """Text that is not a usable amount; the message says why, for a person."""


def parse_amount(
    text: str, *, what: str = "The amount", maximum: Decimal | None = None, negative_ok: bool = False
) -> tuple[Decimal, str | None]:
    """``"£12,500.00"`` -> (Decimal("12500.00"), "GBP"); ``"12.500,50 EUR"`` -> (12500.50, "EUR").

    Thousands and decimal separators: when both ``,`` and ``.`` occur the last one is the decimal
    separator; a lone separator followed by exactly three digits is a thousands separator.
    The amount is rounded half up to cents. Raises ``AmountError`` for anything else, for negative amounts
    (unless ``negative_ok``) and for amounts over ``maximum``.
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
        raise AmountError(f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise AmountError(f"{raw!r} is not a number")
    if negative and value != 0:
        if not negative_ok:
            raise AmountError(f"{what} cannot be negative ({raw})")
        value = -value
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    if maximum is not None and abs(value) > maximum:
        raise AmountError(f"{raw} is too large (at most {maximum:,})")
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


def read_money(
    text: str,
    *,
    currency: str | None = None,
    maximum: Decimal | None = None,
    label: str = "The amount",
    negative_ok: bool = False,
) -> Decimal:
    """What a person typed as an amount in ``currency`` ("12,500.50", "12.500,50 €", "€12,500"), as a Decimal in
    cents; ``AmountError`` with a sentence for them when it is not one. A currency written with the amount must be
    ``currency``: nothing is converted silently."""
    try:
        amount, written = parse_amount(text, what=label, maximum=maximum, negative_ok=negative_ok)
    except AmountError as exc:
        if str(exc) == "empty":
            raise AmountError("Enter an amount, e.g. 12500 or 12,500.50.") from None
        reason = str(exc)
        if reason.endswith("is not a number"):
            raise AmountError(f"{reason[: -len('is not a number')]}is not an amount; enter e.g. 12500 or 12,500.50.")
        raise AmountError(f"{reason[:1].upper()}{reason[1:]}.") from None
    if written is not None and currency is not None and written != currency:
        raise AmountError(f"The amount is in {written}, but this field is in {currency}.")
    return amount


def parse_money(
    text: str, *, field: str, currency: str | None = None, maximum: Decimal | None = None, label: str = "The amount"
) -> Decimal:
    """``read_money`` for a service: ``Invalid`` naming ``field`` when the text is not an amount."""
    try:
        return read_money(text, currency=currency, maximum=maximum, label=label)
    except AmountError as exc:
        raise Invalid(f"{label}: {exc}", fields={field: str(exc)}) from None


def convert(amount: Decimal, rate: Decimal) -> Decimal:
    """``amount`` times ``rate`` (units of the target currency per unit), rounded half up to cents."""
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


# --- the API ---------------------------------------------------------------------------------------------------


def money_out(value: Any, currency: str) -> dict[str, str] | None:
    """``MoneyOut`` data for ``value`` (None stays None): rounded to cents, as the columns store it, in plain digits
    (never an exponent)."""
    amount = to_decimal(value)
    if amount is None:
        return None
    return {"amount": format(quantize(amount), "f"), "currency": currency}
