"""Feature-flag and experiment evaluation, compatible with GrowthBook's SDK spec (0.8.0).

Pure Python (standard library; ``cryptography`` only for :func:`decrypt` / :func:`encrypt`, numpy only for batch
evaluation, and ``corvus_regex_ecma262`` only for ``$regex`` conditions, all imported lazily). Written from the
public spec, its cross-SDK conformance suite and the semantics of GrowthBook's JS SDK, the reference
implementation; no SDK code was copied.

Two layers live here:

* The typed API the application uses: :class:`FeatureEvaluator` compiles a GrowthBook SDK payload
  (``{"features": ..., "savedGroups": ..., "experiments": ...}``) once; :meth:`FeatureEvaluator.evaluate`
  then evaluates one feature for one user and returns a :class:`FeatureResult`. :func:`evaluate` is the
  one-shot convenience. :class:`EvalOptions` carries per-request inputs (URL, forced variations, QA mode,
  sticky-bucket store), :class:`StickyBucketStore` holds a user's sticky-bucket assignment documents.
  :meth:`FeatureEvaluator.evaluate_many` evaluates one feature for many users at once (vectorised, same results
  as ``evaluate`` with default options); :func:`condition_problems` is the strict check for authoring tools.
* One function per section of the conformance suite (``eval_condition``, ``hash``, ``get_bucket_range``,
  ``choose_variation``, ``get_query_string_override``, ``in_namespace``, ``get_equal_weights``, ``decrypt``,
  ``eval_feature``, ``run``, ``sticky_bucket``, ``url_redirect``), taking the case's arguments in the suite's
  order and returning plain JSON-shaped values.

Invariants (the tests hold us to them):

1. Determinism across SDKs: bucketing is a pure function of (seed, hash attribute value, hash version).
   FNV-1a 32-bit over UTF-16 code units (what the reference SDK hashes), v1 = fnv(value + seed) % 1000 / 1000,
   v2 = fnv(str(fnv(seed + value))) % 10000 / 10000. Non-string attribute values are stringified the way
   JavaScript does (``123`` -> ``"123"``, ``True`` -> ``"true"``), so a user lands in the same bucket here, in
   the browser and in every other GrowthBook SDK.
2. No exception escapes evaluation. Malformed conditions, unknown operators and invalid regexes evaluate to
   False (the rule simply does not apply); a malformed rule is dropped at compile time; an unexpected error
   during evaluation is logged and the feature's default value is returned.
3. A compiled :class:`FeatureEvaluator` is immutable and safe to share between threads; per-request state
   (attributes, options, the sticky-bucket store) is passed in, never stored on it.
4. Evaluation never mutates its inputs; the only side effect is writing assignments into the
   :class:`StickyBucketStore` you pass (so you can persist them).
5. Values returned (feature values, variations) are shared with the compiled payload: treat them as read-only.
6. Every result equals the JS SDK's (value, source, rule id, experiment assignment), one by one and in batch:
   conditions follow JavaScript's coercions (``null + ""`` is ``"null"``, ``null * 1`` is 0, ``===`` on arrays and
   objects is identity, literal objects compare as ``JSON.stringify`` strings, strings order by UTF-16 units,
   ``$regex`` is ECMAScript's RegExp), versions read non-strings as ``"0"``, and a rollout includes
   ``n <= coverage``. ``engines/tests/test_flags_differential.py`` holds us to it against the pinned JS SDK.

Unsupported on purpose: contextual bandits (rules with ``contextualBanditRef`` are skipped), browser-only
features (visual editor changes, tracking callbacks; the caller tracks ``FeatureResult.experiment_result``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import difflib
import logging
import math
import os
import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import repeat
from types import MappingProxyType
from typing import Any, Final, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "BatchOutcome",
    "BatchResult",
    "Condition",
    "DecryptionError",
    "EvalOptions",
    "Experiment",
    "ExperimentResult",
    "FeatureEvaluator",
    "FeatureResult",
    "StickyBucketStore",
    "UrlRedirect",
    "choose_variation",
    "compile_condition",
    "condition_problems",
    "decrypt",
    "encrypt",
    "eval_condition",
    "eval_feature",
    "evaluate",
    "get_bucket_range",
    "get_equal_weights",
    "get_query_string_override",
    "hash",
    "hash_value",
    "in_namespace",
    "run",
    "sticky_bucket",
    "url_redirect",
]

_log = logging.getLogger(__name__)

JSON = Any  # a JSON-compatible value: None, bool, int, float, str, list, dict
Attributes = Mapping[str, Any]
BucketRange = tuple[float, float]


class _Malformed(ValueError):
    """Raised while compiling a condition/rule that does not follow the spec's shape."""


# ---------------------------------------------------------------------------------------------------------------
# JavaScript value semantics. The reference SDK is JavaScript and the conformance suite encodes its coercions
# (e.g. "8" > 5 is true), so comparisons and stringification follow JS rules rather than Python's.
# ---------------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------------
# Hashing and bucketing
# ---------------------------------------------------------------------------------------------------------------

_FNV_OFFSET: Final = 0x811C9DC5


_FNV_CHUNK: Final = 24


def _fnv_units(units: Sequence[int], h: int) -> int:
    # The innermost loop of every bucketing decision, so: literal constants, no call per unit, and the 32-bit
    # mask applied once per chunk instead of once per unit. That is exact: XOR with a unit (< 2**16) only touches
    # the low bits, and multiplication commutes with reduction mod 2**32, so the low 32 bits of the unmasked
    # product are the masked hash. Chunking keeps the intermediate integers small (24 bits of growth per unit).
    if len(units) <= _FNV_CHUNK:
        for c in units:
            h = (h ^ c) * 0x01000193
        return h & 0xFFFFFFFF
    for start in range(0, len(units), _FNV_CHUNK):
        for c in units[start : start + _FNV_CHUNK]:
            h = (h ^ c) * 0x01000193
        h &= 0xFFFFFFFF
    return h


def _fnv1a32(s: str, h: int = _FNV_OFFSET) -> int:
    # The reference hashes UTF-16 code units (charCodeAt); for ASCII those are just the bytes.
    if s.isascii():
        return _fnv_units(s.encode("ascii"), h)
    data = s.encode("utf-16-le")
    return _fnv_units(struct.unpack(f"<{len(data) // 2}H", data), h)


class _Hasher:
    """hash(seed, value, version) with the seed prefix pre-hashed (FNV is streaming, v2 hashes seed first)."""

    __slots__ = ("seed", "seed_state", "version")

    def __init__(self, seed: str, version: Any) -> None:
        self.seed = seed
        self.version = version
        self.seed_state = _fnv1a32(seed) if version == 2 else _FNV_OFFSET

    def __call__(self, value: str) -> float | None:
        if self.version == 2:
            inner = _fnv1a32(value, self.seed_state)
            return (_fnv_units(str(inner).encode("ascii"), _FNV_OFFSET) % 10000) / 10000
        if self.version == 1:
            return (_fnv1a32(value + self.seed) % 1000) / 1000
        return None  # unknown hash versions never bucket anyone (the spec's contract)


def hash_value(seed: str, value: str, version: int) -> float | None:
    """Spec ``hash`` (also importable as ``flags.hash``): a float in [0, 1) for versions 1 and 2, else None."""
    return _Hasher(_js_str(seed), version)(_js_str(value))


def _in_range(n: float, r: Sequence[float]) -> bool:
    return r[0] <= n < r[1]


def get_equal_weights(num_variations: int) -> list[float]:
    """Spec ``getEqualWeights``."""
    if num_variations < 1:
        return []
    return [1.0 / num_variations] * num_variations


def _bucket_ranges(num_variations: int, coverage: Any, weights: Any) -> tuple[BucketRange, ...]:
    try:
        cov = min(max(float(coverage), 0.0), 1.0) if coverage is not None else 1.0
    except (TypeError, ValueError):
        cov = 1.0
    equal = get_equal_weights(num_variations)
    w: Sequence[float] = equal
    # Weights that do not describe every variation, or do not sum to ~1, are ignored in favour of an even
    # split: a misconfigured experiment stays a fair experiment instead of silently dropping traffic.
    if (
        isinstance(weights, list | tuple)
        and len(weights) == num_variations
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in weights)
        and 0.99 <= sum(weights) <= 1.01
    ):
        w = [float(x) for x in weights]
    out = []
    cumulative = 0.0
    for wi in w:
        start = cumulative
        cumulative += wi
        out.append((start, start + cov * wi))
    return tuple(out)


def get_bucket_range(num_variations: int, coverage: float, weights: Sequence[float] | None) -> list[list[float]]:
    """Spec ``getBucketRange``: one [start, end) range per variation."""
    return [list(r) for r in _bucket_ranges(num_variations, coverage, weights)]


def choose_variation(n: float, ranges: Sequence[Sequence[float]]) -> int:
    """Spec ``chooseVariation``: index of the range containing n, or -1."""
    for i, r in enumerate(ranges):
        if r[0] <= n < r[1]:
            return i
    return -1


def in_namespace(hash_value: str, namespace: Sequence[Any]) -> bool:
    """Spec ``inNamespace``: namespace is [id, start, end]."""
    n = _Hasher("__" + _js_str(namespace[0]), 1)(_js_str(hash_value))
    return n is not None and namespace[1] <= n < namespace[2]


_JS_PARSE_INT = re.compile(r"\s*([+-]?\d+)")


def get_query_string_override(id: str, url: str, num_variations: int) -> int | None:
    """Spec ``getQueryStringOverride``: ``?<experiment key>=<variation index>`` forces a variation."""
    if not url:
        return None
    parts = url.split("?")
    if len(parts) < 2 or not parts[1]:
        return None
    search = parts[1].split("#", 1)[0]
    for kv in search.split("&"):
        pieces = kv.split("=")
        if pieces[0] != id:
            continue
        # First occurrence wins; parseInt semantics (leading integer) as in the reference.
        m = _JS_PARSE_INT.match(pieces[1]) if len(pieces) > 1 else None
        if m is None:
            return None
        v = int(m.group(1))
        return v if 0 <= v < num_variations else None
    return None


# ---------------------------------------------------------------------------------------------------------------
# Conditions: compiled once into closures over (value, saved_groups).
# ---------------------------------------------------------------------------------------------------------------

_HKEY_BOOL = object()
_UNHASHABLE = object()


def _hkey(v: Any) -> Any:
    # Set key with JS's strict-equality classes: bools must not collide with 1/0; 1 and 1.0 are the same number.
    if type(v) is str:
        return v
    if isinstance(v, bool):
        return (_HKEY_BOOL, v)
    if v is None or isinstance(v, str | int | float):
        return v
    return _UNHASHABLE


class _ValueSet:
    """Membership test for $in / saved groups, O(1): Array.prototype.includes semantics (SameValueZero), under which
    an array or object member never matches (JavaScript compares those by identity), so only scalars are kept."""

    __slots__ = ("keys",)

    def __init__(self, values: Iterable[Any], lower: bool = False) -> None:
        keys: set[Any] = set()
        for v in values:
            if lower and isinstance(v, str):
                v = v.lower()
            k = _hkey(v)
            if k is not _UNHASHABLE:
                keys.add(k)
        self.keys = frozenset(keys)

    def contains(self, v: Any) -> bool:
        k = _hkey(v)
        return k is not _UNHASHABLE and k in self.keys


