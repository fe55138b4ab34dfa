"""Seeded random GrowthBook payloads and users for the differential test against the JS SDK.

``cases(seed)`` returns a list of ``{"payload", "features", "users"}``: every feature of a payload is evaluated
for every user of it. The shapes are those a GrowthBook SDK payload can hold (force rules, percentage rollouts,
experiments with weights, coverage, namespaces, filters, ranges, hash versions 1 and 2, prerequisites, saved
groups in both formats); the values are chosen where JavaScript and Python disagree unless code takes care:
null and missing attributes, 0/false/""/"null", numbers written as strings, arrays and objects (with key order
that matters to JSON.stringify), version strings, characters outside ASCII and outside the BMP, low-cardinality
columns such as {0, false}, and coverages that fall exactly on a user's bucket. Condition operands are often
taken from the payload's own users, so that equality and identity rules decide real outcomes.
Everything is JSON (lists, dicts, str, int, float, bool, None).
"""

from __future__ import annotations

import random
from typing import Any

from valueloop.engines.flags import hash_value
from valueloop.engines.flags.conditions import _VALUE_OPERATORS

ID_POOL: tuple[Any, ...] = (
    *(f"user-{i}" for i in range(150)),
    7,
    42,
    3.5,
    True,
    "",
    None,
    "ünï-çødé",
    "😀-1",
    [1, 2],
    {"a": 1},
    1e-7,  # hashed as "1e-7" (JavaScript's number format), not "0.0000001"
    2.5e-8,
    1e21,
)
DEVICES: tuple[Any, ...] = (*(f"dev-{i}" for i in range(40)), "", None, 0, 1e-7, 1e21)
# Strings where JavaScript and Python disagree: UTF-16 order (a surrogate pair sorts below U+E000-U+FFFF), regex
# dialects (\d, $, ., named groups), Number() trimming, String() of null and of objects.
TRICKY: tuple[Any, ...] = (
    "😀",
    "a😀",
    "\uffff",
    "\ue000",
    "é",
    "É",
    "z",
    "Z",
    "",
    "10",
    "9",
    "a",
    "A",
    "a\n",
    "3\n",
    "٣",
    "null",
    "[object Object]",
    "\ufeff4",
    "\x1c5",
    " 3 ",
    "(?<x>a)",
)
COMPANIES: tuple[Any, ...] = (*(f"co-{i}" for i in range(12)), "", None)
SCALARS: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    0.5,
    1.5,
    10,
    100,
    1e21,
    1e-7,
    123456789012,
    "",
    "0",
    "1",
    "10",
    "2",
    " 3 ",
    "\ufeff4",
    "\x1c5",
    "null",
    "true",
    "false",
    "a",
    "A",
    "b",
    "abc",
    "ABC",
    "Abc",
    "x y",
    "1.2.3",
    "v1.2.3",
    "1.2.3-beta.1",
    "1.10.0",
    "2.0.0+build",
    "0x1F",
    "1e3",
    ".5",
    "5.",
    "Infinity",
    "NaN",
    "é",
    "É",
    "😀",
    "a😀",
    "\uffff",
    "٣",
    "3\n",
    "line\nbreak",
    "US",
    "us",
    "NL",
    "pro",
    "free",
    "vip",
)
ARRAYS: tuple[Any, ...] = (
    [],
    [1, 2],
    ["a", "b"],
    ["A"],
    [None],
    [0],
    [False],
    [0, None, "a"],
    [[1, 2], 3],
    [{"a": 1}],
    [{"name": "x", "qty": 1}, {"name": "y"}],
    ["1.2.3"],
    [True, 1],
    ["vip", "beta"],
)
OBJECTS: tuple[Any, ...] = (
    {},
    {"a": 1},
    {"a": 1, "b": 2},
    {"b": 2, "a": 1},
    {"1": "x", "a": 1},
    {"a": 1, "1": "x"},
    {"tier": "gold", "size": 10},
    {"a": None},
)
VERSIONS: tuple[Any, ...] = (
    "1.2.3",
    "1.2.10",
    "v1.2.3",
    "1.2.3-beta.1",
    "1.2.3-rc.1",
    "1.2.3+build.5",
    "2.0.0",
    "10.0",
    "1",
    "0",
    "",
    1,
    1.5,
    0,
    True,
    False,
    None,
    "v",
)
# Values where JavaScript's coercions bite (null, "null", 0, false, "", empty array/object).
EDGES: tuple[Any, ...] = (None, "null", 0, False, "", "0", "false", "undefined", [], {}, True, 1, "1", "true")
# Operands of $lt/$gt and friends: numbers, strings that are numbers, strings beyond ASCII and beyond the BMP
# (JavaScript orders strings by UTF-16 units), and values that coerce.
ORDERED: tuple[Any, ...] = (
    *(3, 4, 5, 17.5, 30, 0, -1),
    *("3", "9", "10", "b", "B", "", "1.5", "1,2", "é", "\ue000", "\uffff", "😀", "a😀", "[object"),
)
REGEXES: tuple[str, ...] = (
    "^a",
    "a$",
    "\\d",
    "^\\d+$",
    "[A-Z]",
    "b|c",
    "^$",
    "nul",
    "^null$",
    "nul",
    "^null$",
    "true",
    "^v?1\\.",
    "\\w+@\\w+",
    "é",
    "(?<x>a)",
    "(?P<x>a)",
    "[",
    "\\bUS\\b",
    "^.$",
    "^[^]$",
    "\\s",
    "object",
    ",",
    "^3$",
    "^[0-9]+$",
)
TYPES: tuple[str, ...] = ("string", "number", "boolean", "array", "object", "null", "undefined", "bogus")
PATHS: tuple[str, ...] = (
    "id",
    "deviceId",
    "company",
    "country",
    "plan",
    "age",
    "score",
    "beta",
    "tags",
    "version",
    "email",
    "nickname",
    "org",
    "items",
    "nothing",
    "ghost",
    "org.tier",
    "org.size",
    "org.meta.region",
    "org.flags.0",
    "items.0.name",
    "items.1",
    "tags.length",
    "items.length",
    "tags.0",
    "tags.01",
    "ghost.x",
)
ELEMENT_PATHS: tuple[str, ...] = ("name", "qty", "0", "length", "missing")
ARRAY_PATHS: tuple[str, ...] = ("items", "org.flags", "tags")
# Attributes whose values a payload draws from a small palette of its own: low-cardinality columns such as
# {0, false} or {1, true}, where batch evaluation groups values that Python equates and JavaScript does not.
PALETTES: dict[str, tuple[tuple[Any, ...], ...]] = {
    "beta": ((False, 0), (0, False), (True, 1), (1, True), (0, False, 1, True), (True, False), (None, False, "")),
    "score": ((0.0, False), (1.0, True), (0, 1), (False, 0, None), (-1, 1, True)),
    "country": (("US", "us"), ("", None, "null"), (0, "0", False)),
}
GROUP_IDS: tuple[str, ...] = ("staff", "beta", "vip-list", "broken", "cond-group", "empty", "unknown")
# Every operator the engine knows (the value operators of conditions), and one it does not.
OPERATORS: tuple[str, ...] = (*sorted(_VALUE_OPERATORS), "$bogus")
ARRAY_OPERATORS: tuple[str, ...] = (
    "$elemMatch",
    "$elemMatch",
    "$all",
    "$alli",
    "$alli",
    "$size",
    "$in",
    "$nin",
    "$eq",
    "$ne",
)
STRING_PATHS: tuple[str, ...] = ("nickname", "age")
STRING_OPERATORS: tuple[str, ...] = ("$lt", "$lte", "$gt", "$gte", "$regex", "$regexi", "$eq", "$in")
LOGICAL: tuple[str, ...] = ("$and", "$or", "$nor", "$not")
# Probes: single-operator conditions on the spots where the two languages part ways, one force rule each, added
# to every payload so that each spot is decided for every user rather than now and then. (path, operators,
# operand pool; None: values this payload's users have, objects sometimes with their keys re-ordered.)
PROBES: tuple[tuple[str, tuple[str, ...], tuple[Any, ...] | None], ...] = (
    ("nickname", ("$lt", "$lte", "$gt", "$gte"), ("\uffff", "\ue000", "😀", "a😀", "é", "z", "10", "9", "a")),
    ("nickname", ("$regex", "$regexi"), ("^.$", "^\\d$", "a$", "3$", "^\\w$", "(?<x>a)", "^[^]$", "nul", "É", "Z")),
    ("tags", ("$all", "$alli"), (["a"], ["A"], ["null"], ["1,2"], ["a", "b"], ["0"], ["false"])),
    ("tags", ("$eq", "$ne", "$in", "$nin", ""), None),
    ("org", ("", "", "$eq", "$ne", "$in"), None),
    ("tags", ("$inGroup", "$notInGroup"), GROUP_IDS),
    ("company", ("$inGroup", "$notInGroup"), GROUP_IDS),
    ("items", ("$elemMatch",), ({"$exists": False}, {"$type": "null"}, {"name": None}, {"$eq": 0}, {"qty": 0})),
    ("age", ("$lt", "$lte", "$gt", "$gte", ""), (3, 4, 5, "4", "5", 0)),
    ("version", ("$vlt", "$vgt", "$veq", "$vne"), ("0", "1.0.0", "0.0.0", "1")),
    ("beta", ("$eq", "$ne", "$type", "", "$in"), (False, True, 0, 1, "number", "boolean", [0], [False])),
    ("tags.length", ("", "$gt"), (0, 1, 2)),
    ("ghost", ("", "$regex", "$lt", "$exists"), ("null", 0, "^null$", 1, False, "")),
)
HASH_ATTRIBUTES: tuple[str, ...] = ("id", "id", "id", "deviceId", "company", "age", "beta", "tags", "org", "ghost")


