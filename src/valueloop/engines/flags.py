"""Feature-flag and experiment evaluation, compatible with GrowthBook's SDK spec (0.8.0).

Pure Python (standard library; ``cryptography`` only for :func:`decrypt` / :func:`encrypt`, imported lazily).
Written from the public spec and its cross-SDK conformance suite; no SDK code was copied.

Two layers live here:

* The typed API the application uses: :class:`FeatureEvaluator` compiles a GrowthBook SDK payload
  (``{"features": ..., "savedGroups": ..., "experiments": ...}``) once; :meth:`FeatureEvaluator.evaluate`
  then evaluates one feature for one user and returns a :class:`FeatureResult`. :func:`evaluate` is the
  one-shot convenience. :class:`EvalOptions` carries per-request inputs (URL, forced variations, QA mode,
  sticky-bucket store), :class:`StickyBucketStore` holds a user's sticky-bucket assignment documents.
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

Unsupported on purpose: contextual bandits (rules with ``contextualBanditRef`` are skipped), browser-only
features (visual editor changes, tracking callbacks; the caller tracks ``FeatureResult.experiment_result``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import logging
import math
import os
import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
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
    if 1e-7 <= abs(v) < 1e21:  # JS only switches to exponent notation outside this range
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


_JS_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
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
        s = v.strip()
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


def _strict_eq(a: Any, b: Any) -> bool:
    """JSON deep equality without Python's True == 1 coercion."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, str) or isinstance(b, str) or a is None or b is None:
        return a == b if type(a) is type(b) else False
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_strict_eq(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_strict_eq(a[k], b[k]) for k in a)
    return False


def _js_cmp(a: Any, b: Any) -> int | None:
    """Relational comparison with JS coercion: -1/0/1, or None when incomparable (NaN)."""
    if type(a) is str and type(b) is str:
        return (a > b) - (a < b)
    x, y = _to_num(a), _to_num(b)
    if x != x or y != y:
        return None
    return (x > y) - (x < y)


# ---------------------------------------------------------------------------------------------------------------
# Hashing and bucketing
# ---------------------------------------------------------------------------------------------------------------

_FNV_OFFSET: Final = 0x811C9DC5


def _fnv_step(h: int, c: int) -> int:
    # Literal constants (not globals): this is the innermost loop of every bucketing decision.
    return ((h ^ c) * 0x01000193) & 0xFFFFFFFF


def _fnv1a32(s: str, h: int = _FNV_OFFSET) -> int:
    # The reference hashes UTF-16 code units (charCodeAt); for ASCII those are just the bytes.
    if s.isascii():
        return reduce(_fnv_step, s.encode("ascii"), h)
    data = s.encode("utf-16-le")
    return reduce(_fnv_step, struct.unpack(f"<{len(data) // 2}H", data), h)


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
            return (reduce(_fnv_step, str(inner).encode("ascii"), _FNV_OFFSET) % 10000) / 10000
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
    if isinstance(v, bool):
        return (_HKEY_BOOL, v)
    if v is None or isinstance(v, str | int | float):
        return v
    return _UNHASHABLE


class _ValueSet:
    """Membership test for $in / saved groups: O(1) for scalars, deep equality for the rare object member."""

    __slots__ = ("keys", "others")

    def __init__(self, values: Iterable[Any], lower: bool = False) -> None:
        keys: set[Any] = set()
        others: list[Any] = []
        for v in values:
            if lower and isinstance(v, str):
                v = v.lower()
            k = _hkey(v)
            if k is _UNHASHABLE:
                others.append(v)
            else:
                keys.add(k)
        self.keys = frozenset(keys)
        self.others = tuple(others)

    def contains(self, v: Any) -> bool:
        k = _hkey(v)
        if k is not _UNHASHABLE:
            return k in self.keys
        return any(_strict_eq(v, o) for o in self.others)


SavedGroups = Mapping[str, _ValueSet]
_Pred = Callable[[Any, SavedGroups], bool]
_EMPTY_GROUPS: Final[Mapping[str, _ValueSet]] = MappingProxyType({})


def _compile_groups(saved_groups: Mapping[str, Any] | None) -> Mapping[str, _ValueSet]:
    if not saved_groups or not isinstance(saved_groups, Mapping):
        return _EMPTY_GROUPS
    return {str(k): _ValueSet(v) for k, v in saved_groups.items() if isinstance(v, list | tuple)}


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


def _path_getter(path: str) -> Callable[[Any], Any]:
    # A missing path reads as null, as in the reference (so {"x": null} matches a missing x).
    if "." not in path:

        def get_flat(obj: Any) -> Any:
            if isinstance(obj, Mapping):
                return obj.get(path)
            return None

        return get_flat
    parts = tuple(path.split("."))

    def get_nested(obj: Any) -> Any:
        cur = obj
        for part in parts:
            if isinstance(cur, Mapping):
                if part not in cur:
                    return None
                cur = cur[part]
            elif isinstance(cur, list | tuple) and part.isdigit() and int(part) < len(cur):
                cur = cur[int(part)]
            else:
                return None
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
            getter = _path_getter(str(key))
            vp = _compile_value(val)
            preds.append(lambda a, g, getter=getter, vp=vp: vp(getter(a), g))
    return _all_of(preds)


def _is_operator_object(v: Any) -> bool:
    return isinstance(v, Mapping) and len(v) > 0 and all(isinstance(k, str) and k.startswith("$") for k in v)


