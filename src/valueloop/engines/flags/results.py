"""What evaluation returns and takes per request: :class:`FeatureResult`, :class:`ExperimentResult`,
:class:`UrlRedirect`, :class:`EvalOptions` and the :class:`StickyBucketStore`.

Invariants:

* Results and options are immutable (frozen dataclasses and named tuples); values inside them are shared with
  the compiled payload and must be treated as read-only (package invariant 5). ``to_dict`` returns fresh
  JSON-shaped copies in the spec's field names.
* The :class:`StickyBucketStore` is the one mutable object, one per request; it is evaluation's only side
  effect (package invariant 4). A corrupt stored document is ignored rather than breaking evaluation.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from .base import JSON
from .js import _js_str, _js_truthy


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