def _get(obj: Any, path: str) -> Any:
    # Where the operand for a dotted path comes from (a plain lookup; the engine's own getter is under test).
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def _reordered(v: Any) -> Any:
    # The same JSON with object keys in reverse order: equal for Python's ==, not for JSON.stringify.
    if isinstance(v, dict):
        return {k: _reordered(v[k]) for k in reversed(list(v))}
    if isinstance(v, list):
        return [_reordered(x) for x in v]
    return v


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.users: list[dict[str, Any]] = []

    # -- values --------------------------------------------------------------------------------------------

    def any_value(self) -> Any:
        rng = self.rng
        return rng.choice(rng.choices((SCALARS, ARRAYS, OBJECTS, VERSIONS, EDGES), weights=(6, 2, 1, 1, 2))[0])

    def typical(self, path: str) -> Any:
        """A value likely to matter for ``path`` (shared by users and condition operands)."""
        rng = self.rng
        name = path.split(".", 1)[0]
        if path.endswith(".length"):
            return rng.choice((0, 1, 2, 3, "2", None))
        if name == "nickname":
            return rng.choice(TRICKY)
        if name == "id":
            return rng.choice(ID_POOL)
        if name == "deviceId":
            return rng.choice(DEVICES)
        if name == "company":
            return rng.choice(COMPANIES)
        if name == "country":
            return rng.choice(("US", "us", "NL", "DE", "FR", "", None))
        if name == "plan":
            return rng.choice(("free", "pro", "enterprise", "Pro", ""))
        if name == "age":
            return rng.choice((rng.randint(0, 90), 3, 4, 5, "30", 17.5, 0, None, "\ufeff4", "\x1c5", "٣", " 3 "))
        if name == "score":
            return rng.choice((rng.random(), 0.0, 1, -2.5, "0.5", None))
        if name == "beta":
            return rng.choice((True, False, 0, 1, "true", "", None, "false"))
        if name == "tags":
            return [self.element("tags") for _ in range(rng.randint(0, 3))]
        if name == "version":
            return rng.choice(VERSIONS)
        if name == "email":
            return rng.choice(("ada@example.com", "ADA@Example.COM", "bob@corp.example", "not-an-email", ""))
        if name == "org":
            if rng.random() < 0.2:
                return rng.choice((None, "org", [1], {}))
            org: dict[str, Any] = {"tier": rng.choice(("gold", "silver")), "size": rng.choice((1, 2))}
            if rng.random() < 0.5:
                org = _reordered(org)  # the same object with its keys the other way round
            if rng.random() < 0.3:
                org["meta"] = {"region": rng.choice(("eu", "us", None))}
            if rng.random() < 0.3:
                org["flags"] = [self.element("org.flags") for _ in range(rng.randint(0, 2))]
            return org
        if name == "items":
            return [self.element("items") for _ in range(rng.randint(0, 3))]
        if name == "nothing":
            return None
        return self.any_value()

    def element(self, path: str) -> Any:
        """An element of the array attribute at ``path``."""
        rng = self.rng
        if path == "items":
            item = {"name": rng.choice(("x", "y", "", "X")), "qty": rng.randint(0, 3)}
            return rng.choice((item, item, None, None, 0, "x", {}))
        if path == "org.flags":
            return rng.choice((True, False, None, None, 0, "on", "ON"))
        return rng.choice(("a", "b", "A", "B", "vip", None, None, 1, "", "null", 0, False, [1, 2], ["A"]))

    def from_users(self, path: str) -> Any:
        """A value of ``path`` that one of this payload's users has, sometimes with its keys re-ordered."""
        value = _get(self.rng.choice(self.users), path) if self.users else None
        return _reordered(value) if isinstance(value, dict) and self.rng.random() < 0.5 else value

    def operand(self, path: str) -> Any:
        roll = self.rng.random()
        if roll < 0.2:
            return self.rng.choice(EDGES)
        if roll < 0.45:
            return self.from_users(path)
        return self.typical(path) if roll < 0.8 else self.any_value()

    def item(self, path: str) -> Any:
        # An item of a $in/$all list: an element for array attributes, else an operand.
        return self.element(path) if path in ARRAY_PATHS and self.rng.random() < 0.6 else self.operand(path)

    # -- conditions ----------------------------------------------------------------------------------------

    def operator(self, op: str, path: str, depth: int) -> Any:
        rng = self.rng
        if op in ("$eq", "$ne"):
            return self.operand(path)
        if op in ("$lt", "$lte", "$gt", "$gte"):
            return rng.choice((rng.choice(ORDERED), self.operand(path)))
        if op == "$exists":
            return rng.choice((True, False, True, False, 1, 0, ""))
        if op in ("$in", "$nin", "$ini", "$nini"):
            if rng.random() < 0.07:
                return self.operand(path)  # not a list: fails both $in and $nin
            return [self.item(path) for _ in range(rng.randint(0, 4))]
        if op in ("$all", "$alli"):
            if rng.random() < 0.07:
                return self.operand(path)
            return [
                self.item(path) if rng.random() < 0.8 else self.value_condition(path, depth + 1)
                for _ in range(rng.randint(0, 2))
            ]
        if op == "$elemMatch":
            if rng.random() < 0.5:
                inner = rng.choice(("$eq", "$ne", "$gt", "$lte", "$in", "$nin", "$exists", "$type", "$regex", "$not"))
                return {inner: self.operator(inner, path, 3)}
            return self.condition(depth + 1, paths=ELEMENT_PATHS)
        if op == "$size":
            return rng.choice((0, 1, 2, "2", {"$gt": 1}, {"$lte": 0}))
        if op == "$type":
            return rng.choice(TYPES)
        if op in ("$regex", "$regexi"):
            return rng.choice(REGEXES) if rng.random() < 0.97 else 5
        if op == "$not":
            return self.value_condition(path, depth + 1)
        if op.startswith("$v"):
            return rng.choice(VERSIONS)
        if op in ("$inGroup", "$notInGroup"):
            return rng.choice(GROUP_IDS)
        return self.operand(path)  # an unknown operator: never matches

    def value_condition(self, path: str, depth: int) -> Any:
        rng = self.rng
        if depth > 3 or rng.random() < 0.3:
            return self.operand(path)
        pool = OPERATORS
        if rng.random() < 0.6:
            pool = ARRAY_OPERATORS if path in ARRAY_PATHS else STRING_OPERATORS if path in STRING_PATHS else pool
        ops = rng.sample(pool, k=rng.choice((1, 1, 1, 2)))
        return {op: self.operator(op, path, depth) for op in ops}

    def condition(self, depth: int = 0, paths: tuple[str, ...] = PATHS) -> dict[str, Any]:
        rng = self.rng
        cond: dict[str, Any] = {}
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            if depth < 3 and rng.random() < 0.18:
                op = rng.choice(LOGICAL)
                if op == "$not":
                    cond[op] = self.condition(depth + 1, paths)
                else:
                    cond[op] = [self.condition(depth + 1, paths) for _ in range(rng.randint(0, 3))]
                continue
            path = rng.choice(paths)
            if paths is PATHS:  # lean on the attributes where coercions and array operators bite
                lean = (path, rng.choice(tuple(PALETTES)), rng.choice(ARRAY_PATHS), rng.choice(STRING_PATHS))
                path = rng.choices(lean, (4, 2, 3, 2))[0]
            cond[path] = self.value_condition(path, depth)
        return cond

    def probe(self) -> dict[str, Any]:
        path, ops, pool = self.rng.choice(PROBES)
        op = self.rng.choice(ops)
        operand = self.rng.choice(pool) if pool is not None else self.from_users(path)
        if op == "$in":
            operand = [operand]
        return {path: {op: operand} if op else operand}

    # -- payload -------------------------------------------------------------------------------------------

    def saved_groups(self) -> dict[str, Any]:
        rng = self.rng
        return {
            "staff": [rng.choice(ID_POOL) for _ in range(30)] + ["ada@example.com"],
            "beta": [True, 1, "x", None, "US", [1, 2]],
            "vip-list": {"type": "list", "values": ["vip", "a", "co-1", "co-2", "user-3"], "attributeKey": "id"},
            "broken": "not a list",
            "cond-group": {"type": "condition", "condition": {"country": "US"}},
            "empty": [],
        }

    def coverage(self, seed: str, attribute: str, version: int) -> Any:
        rng = self.rng
        if rng.random() < 0.35:
            # Exactly some user's bucket: the boundary where n <= coverage and n < coverage disagree.
            value = next((u[attribute] for u in rng.sample(self.users, len(self.users)) if u.get(attribute)), None)
            if value is not None:
                bucket = hash_value(seed, value, version)
                if bucket is not None:
                    return bucket
        return rng.choice((0, 0.25, 0.5, 0.999, 1, 1.2, -0.1, 0.0001))

    def meta(self, n: int) -> list[dict[str, Any]]:
        rng = self.rng
        meta = []
        for i in range(n):
            m: dict[str, Any] = {"key": rng.choice((str(i), f"v{i}", ""))}
            if rng.random() < 0.3:
                m["name"] = f"Variation {i}"
            if rng.random() < 0.12:
                m["passthrough"] = True
            meta.append(m)
        return meta

    def weights(self, n: int) -> list[float]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            raw = [rng.random() + 0.05 for _ in range(n)]
            total = sum(raw)
            return [w / total for w in raw]
        if roll < 0.8:
            return [1 / n] * (n + 1)  # wrong length: equal weights instead
        return [0.9] * n  # wrong sum: equal weights instead

    def filters(self) -> list[dict[str, Any]]:
        rng = self.rng
        return [
            {
                "seed": rng.choice(("f-seed", "other", "")),
                "ranges": [[0, rng.choice((0.3, 0.5, 0.8))]] + ([[0.9, 1]] if rng.random() < 0.4 else []),
                **({"hashVersion": rng.choice((1, 2))} if rng.random() < 0.7 else {}),
                **({"attribute": rng.choice(HASH_ATTRIBUTES)} if rng.random() < 0.5 else {}),
            }
            for _ in range(rng.randint(1, 2))
        ]

    def rule(self, key: str, keys: list[str], index: int) -> dict[str, Any]:
        rng = self.rng
        rule: dict[str, Any] = {}
        if rng.random() < 0.85:
            rule["id"] = rng.choice((f"{key}-r{index}", ""))
        if rng.random() < 0.2:
            rule["parentConditions"] = [
                {
                    "id": rng.choice((*keys, key, "no-such-feature")),
                    "condition": {"value": self.value_condition("value", 1)}
                    if rng.random() < 0.8
                    else {"value": rng.choice((True, {"$exists": True}))},
                    **({"gate": rng.random() < 0.5} if rng.random() < 0.8 else {}),
                }
                for _ in range(rng.randint(1, 2))
            ]
        kind = rng.choices(("force", "rollout", "experiment"), weights=(4, 3, 4))[0]
        if kind != "experiment" and rng.random() < 0.1:
            rule["filters"] = self.filters()
        if rng.random() < (0.7 if kind == "force" else 0.35):
            rule["condition"] = self.condition()
        attribute = rng.choice(HASH_ATTRIBUTES)
        version = rng.choice((1, 2, 2))
        if kind in ("force", "rollout"):
            rule["force"] = self.any_value()
            if kind == "rollout":
                seed = rng.choice((key, "rollout-seed"))
                if seed != key or rng.random() < 0.5:
                    rule["seed"] = seed
                if attribute != "id" or rng.random() < 0.5:
                    rule["hashAttribute"] = attribute
                if version != 1 or rng.random() < 0.5:
                    rule["hashVersion"] = version
                if rng.random() < 0.15:
                    start = rng.choice((0, 0.2, 0.5))
                    rule["range"] = [start, start + rng.choice((0.1, 0.3, 0.5))]
                else:
                    rule["coverage"] = self.coverage(seed, attribute, version)
            return rule
        n = rng.choice((1, 2, 2, 2, 3, 4))
        rule["variations"] = [self.any_value() for _ in range(n)]
        exp_key = rng.choice((key, f"{key}-exp", None))
        if exp_key is not None:
            rule["key"] = exp_key
        seed = rng.choice((exp_key or key, "exp-seed"))
        if seed != (exp_key or key) or rng.random() < 0.3:
            rule["seed"] = seed
        if attribute != "id" or rng.random() < 0.3:
            rule["hashAttribute"] = attribute
        if rng.random() < 0.15:
            rule["fallbackAttribute"] = "deviceId"  # ignored without sticky bucketing, by both SDKs
        if version != 1 or rng.random() < 0.3:
            rule["hashVersion"] = version if rng.random() < 0.95 else 3
        if rng.random() < 0.5:
            rule["weights"] = self.weights(n)
        if rng.random() < 0.5:
            rule["coverage"] = self.coverage(seed, attribute, version)
        if rng.random() < 0.2:
            rule["namespace"] = [rng.choice(("ns-a", "ns-b")), 0, rng.choice((0.3, 0.5, 1))]
        if rng.random() < 0.12:
            rule["filters"] = self.filters()
        if rng.random() < 0.1:
            step = 1 / n
            rule["ranges"] = [[i * step, i * step + step * rng.choice((0.5, 1))] for i in range(n)]
        if rng.random() < 0.6:
            rule["meta"] = self.meta(n)
        if rng.random() < 0.2:
            rule["name"] = f"{key} test"
        if rng.random() < 0.2:
            rule["phase"] = "1"
        if rng.random() < 0.1:
            rule["bucketVersion"] = rng.choice((0, 1, 2))
        if rng.random() < 0.05:
            # Fields of inline experiments, not of rules: the reference ignores them on a rule.
            rule[rng.choice(("active", "status"))] = rng.choice((False, "draft", "stopped"))
        return rule

    def user(self, palettes: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
        rng = self.rng
        user: dict[str, Any] = {}
        for name in PATHS:
            if "." in name or name == "ghost":
                continue
            roll = rng.random()
            if roll < 0.12:
                continue  # missing
            if name in palettes:
                user[name] = rng.choice(palettes[name])
            else:
                user[name] = self.any_value() if roll < 0.2 else self.typical(name)
        return user

    def case(self, features: int, probes: int, users: int) -> dict[str, Any]:
        rng = self.rng
        palettes = {name: rng.choice(choices) for name, choices in PALETTES.items() if rng.random() < 0.6}
        self.users = [self.user(palettes) for _ in range(users)]
        keys = [f"f{i}" for i in range(features)]
        feature_defs: dict[str, Any] = {}
        for key in keys:
            feature: dict[str, Any] = {}
            if rng.random() < 0.92:
                feature["defaultValue"] = self.any_value()
            feature["rules"] = [self.rule(key, keys, i) for i in range(rng.choice((0, 1, 2, 2, 3, 4)))]
            feature_defs[key] = feature
        for i in range(probes):
            rule = {"id": f"probe{i}", "force": True, "condition": self.probe()}
            feature_defs[f"probe{i}"] = {"defaultValue": False, "rules": [rule]}
        payload = {"features": feature_defs, "savedGroups": self.saved_groups()}
        return {"payload": payload, "features": [*feature_defs, "no-such-feature"], "users": self.users}


def cases(seed: int, payloads: int = 48, features: int = 12, probes: int = 5, users: int = 80) -> list[dict[str, Any]]:
    """``payloads`` random payloads, each with ``features`` random features, ``probes`` probe features and
    ``users`` random users."""
    generator = _Generator(random.Random(seed))
    return [generator.case(features, probes, users) for _ in range(payloads)]
