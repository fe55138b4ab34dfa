"""GrowthBook's cross-SDK conformance suite (cases.json, spec 0.8.0) against valueloop.engines.flags.

The suite is not vendored: it is read from ``<repo>/../shared/growthbook/cases.json``. When it is missing the
tests are skipped locally, but fail under CI (env var CI set) so a broken checkout cannot pass silently.
Contextual bandits are not supported by the engine: that section, and feature/run cases that use bandit rules,
are reported as skipped.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from valueloop.engines import flags
from valueloop.engines.tests import flags_conformance as sdk_sections

REPO_ROOT = Path(__file__).resolve().parents[4]  # tests -> engines -> valueloop -> src -> repo
CASES_PATH = REPO_ROOT.parent / "shared" / "growthbook" / "cases.json"
FLOAT_TOLERANCE = 1e-6  # other SDKs compare hashes and bucket ranges to about this precision
BANDITS_UNSUPPORTED = "contextual bandits are not supported"
URL_REDIRECT_SECTION = "urlRedirect"


def _load_cases() -> dict[str, Any] | None:
    try:
        return json.loads(CASES_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


CASES = _load_cases()


def _uses_bandits(context: Any) -> bool:
    if not isinstance(context, dict):
        return False
    if "contextualBandits" in context:
        return True
    for feature in (context.get("features") or {}).values():
        for rule in feature.get("rules") or []:
            if "contextualBanditRef" in rule or "contextualVariations" in rule:
                return True
    return False


def _params() -> list[Any]:
    if CASES is None:
        return [pytest.param(None, None, id="cases.json-missing")]
    params = []
    for section, cases in CASES.items():
        if not isinstance(cases, list):
            continue  # specVersion
        for index, case in enumerate(cases):
            name = case[0] if isinstance(case[0], str) else json.dumps(case[:-1])
            marks = []
            if section == "contextualBandit" or (section in ("feature", "run") and _uses_bandits(case[1])):
                marks.append(pytest.mark.skip(reason=BANDITS_UNSUPPORTED))
            # Names repeat within a section (e.g. "$not - pass"), so the index keeps ids unique and stable.
            params.append(pytest.param(section, case, id=f"{section}[{index}] {name}", marks=marks))
    return params


def _same_kind(actual: Any, expected: Any) -> bool:
    # JSON kinds must match exactly: Python would otherwise accept True == 1 or 0 == False.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected)
    if isinstance(expected, int | float):
        return isinstance(actual, int | float)
    if expected is None:
        return actual is None
    if isinstance(expected, list):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(expected)
            and all(_same_kind(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(_same_kind(actual[k], expected[k]) for k in expected)
        )
    return type(actual) is type(expected)


def _approx(expected: Any) -> Any:
    """Expected value with every float wrapped in pytest.approx, so == tolerates float noise only."""
    if isinstance(expected, float):
        return pytest.approx(expected, abs=FLOAT_TOLERANCE)
    if isinstance(expected, list):
        return [_approx(e) for e in expected]
    if isinstance(expected, dict):
        return {k: _approx(v) for k, v in expected.items()}
    return expected


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _actual_and_expected(section: str, case: list[Any]) -> tuple[Any, Any]:
    if section == "evalCondition":
        _, condition, attributes, expected, *rest = case
        return flags.eval_condition(condition, attributes, rest[0] if rest else None), expected
    if section == "hash":
        seed, value, version, expected = case
        return flags.hash(seed, value, version), expected
    if section == "getBucketRange":
        _, (num_variations, coverage, weights), expected = case
        return flags.get_bucket_range(num_variations, coverage, weights), expected
    if section == "chooseVariation":
        _, n, ranges, expected = case
        return flags.choose_variation(n, ranges), expected
    if section == "getQueryStringOverride":
        _, key, url, num_variations, expected = case
        return flags.get_query_string_override(key, url, num_variations), expected
    if section == "inNamespace":
        _, hash_value, namespace, expected = case
        return flags.in_namespace(hash_value, namespace), expected
    if section == "getEqualWeights":
        num_variations, expected = case
        return flags.get_equal_weights(num_variations), expected
    if section == "decrypt":
        _, encrypted, key, expected = case
        return flags.decrypt(encrypted, key), expected
    if section == "feature":
        _, context, feature_key, expected = case
        return sdk_sections.eval_feature(context, feature_key), expected
    if section == "run":
        _, context, experiment, value, in_experiment, hash_used = case
        return sdk_sections.run(context, experiment), [value, in_experiment, hash_used]
    if section == "stickyBucket":
        _, context, docs, feature_key, expected_result, expected_docs = case
        return sdk_sections.sticky_bucket(context, docs, feature_key), [expected_result, expected_docs]
    if section == URL_REDIRECT_SECTION:
        _, context, expected = case
        return sdk_sections.url_redirect(context), expected
    raise AssertionError(f"unknown conformance section {section!r}: add a spec function for it")


@pytest.mark.parametrize(("section", "case"), _params())
def test_conformance(section: str | None, case: list[Any] | None) -> None:
    if CASES is None:
        message = f"GrowthBook conformance suite not found at {CASES_PATH}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    assert section is not None and case is not None
    actual, expected = _actual_and_expected(section, case)
    actual = _plain(actual)
    assert actual == _approx(expected)
    assert _same_kind(actual, expected), f"JSON types differ: {actual!r} vs {expected!r}"


def test_suite_is_the_expected_version() -> None:
    if CASES is None:
        if os.environ.get("CI"):
            pytest.fail(f"GrowthBook conformance suite not found at {CASES_PATH}")
        pytest.skip(f"GrowthBook conformance suite not found at {CASES_PATH}")
    assert CASES["specVersion"] == "0.8.0"
    assert sum(len(v) for v in CASES.values() if isinstance(v, list)) == 517


def test_float_tolerance_is_tight() -> None:
    # Guard the tolerance itself: the hash cases differ by far more than it, so approx cannot hide a bug.
    assert math.isclose(flags.hash("seed", "a", 2), 0.0505, abs_tol=FLOAT_TOLERANCE)
    assert not math.isclose(flags.hash("seed", "a", 2), 0.0506, abs_tol=FLOAT_TOLERANCE)