# A saved group compiles to the set of its values, or to None when the entry is malformed: an unknown group id
# reads as an empty list ($notInGroup passes everyone), a malformed entry matches nobody, for $inGroup and
# $notInGroup alike (else $notInGroup would let everyone through a broken group), as the reference SDK does.
SavedGroups = Mapping[str, _ValueSet | None]
_Pred = Callable[[Any, SavedGroups], bool]
_EMPTY_GROUPS: Final[SavedGroups] = MappingProxyType({})
_NO_VALUES: Final = _ValueSet(())


def _compile_group(entry: Any) -> _ValueSet | None:
    if isinstance(entry, list | tuple):
        return _ValueSet(entry)  # the original format: a bare list
    if isinstance(entry, Mapping) and entry.get("type") == "list":
        values = entry.get("values")
        return _ValueSet(values) if isinstance(values, list | tuple) else None
    return None  # a condition group (not supported by $inGroup), a malformed entry, or a type added later


def _compile_groups(saved_groups: Mapping[str, Any] | None) -> SavedGroups:
    if not saved_groups or not isinstance(saved_groups, Mapping):
        return _EMPTY_GROUPS
    return {str(k): _compile_group(v) for k, v in saved_groups.items()}


def _true(_v: Any, _g: SavedGroups) -> bool:
    return True


def _false(_v: Any, _g: SavedGroups) -> bool:
    return False


def _all_of(preds: Sequence[_Pred]) -> _Pred:
    if not preds:
        return _true
    if len(preds) == 1:
        return preds[0]
    preds = tuple(preds)

    def check(v: Any, g: SavedGroups) -> bool:
        for p in preds:  # noqa: SIM110 - a plain loop skips creating a generator per call (hot path)
            if not p(v, g):
                return False
        return True

    return check


def _any_of(preds: Sequence[_Pred]) -> _Pred:
    if not preds:
        return _true  # the spec: an empty $or passes
    preds = tuple(preds)

    def check(v: Any, g: SavedGroups) -> bool:
        for p in preds:  # noqa: SIM110 - as in _all_of
            if p(v, g):
                return True
        return False

    return check


def _js_get(obj: Any, key: str) -> Any:
    # One step of the reference's path lookup (`key in obj`): an object's own key, an array's index (canonical
    # decimal, so "01" is not one) or its "length"; anything else (a missing key, a scalar) reads as null, so
    # {"x": null} matches a missing x.
    if type(obj) is dict or isinstance(obj, Mapping):
        return obj.get(key)
    if isinstance(obj, list | tuple):
        if key == "length":
            return len(obj)
        if _ARRAY_INDEX.fullmatch(key) and int(key) < len(obj):
            return obj[int(key)]
    return None


def _path_getter(path: str) -> Callable[[Any], Any]:
    if "." not in path:
        return lambda obj: _js_get(obj, path)
    parts = tuple(path.split("."))

    def get_nested(obj: Any) -> Any:
        cur = obj
        for part in parts:
            if cur is None:
                return None
            cur = _js_get(cur, part)
        return cur

    return get_nested


def _compile_cond_list(value: Any) -> list[_Pred]:
    if not isinstance(value, list | tuple):
        raise _Malformed("$and/$or/$nor need a list of conditions")
    return [_compile_condition(c) for c in value]


def _compile_condition(cond: Any) -> _Pred:
    """Condition object -> predicate over an attributes mapping. Raises _Malformed on bad structure."""
    if not isinstance(cond, Mapping):
        raise _Malformed("a condition must be an object")
    preds: list[_Pred] = []
    for key, val in cond.items():
        if key == "$or":
            preds.append(_any_of(_compile_cond_list(val)))
        elif key == "$nor":
            inner = _any_of(_compile_cond_list(val))
            preds.append(lambda a, g, inner=inner: not inner(a, g))
        elif key == "$and":
            preds.append(_all_of(_compile_cond_list(val)))
        elif key == "$not":
            inner = _compile_condition(val)
            preds.append(lambda a, g, inner=inner: not inner(a, g))
        else:
            path = str(key)
            getter = _path_getter(path)
            vp = _compile_value(val)
            if "." in path:
                preds.append(lambda a, g, getter=getter, vp=vp: vp(getter(a), g))
            else:
                # A flat attribute of a plain dict (nearly every call) is read without the getter's call.
                preds.append(
                    lambda a, g, path=path, getter=getter, vp=vp: vp(a.get(path) if type(a) is dict else getter(a), g)
                )
    return _all_of(preds)


def _is_operator_object(v: Any) -> bool:
    return isinstance(v, Mapping) and len(v) > 0 and all(isinstance(k, str) and k.startswith("$") for k in v)


def _equals_string(v: Any, cv: str) -> bool:
    # value + "" === condition: a null or missing attribute reads "null", an array its joined elements.
    return v == cv if type(v) is str else _js_str(v) == cv


def _group_members(groups: SavedGroups, group_id: str) -> _ValueSet | None:
    return groups.get(group_id, _NO_VALUES)  # an unknown id is an empty list; None: a malformed entry


def _compile_value(cv: Any, insensitive: bool = False) -> _Pred:
    """Condition value -> predicate over one attribute value (a missing attribute arrives as None, JS's null)."""
    if isinstance(cv, str):
        if insensitive:  # $alli: String(value).toLowerCase() === condition.toLowerCase()
            want = cv.lower()
            return lambda v, g: (v if type(v) is str else _js_str(v)).lower() == want
        return lambda v, g: _equals_string(v, cv)
    if isinstance(cv, bool):
        return lambda v, g: v is not None and _js_truthy(v) is cv
    if isinstance(cv, int | float):
        # value * 1 === condition: null, "" and [] read 0, "0x1F" 31, [5] 5, an object NaN.
        return lambda v, g: _to_num(v) == cv
    if cv is None:
        return lambda v, g: v is None
    if isinstance(cv, list | tuple) or not _is_operator_object(cv):
        return lambda v, g: _json_same(v, cv)
    return _all_of([_compile_operator(op, expected) for op, expected in cv.items()])


_VERSION_STRIP: Final = re.compile(r"^v|\+[^\n\r\u2028\u2029]*\Z")  # JS /(^v|\+.*$)/g: "." stops at line ends
_VERSION_SPLIT: Final = re.compile(r"[-.]")
_VERSION_NUMERIC: Final = re.compile(r"[0-9]+")
_PADDED_CACHE: dict[str, str] = {}
_PADDED_CACHE_MAX: Final = 4096


def _version_text(v: Any) -> str:
    # What the reference compares as a version: a number's string, a non-empty string, and "0" for anything else
    # (null, a missing attribute, booleans, arrays, objects), so {"$vlt": "1.0.0"} passes a missing version.
    if isinstance(v, int | float) and not isinstance(v, bool):
        v = _js_str(v)
    return v if isinstance(v, str) and v else "0"


def _padded_version(v: str) -> str:
    # Semver-ish ordering by string comparison: drop a leading "v" and build metadata, split on . and -,
    # mark releases with "~" (sorts after any pre-release tag) and left-pad numeric parts so " 9" < "10".
    # Memoised: an app sees few distinct versions, and the regex work dominated version targeting. Reads and
    # writes of the dict are atomic, so sharing it between threads is safe; it is emptied when it grows too big.
    padded = _PADDED_CACHE.get(v)
    if padded is not None:
        return padded
    parts = _VERSION_SPLIT.split(_VERSION_STRIP.sub("", v))
    if len(parts) == 3:
        parts.append("~")
    padded = "-".join(p.rjust(5) if _VERSION_NUMERIC.fullmatch(p) else p for p in parts)
    if len(_PADDED_CACHE) >= _PADDED_CACHE_MAX:
        _PADDED_CACHE.clear()
    _PADDED_CACHE[v] = padded
    return padded


_VERSION_OPS: Final = {
    "$veq": lambda c: c == 0,
    "$vne": lambda c: c != 0,
    "$vgt": lambda c: c > 0,
    "$vgte": lambda c: c >= 0,
    "$vlt": lambda c: c < 0,
    "$vlte": lambda c: c <= 0,
}
_DIRECT_REL: Final = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}
_REL_OPS: Final = {
    "$lt": lambda c: c < 0,
    "$lte": lambda c: c <= 0,
    "$gt": lambda c: c > 0,
    "$gte": lambda c: c >= 0,
}


def _is_in(actual: Any, values: _ValueSet) -> bool:
    # An array attribute matches if any element is in the list (intersection), as in the reference.
    if isinstance(actual, list | tuple):
        return any(values.contains(x) for x in actual)
    return values.contains(actual)


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _js_regex(pattern: Any, insensitive: bool) -> Callable[[str], bool] | None:
    """``new RegExp(pattern, "i"?).test``: ECMAScript syntax and matching (``\\d`` is ASCII, ``$`` is the end of
    the text, ``.`` one UTF-16 unit, JS case folding), which Python's ``re`` does not give; the engine also
    matches in linear time, so a rule's pattern cannot hang the server. None when the pattern is invalid."""
    if not isinstance(pattern, str):
        return None
    import corvus_regex_ecma262 as ecma  # lazily: only payloads with $regex conditions need it

    try:
        return ecma.compile(pattern, "i" if insensitive else "").test
    except ecma.error:
        return None


def _compile_operator(op: str, expected: Any) -> _Pred:
    if op in _REL_OPS:
        test = _REL_OPS[op]
        te = type(expected)
        if te is int or te is float:
            # number < number compares directly; every other combination goes through the coercing comparison.
            direct = _DIRECT_REL[op]

            def rel_number(v: Any, g: SavedGroups) -> bool:
                tv = type(v)
                if tv is int or tv is float:
                    return direct(v, expected)
                c = _js_cmp(v, expected)
                return c is not None and test(c)

            return rel_number
        if te is str:

            def rel_string(v: Any, g: SavedGroups) -> bool:
                if type(v) is str:
                    return test(_js_str_cmp(v, expected))
                c = _js_cmp(v, expected)
                return c is not None and test(c)

            return rel_string

        def rel(v: Any, g: SavedGroups) -> bool:
            c = _js_cmp(v, expected)
            return c is not None and test(c)

        return rel
    if op == "$eq":
        return lambda v, g: _js_identical(v, expected)
    if op == "$ne":
        return lambda v, g: not _js_identical(v, expected)
    if op in ("$regex", "$regexi"):
        matches = _js_regex(expected, op == "$regexi")
        if matches is None:
            return _false  # an invalid pattern matches nothing (and never raises)
        # RegExp.test(String(value)): a missing attribute is tested as "null".
        return lambda v, g: matches(v if type(v) is str else _js_str(v))
    if op in ("$in", "$nin", "$ini", "$nini"):
        if not isinstance(expected, list | tuple):
            return _false  # the spec: a non-array operand fails both $in and $nin
        insensitive = op in ("$ini", "$nini")
        values = _ValueSet(expected, lower=insensitive)
        negate = op in ("$nin", "$nini")
        if insensitive:

            def check_ci(v: Any, g: SavedGroups) -> bool:
                v = [_lower(x) for x in v] if isinstance(v, list | tuple) else _lower(v)
                return _is_in(v, values) != negate

            return check_ci
        keys = values.keys

        def check_in(v: Any, g: SavedGroups) -> bool:
            if type(v) is str:  # the common case: a string attribute against a list of strings
                return (v in keys) != negate
            return _is_in(v, values) != negate

        return check_in
    if op in ("$all", "$alli"):
        if not isinstance(expected, list | tuple):
            return _false
        # Every expected item matches some element; $alli lowercases string items only (not operators').
        wanted = [_compile_value(e, insensitive=op == "$alli") for e in expected]

        def all_of(v: Any, g: SavedGroups) -> bool:
            if not isinstance(v, list | tuple):
                return False
            return all(any(w(x, g) for x in v) for w in wanted)

        return all_of
    if op == "$elemMatch":
        sub = _compile_value(expected) if _is_operator_object(expected) else _compile_condition(expected)
        # null elements are skipped; 0, "" and false are tested like any other element.
        return lambda v, g: isinstance(v, list | tuple) and any(x is not None and sub(x, g) for x in v)
    if op == "$size":
        sub = _compile_value(expected)
        return lambda v, g: isinstance(v, list | tuple) and sub(len(v), g)
    if op == "$exists":
        if _js_truthy(expected):
            return lambda v, g: v is not None
        return lambda v, g: v is None
    if op == "$type":
        return lambda v, g: _js_type(v) == expected
    if op == "$not":
        sub = _compile_value(expected)
        return lambda v, g: not sub(v, g)
    if op in _VERSION_OPS:
        vtest = _VERSION_OPS[op]
        want = _padded_version(_version_text(expected))

        def version(v: Any, g: SavedGroups) -> bool:
            return vtest(_js_str_cmp(_padded_version(_version_text(v)), want))

        return version
    if op in ("$inGroup", "$notInGroup"):
        group_id = _js_str(expected)
        negate = op == "$notInGroup"

        def in_group(v: Any, g: SavedGroups) -> bool:
            members = _group_members(g, group_id)
            return members is not None and _is_in(v, members) != negate

        return in_group
    return _false  # unknown operator: the spec says it fails (and we never raise)


