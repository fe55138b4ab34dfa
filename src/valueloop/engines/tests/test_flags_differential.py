"""Differential test: valueloop.engines.flags against GrowthBook's JS SDK, the reference implementation.

Seeded random payloads and users (``flags_random``) are written once as JSON; ONE node process evaluates every
(payload, user, feature) with the JS SDK pinned in ``tests/oracles/js`` (``make oracles`` installs it); Python
evaluates the same JSON one by one (``FeatureEvaluator.evaluate``) and in batch (``evaluate_many_features``).
Value (JSON type included), source, rule id and the experiment assignment (variation, inExperiment, hashUsed,
bucket, variation key, hash attribute and value) must agree for every evaluation.

Without the oracle (no node, or node_modules not installed) the tests skip locally and fail under CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from valueloop.engines.flags import FeatureEvaluator, FeatureResult
from valueloop.engines.tests import flags_random

REPO_ROOT = Path(__file__).resolve().parents[4]
ORACLE_DIR = REPO_ROOT / "tests" / "oracles" / "js"
ORACLE_SCRIPT = ORACLE_DIR / "evaluate.mjs"
SEED = 20260507
MIN_EVALUATIONS = 50_000
NODE_TIMEOUT_S = 300


def _pinned_sdk_version() -> str:
    lock = json.loads((ORACLE_DIR / "package-lock.json").read_text(encoding="utf-8"))
    return lock["packages"]["node_modules/@growthbook/growthbook"]["version"]


def _oracle_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed: the JS SDK oracle cannot run (install Node.js, then `make oracles`)"
    if not (ORACLE_DIR / "node_modules" / "@growthbook" / "growthbook" / "package.json").is_file():
        return f"the JS SDK oracle is not installed in {ORACLE_DIR}: run `make oracles`"
    return None


def _require_oracle() -> None:
    reason = _oracle_missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _canon(v: Any) -> Any:
    """A JSON value in a form where == is JSON equality with the JSON types kept (Python has True == 1)."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return (type(v).__name__, v)
    if isinstance(v, int | float):
        return ("number", float(v))
    if isinstance(v, list | tuple):
        return ("array", [_canon(x) for x in v])
    if isinstance(v, dict):
        # Sorted: JavaScript re-orders integer-like keys when it parses the payload; the value is the same.
        return ("object", sorted((k, _canon(x)) for k, x in v.items()))
    return ("unknown", repr(v))


def _python_result(r: FeatureResult) -> list[Any]:
    exp = None
    er = r.experiment_result
    if er is not None:
        exp = {
            "variationId": er.variation_id,
            "inExperiment": er.in_experiment,
            "hashUsed": er.hash_used,
            "bucket": er.bucket,
            "key": er.key,
            "hashAttribute": er.hash_attribute,
            "hashValue": er.hash_value,
            "name": er.name,
            "passthrough": er.passthrough,
            "stickyBucketUsed": er.sticky_bucket_used,
            "experimentKey": r.experiment.get("key") if r.experiment is not None else None,
        }
    return [r.value, r.source, r.rule_id, exp]


def _batch_view(result: list[Any]) -> list[Any]:
    """What batch evaluation reports of a result: value, source, rule id, variation and experiment key."""
    value, source, rule_id, exp = result
    if exp is None:
        return [value, source, rule_id, None, None]
    return [value, source, rule_id, exp["variationId"], exp["experimentKey"]]


def _referenced_features(payload: dict[str, Any], key: str) -> dict[str, Any]:
    # The feature and, transitively, its prerequisites: the smallest payload that reproduces a difference.
    features = payload["features"]
    out: dict[str, Any] = {}
    todo = [key]
    while todo:
        k = todo.pop()
        if k in out or k not in features:
            continue
        out[k] = features[k]
        for rule in features[k].get("rules") or []:
            todo.extend(p["id"] for p in rule.get("parentConditions") or [])
    return out


@dataclass
class Difference:
    case: int
    user: int
    feature: str
    js: Any
    python: Any

    def report(self, cases: list[dict[str, Any]], how: str) -> str:
        payload = cases[self.case]["payload"]
        minimal = {
            "features": _referenced_features(payload, self.feature),
            "savedGroups": payload.get("savedGroups", {}),
        }
        return "\n".join(
            [
                f"{how}: case {self.case}, user {self.user}, feature {self.feature!r}",
                f"payload: {json.dumps(minimal, ensure_ascii=False)}",
                f"attributes: {json.dumps(cases[self.case]['users'][self.user], ensure_ascii=False)}",
                f"JS SDK:  {json.dumps(self.js, ensure_ascii=False)}",
                f"Python:  {json.dumps(self.python, ensure_ascii=False, default=repr)}",
            ]
        )


