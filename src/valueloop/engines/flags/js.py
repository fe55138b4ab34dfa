"""JavaScript value semantics: truthiness, ``String(v)``, ``Number(v)``, ``===``, ``JSON.stringify`` equality and the
relational operators, for JSON-shaped Python values.

The reference SDK is JavaScript and the conformance suite encodes its coercions (``"8" > 5`` is true), so
comparisons and stringification follow JavaScript rather than Python (package invariant 6).

Invariants:

* Every function is pure and total over JSON-shaped values: none raises, none mutates its arguments.
* ``True`` is never equal to ``1`` (JavaScript's ``true !== 1``), while ``1`` and ``1.0`` are one number.
* Strings order by UTF-16 code units, as JavaScript's do, not by code points.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final


def _js_truthy(v: Any) -> bool:
    # JS truthiness: [] and {} are truthy (unlike Python), NaN is falsy.
    if type(v) is str:  # the common case first (ids, attribute values): this runs on every bucketing decision
        return v != ""
    if v is None or v is False:
        return False
    if v is True:
        return True
    if isinstance(v, int | float):
        return v == v and v != 0
    if isinstance(v, str):
        return v != ""
    return True


def _js_number_str(v: float) -> str:
    if v != v:
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    r = repr(v)
    if "e" not in r:
        return r
    if 1e-6 <= abs(v) < 1e21:  # Number.prototype.toString switches to exponent notation outside this range
        return format(Decimal(r), "f")
    mantissa, exp = r.split("e")
    e = int(exp)
    return f"{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


def _js_str(v: Any) -> str:
    """String(v) as JavaScript computes it (used for hashing and for string equality)."""
    if isinstance(v, str):
        return v
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _js_number_str(v)
    if isinstance(v, list | tuple):
        return ",".join("" if x is None else _js_str(x) for x in v)
    if isinstance(v, Mapping):
        return "[object Object]"
    return str(v)


# Number("...") trims JavaScript's WhiteSpace and LineTerminator characters (not Python's str.strip() set: JS
# keeps U+001C-U+001F and U+0085, strips U+FEFF) and reads only ASCII digits.
_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_JS_RADIX = re.compile(r"0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+")
_NAN: Final = float("nan")


def _to_num(v: Any) -> float:
    """Number(v) as JavaScript computes it; NaN when not convertible."""
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return v
    if v is None:
        return 0.0
    if isinstance(v, list | tuple):
        return _to_num(_js_str(v))
    if isinstance(v, str):
        s = v.strip(_JS_WHITESPACE)
        if not s:
            return 0.0
        if _JS_DECIMAL.fullmatch(s):
            return float(s)
        if _JS_RADIX.fullmatch(s):
            return float(int(s, 0))
        if s in ("Infinity", "+Infinity"):
            return math.inf
        if s == "-Infinity":
            return -math.inf
    return _NAN


def _js_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list | tuple):
        return "array"
    if isinstance(v, Mapping):
        return "object"
    return "undefined"


def _js_identical(a: Any, b: Any) -> bool:
    """a === b for JSON values: same type and value for primitives (1 === 1.0, true !== 1); never for arrays or
    objects, which JavaScript compares by identity and an attribute never shares with a condition."""
    if type(a) is str:
        return type(b) is str and a == b
    if a is None or isinstance(a, bool):
        return a is b
    if isinstance(a, int | float):
        return isinstance(b, int | float) and not isinstance(b, bool) and a == b
    return False


_ARRAY_INDEX: Final = re.compile(r"0|[1-9][0-9]*")


def _js_key_order(obj: Mapping[str, Any]) -> list[str]:
    # JavaScript enumerates array-index keys ("0", "1", ...) first in numeric order, then the others in insertion
    # order: the order JSON.stringify writes, so the order JSON equality compares.
    keys = list(obj)
    indexes = [k for k in keys if type(k) is str and _ARRAY_INDEX.fullmatch(k) and int(k) < 2**32 - 1]
    if not indexes:
        return keys
    numeric = set(indexes)
    return sorted(indexes, key=int) + [k for k in keys if k not in numeric]


def _json_same(a: Any, b: Any) -> bool:
    """JSON.stringify(a) === JSON.stringify(b): deep equality in which object key order matters."""
    if isinstance(a, list | tuple):
        return (
            isinstance(b, list | tuple)
            and len(a) == len(b)
            and all(_json_same(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, Mapping):
        if not isinstance(b, Mapping):
            return False
        keys = _js_key_order(a)
        return keys == _js_key_order(b) and all(_json_same(a[k], b[k]) for k in keys)
    return _js_identical(a, b)


def _js_str_cmp(a: str, b: str) -> int:
    # JavaScript orders strings by UTF-16 code units: a character beyond the BMP (a surrogate pair, 0xD800-0xDFFF)
    # sorts before U+E000-U+FFFF, where Python's code-point order puts it after.
    if not (a.isascii() and b.isascii()) and max(a + b, default="") > "\uffff":
        a16, b16 = a.encode("utf-16-be", "surrogatepass"), b.encode("utf-16-be", "surrogatepass")
        return (a16 > b16) - (a16 < b16)
    return (a > b) - (a < b)


def _js_primitive(v: Any) -> Any:
    # ToPrimitive for the relational operators: arrays and objects become their strings.
    if isinstance(v, list | tuple | Mapping):
        return _js_str(v)
    return v


def _js_cmp(a: Any, b: Any) -> int | None:
    """Relational comparison with JS coercion: -1/0/1, or None when incomparable (NaN)."""
    a, b = _js_primitive(a), _js_primitive(b)
    if type(a) is str and type(b) is str:
        return _js_str_cmp(a, b)
    x, y = _to_num(a), _to_num(b)
    if x != x or y != y:
        return None
    return (x > y) - (x < y)