def _referenced_attributes(cond: Any, out: set[str]) -> None:
    # Top-level attribute names a condition reads (the first segment of each path). Values under operators
    # ($elemMatch sub-conditions) read inside the attribute's value, so they add nothing here.
    if not isinstance(cond, Mapping):
        return
    for key, val in cond.items():
        if key in ("$or", "$nor", "$and"):
            for sub in val if isinstance(val, list | tuple) else ():
                _referenced_attributes(sub, out)
        elif key == "$not":
            _referenced_attributes(val, out)
        else:
            out.add(str(key).split(".", 1)[0])


class Condition:
    """A compiled targeting condition. ``matches`` never raises: bad input evaluates to False.

    ``attributes`` names the top-level attributes the condition reads: its result is a function of those
    attributes' values alone (and the saved groups), which batch evaluation uses to evaluate it once per
    distinct combination of values instead of once per user.
    """

    __slots__ = ("_pred", "attributes", "source", "valid")

    def __init__(self, condition: Any) -> None:
        self.source = condition
        try:
            self._pred: _Pred = _compile_condition(condition)
            self.valid = True
            names: set[str] = set()
            _referenced_attributes(condition, names)
            self.attributes: tuple[str, ...] = tuple(sorted(names))
        except (_Malformed, TypeError, ValueError, RecursionError):
            self._pred = _false
            self.valid = False
            self.attributes = ()

    def _match(self, attributes: Any, groups: SavedGroups) -> bool:
        try:
            return bool(self._pred(attributes, groups))
        except Exception:  # invariant 2: evaluation never raises
            _log.warning("flags: condition raised during evaluation; treating as no match", exc_info=True)
            return False

    def matches(self, attributes: Attributes, saved_groups: Mapping[str, Sequence[Any]] | None = None) -> bool:
        return self._match(attributes, _compile_groups(saved_groups))


def compile_condition(condition: Any) -> Condition:
    """Compile a condition once to evaluate it many times."""
    return Condition(condition)


_LOGICAL_OPERATORS: Final = frozenset({"$or", "$nor", "$and", "$not"})
_LIST_OPERATORS: Final = frozenset({"$in", "$nin", "$ini", "$nini", "$all", "$alli"})
_VALUE_OPERATORS: Final = frozenset(
    {
        "$eq",
        "$ne",
        "$lt",
        "$lte",
        "$gt",
        "$gte",
        "$regex",
        "$regexi",
        "$elemMatch",
        "$size",
        "$exists",
        "$type",
        "$not",
        "$inGroup",
        "$notInGroup",
        *_LIST_OPERATORS,
        *_VERSION_OPS,
    }
)
_JS_TYPES: Final = frozenset({"string", "number", "boolean", "array", "object", "null", "undefined"})
MAX_CONDITION_DEPTH: Final = 20


def condition_problems(condition: Any) -> list[str]:
    """What is wrong with a targeting condition, in words; an empty list when it is well-formed.

    Evaluation is forgiving (a malformed condition or an unknown operator simply never matches, as the spec
    requires); this is the strict check for authoring tools, so that a typo such as ``$inn`` is refused when the
    rule is saved instead of silently turning the rule off.
    """
    problems: list[str] = []

    def where(path: str) -> str:
        return f" (at {path})" if path else ""

    def cond(c: Any, path: str, depth: int) -> None:
        if depth > MAX_CONDITION_DEPTH:
            problems.append(f"the condition is nested more than {MAX_CONDITION_DEPTH} levels deep{where(path)}")
            return
        if not isinstance(c, Mapping):
            problems.append(f"a condition must be a JSON object, not {_js_type(c)}{where(path)}")
            return
        for key, val in c.items():
            key = str(key)
            sub = f"{path}.{key}" if path else key
            if key in ("$or", "$nor", "$and"):
                if not isinstance(val, list | tuple):
                    problems.append(f"{key} needs a list of conditions{where(path)}")
                    continue
                for i, item in enumerate(val):
                    cond(item, f"{sub}[{i}]", depth + 1)
            elif key == "$not":
                cond(val, sub, depth + 1)
            elif key.startswith("$"):
                problems.append(f"unknown operator {key}{where(path)}: attribute names cannot start with $")
            else:
                value(val, sub, depth + 1)

    def value(v: Any, path: str, depth: int) -> None:
        if depth > MAX_CONDITION_DEPTH:
            problems.append(f"the condition is nested more than {MAX_CONDITION_DEPTH} levels deep (at {path})")
            return
        if not isinstance(v, Mapping) or not v:
            return  # a literal: compared for equality
        dollar = [str(k).startswith("$") for k in v]
        if not any(dollar):
            return  # a literal object: compared for deep equality
        if not all(dollar):
            problems.append(f"{path} mixes operators and plain keys; use one or the other")
            return
        for op, arg in v.items():
            if op not in _VALUE_OPERATORS:
                close = difflib.get_close_matches(str(op), sorted(_VALUE_OPERATORS), n=1, cutoff=0.6)
                hint = f"did you mean {close[0]}?" if close else "known: " + ", ".join(sorted(_VALUE_OPERATORS))
                problems.append(f"unknown operator {op} on {path} ({hint})")
            elif op in _LIST_OPERATORS and not isinstance(arg, list | tuple):
                problems.append(f"{op} on {path} needs a list of values")
            elif op in ("$regex", "$regexi"):
                if not isinstance(arg, str):
                    problems.append(f"{op} on {path} needs a regular expression string")
                elif _js_regex(arg, op == "$regexi") is None:
                    # JavaScript's grammar, as evaluation uses: (?<name>...) is valid, Python's (?P<name>...) is not.
                    problems.append(f"{op} on {path} is not a valid regular expression (JavaScript syntax): {arg!r}")
            elif op == "$elemMatch":
                if _is_operator_object(arg):
                    value(arg, f"{path}.$elemMatch", depth + 1)
                else:
                    cond(arg, f"{path}.$elemMatch", depth + 1)
            elif op in ("$not", "$size"):
                value(arg, f"{path}.{op}", depth + 1)
            elif op == "$exists" and not isinstance(arg, bool):
                problems.append(f"$exists on {path} needs true or false")
            elif op == "$type" and arg not in _JS_TYPES:
                problems.append(f"$type on {path} must be one of {', '.join(sorted(_JS_TYPES))}")
            elif (op in _VERSION_OPS or op in ("$inGroup", "$notInGroup")) and not isinstance(arg, str):
                problems.append(f"{op} on {path} needs a string")
            elif op in _REL_OPS and (
                isinstance(arg, bool)
                or not isinstance(arg, str | int | float)
                or (isinstance(arg, float) and arg != arg)
            ):
                problems.append(f"{op} on {path} needs a number or a string")

    cond(condition, "", 0)
    if not problems and not Condition(condition).valid:
        problems.append("the condition is malformed")
    return problems


def eval_condition(condition: Any, attributes: Attributes, saved_groups: Mapping[str, Any] | None = None) -> bool:
    """Spec ``evalCondition``."""
    return Condition(condition).matches(attributes, saved_groups)


# ---------------------------------------------------------------------------------------------------------------
# Results and options
# ---------------------------------------------------------------------------------------------------------------


class ExperimentResult(NamedTuple):
    """Outcome of running an experiment for one user (spec ``ExperimentResult``).

    Immutable. A named tuple rather than a frozen dataclass: one is built per assignment, and a frozen
    dataclass's ``__init__`` (one ``object.__setattr__`` per field) cost more than the bucketing itself.
    """

    value: JSON
    variation_id: int
    in_experiment: bool
    hash_used: bool
    hash_attribute: str
    hash_value: JSON
    key: str
    feature_id: str | None = None
    bucket: float | None = None
    name: str | None = None
    passthrough: bool = False
    sticky_bucket_used: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "value": copy.deepcopy(self.value),
            "variationId": self.variation_id,
            "inExperiment": self.in_experiment,
            "hashUsed": self.hash_used,
            "hashAttribute": self.hash_attribute,
            "hashValue": self.hash_value,
            "key": self.key,
            "featureId": self.feature_id,
            "stickyBucketUsed": self.sticky_bucket_used,
        }
        if self.bucket is not None:
            d["bucket"] = self.bucket
        if self.name:
            d["name"] = self.name
        if self.passthrough:
            d["passthrough"] = True
        return d


class FeatureResult(NamedTuple):
    """Value of a feature for one user, and why (spec ``FeatureResult``).

    ``source`` is one of unknownFeature, defaultValue, force, experiment, prerequisite, cyclicPrerequisite.
    Immutable (a named tuple, cheap to build); the results of force rules and defaults are built once per
    compiled payload and shared.
    """

    value: JSON
    source: str
    rule_id: str = ""
    experiment: Mapping[str, Any] | None = None
    experiment_result: ExperimentResult | None = None

    @property
    def on(self) -> bool:
        return _js_truthy(self.value)

    @property
    def off(self) -> bool:
        return not _js_truthy(self.value)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "value": copy.deepcopy(self.value),
            "on": self.on,
            "off": self.off,
            "source": self.source,
            "ruleId": self.rule_id,
        }
        if self.experiment is not None:
            d["experiment"] = copy.deepcopy(dict(self.experiment))
        if self.experiment_result is not None:
            d["experimentResult"] = self.experiment_result.to_dict()
        return d


