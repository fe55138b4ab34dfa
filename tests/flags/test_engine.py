"""Engine additions used by flags: strict condition checking, and batch evaluation equal to one-by-one
evaluation on awkward inputs (numeric, empty, missing and non-ASCII ids, list attributes, bools beside numbers,
prerequisite cycles, namespaces, ranges) and on GrowthBook's own conformance cases."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from valueloop.engines.flags import FeatureEvaluator, condition_problems

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "growthbook" / "cases.json"


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        ({"country": {"$inn": ["DE"]}}, "unknown operator $inn on country (did you mean $in?)"),
        ({"$foo": 1}, "unknown operator $foo: attribute names cannot start with $"),
        ({"a": {"$in": "x"}}, "$in on a needs a list of values"),
        ({"a": {"$regex": "("}}, "$regex on a is not a valid regular expression"),
        ({"a": {"$gt": 1, "b": 2}}, "a mixes operators and plain keys"),
        ({"a": {"$exists": "yes"}}, "$exists on a needs true or false"),
        ({"a": {"$type": "int"}}, "$type on a must be one of"),
        ({"$and": {"a": 1}}, "$and needs a list of conditions"),
        ({"tags": {"$elemMatch": {"$zz": 1}}}, "unknown operator $zz on tags.$elemMatch"),
        ([], "a condition must be a JSON object, not array"),
    ],
)
def test_condition_problems__name_the_operator_and_the_place(condition, problem):
    problems = condition_problems(condition)
    assert problems and problems[0].startswith(problem), problems


def test_condition_problems__accept_the_whole_language():
    condition = {
        "$or": [{"country": {"$in": ["DE", "FR"]}}, {"$not": {"plan": "free"}}],
        "version": {"$vgte": "1.2.0", "$vlt": "2.0.0"},
        "tags": {"$elemMatch": {"$eq": "beta"}, "$size": {"$gt": 0}},
        "email": {"$regexi": "@corp\\.example$"},
        "id": {"$inGroup": "staff"},
        "address.city": "Berlin",
        "meta": {"nested": "literal object"},
        "age": {"$gte": 18, "$exists": True, "$type": "number"},
    }
    assert condition_problems(condition) == []


def _users(n: int, rng: random.Random) -> list[dict]:
    def uid(i):
        r = rng.random()
        return i if r < 0.02 else "" if r < 0.03 else None if r < 0.035 else f"jö{i}😀" if r < 0.04 else f"u{i}"

    return [
        {
            "id": uid(i),
            "country": rng.choice(["US", "CA", "DE", None]),
            "plan": rng.choice(["free", "pro", "enterprise"]),
            "age": rng.choice([rng.randint(10, 70), "25", None, True, 1, 0.0]),
            "version": rng.choice(["1.9.0", "2.0.1", "2.10.0", None]),
            "company": rng.choice(["acme", "globex", "", None, 7]),
            "tags": rng.choice([["a", "b"], ["b"], [], "a", None, ["A"]]),
        }
        for i in range(n)
    ]


def _payload() -> dict:
    features = {}
    for i in range(8):
        rules = [
            {"id": f"a{i}", "condition": {"country": {"$in": ["US", "CA"]}, "plan": "enterprise"}, "force": "ent"},
            {
                "id": f"b{i}",
                "condition": {"version": {"$vgte": "2.0.0"}, "age": {"$gt": 30}},
                "force": "roll",
                "coverage": 0.3,
                "hashVersion": 2 if i % 2 else 1,
                "seed": f"s{i}",
            },
            {
                "id": f"c{i}",
                "key": f"exp-{i}",
                "variations": ["x", "y", "z"],
                "weights": [0.2, 0.3, 0.5],
                "coverage": 0.8,
                "condition": {"age": {"$gte": 18}},
                "hashVersion": 2 if i % 2 == 0 else 1,
                "meta": [{"key": "c"}, {"key": "t", "passthrough": i % 3 == 0}, {}],
            },
        ]
        if i:
            rules.insert(
                0,
                {
                    "id": f"p{i}",
                    "parentConditions": [{"id": f"f{i - 1}", "condition": {"value": "ent"}}],
                    "force": "child",
                },
            )
        features[f"f{i}"] = {"defaultValue": "off", "rules": rules}
    features["single"] = {
        "defaultValue": 0,
        "rules": [
            {"condition": {"plan": "pro"}, "force": 1},
            {"condition": {"country": {"$nin": ["US"]}}, "force": 2, "coverage": 0.5},
            {"condition": {"tags": {"$in": ["a"]}}, "force": 3},
            {"condition": {"id": {"$notInGroup": "beta"}}, "force": 4, "coverage": 0.2},
            {"condition": {"age": "25"}, "force": 5},
            {"condition": {"age": True}, "force": 8},
            {"condition": {"company": 7}, "force": 7},
            {"condition": {"id": {"$inGroup": "beta"}}, "force": 9},
        ],
    }
    features["shapes"] = {
        "defaultValue": None,
        "rules": [
            {"id": "gate", "parentConditions": [{"id": "f2", "condition": {"value": {"$ne": "child"}}, "gate": True}]},
            {
                "id": "ns",
                "key": "nsexp",
                "variations": [1, 2],
                "namespace": ["ns1", 0, 0.5],
                "hashAttribute": "company",
            },
            {"id": "rng", "force": "ranged", "range": [0.1, 0.4], "hashAttribute": "company", "hashVersion": 2},
            {"id": "forced", "key": "fx", "variations": ["p", "q"], "force": 1},
            {"id": "unknown-version", "force": "never", "coverage": 0.9, "hashVersion": 9},
        ],
    }
    features["filtered"] = {
        "defaultValue": "d",
        "rules": [  # filters: evaluated one by one inside the batch
            {"force": "in", "filters": [{"seed": "f", "ranges": [[0, 0.5]], "attribute": "id"}]}
        ],
    }
    features["cyc1"] = {
        "defaultValue": 1,
        "rules": [{"parentConditions": [{"id": "cyc2", "condition": {"value": 1}}], "force": 2}],
    }
    features["cyc2"] = {
        "defaultValue": 1,
        "rules": [{"parentConditions": [{"id": "cyc1", "condition": {"value": 1}}], "force": 3}],
    }
    return {"features": features, "savedGroups": {"beta": [f"u{n}" for n in range(0, 3000, 7)]}}


def test_batch_equals_one_by_one_on_awkward_inputs():
    evaluator = FeatureEvaluator(_payload())
    users = [*_users(3000, random.Random(3)), "not a mapping", None]
    results = evaluator.evaluate_many_features([*evaluator.feature_keys, "missing"], users)
    for key, batch in results.items():
        values, sources, variations = batch.values(), batch.sources(), batch.variation_ids()
        for i, user in enumerate(users):
            one = evaluator.evaluate(key, user if isinstance(user, dict) else {})
            variation = one.experiment_result.variation_id if one.source == "experiment" else None
            assert (values[i], sources[i], variations[i]) == (one.value, one.source, variation), (key, user)
            assert type(values[i]) is type(one.value)
    assert {o.source for o, _ in results["cyc1"].counts()} == {"cyclicPrerequisite"}
    assert sum(count for _, count in results["single"].counts()) == len(users)


@pytest.mark.skipif(not CASES.exists(), reason="GrowthBook's cases.json is not checked out beside the repository")
def test_batch_equals_one_by_one_on_growthbooks_feature_cases():
    cases = json.loads(CASES.read_text())["feature"]
    checked = 0
    for _name, context, key, _expected in cases:
        if any(k in context for k in ("url", "forcedVariations", "qaMode", "enabled", "stickyBucketAssignmentDocs")):
            continue  # batch evaluation uses default options
        evaluator = FeatureEvaluator(context)
        attributes = context.get("attributes") or {}
        one = evaluator.evaluate(key, attributes)
        batch = evaluator.evaluate_many(key, [attributes]).outcome(0)
        assert (batch.value, batch.source, batch.rule_id) == (one.value, one.source, one.rule_id)
        checked += 1
    assert checked > 40
