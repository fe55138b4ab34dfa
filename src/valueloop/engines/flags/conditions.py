"""Targeting conditions (GrowthBook's MongoDB-like language), compiled once into closures over
(attributes, saved groups); :func:`condition_problems` is the strict check for authoring tools.

Invariants:

* Evaluation never raises (package invariant 2): a malformed condition, an unknown operator or an invalid regex
  compiles to a predicate that matches nobody; an unexpected error while matching is logged and reads as no match.
* Comparisons follow JavaScript (package invariant 6, through :mod:`.js`); ``$regex`` uses ECMAScript's RegExp
  grammar (``corvus_regex_ecma262``, imported lazily).
* A compiled :class:`Condition` is immutable and reads nothing but the attributes and saved groups it is given;
  its result depends only on the top-level attributes it names (``Condition.attributes``), which batch
  evaluation relies on.
* :func:`condition_problems` accepts exactly the operators the compiler understands (``_VALUE_OPERATORS``).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from .base import Attributes, _Malformed
from .js import _ARRAY_INDEX, _js_cmp, _js_identical, _js_str, _js_str_cmp, _js_truthy, _js_type, _json_same, _to_num

_log = logging.getLogger(__name__)


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
