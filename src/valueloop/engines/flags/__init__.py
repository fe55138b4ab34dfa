"""Feature-flag and experiment evaluation, compatible with GrowthBook's SDK spec (0.8.0).

Pure Python (standard library; ``cryptography`` only for :func:`decrypt` / :func:`encrypt`, numpy only for batch
evaluation, and ``corvus_regex_ecma262`` only for ``$regex`` conditions, all imported lazily). Written from the
public spec, its cross-SDK conformance suite and the semantics of GrowthBook's JS SDK, the reference
implementation; no SDK code was copied.

What this package offers:

* The typed API the application uses: :class:`FeatureEvaluator` compiles a GrowthBook SDK payload
  (``{"features": ..., "savedGroups": ..., "experiments": ...}``) once; :meth:`FeatureEvaluator.evaluate`
  then evaluates one feature for one user and returns a :class:`FeatureResult`. :func:`evaluate` is the
  one-shot convenience. :class:`EvalOptions` carries per-request inputs (URL, forced variations, QA mode,
  sticky-bucket store), :class:`StickyBucketStore` holds a user's sticky-bucket assignment documents.
  :meth:`FeatureEvaluator.evaluate_many` evaluates one feature for many users at once (vectorised, same results
  as ``evaluate`` with default options); :func:`condition_problems` is the strict check for authoring tools.
* The spec's building blocks, taking the conformance suite's arguments in its order and returning plain
  JSON-shaped values: ``eval_condition``, ``hash``, ``get_bucket_range``, ``choose_variation``,
  ``get_query_string_override``, ``in_namespace``, ``get_equal_weights``, ``decrypt``. The suite's whole-SDK
  sections (``feature``, ``run``, ``stickyBucket``, ``urlRedirect``) are thin adapters over
  :class:`FeatureEvaluator` and live beside the tests, in ``engines/tests/flags_conformance.py``.

Invariants (the tests hold us to them; each module states the ones it carries):

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

Modules
-------
Each imports only the ones listed before it (the batch module names :class:`FeatureEvaluator` for type checking
only), so the package has no import cycle:

* :mod:`.base`: the JSON and attribute type aliases and the compile-time ``_Malformed`` error.
* :mod:`.js`: JavaScript value semantics (truthiness, ``String()``, ``Number()``, ``===``, relational order).
* :mod:`.hashing`: FNV-1a hashing, bucket ranges, variation choice, namespaces, query-string overrides.
* :mod:`.conditions`: targeting conditions compiled to closures; :func:`condition_problems`.
* :mod:`.results`: :class:`FeatureResult`, :class:`ExperimentResult`, :class:`EvalOptions`,
  :class:`StickyBucketStore`, :class:`UrlRedirect`.
* :mod:`.payload`: the compiled payload: :class:`Experiment`, rules and features, checked once at compile time.
* :mod:`.crypto`: AES-CBC encryption of SDK payloads.
* :mod:`.batch`: vectorised evaluation of one feature for many users (:class:`BatchResult`).
* :mod:`.evaluator`: :class:`FeatureEvaluator` and :func:`evaluate`, one user at a time.

Everything public is re-exported here, so ``from valueloop.engines.flags import FeatureEvaluator`` is the one
import path; the modules are an implementation detail.
"""

from __future__ import annotations

from typing import Any

from .base import JSON, Attributes, BucketRange
from .batch import BatchOutcome, BatchResult
from .conditions import (
    MAX_CONDITION_DEPTH,
    Condition,
    SavedGroups,
    compile_condition,
    condition_problems,
    eval_condition,
)
from .crypto import DecryptionError, decrypt, encrypt
from .evaluator import FeatureEvaluator, evaluate
from .hashing import (
    choose_variation,
    get_bucket_range,
    get_equal_weights,
    get_query_string_override,
    hash_value,
    in_namespace,
)
from .payload import Experiment
from .results import DEFAULT_OPTIONS, EvalOptions, ExperimentResult, FeatureResult, StickyBucketStore, UrlRedirect

__all__ = [
    "DEFAULT_OPTIONS",
    "JSON",
    "MAX_CONDITION_DEPTH",
    "Attributes",
    "BatchOutcome",
    "BatchResult",
    "BucketRange",
    "Condition",
    "DecryptionError",
    "EvalOptions",
    "Experiment",
    "ExperimentResult",
    "FeatureEvaluator",
    "FeatureResult",
    "SavedGroups",
    "StickyBucketStore",
    "UrlRedirect",
    "choose_variation",
    "compile_condition",
    "condition_problems",
    "decrypt",
    "encrypt",
    "eval_condition",
    "evaluate",
    "get_bucket_range",
    "get_equal_weights",
    "get_query_string_override",
    "hash",
    "hash_value",
    "in_namespace",
]


def __getattr__(name: str) -> Any:
    # The suite's section is called "hash". Binding a global named ``hash`` would shadow the builtin, and the
    # __hash__ that dataclasses generate looks ``hash`` up in its module's globals; so the spec name is served
    # lazily (PEP 562) and ``hash_value`` is the real definition.
    if name == "hash":
        return hash_value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