class StickyBucketStore:
    """One user's sticky-bucket assignment documents, keyed ``"<attributeName>||<attributeValue>"``.

    A document is ``{"attributeName", "attributeValue", "assignments": {"<expKey>__<bucketVersion>": "<variation
    key>"}}``. Load the documents for ``FeatureEvaluator.sticky_bucket_keys(attributes)`` before evaluating,
    pass the store in ``EvalOptions``, then persist ``changed`` documents. Mutable: one store per request.
    """

    __slots__ = ("_docs", "changed")

    def __init__(self, docs: Iterable[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]] = ()) -> None:
        self._docs: dict[str, dict[str, Any]] = {}
        self.changed: set[str] = set()
        items = docs.values() if isinstance(docs, Mapping) else docs
        for doc in items:
            try:
                name, value = str(doc["attributeName"]), _js_str(doc["attributeValue"])
                assignments = {str(k): _js_str(v) for k, v in dict(doc.get("assignments") or {}).items()}
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # a corrupt stored doc is ignored rather than breaking evaluation
            self._docs[self.doc_key(name, value)] = {
                "attributeName": name,
                "attributeValue": value,
                "assignments": assignments,
            }

    @staticmethod
    def doc_key(attribute_name: str, attribute_value: Any) -> str:
        return f"{attribute_name}||{_js_str(attribute_value)}"

    def assignments(self, attribute_name: str, attribute_value: Any) -> Mapping[str, str]:
        doc = self._docs.get(self.doc_key(attribute_name, attribute_value))
        return doc["assignments"] if doc else {}

    def save(self, attribute_name: str, attribute_value: Any, assignments: Mapping[str, str]) -> bool:
        """Merge assignments into the attribute's doc; True (and recorded in ``changed``) if anything changed."""
        key = self.doc_key(attribute_name, attribute_value)
        doc = self._docs.get(key)
        if doc is None:
            doc = {"attributeName": attribute_name, "attributeValue": _js_str(attribute_value), "assignments": {}}
        current = doc["assignments"]
        if all(current.get(k) == v for k, v in assignments.items()) and key in self._docs:
            return False
        doc["assignments"] = {**current, **assignments}
        self._docs[key] = doc
        self.changed.add(key)
        return True

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {k: {**d, "assignments": dict(d["assignments"])} for k, d in self._docs.items()}


