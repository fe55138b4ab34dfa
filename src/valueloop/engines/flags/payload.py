"""The compiled SDK payload: experiments, rules and features, checked and normalised once so that evaluation does
no parsing.

Invariants:

* Compiling never raises for a bad part: a malformed rule or experiment raises ``_Malformed`` (or a builtin error)
  here, and :class:`_Feature` / ``FeatureEvaluator`` catch it, log it and drop just that part (package
  invariant 2).
* Compiled objects are never mutated after construction (``__slots__``, no setters), so one compiled payload is
  safe to share between threads (package invariant 3).
* A rule's experiment is built from the rule's experiment fields alone (``_EXPERIMENT_FIELDS``), as the
  reference SDK does; contextual-bandit rules are kept only for their prerequisites and never apply.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from .base import BucketRange, _Malformed
from .conditions import Condition
from .hashing import _bucket_ranges, _Hasher
from .js import _js_str
from .results import FeatureResult

_log = logging.getLogger(__name__)


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


_PARENTS_OK, _PARENTS_SKIP, _PARENTS_GATE, _PARENTS_CYCLE = range(4)