def _compile_value(cv: Any) -> _Pred:
    """Condition value -> predicate over one attribute value."""
    if isinstance(cv, str):
        # JS: String(value) === condition. A missing/null attribute never equals a string here: the reference
        # would compare "null", which no rule author means.
        return lambda v, g: v == cv if type(v) is str else (v is not None and _js_str(v) == cv)
    if isinstance(cv, bool):
        return lambda v, g: v is not None and _js_truthy(v) is cv
    if isinstance(cv, int | float):
        return lambda v, g: v is not None and _to_num(v) == cv
    if cv is None:
        return lambda v, g: v is None
    if isinstance(cv, list | tuple) or not _is_operator_object(cv):
        return lambda v, g: _strict_eq(v, cv)
    return _all_of([_compile_operator(op, expected) for op, expected in cv.items()])


def _padded_version(v: str) -> str:
    # Semver-ish ordering by string comparison: drop a leading "v" and build metadata, split on . and -,
    # mark releases with "~" (sorts after any pre-release tag) and left-pad numeric parts so " 9" < "10".
    parts = re.split(r"[-.]", re.sub(r"(^v|\+.*$)", "", v))
    if len(parts) == 3:
        parts.append("~")
    return "-".join(p.rjust(5) if re.fullmatch(r"[0-9]+", p) else p for p in parts)


_VERSION_OPS: Final = {
    "$veq": lambda c: c == 0,
    "$vne": lambda c: c != 0,
    "$vgt": lambda c: c > 0,
    "$vgte": lambda c: c >= 0,
    "$vlt": lambda c: c < 0,
    "$vlte": lambda c: c <= 0,
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


def _compile_operator(op: str, expected: Any) -> _Pred:
    if op in _REL_OPS:
        test = _REL_OPS[op]

        def rel(v: Any, g: SavedGroups) -> bool:
            c = _js_cmp(v, expected)
            return c is not None and test(c)

        return rel
    if op == "$eq":
        return lambda v, g: _strict_eq(v, expected)
    if op == "$ne":
        return lambda v, g: not _strict_eq(v, expected)
    if op in ("$regex", "$regexi"):
        try:
            rx = re.compile(expected, re.IGNORECASE if op == "$regexi" else 0)
        except (re.error, TypeError, ValueError, RecursionError):
            return _false  # an invalid pattern matches nothing (and never raises)
        return lambda v, g: v is not None and rx.search(v if type(v) is str else _js_str(v)) is not None
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
        return lambda v, g: _is_in(v, values) != negate
    if op in ("$all", "$alli"):
        if not isinstance(expected, list | tuple):
            return _false
        if op == "$alli":
            wanted = [_compile_value(_lower(e)) for e in expected]

            def all_ci(v: Any, g: SavedGroups) -> bool:
                if not isinstance(v, list | tuple):
                    return False
                lowered = [_lower(x) for x in v]
                return all(any(w(x, g) for x in lowered) for w in wanted)

            return all_ci
        wanted = [_compile_value(e) for e in expected]

        def all_cs(v: Any, g: SavedGroups) -> bool:
            if not isinstance(v, list | tuple):
                return False
            return all(any(w(x, g) for x in v) for w in wanted)

        return all_cs
    if op == "$elemMatch":
        sub = _compile_value(expected) if _is_operator_object(expected) else _compile_condition(expected)
        return lambda v, g: isinstance(v, list | tuple) and any(sub(x, g) for x in v)
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
        want = _padded_version(_js_str(expected))

        def version(v: Any, g: SavedGroups) -> bool:
            if v is None:
                return False
            have = _padded_version(_js_str(v))
            return vtest((have > want) - (have < want))

        return version
    if op in ("$inGroup", "$notInGroup"):
        group_id = _js_str(expected)
        negate = op == "$notInGroup"

        def in_group(v: Any, g: SavedGroups) -> bool:
            members = g.get(group_id)
            return (members is not None and _is_in(v, members)) != negate

        return in_group
    return _false  # unknown operator: the spec says it fails (and we never raise)


class Condition:
    """A compiled targeting condition. ``matches`` never raises: bad input evaluates to False."""

    __slots__ = ("_pred", "source", "valid")

    def __init__(self, condition: Any) -> None:
        self.source = condition
        try:
            self._pred: _Pred = _compile_condition(condition)
            self.valid = True
        except (_Malformed, TypeError, ValueError, RecursionError):
            self._pred = _false
            self.valid = False

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


def eval_condition(condition: Any, attributes: Attributes, saved_groups: Mapping[str, Any] | None = None) -> bool:
    """Spec ``evalCondition``."""
    return Condition(condition).matches(attributes, saved_groups)


# ---------------------------------------------------------------------------------------------------------------
# Results and options
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    """Outcome of running an experiment for one user (spec ``ExperimentResult``)."""

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


@dataclass(frozen=True, slots=True)
class FeatureResult:
    """Value of a feature for one user, and why (spec ``FeatureResult``).

    ``source`` is one of unknownFeature, defaultValue, force, experiment, prerequisite, cyclicPrerequisite.
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
            self.experiment = Experiment(r, default_key=feature_key)
        else:
            self.kind = _KIND_SKIP


class _Feature:
    __slots__ = ("default", "key", "rules")

    def __init__(self, key: str, f: Any) -> None:
        self.key = key
        self.default = f.get("defaultValue") if isinstance(f, Mapping) else None
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
            return FeatureResult(feature.default, "defaultValue") if feature else _UNKNOWN

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
                return FeatureResult(rule.force, "force", rule.id)
            if rule.kind == _KIND_EXPERIMENT:
                exp = rule.experiment
                assert exp is not None
                res = self._run(exp, scope, key)
                if res.in_experiment and not res.passthrough:
                    return FeatureResult(res.value, "experiment", rule.id, exp.spec, res)
        return FeatureResult(feature.default, "defaultValue")

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
        result = self._result(exp, scope, assigned, True, feature_id, bucket=n, sticky_used=found_sticky, hashed=hashed)
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
