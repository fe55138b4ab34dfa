"""Batch evaluation: one compiled payload, many users at once (numpy, imported lazily).

The result for every user is exactly what ``FeatureEvaluator.evaluate`` returns with default options (no URL, no
forced variations, no sticky buckets). Two observations make it fast without changing a single result:

* a condition's result depends only on the values of the attributes it names, so it is evaluated once per
  distinct combination of those values (countries, plans, versions: a handful) rather than once per user;
* FNV-1a is a fold over code units, so it runs column by column over a matrix of every user's id at once in
  uint32 arithmetic (numpy wraps modulo 2**32, exactly the hash's own arithmetic).

Features that use what the vectorised path does not cover (rule filters) are evaluated user by user.

Invariants:

* ``BatchResult`` user ``i`` equals ``evaluate(feature_key, users[i])`` (package invariant 6, checked against
  the JS SDK by the differential test, one by one and in batch).
* Never raises: a batch that fails is logged and re-evaluated user by user.
* A ``_Batch`` holds caches for one call only; the evaluator it reads is never modified.
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Callable, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from .base import JSON
from .conditions import _HKEY_BOOL, Condition, _equals_string, _group_members, _is_in, _ValueSet
from .hashing import _FNV_OFFSET, _Hasher
from .js import _js_str, _js_truthy
from .payload import (
    _KIND_EXPERIMENT,
    _KIND_FORCE,
    _PARENTS_CYCLE,
    _PARENTS_GATE,
    _PARENTS_OK,
    _PARENTS_SKIP,
    Experiment,
    _ParentCondition,
)

if TYPE_CHECKING:
    from .evaluator import FeatureEvaluator

_log = logging.getLogger(__name__)


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