@dataclass
class Run:
    cases: list[dict[str, Any]]
    sdk_version: str
    js: list[Any]  # [case][user][feature] = [value, source, ruleId, assignment or None]
    one_by_one: list[Any]
    batch: list[Any]  # [case][user][feature] = [value, source, ruleId, variationId, experimentKey]

    @property
    def evaluations(self) -> int:
        return sum(len(c["users"]) * len(c["features"]) for c in self.cases)

    def differences(self, ours: list[Any], view: Any) -> list[Difference]:
        found = []
        for c, case in enumerate(self.cases):
            for u in range(len(case["users"])):
                for f, key in enumerate(case["features"]):
                    js, py = view(self.js[c][u][f]), ours[c][u][f]
                    if _canon(js) != _canon(py):
                        found.append(Difference(c, u, key, js, py))
        return found


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    _require_oracle()
    cases = flags_random.cases(SEED)
    folder = tmp_path_factory.mktemp("flags-differential")
    cases_path, results_path = folder / "cases.json", folder / "results.json"
    cases_path.write_text(json.dumps({"cases": cases}, ensure_ascii=False), encoding="utf-8")
    # Python evaluates exactly what node reads (the JSON round trip turns tuples into lists, and so on).
    cases = json.loads(cases_path.read_text(encoding="utf-8"))["cases"]
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, str(ORACLE_SCRIPT), str(cases_path), str(results_path)],
        cwd=ORACLE_DIR,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"the JS SDK oracle failed:\n{done.stderr}"
    oracle = json.loads(results_path.read_text(encoding="utf-8"))
    one_by_one, batch = [], []
    for case in cases:
        evaluator = FeatureEvaluator(case["payload"])
        keys, users = case["features"], case["users"]
        one_by_one.append([[_python_result(evaluator.evaluate(k, user)) for k in keys] for user in users])
        columns = evaluator.evaluate_many_features(keys, users)
        rows = []
        for i in range(len(users)):
            row = []
            for k in keys:
                o = columns[k].outcome(i)
                row.append([o.value, o.source, o.rule_id, o.variation_id, o.experiment_key])
            rows.append(row)
        batch.append(rows)
    return Run(cases, oracle["sdkVersion"], oracle["results"], one_by_one, batch)


def _assert_none(differences: list[Difference], run: Run, how: str) -> None:
    if differences:
        tally = Counter(d.feature for d in differences)
        pytest.fail(
            f"{len(differences)} of {run.evaluations} evaluations differ from GrowthBook's JS SDK {run.sdk_version} "
            f"({how}; per feature key: {dict(tally)}). The first one:\n" + differences[0].report(run.cases, how)
        )


def test_evaluate__matches_the_js_sdk_one_by_one(run: Run) -> None:
    _assert_none(run.differences(run.one_by_one, lambda r: r), run, "one by one")


def test_evaluate_many_features__matches_the_js_sdk_in_batch(run: Run) -> None:
    _assert_none(run.differences(run.batch, _batch_view), run, "batch")


def test_differential_run__uses_the_pinned_sdk_and_covers_every_outcome(run: Run) -> None:
    # Guards the generator and the oracle, so that the two tests above cannot pass by testing too little.
    assert run.sdk_version == _pinned_sdk_version()
    assert run.evaluations >= MIN_EVALUATIONS
    sources = Counter(r[1] for case in run.js for user in case for r in user)
    for source in ("defaultValue", "force", "experiment", "prerequisite", "cyclicPrerequisite", "unknownFeature"):
        assert sources[source] >= 20, f"too few {source!r} results: {dict(sources)}"
    assignments = [r[3] for case in run.js for user in case for r in user if r[3] is not None]
    assert {a["variationId"] for a in assignments} >= {0, 1, 2, 3}
    conditions = json.dumps([c["payload"] for c in run.cases])
    for op in (*flags_random.OPERATORS, *flags_random.LOGICAL):
        assert f'"{op}"' in conditions, f"no condition uses {op}"
