"""Adapters from the whole-SDK sections of GrowthBook's conformance suite (``feature``, ``run``, ``stickyBucket``,
``urlRedirect``) to :class:`~valueloop.engines.flags.FeatureEvaluator`: one function per section, taking the case's
arguments in the suite's order and returning plain JSON-shaped values.

They exist only for ``test_flags_conformance.py`` (the application uses the evaluator directly), so they live
beside the tests rather than in the engine. Each builds a fresh evaluator from the case's context, as an SDK does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from valueloop.engines.flags import EvalOptions, FeatureEvaluator, StickyBucketStore


def _context_options(context: Mapping[str, Any], store: StickyBucketStore | None = None) -> EvalOptions:
    return EvalOptions(
        url=context.get("url") or "",
        forced_variations=context.get("forcedVariations") or {},
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
