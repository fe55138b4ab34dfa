""":class:`FeatureEvaluator`: a compiled payload evaluated for one user at a time (features, inline experiments,
URL redirects), plus the one-shot :func:`evaluate`.

Invariants:

* ``evaluate`` never raises (package invariant 2): an unexpected error is logged and the feature's default value
  is returned.
* The evaluator is immutable after ``__init__`` and safe to share between threads (invariant 3); per-request
  state (attributes, :class:`EvalOptions`, the sticky-bucket store) lives in a ``_Scope`` for one call.
* Evaluation never mutates its inputs; it writes only into the :class:`StickyBucketStore` passed in
  (invariant 4).
* A rollout includes ``n <= coverage`` (closed), as the reference SDK does; batch evaluation mirrors this path.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .base import JSON, Attributes, _Malformed
from .batch import BatchResult, _Batch
from .conditions import _compile_groups
from .crypto import _decrypt_json
from .hashing import _Hasher, choose_variation, get_query_string_override
from .js import _js_str, _js_truthy
from .payload import (
    _KIND_EXPERIMENT,
    _KIND_FORCE,
    _PARENTS_CYCLE,
    _PARENTS_GATE,
    _PARENTS_OK,
    _PARENTS_SKIP,
    Experiment,
    _Feature,
    _Filter,
    _ParentCondition,
    _Rule,
    _UrlPattern,
)
from .results import DEFAULT_OPTIONS, EvalOptions, ExperimentResult, FeatureResult, StickyBucketStore, UrlRedirect

_log = logging.getLogger(__name__)


_UNKNOWN: Final = FeatureResult(None, "unknownFeature")
_CYCLIC: Final = FeatureResult(None, "cyclicPrerequisite")
_PREREQUISITE: Final = FeatureResult(None, "prerequisite")


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


def evaluate(
    payload: Mapping[str, Any],
    attributes: Attributes | None,
    feature_key: str,
    options: EvalOptions = DEFAULT_OPTIONS,
) -> FeatureResult:
    """One-shot evaluation. Compiles the payload on every call: hold a FeatureEvaluator on hot paths."""
    return FeatureEvaluator(payload).evaluate(feature_key, attributes, options)