_EMPTY_FORCED: Final[Mapping[str, int]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class EvalOptions:
    """Per-request inputs besides the attributes.

    url: current page URL (query-string overrides ``?<experiment key>=<index>``, URL targeting).
    forced_variations: experiment key -> variation index (QA / previews).
    qa_mode: no random assignment; only forced variations apply.
    enabled: False turns every experiment off (everyone gets the control / the next rule).
    sticky_buckets: enables sticky bucketing (and fallbackAttribute) when given.
    """

    url: str = ""
    forced_variations: Mapping[str, int] = field(default_factory=lambda: _EMPTY_FORCED)
    qa_mode: bool = False
    enabled: bool = True
    sticky_buckets: StickyBucketStore | None = None


DEFAULT_OPTIONS: Final = EvalOptions()


@dataclass(frozen=True, slots=True)
class UrlRedirect:
    """A redirect chosen by a URL-redirect experiment."""

    url_redirect: str
    url_with_params: str
    experiment_result: ExperimentResult

    def to_dict(self) -> dict[str, Any]:
        return {"inExperiment": True, "urlRedirect": self.url_redirect, "urlWithParams": self.url_with_params}


# ---------------------------------------------------------------------------------------------------------------
# Compiled payload
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Filter:
    attribute: str
    hasher: _Hasher
    ranges: tuple[BucketRange, ...]


@dataclass(frozen=True, slots=True)
class _ParentCondition:
    feature_id: str
    condition: Condition
    gate: bool


@dataclass(frozen=True, slots=True)
class _UrlPattern:
    include: bool
    kind: str
    pattern: str


def _ranges(value: Any) -> tuple[BucketRange, ...]:
    if not isinstance(value, list | tuple):
        raise _Malformed("ranges must be a list")
    out = []
    for r in value:
        if not isinstance(r, list | tuple) or len(r) != 2:
            raise _Malformed("a range is [start, end]")
        out.append((float(r[0]), float(r[1])))
    return tuple(out)


def _filters(value: Any) -> tuple[_Filter, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise _Malformed("filters must be a list")
    return tuple(
        _Filter(
            attribute=str(f.get("attribute") or "id"),
            hasher=_Hasher(_js_str(f.get("seed", "")), f.get("hashVersion") or 2),
            ranges=_ranges(f.get("ranges")),
        )
        for f in value
    )


def _parents(value: Any) -> tuple[_ParentCondition, ...]:
    if not value:
        return ()
    if not isinstance(value, list | tuple):
        raise _Malformed("parentConditions must be a list")
    return tuple(_ParentCondition(str(p["id"]), Condition(p.get("condition", {})), bool(p.get("gate"))) for p in value)


def _optional_condition(value: Any) -> Condition | None:
    # A present-but-empty condition ({}) always passes; skipping it saves a call per evaluation.
    if value is None or (isinstance(value, Mapping) and not value):
        return None
    return Condition(value)


def _namespace(value: Any) -> tuple[str, float, float] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise _Malformed("namespace is [id, start, end]")
    return (_js_str(value[0]), float(value[1]), float(value[2]))


def _url_patterns(value: Any) -> tuple[_UrlPattern, ...]:
    if not value:
        return ()
    return tuple(
        _UrlPattern(
            include=p.get("include", True) is not False, kind=str(p.get("type", "simple")), pattern=p["pattern"]
        )
        for p in value
    )


# Rule fields that become part of the experiment definition reported in FeatureResult.experiment.
_EXPERIMENT_FIELDS: Final = (
    "key",
    "variations",
    "coverage",
    "weights",
    "hashAttribute",
    "fallbackAttribute",
    "disableStickyBucketing",
    "bucketVersion",
    "minBucketVersion",
    "namespace",
    "meta",
    "ranges",
    "name",
    "phase",
    "seed",
    "hashVersion",
    "filters",
    "condition",
)


class Experiment:
    """A compiled experiment (an experiment rule of a feature, or an inline/auto experiment)."""

    __slots__ = (
        "active",
        "bucket_version",
        "condition",
        "disable_sticky",
        "fallback_attribute",
        "filters",
        "force",
        "has_force",
        "hash_attribute",
        "hasher",
        "key",
        "meta",
        "min_bucket_version",
        "namespace",
        "parents",
        "passthroughs",
        "persist_query_string",
        "ranges",
        "spec",
        "status",
        "sticky_key",
        "url_patterns",
        "url_regex",
        "variation_keys",
        "variation_names",
        "variations",
    )

    def __init__(self, definition: Mapping[str, Any], default_key: str | None = None) -> None:
        d = definition
        variations = d.get("variations")
        if not isinstance(variations, list | tuple):
            raise _Malformed("an experiment needs a list of variations")
        self.key = _js_str(d.get("key") or default_key or "")
        self.variations = tuple(variations)
        n = len(self.variations)
        meta = d.get("meta")
        self.meta: tuple[Mapping[str, Any], ...] = tuple(
            m if isinstance(m, Mapping) else {} for m in (meta if isinstance(meta, list | tuple) else ())
        )
        self.variation_keys = tuple(
            _js_str(self.meta[i].get("key")) if i < len(self.meta) and self.meta[i].get("key") else str(i)
            for i in range(n)
        )
        self.variation_names = tuple(
            _js_str(self.meta[i]["name"]) if i < len(self.meta) and self.meta[i].get("name") else None for i in range(n)
        )
        self.passthroughs = tuple(bool(i < len(self.meta) and self.meta[i].get("passthrough")) for i in range(n))
        if d.get("ranges") is not None:
            self.ranges = _ranges(d["ranges"])
        else:
            self.ranges = _bucket_ranges(n, d.get("coverage"), d.get("weights"))
        self.condition = _optional_condition(d.get("condition"))
        self.parents = _parents(d.get("parentConditions"))
        self.filters = _filters(d.get("filters"))
        self.namespace = _namespace(d.get("namespace"))
        self.hash_attribute = _js_str(d.get("hashAttribute") or "id")
        self.fallback_attribute = _js_str(d["fallbackAttribute"]) if d.get("fallbackAttribute") else None
        self.hasher = _Hasher(_js_str(d.get("seed") or self.key), d.get("hashVersion") or 1)
        self.has_force = "force" in d
        self.force = d.get("force")
        self.active = d.get("active", True) is not False
        self.status = d.get("status")
        self.bucket_version = d.get("bucketVersion") or 0
        self.min_bucket_version = d.get("minBucketVersion") or 0
        self.disable_sticky = bool(d.get("disableStickyBucketing"))
        self.sticky_key = f"{self.key}__{_js_str(self.bucket_version)}"
        self.url_patterns = _url_patterns(d.get("urlPatterns"))
        self.url_regex = _js_str(d["url"]) if d.get("url") else None
        self.persist_query_string = bool(d.get("persistQueryString"))
        spec = {k: d[k] for k in _EXPERIMENT_FIELDS if k in d and d[k] is not None}
        spec["key"] = self.key
        self.spec: Mapping[str, Any] = MappingProxyType(spec)

    @classmethod
    def from_dict(cls, definition: Mapping[str, Any]) -> Experiment:
        return cls(definition)


_KIND_FORCE: Final = 1
_KIND_EXPERIMENT: Final = 2
_KIND_SKIP: Final = 0


class _Rule:
    __slots__ = (
        "condition",
        "coverage",
        "experiment",
        "fallback_attribute",
        "filters",
        "force",
        "hash_attribute",
        "hasher",
        "id",
        "kind",
        "parents",
        "range",
        "result",
    )

    def __init__(self, r: Mapping[str, Any], feature_key: str) -> None:
        if not isinstance(r, Mapping):
            raise _Malformed("a rule must be an object")
        self.id = _js_str(r.get("id") or "")
        self.parents = _parents(r.get("parentConditions"))
        self.filters = _filters(r.get("filters"))
        self.condition = _optional_condition(r.get("condition"))
        self.experiment: Experiment | None = None
        self.force = r.get("force")
        self.range: BucketRange | None = None
        self.coverage: float | None = None
        self.hash_attribute = _js_str(r.get("hashAttribute") or "id")
        self.fallback_attribute = _js_str(r["fallbackAttribute"]) if r.get("fallbackAttribute") else None
        self.hasher = _Hasher(_js_str(r.get("seed") or feature_key), r.get("hashVersion") or 1)
        self.result = FeatureResult(self.force, "force", self.id)  # shared by every user the rule forces
        if "force" in r:
            self.kind = _KIND_FORCE
            if r.get("range") is not None:
                self.range = _ranges([r["range"]])[0]
            if r.get("coverage") is not None:
                self.coverage = float(r["coverage"])
        elif r.get("contextualBanditRef") is not None or "contextualVariations" in r:
            # Contextual bandits are not supported: the rule never applies, evaluation falls through.
            self.kind = _KIND_SKIP
        elif isinstance(r.get("variations"), list | tuple):
            self.kind = _KIND_EXPERIMENT
            # The reference builds a rule's experiment from these fields alone: a rule's parentConditions are
            # checked above (once), and fields of inline experiments (active, status, force, url) do not apply.
            self.experiment = Experiment({k: r[k] for k in _EXPERIMENT_FIELDS if k in r}, default_key=feature_key)
        else:
            self.kind = _KIND_SKIP


class _Feature:
    __slots__ = ("default", "default_result", "key", "rules")

    def __init__(self, key: str, f: Any) -> None:
        self.key = key
        self.default = f.get("defaultValue") if isinstance(f, Mapping) else None
        self.default_result = FeatureResult(self.default, "defaultValue")
        rules: list[_Rule] = []
        raw_rules = f.get("rules") if isinstance(f, Mapping) else None
        for i, r in enumerate(raw_rules if isinstance(raw_rules, list | tuple) else ()):
            try:
                rule = _Rule(r, key)
            except (_Malformed, KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
                # Invariant 2: a malformed rule is dropped, the rest of the feature still works.
                _log.warning("flags: feature %r rule %d ignored: %s", key, i, exc)
                continue
            if rule.kind != _KIND_SKIP or rule.parents:
                rules.append(rule)
        self.rules = tuple(rules)


_UNKNOWN: Final = FeatureResult(None, "unknownFeature")
_CYCLIC: Final = FeatureResult(None, "cyclicPrerequisite")
_PREREQUISITE: Final = FeatureResult(None, "prerequisite")
_PARENTS_OK, _PARENTS_SKIP, _PARENTS_GATE, _PARENTS_CYCLE = range(4)


class _Scope:
    """Per-evaluation state: the user, the options and the prerequisite stack (for cycle detection)."""

    __slots__ = ("attrs", "opts", "stack")

    def __init__(self, attrs: Attributes, opts: EvalOptions) -> None:
        self.attrs = attrs
        self.opts = opts
        self.stack: set[str] | None = None


def _resolve_hash(attrs: Attributes, attribute: str, fallback: str | None) -> tuple[str, Any]:
    value = attrs.get(attribute)
    if not _js_truthy(value):
        if fallback:
            fb = attrs.get(fallback)
            if _js_truthy(fb):
                return fallback, fb
        return attribute, ""
    return attribute, value


def _filtered_out(filters: tuple[_Filter, ...], attrs: Attributes) -> bool:
    for f in filters:
        v = attrs.get(f.attribute)
        if not _js_truthy(v):
            return True
        n = f.hasher(_js_str(v))
        if n is None or not any(s <= n < e for s, e in f.ranges):
            return True
    return False


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$", re.IGNORECASE)


def _simple_url_match(url: str, pattern: str) -> bool:
    # "simple" patterns: host (optional, * wildcards), path (leading/trailing slashes ignored), any query
    # parameters the pattern names, and the fragment only if the pattern has one. Scheme is ignored.
    actual = urlsplit(url)
    p = pattern.strip()
    if "://" not in p and not p.startswith("/"):
        p = "https://" + p
    want = urlsplit(p)
    if want.netloc and not _wildcard(want.netloc).match(actual.netloc):
        return False
    if not _wildcard(want.path.strip("/")).match(actual.path.strip("/")):
        return False
    if want.fragment and not _wildcard(want.fragment).match(actual.fragment):
        return False
    have = dict(parse_qsl(actual.query, keep_blank_values=True))
    return all(_wildcard(v).match(have.get(k, "")) for k, v in parse_qsl(want.query, keep_blank_values=True))


def _url_targeted(url: str, patterns: tuple[_UrlPattern, ...]) -> bool:
    if not url:
        return False
    include_seen = False
    included = False
    for p in patterns:
        try:
            hit = re.search(p.pattern, url) is not None if p.kind == "regex" else _simple_url_match(url, p.pattern)
        except (re.error, ValueError, TypeError):
            hit = False
        if not p.include:
            if hit:
                return False  # exclusions win
            continue
        include_seen = True
        included = included or hit
    return included or not include_seen


def _merge_query(redirect: str, original: str) -> str:
    # Redirect-target parameters win; the visitor's other parameters (utm_*, etc.) are carried over.
    r = urlsplit(redirect)
    params = parse_qsl(r.query, keep_blank_values=True)
    present = {k for k, _ in params}
    params += [(k, v) for k, v in parse_qsl(urlsplit(original).query, keep_blank_values=True) if k not in present]
    return urlunsplit((r.scheme, r.netloc, r.path, urlencode(params), r.fragment))


class FeatureEvaluator:
    """A compiled GrowthBook SDK payload. Build once per payload version; share freely between threads.

    payload: ``{"features": {key: {"defaultValue", "rules": [...]}}, "savedGroups": {id: [values]},
    "experiments": [auto experiments, e.g. URL redirects]}``; ``encryptedFeatures`` / ``encryptedSavedGroups``
    are decrypted with ``decryption_key``.
    """

    __slots__ = ("_auto_experiments", "_features", "_groups", "_sticky_attributes")

    def __init__(self, payload: Mapping[str, Any] | None = None, *, decryption_key: str | None = None) -> None:
        payload = payload or {}
        features = payload.get("features")
        saved_groups = payload.get("savedGroups")
        if decryption_key is not None:
            if payload.get("encryptedFeatures"):
                features = _decrypt_json(payload["encryptedFeatures"], decryption_key)
            if payload.get("encryptedSavedGroups"):
                saved_groups = _decrypt_json(payload["encryptedSavedGroups"], decryption_key)
        self._features: dict[str, _Feature] = {}
        if isinstance(features, Mapping):
            for key, f in features.items():
                self._features[str(key)] = _Feature(str(key), f)
        self._groups = _compile_groups(saved_groups)
        autos: list[Experiment] = []
        for i, e in enumerate(payload.get("experiments") or ()):
            try:
                autos.append(Experiment(e))
            except (_Malformed, KeyError, TypeError, ValueError, AttributeError) as exc:
                _log.warning("flags: experiment %d ignored: %s", i, exc)
        self._auto_experiments = tuple(autos)
        sticky: set[str] = set()
        exps = [r.experiment for f in self._features.values() for r in f.rules if r.experiment is not None]
        for exp in exps + autos:
            sticky.add(exp.hash_attribute)
            if exp.fallback_attribute:
                sticky.add(exp.fallback_attribute)
        self._sticky_attributes = frozenset(sticky)

    # -- public API ----------------------------------------------------------------------------------------

    @property
    def feature_keys(self) -> tuple[str, ...]:
        return tuple(self._features)

    @property
    def sticky_bucket_attributes(self) -> frozenset[str]:
        """Attribute names experiments hash on (hashAttribute and fallbackAttribute)."""
        return self._sticky_attributes

    def sticky_bucket_keys(self, attributes: Attributes) -> list[str]:
        """Sticky-bucket doc keys to load for this user before evaluating with a StickyBucketStore."""
        return [
            StickyBucketStore.doc_key(a, attributes[a])
            for a in sorted(self._sticky_attributes)
            if _js_truthy(attributes.get(a))
        ]

    def evaluate(
        self, feature_key: str, attributes: Attributes | None = None, options: EvalOptions = DEFAULT_OPTIONS
    ) -> FeatureResult:
        """Evaluate one feature for one user. Never raises."""
        scope = _Scope(attributes if attributes is not None else {}, options)
        try:
            return self._eval_feature(feature_key, scope)
        except Exception:  # invariant 2: fall back to the default rather than break the caller
            _log.exception("flags: evaluating feature %r failed; returning its default value", feature_key)
            feature = self._features.get(feature_key)
            return feature.default_result if feature else _UNKNOWN

    def evaluate_many(self, feature_key: str, users: Sequence[Attributes]) -> BatchResult:
        """Evaluate one feature for many users at once (vectorised; numpy). Never raises.

        Each user's result equals ``evaluate(feature_key, user)`` with default options.
        """
        return _Batch(self, users).feature(str(feature_key))

    def evaluate_many_features(
        self, feature_keys: Iterable[str], users: Sequence[Attributes]
    ) -> dict[str, BatchResult]:
        """Several features for the same users, sharing the per-batch work (attribute columns, hash inputs)."""
        batch = _Batch(self, users)
        return {str(key): batch.feature(str(key)) for key in feature_keys}

    def evaluate_all(
        self, attributes: Attributes | None = None, options: EvalOptions = DEFAULT_OPTIONS
    ) -> dict[str, FeatureResult]:
        """Every feature for one user (e.g. for remote evaluation)."""
        return {key: self.evaluate(key, attributes, options) for key in self._features}

    def is_on(self, feature_key: str, attributes: Attributes | None = None) -> bool:
        return self.evaluate(feature_key, attributes).on

    def get_value(self, feature_key: str, attributes: Attributes | None = None, default: JSON = None) -> JSON:
        value = self.evaluate(feature_key, attributes).value
        return default if value is None else value

    def run(
        self,
        experiment: Experiment | Mapping[str, Any],
        attributes: Attributes | None = None,
        options: EvalOptions = DEFAULT_OPTIONS,
    ) -> ExperimentResult:
        """Run an inline experiment for one user. Never raises (a malformed experiment yields the control)."""
        try:
            exp = experiment if isinstance(experiment, Experiment) else Experiment(experiment)
        except (_Malformed, KeyError, TypeError, ValueError, AttributeError):
            _log.warning("flags: malformed inline experiment; not running it", exc_info=True)
            variations = experiment.get("variations") if isinstance(experiment, Mapping) else None
            value = variations[0] if isinstance(variations, list | tuple) and variations else None
            return ExperimentResult(value, 0, False, False, "id", "", "0")
        scope = _Scope(attributes if attributes is not None else {}, options)
        try:
            return self._run(exp, scope, None)
        except Exception:
            _log.exception("flags: running experiment %r failed; returning the control", exp.key)
            return self._result(exp, scope, -1, False, None)

    def url_redirect(
        self, attributes: Attributes | None = None, options: EvalOptions = DEFAULT_OPTIONS
    ) -> UrlRedirect | None:
        """The redirect of the first URL-redirect experiment (payload ``experiments``) this visitor gets."""
        scope = _Scope(attributes if attributes is not None else {}, options)
        current = options.url
        for exp in self._auto_experiments:
            if not any(isinstance(v, Mapping) and v.get("urlRedirect") for v in exp.variations):
                continue
            try:
                res = self._run(exp, scope, None)
            except Exception:
                _log.exception("flags: running redirect experiment %r failed", exp.key)
                continue
            target = res.value.get("urlRedirect") if isinstance(res.value, Mapping) else None
            if not res.in_experiment or not target:
                continue
            target = _js_str(target)
            with_params = _merge_query(target, current) if exp.persist_query_string else target
            if with_params == current:
                continue  # never redirect a page to itself
            return UrlRedirect(target, with_params, res)
        return None

    # -- evaluation --------------------------------------------------------------------------------------------

    def _eval_feature(self, key: str, scope: _Scope) -> FeatureResult:
        feature = self._features.get(key)
        if feature is None:
            return _UNKNOWN
        if scope.stack is not None and key in scope.stack:
            return _CYCLIC
        attrs = scope.attrs
        groups = self._groups
        for rule in feature.rules:
            if rule.parents:
                verdict = self._check_parents(rule.parents, key, scope)
                if verdict == _PARENTS_CYCLE:
                    return _CYCLIC
                if verdict == _PARENTS_GATE:
                    return _PREREQUISITE
                if verdict == _PARENTS_SKIP:
                    continue
            if rule.filters is not None and _filtered_out(rule.filters, attrs):
                continue
            if rule.kind == _KIND_FORCE:
                if rule.condition is not None and not rule.condition._match(attrs, groups):
                    continue
                if not self._in_rollout(rule, scope):
                    continue
                return rule.result
            if rule.kind == _KIND_EXPERIMENT:
                exp = rule.experiment
                assert exp is not None
                res = self._run(exp, scope, key)
                if res.in_experiment and not res.passthrough:
                    return FeatureResult(res.value, "experiment", rule.id, exp.spec, res)
        return feature.default_result

    def _check_parents(self, parents: tuple[_ParentCondition, ...], key: str | None, scope: _Scope) -> int:
        if scope.stack is None:
            scope.stack = set()
        pushed = key is not None and key not in scope.stack
        if pushed:
            scope.stack.add(key)  # type: ignore[arg-type]
        try:
            for p in parents:
                parent = self._eval_feature(p.feature_id, scope)
                if parent.source == "cyclicPrerequisite":
                    return _PARENTS_CYCLE
                if not p.condition._match({"value": parent.value}, self._groups):
                    return _PARENTS_GATE if p.gate else _PARENTS_SKIP
            return _PARENTS_OK
        finally:
            if pushed:
                scope.stack.discard(key)  # type: ignore[arg-type]

    def _in_rollout(self, rule: _Rule, scope: _Scope) -> bool:
        if rule.range is None:
            if rule.coverage is None:
                return True
            if rule.coverage == 0:
                return False
        sticky = scope.opts.sticky_buckets is not None
        _, value = _resolve_hash(scope.attrs, rule.hash_attribute, rule.fallback_attribute if sticky else None)
        if not _js_truthy(value):
            return False
        n = rule.hasher(_js_str(value))
        if n is None:
            return False
        if rule.range is not None:
            return rule.range[0] <= n < rule.range[1]
        # Closed at the top, unlike a range: the reference SDK includes n == coverage (so a coverage of k/10000
        # admits bucket k too), and a user must get the same answer from every SDK.
        return n <= rule.coverage  # type: ignore[operator]

    def _result(
        self,
        exp: Experiment,
        scope: _Scope,
        index: int,
        hash_used: bool,
        feature_id: str | None,
        bucket: float | None = None,
        sticky_used: bool = False,
        hashed: tuple[str, Any] | None = None,
    ) -> ExperimentResult:
        in_experiment = True
        if type(index) is not int or not 0 <= index < len(exp.variations):
            index = 0
            in_experiment = False
        if hashed is None:
            sticky = scope.opts.sticky_buckets is not None and not exp.disable_sticky
            hashed = _resolve_hash(scope.attrs, exp.hash_attribute, exp.fallback_attribute if sticky else None)
        if not exp.variations:
            return ExperimentResult(None, 0, False, hash_used, hashed[0], hashed[1], "0", feature_id)
        return ExperimentResult(
            exp.variations[index],
            index,
            in_experiment,
            hash_used,
            hashed[0],
            hashed[1],
            exp.variation_keys[index],
            feature_id,
            bucket,
            exp.variation_names[index],
            exp.passthroughs[index],
            sticky_used,
        )

    def _sticky_variation(self, exp: Experiment, scope: _Scope, store: StickyBucketStore) -> tuple[int, bool]:
        attrs = scope.attrs
        assignments: dict[str, str] = {}
        # The fallback attribute's doc first, so the hash attribute's doc wins on conflicts.
        if exp.fallback_attribute:
            assignments.update(store.assignments(exp.fallback_attribute, attrs.get(exp.fallback_attribute, "")))
        assignments.update(store.assignments(exp.hash_attribute, attrs.get(exp.hash_attribute, "")))
        min_version = exp.min_bucket_version
        if isinstance(min_version, int) and min_version > 0:
            for v in range(min_version):
                if f"{exp.key}__{v}" in assignments:
                    return -1, True  # the user was bucketed in a version that has since been blocked
        variation_key = assignments.get(exp.sticky_key)
        if variation_key is None:
            return -1, False
        try:
            return exp.variation_keys.index(variation_key), False
        except ValueError:
            return -1, False

    def _run(self, exp: Experiment, scope: _Scope, feature_id: str | None) -> ExperimentResult:
        opts = scope.opts
        attrs = scope.attrs
        n_variations = len(exp.variations)
        if n_variations < 2 or not opts.enabled:
            return self._result(exp, scope, -1, False, feature_id)
        if opts.url:
            qs = get_query_string_override(exp.key, opts.url, n_variations)
            if qs is not None:
                return self._result(exp, scope, qs, False, feature_id)
        if opts.forced_variations and exp.key in opts.forced_variations:
            return self._result(exp, scope, opts.forced_variations[exp.key], False, feature_id)
        if exp.status == "draft" or not exp.active:
            return self._result(exp, scope, -1, False, feature_id)
        store = opts.sticky_buckets if not exp.disable_sticky else None
        hashed = _resolve_hash(attrs, exp.hash_attribute, exp.fallback_attribute if store is not None else None)
        if not _js_truthy(hashed[1]):
            return self._result(exp, scope, -1, False, feature_id, hashed=hashed)
        hash_value = _js_str(hashed[1])

        assigned, found_sticky, blocked = -1, False, False
        if store is not None:
            assigned, blocked = self._sticky_variation(exp, scope, store)
            found_sticky = assigned >= 0
        if not found_sticky:
            # Targeting is only checked for users without a sticky bucket: a sticky user keeps their variation
            # even if the targeting changes (that is the point of sticky bucketing).
            if exp.filters is not None:
                if _filtered_out(exp.filters, attrs):
                    return self._result(exp, scope, -1, False, feature_id, hashed=hashed)
            elif exp.namespace is not None:
                ns_id, ns_start, ns_end = exp.namespace
                n_ns = _Hasher("__" + ns_id, 1)(hash_value)
                if n_ns is None or not ns_start <= n_ns < ns_end:
                    return self._result(exp, scope, -1, False, feature_id, hashed=hashed)
            if exp.condition is not None and not exp.condition._match(attrs, self._groups):
                return self._result(exp, scope, -1, False, feature_id, hashed=hashed)
            if exp.parents and self._check_parents(exp.parents, feature_id, scope) != _PARENTS_OK:
                return self._result(exp, scope, -1, False, feature_id, hashed=hashed)
        if exp.url_regex is not None:
            try:
                url_ok = bool(opts.url) and re.search(exp.url_regex, opts.url) is not None
            except re.error:
                url_ok = False
            if not url_ok:
                return self._result(exp, scope, -1, False, feature_id, hashed=hashed)
        if exp.url_patterns and not _url_targeted(opts.url, exp.url_patterns):
            return self._result(exp, scope, -1, False, feature_id, hashed=hashed)

        n = exp.hasher(hash_value)
        if n is None:
            return self._result(exp, scope, -1, False, feature_id, hashed=hashed)
        if not found_sticky:
            assigned = choose_variation(n, exp.ranges)
        if blocked:
            return self._result(exp, scope, -1, False, feature_id, sticky_used=True, hashed=hashed)
        if assigned < 0:
            return self._result(exp, scope, -1, False, feature_id, hashed=hashed)
        if exp.has_force:
            return self._result(exp, scope, exp.force, False, feature_id, hashed=hashed)  # type: ignore[arg-type]
        if opts.qa_mode or exp.status == "stopped":
            return self._result(exp, scope, -1, False, feature_id, hashed=hashed)
        # Built inline (not through _result): this is the path every assigned user takes.
        result = ExperimentResult(
            exp.variations[assigned],
            assigned,
            True,
            True,
            hashed[0],
            hashed[1],
            exp.variation_keys[assigned],
            feature_id,
            n,
            exp.variation_names[assigned],
            exp.passthroughs[assigned],
            found_sticky,
        )
        if store is not None:
            store.save(hashed[0], hash_value, {exp.sticky_key: result.key})
        return result


def __getattr__(name: str) -> Any:
    # The suite's section is called "hash". Binding a module global named ``hash`` would shadow the builtin for
    # this module, and the __hash__ that dataclasses generate looks ``hash`` up in module globals; so the spec
    # name is served lazily (PEP 562) and ``hash_value`` is the real definition.
    if name == "hash":
        return hash_value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def evaluate(
    payload: Mapping[str, Any],
    attributes: Attributes | None,
    feature_key: str,
    options: EvalOptions = DEFAULT_OPTIONS,
) -> FeatureResult:
    """One-shot evaluation. Compiles the payload on every call: hold a FeatureEvaluator on hot paths."""
    return FeatureEvaluator(payload).evaluate(feature_key, attributes, options)


# ---------------------------------------------------------------------------------------------------------------
# Batch evaluation: one compiled payload, many users at once (numpy, imported lazily).
#
# The result for every user is exactly what FeatureEvaluator.evaluate returns with default options (no URL, no
# forced variations, no sticky buckets). Two observations make it fast without changing a single result:
# - a condition's result depends only on the values of the attributes it names, so it is evaluated once per
#   distinct combination of those values (countries, plans, versions: a handful) rather than once per user;
# - FNV-1a is a fold over code units, so it runs column by column over a matrix of every user's id at once in
#   uint32 arithmetic (numpy wraps modulo 2**32, exactly the hash's own arithmetic).
# Features that use what the vectorised path does not cover (rule filters) are evaluated user by user.
# ---------------------------------------------------------------------------------------------------------------


class BatchOutcome(NamedTuple):
    """One distinct result of a batch: the value, why, and (for experiment assignments) the variation."""

    value: JSON
    source: str
    rule_id: str = ""
    variation_id: int | None = None
    experiment_key: str | None = None


class BatchResult:
    """A feature's result for each user of a batch: user ``i`` got ``outcomes[codes[i]]``."""

    __slots__ = ("codes", "outcomes")

    def __init__(self, outcomes: tuple[BatchOutcome, ...], codes: Any) -> None:
        self.outcomes = outcomes
        self.codes = codes  # numpy int32 array, one entry per user

    def __len__(self) -> int:
        return len(self.codes)

    def _column(self, values: list[Any]) -> list[Any]:
        import numpy as np

        table = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            table[i] = v  # item by item: a list value must stay one object, not become a row
        return table[self.codes].tolist()

    def values(self) -> list[JSON]:
        """Each user's value (shared with the compiled payload: treat as read-only)."""
        return self._column([o.value for o in self.outcomes])

    def variation_ids(self) -> list[int | None]:
        """Each user's experiment variation index, or None when no experiment assigned the value."""
        return self._column([o.variation_id for o in self.outcomes])

    def sources(self) -> list[str]:
        return self._column([o.source for o in self.outcomes])

    def outcome(self, index: int) -> BatchOutcome:
        return self.outcomes[int(self.codes[index])]

    def counts(self) -> list[tuple[BatchOutcome, int]]:
        """How many users got each outcome."""
        import numpy as np

        tally = np.bincount(self.codes, minlength=len(self.outcomes)).tolist()
        return [(o, c) for o, c in zip(self.outcomes, tally, strict=True) if c]


_UNKNOWN_OUTCOME: Final = BatchOutcome(None, "unknownFeature")
_CYCLIC_OUTCOME: Final = BatchOutcome(None, "cyclicPrerequisite")
_PREREQUISITE_OUTCOME: Final = BatchOutcome(None, "prerequisite")
_FNV_PRIME: Final = 0x01000193
_POW10: Final = tuple(10**k for k in range(10))


def _factor_key(v: Any) -> Any:
    # Dict key with JS equality classes (see _hkey); objects and arrays by their JSON with the key order kept
    # (conditions compare objects as JSON.stringify does, so {"a":1,"b":2} and {"b":2,"a":1} differ).
    if isinstance(v, bool):
        return (_HKEY_BOOL, v)
    if v is None or isinstance(v, str | int | float):
        return v
    import json

    try:
        return ("json", json.dumps(v, default=str))
    except (TypeError, ValueError):
        return ("id", id(v))


class _HashInput:
    __slots__ = ("lens", "matrix_t", "special", "strings", "truthy")

    def __init__(self, strings: list[str], truthy: Any, lens: Any, matrix_t: Any, special: Any) -> None:
        self.strings = strings
        self.truthy = truthy
        self.lens = lens
        self.matrix_t = matrix_t  # (max length x users) uint32 code points, zero padded
        self.special = special  # rows with characters outside the BMP (UTF-16 surrogates): hashed one by one


class _Batch:
    """Per-batch caches (attribute columns, factorisations, hash inputs, feature results)."""

    def __init__(self, evaluator: FeatureEvaluator, users: Sequence[Any]) -> None:
        import numpy as np

        self.np = np
        self.ev = evaluator
        self.groups = evaluator._groups
        self.all_dicts = set(map(type, users)) <= {dict}  # checked in C; the common case skips the copy below
        self.users = users if self.all_dicts else [u if isinstance(u, Mapping) else {} for u in users]
        self.n = len(self.users)
        self._columns: dict[str, list[Any]] = {}
        self._factors: dict[str, tuple[Any, list[Any]]] = {}
        self._hash_inputs: dict[str, _HashInput] = {}
        self._v1_prefix: dict[str, Any] = {}
        self._memo: dict[tuple[str, frozenset[str]], BatchResult] = {}
        self._masks: dict[str, Any] = {}

    # -- columns -----------------------------------------------------------------------------------------------

    def column(self, attribute: str) -> list[Any]:
        col = self._columns.get(attribute)
        if col is None:
            if self.all_dicts:  # dict.get mapped in C: no method lookup per user
                col = list(map(dict.get, self.users, repeat(attribute, self.n)))
            else:
                col = [u.get(attribute) for u in self.users]
            self._columns[attribute] = col
        return col

    def factor(self, attribute: str) -> tuple[Any, list[Any]]:
        """(codes per user, one representative value per code), codes in order of first appearance."""
        cached = self._factors.get(attribute)
        if cached is not None:
            return cached
        np = self.np
        col = self.column(attribute)
        try:
            # Fast path, all in C: the raw values are the keys and the first occurrence of each is its
            # representative. Valid unless a bool shares a column with numbers (Python equates True and 1, JS does
            # not: the types are read from the whole column, as the keys have already merged false into 0) or a
            # value is unhashable (TypeError).
            reps = list(dict.fromkeys(col))
            types = set(map(type, col))
            if bool in types and (int in types or float in types):
                raise TypeError("bools mixed with numbers")
            index = {k: i for i, k in enumerate(reps)}
            codes = np.fromiter(map(index.__getitem__, col), dtype=np.int64, count=len(col))
        except TypeError:
            keyed: dict[Any, int] = {}
            codes = np.fromiter(
                (keyed.setdefault(_factor_key(v), len(keyed)) for v in col), dtype=np.int64, count=len(col)
            )
            _, first = np.unique(codes, return_index=True)
            reps = [col[i] for i in first.tolist()]
        self._factors[attribute] = (codes, reps)
        return codes, reps

    # -- conditions --------------------------------------------------------------------------------------------

    def condition_mask(self, condition: Condition) -> Any:
        """Whether each user of the batch matches the condition (a bool array over the whole batch).

        Masks are shared by identical conditions (by canonical JSON): payloads repeat conditions, saved groups
        above all. Callers must not modify the returned array.
        """
        try:
            import json

            cache_key = json.dumps(condition.source)  # key order kept: it can change a condition's meaning
        except (TypeError, ValueError):
            return self._condition_mask(condition)
        mask = self._masks.get(cache_key)
        if mask is None:
            mask = self._masks[cache_key] = self._condition_mask(condition)
        return mask

    def _membership_table(self, condition: Condition, reps: list[Any]) -> Any:
        """The common single-attribute shapes (a list membership, a saved group, a string), tested per distinct
        value without the compiled predicate's calls: what matters when the attribute is an id or an email and
        nearly every user has a distinct value. None for any other shape."""
        source = condition.source
        if not isinstance(source, Mapping) or len(source) != 1:
            return None
        ((path, expected),) = source.items()
        path = str(path)
        if path.startswith("$") or "." in path:
            return None
        np = self.np
        if isinstance(expected, str):
            return np.fromiter((_equals_string(r, expected) for r in reps), dtype=bool, count=len(reps))
        if not isinstance(expected, Mapping) or len(expected) != 1:
            return None
        ((op, operand),) = expected.items()
        if op in ("$inGroup", "$notInGroup"):
            members = _group_members(self.groups, _js_str(operand))
            negate = op == "$notInGroup"
            if members is None:
                return np.zeros(len(reps), dtype=bool)
        elif op in ("$in", "$nin") and isinstance(operand, list | tuple):
            members, negate = _ValueSet(operand), op == "$nin"
        else:
            return None
        keys = members.keys
        return np.fromiter(
            (((r in keys) if type(r) is str else _is_in(r, members)) != negate for r in reps),
            dtype=bool,
            count=len(reps),
        )

    def _condition_mask(self, condition: Condition) -> Any:
        np = self.np
        if not condition.valid:
            return np.zeros(self.n, dtype=bool)
        names = condition.attributes
        if not names:
            return np.full(self.n, condition._match({}, self.groups), dtype=bool)
        if len(names) == 1:
            name = names[0]
            codes, reps = self.factor(name)
            table = self._membership_table(condition, reps)
            if table is None:
                table = np.empty(len(reps), dtype=bool)
                for c, rep in enumerate(reps):
                    table[c] = condition._match({name: rep}, self.groups)
            return table[codes]
        factors = [self.factor(name) for name in names]
        cards = [len(reps) for _, reps in factors]
        size = math.prod(cards)
        if size <= max(4096, self.n):
            # Few combinations (the usual case): a dense table indexed by the mixed-radix combined code, filled
            # for the combinations that occur.
            combo = factors[0][0]
            for (codes, _), card in zip(factors[1:], cards[1:], strict=True):
                combo = combo * card + codes
            table = np.zeros(size, dtype=bool)
            for c in np.flatnonzero(np.bincount(combo, minlength=size)).tolist():
                values = {}
                rest = c
                for name, (_, reps), card in reversed(list(zip(names, factors, cards, strict=True))):
                    rest, digit = divmod(rest, card)
                    values[name] = reps[digit]
                table[c] = condition._match(values, self.groups)
            return table[combo]
        # Many combinations (e.g. a condition on the user id): renumber the combinations that occur.
        combo = factors[0][0]
        card = cards[0]
        for (codes, _), width in zip(factors[1:], cards[1:], strict=True):
            if card * width >= 2**62:  # keep the combined code in int64: renumber densely first
                _, combo = np.unique(combo, return_inverse=True)
                combo = combo.reshape(-1)
                card = int(combo.max()) + 1 if combo.size else 1
            combo = combo * width + codes
            card *= width
        _, first, inverse = np.unique(combo, return_index=True, return_inverse=True)
        columns = [self.column(name) for name in names]
        results = np.empty(first.size, dtype=bool)
        for j, row in enumerate(first.tolist()):
            results[j] = condition._match(
                {name: col[row] for name, col in zip(names, columns, strict=True)}, self.groups
            )
        return results[inverse.reshape(-1)]

    # -- hashing -----------------------------------------------------------------------------------------------

    def hash_input(self, attribute: str) -> _HashInput:
        cached = self._hash_inputs.get(attribute)
        if cached is not None:
            return cached
        np = self.np
        col = self.column(attribute)
        all_str = True
        strings: list[str] = []
        append = strings.append
        for v in col:
            if type(v) is str:
                append(v)
            else:
                all_str = False
                append(_js_str(v) if _js_truthy(v) else "")
        lens = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
        truthy = lens > 0 if all_str else np.fromiter(map(_js_truthy, col), dtype=bool, count=len(col))
        width = int(lens.max()) if lens.size else 0
        if width:
            matrix = np.array(strings, dtype=f"<U{width}").view(np.uint32).reshape(len(strings), width)
            special = np.flatnonzero((matrix > 0xFFFF).any(axis=1))
            matrix_t = np.ascontiguousarray(matrix.T)
        else:
            special = np.zeros(0, dtype=np.int64)
            matrix_t = np.zeros((0, len(strings)), dtype=np.uint32)
        hashed = self._hash_inputs[attribute] = _HashInput(strings, truthy, lens, matrix_t, special)
        return hashed

    def _fnv(self, inp: _HashInput, rows: Any, start: Any) -> Any:
        # rows None: every user (contiguous columns, no gather).
        np = self.np
        prime = np.uint32(_FNV_PRIME)
        h = start
        lens = inp.lens if rows is None else inp.lens[rows]
        if not lens.size:
            return h
        shortest = int(lens.min())
        for j in range(int(lens.max())):
            column = inp.matrix_t[j] if rows is None else inp.matrix_t[j, rows]
            step = (h ^ column) * prime
            h = step if j < shortest else np.where(lens > j, step, h)
        return h

    def _v1_state(self, attribute: str) -> Any:
        # v1 hashes value + seed: the value's part of the fold is shared by every v1 hash of this attribute.
        state = self._v1_prefix.get(attribute)
        if state is None:
            np = self.np
            state = self._fnv(self.hash_input(attribute), None, np.full(self.n, _FNV_OFFSET, dtype=np.uint32))
            self._v1_prefix[attribute] = state
        return state

    def hashes(self, hasher: _Hasher, attribute: str, rows: Any) -> Any:
        """The hash in [0, 1) of each given row's attribute value (callers check ``hash_input().truthy``)."""
        np = self.np
        inp = self.hash_input(attribute)
        prime = np.uint32(_FNV_PRIME)
        if hasher.version == 2:
            everyone = rows.size * 2 > self.n  # hashing everyone beats gathering most of the rows column by column
            sel = None if everyone else rows
            size = self.n if everyone else rows.size
            inner = self._fnv(inp, sel, np.full(size, hasher.seed_state, dtype=np.uint32))
            if everyone:
                inner = inner[rows]
            inner = inner.astype(np.int64)
            # Second round over the decimal digits of the first hash, most significant first. A row with d digits
            # skips the first 10 - d of the ten zero-padded positions.
            digits = np.searchsorted(np.array(_POW10[1:], dtype=np.int64), inner, side="right") + 1
            fewest = int(digits.min()) if digits.size else 10
            h = np.full(rows.size, _FNV_OFFSET, dtype=np.uint32)
            for k in range(10):
                digit = ((inner // _POW10[9 - k]) % 10 + 48).astype(np.uint32)
                step = (h ^ digit) * prime
                h = step if k >= 10 - fewest else np.where(digits >= 10 - k, step, h)
            n = (h % 10000).astype(np.float64) / 10000
        elif hasher.version == 1:
            h = self._v1_state(attribute)[rows]
            for c in _utf16_units(hasher.seed):
                h = (h ^ np.uint32(c)) * prime
            n = (h % 1000).astype(np.float64) / 1000
        else:
            return np.full(rows.size, np.nan)  # unknown versions bucket nobody (NaN is in no range)
        if inp.special.size:
            for j in np.flatnonzero(np.isin(rows, inp.special)).tolist():
                value = hasher(inp.strings[int(rows[j])])
                n[j] = np.nan if value is None else value
        return n

    # -- features ----------------------------------------------------------------------------------------------

    def feature(self, key: str, stack: frozenset[str] = frozenset()) -> BatchResult:
        memo_key = (key, stack)
        result = self._memo.get(memo_key)
        if result is None:
            try:
                result = self._feature(key, stack)
            except Exception:  # invariant 2: never raise; the one-by-one path is the reference anyway
                _log.exception("flags: batch evaluation of %r failed; evaluating user by user", key)
                result = self._one_by_one(key)
            self._memo[memo_key] = result
        return result

    def _one_by_one(self, key: str) -> BatchResult:
        np = self.np
        outcomes: list[BatchOutcome] = []
        index: dict[tuple[Any, ...], int] = {}
        codes = np.empty(self.n, dtype=np.int32)
        evaluate = self.ev.evaluate
        for i, user in enumerate(self.users):
            r = evaluate(key, user)
            er = r.experiment_result
            vid = er.variation_id if er is not None else None
            k = (r.source, r.rule_id, vid, id(r.value))
            c = index.get(k)
            if c is None:
                c = index[k] = len(outcomes)
                exp_key = str(r.experiment.get("key")) if r.experiment is not None else None
                outcomes.append(BatchOutcome(r.value, r.source, r.rule_id, vid, exp_key))
            codes[i] = c
        return BatchResult(tuple(outcomes), codes)

    def _parents(self, parents: tuple[_ParentCondition, ...], stack: frozenset[str]) -> Any:
        np = self.np
        verdict = np.full(self.n, _PARENTS_OK, dtype=np.int8)
        undecided = np.ones(self.n, dtype=bool)
        for p in parents:
            parent = self.feature(p.feature_id, stack)
            cyclic = np.array([o.source == "cyclicPrerequisite" for o in parent.outcomes], dtype=bool)
            passes = np.array([p.condition._match({"value": o.value}, self.groups) for o in parent.outcomes], bool)
            cyc = undecided & cyclic[parent.codes]
            verdict[cyc] = _PARENTS_CYCLE
            undecided &= ~cyc
            fail = undecided & ~passes[parent.codes]
            verdict[fail] = _PARENTS_GATE if p.gate else _PARENTS_SKIP
            undecided &= ~fail
        return verdict

    def _feature(self, key: str, stack: frozenset[str]) -> BatchResult:
        np = self.np
        feature = self.ev._features.get(key)
        if feature is None:
            return BatchResult((_UNKNOWN_OUTCOME,), np.zeros(self.n, dtype=np.int32))
        if key in stack:
            return BatchResult((_CYCLIC_OUTCOME,), np.zeros(self.n, dtype=np.int32))
        if any(
            r.filters is not None or (r.experiment is not None and r.experiment.filters is not None)
            for r in feature.rules
        ):
            return self._one_by_one(key)
        outcomes: list[BatchOutcome] = [BatchOutcome(feature.default, "defaultValue")]
        codes = np.zeros(self.n, dtype=np.int32)
        pending = np.ones(self.n, dtype=bool)  # users no rule has decided yet
        inner = stack | {key}

        def settle(where: Any, outcome: BatchOutcome) -> None:
            # ``where``: a bool mask over the batch, or row indices. Those users get this outcome, for good.
            codes[where] = len(outcomes)
            pending[where] = False
            outcomes.append(outcome)

        for rule in feature.rules:
            if not pending.any():
                break
            applies = pending.copy()
            if rule.parents:
                verdict = self._parents(rule.parents, inner)
                for v, outcome in ((_PARENTS_CYCLE, _CYCLIC_OUTCOME), (_PARENTS_GATE, _PREREQUISITE_OUTCOME)):
                    hit = applies & (verdict == v)
                    if hit.any():
                        settle(hit, outcome)
                applies &= verdict == _PARENTS_OK
            if rule.kind == _KIND_FORCE:
                if rule.condition is not None:
                    applies &= self.condition_mask(rule.condition)
                if rule.range is not None or rule.coverage is not None:
                    if rule.range is None and rule.coverage == 0:
                        continue
                    applies &= self.hash_input(rule.hash_attribute).truthy
                    at = np.flatnonzero(applies)
                    n = self.hashes(rule.hasher, rule.hash_attribute, at)
                    if rule.range is not None:
                        inside = (n >= rule.range[0]) & (n < rule.range[1])
                    else:
                        inside = n <= rule.coverage  # closed, as in FeatureEvaluator._in_rollout
                    hit = at[inside]
                    if hit.size:
                        settle(hit, BatchOutcome(rule.force, "force", rule.id))
                elif applies.any():
                    settle(applies, BatchOutcome(rule.force, "force", rule.id))
            elif rule.kind == _KIND_EXPERIMENT:
                assert rule.experiment is not None
                self._experiment(rule.experiment, rule.id, inner, applies, settle)
        return BatchResult(tuple(outcomes), codes)

    def _experiment(
        self,
        exp: Experiment,
        rule_id: str,
        stack: frozenset[str],
        applies: Any,
        settle: Callable[[Any, BatchOutcome], None],
    ) -> None:
        # Mirrors FeatureEvaluator._run with default options; every check only narrows who is in.
        np = self.np
        n_variations = len(exp.variations)
        if n_variations < 2 or exp.status == "draft" or not exp.active:
            return
        if exp.url_regex is not None or exp.url_patterns:
            return  # URL targeting never matches without a URL
        if exp.hasher.version not in (1, 2):
            return
        applies &= self.hash_input(exp.hash_attribute).truthy
        if exp.namespace is not None:
            ns_id, ns_start, ns_end = exp.namespace
            at = np.flatnonzero(applies)
            n_ns = self.hashes(_Hasher("__" + ns_id, 1), exp.hash_attribute, at)
            applies[at] = (n_ns >= ns_start) & (n_ns < ns_end)
        if exp.condition is not None:
            applies &= self.condition_mask(exp.condition)
        if exp.parents:
            applies &= self._parents(exp.parents, stack) == _PARENTS_OK
        at = np.flatnonzero(applies)
        if not at.size:
            return
        n = self.hashes(exp.hasher, exp.hash_attribute, at)
        assigned = np.full(at.size, -1, dtype=np.int64)
        for i in range(len(exp.ranges) - 1, -1, -1):  # backwards, so the first matching range wins
            start, end = exp.ranges[i]
            assigned[(n >= start) & (n < end)] = i
        if exp.has_force:
            index = exp.force
            if type(index) is not int or not 0 <= index < n_variations:
                return
            assigned[assigned >= 0] = index
        elif exp.status == "stopped":
            return
        for i in range(n_variations):
            if exp.passthroughs[i]:
                continue  # in the experiment, but the feature falls through to the next rule
            hit = at[assigned == i]
            if hit.size:
                settle(hit, BatchOutcome(exp.variations[i], "experiment", rule_id, i, exp.key))


def _utf16_units(s: str) -> Sequence[int]:
    if s.isascii():
        return s.encode("ascii")
    data = s.encode("utf-16-le")
    return struct.unpack(f"<{len(data) // 2}H", data)


# ---------------------------------------------------------------------------------------------------------------
# Encryption of SDK payloads: AES-128/192/256-CBC, PKCS#7, "base64(iv).base64(ciphertext)", base64 key.
# ---------------------------------------------------------------------------------------------------------------


class DecryptionError(ValueError):
    """An encrypted payload could not be decrypted (wrong key, corrupt data)."""


def _b64(s: str) -> bytes:
    return base64.b64decode(s.encode("ascii"), validate=True)


def decrypt(encrypted: str, key: str) -> str | None:
    """Spec ``decrypt``: the plaintext, or None if the key or the payload is invalid."""
    try:
        iv_b64, sep, body_b64 = encrypted.partition(".")
        if not sep:
            return None
        iv, body, raw_key = _b64(iv_b64), _b64(body_b64), _b64(key)
        if len(iv) != 16 or len(raw_key) not in (16, 24, 32) or not body or len(body) % 16:
            return None
        # Imported lazily: everything but SDK payload encryption works without the cryptography package.
        from cryptography.hazmat.primitives import padding
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        decryptor = Cipher(algorithms.AES(raw_key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(body) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")
    except (ValueError, TypeError, AttributeError, UnicodeError, binascii.Error):
        return None


def encrypt(plaintext: str, key: str, iv: bytes | None = None) -> str:
    """Encrypt an SDK payload the way :func:`decrypt` (and every GrowthBook SDK) expects. Random IV by default."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = iv if iv is not None else os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_b64(key)), modes.CBC(iv)).encryptor()
    body = encryptor.update(data) + encryptor.finalize()
    return f"{base64.b64encode(iv).decode()}.{base64.b64encode(body).decode()}"


def _decrypt_json(encrypted: str, key: str) -> Any:
    import json

    plain = decrypt(encrypted, key)
    if plain is None:
        raise DecryptionError("could not decrypt the SDK payload (wrong key or corrupt data)")
    try:
        return json.loads(plain)
    except ValueError as exc:
        raise DecryptionError("decrypted SDK payload is not JSON") from exc


# ---------------------------------------------------------------------------------------------------------------
# Conformance-suite entry points (one per section; arguments in the suite's order)
# ---------------------------------------------------------------------------------------------------------------


def _context_options(context: Mapping[str, Any], store: StickyBucketStore | None = None) -> EvalOptions:
    return EvalOptions(
        url=context.get("url") or "",
        forced_variations=context.get("forcedVariations") or _EMPTY_FORCED,
        qa_mode=bool(context.get("qaMode")),
        enabled=context.get("enabled", True) is not False,
        sticky_buckets=store,
    )


def eval_feature(context: Mapping[str, Any], feature_key: str) -> dict[str, Any]:
    """Spec ``feature`` section: the FeatureResult as a dict."""
    evaluator = FeatureEvaluator(context)
    return evaluator.evaluate(feature_key, context.get("attributes") or {}, _context_options(context)).to_dict()


def run(context: Mapping[str, Any], experiment: Mapping[str, Any]) -> tuple[Any, bool, bool]:
    """Spec ``run`` section: (value, inExperiment, hashUsed)."""
    evaluator = FeatureEvaluator(context)
    res = evaluator.run(experiment, context.get("attributes") or {}, _context_options(context))
    return res.value, res.in_experiment, res.hash_used


def sticky_bucket(
    context: Mapping[str, Any], sticky_bucket_assignment_docs: Sequence[Mapping[str, Any]], feature_key: str
) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """Spec ``stickyBucket`` section: (experimentResult or None, assignment docs after evaluation).

    Emulates an SDK's sticky-bucket service: of the stored docs, only those for this user's current values of
    the attributes experiments hash on are loaded (plus any preloaded in ``stickyBucketAssignmentDocs``).
    """
    evaluator = FeatureEvaluator(context)
    attributes = context.get("attributes") or {}
    stored = StickyBucketStore(sticky_bucket_assignment_docs).to_dict()
    wanted = set(evaluator.sticky_bucket_keys(attributes))
    preloaded = context.get("stickyBucketAssignmentDocs") or {}
    store = StickyBucketStore([*preloaded.values(), *(d for k, d in stored.items() if k in wanted)])
    result = evaluator.evaluate(feature_key, attributes, _context_options(context, store))
    exp_result = result.experiment_result.to_dict() if result.experiment_result is not None else None
    return exp_result, store.to_dict()


def url_redirect(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Spec ``urlRedirect`` section: the redirect performed (at most one), as a list."""
    evaluator = FeatureEvaluator(context)
    redirect = evaluator.url_redirect(context.get("attributes") or {}, _context_options(context))
    return [redirect.to_dict()] if redirect is not None else []
