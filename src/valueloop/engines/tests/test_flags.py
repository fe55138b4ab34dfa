"""Focused tests of the typed flag-evaluation API (the conformance suite covers the spec functions)."""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from valueloop.engines.flags import (
    DecryptionError,
    EvalOptions,
    FeatureEvaluator,
    StickyBucketStore,
    compile_condition,
    decrypt,
    encrypt,
    evaluate,
    get_bucket_range,
    hash_value,
)

KEY = "Zvwv/+uhpFDznZ6SX28Yjg=="  # a 128-bit AES key, base64


def experiment_payload(**rule_overrides):
    rule = {"key": "exp", "variations": ["a", "b"], "hashVersion": 2, **rule_overrides}
    return {"features": {"f": {"defaultValue": "default", "rules": [rule]}}}


def users(n):
    return [{"id": f"user-{i}"} for i in range(n)]


def test_bucketing_is_deterministic_across_evaluators_and_attribute_order():
    payload = experiment_payload()
    first = FeatureEvaluator(payload)
    second = FeatureEvaluator(copy.deepcopy(payload))
    for user in users(200):
        reordered = {"country": "NL", **user}
        a, b = first.evaluate("f", user), second.evaluate("f", reordered)
        assert a.value == b.value
        assert a.experiment_result.bucket == b.experiment_result.bucket
        # The bucket is the cross-SDK hash of (seed, id): any GrowthBook SDK puts this user in the same place.
        assert a.experiment_result.bucket == hash_value("exp", user["id"], 2)


def test_numeric_and_boolean_ids_hash_like_their_javascript_strings():
    assert hash_value("s", 123, 2) == hash_value("s", "123", 2)
    assert hash_value("s", 5.0, 2) == hash_value("s", "5", 2)
    assert hash_value("s", True, 1) == hash_value("s", "true", 1)


def test_non_ascii_hashes_utf16_code_units():
    def reference_fnv(units):
        h = 0x811C9DC5
        for u in units:
            h = ((h ^ u) * 0x01000193) % 2**32
        return h

    value = "jöhn😀"  # one BMP char beyond ASCII and one astral char (a surrogate pair in UTF-16)
    units = [ord(c) for c in "jöhn"] + [0xD83D, 0xDE00]
    assert hash_value("", value, 1) == (reference_fnv(units) % 1000) / 1000


def test_split_follows_weights():
    evaluator = FeatureEvaluator(experiment_payload(weights=[0.2, 0.8]))
    results = [evaluator.evaluate("f", u).value for u in users(5000)]
    share_b = results.count("b") / len(results)
    assert 0.77 < share_b < 0.83


def test_weights_not_summing_to_one_fall_back_to_an_even_split():
    assert get_bucket_range(2, 1, [0.9, 0.9]) == [[0, 0.5], [0.5, 1]]
    assert get_bucket_range(3, 1, [0.5, 0.5]) == get_bucket_range(3, 1, None)
    evaluator = FeatureEvaluator(experiment_payload(weights=[0.1, 0.1]))
    share_b = [evaluator.evaluate("f", u).value for u in users(4000)].count("b") / 4000
    assert 0.46 < share_b < 0.54


@pytest.mark.parametrize(
    "condition",
    [
        {"$and": "not a list"},
        {"$or": [{"age": {"$gt": 1}}, "not an object"]},
        "not an object",
        {"age": {"$between": [1, 2]}},  # unknown operator
        {"name": {"$regex": "(unclosed"}},
        {"$not": 42},
    ],
)
def test_malformed_condition_never_raises_and_the_rule_does_not_apply(condition):
    payload = {"features": {"f": {"defaultValue": "default", "rules": [{"force": "forced", "condition": condition}]}}}
    result = FeatureEvaluator(payload).evaluate("f", {"age": 5, "name": "x"})
    assert (result.value, result.source) == ("default", "defaultValue")
    assert compile_condition(condition).matches({"age": 5, "name": "x"}) is False


def test_malformed_rules_are_dropped_and_the_rest_still_work():
    payload = {
        "features": {
            "f": {
                "defaultValue": 0,
                "rules": [
                    "not a rule",
                    {"variations": [1, 2], "namespace": "not-a-namespace"},
                    {"force": 1, "range": "bad"},
                    {"force": 2},
                ],
            },
            "g": "not a feature",
            "h": {"defaultValue": 1, "rules": "not a list"},
        }
    }
    evaluator = FeatureEvaluator(payload)
    assert evaluator.evaluate("f", {"id": "1"}).value == 2
    assert evaluator.evaluate("g", {"id": "1"}).to_dict()["value"] is None
    assert evaluator.evaluate("h", {"id": "1"}).value == 1


def test_odd_attribute_values_never_raise():
    payload = {"features": {"f": {"defaultValue": False, "rules": [
        {"force": True, "condition": {"a": {"$gt": 3}, "b": {"$elemMatch": {"$vgt": "1.0.0"}}}},
        {"variations": [False, True]},
    ]}}}  # fmt: skip
    evaluator = FeatureEvaluator(payload)
    for attrs in ({"id": object(), "a": object(), "b": [object()]}, {"id": [1, {"x": 2}], "a": {"k": 1}}, {}):
        result = evaluator.evaluate("f", attrs)
        assert result.source in {"defaultValue", "force", "experiment"}


def test_unknown_hash_version_buckets_nobody():
    evaluator = FeatureEvaluator(experiment_payload(hashVersion=99))
    assert {evaluator.evaluate("f", u).source for u in users(50)} == {"defaultValue"}


def test_on_off_use_javascript_truthiness():
    features = {k: {"defaultValue": v} for k, v in {"zero": 0, "empty": "", "list": [], "obj": {}, "s": "x"}.items()}
    evaluator = FeatureEvaluator({"features": features})
    assert {k: evaluator.evaluate(k).on for k in features} == {
        "zero": False,
        "empty": False,
        "list": True,
        "obj": True,
        "s": True,
    }
    assert evaluator.evaluate("missing").source == "unknownFeature"


def test_prerequisite_cycle_terminates():
    payload = {"features": {
        "a": {"defaultValue": 1, "rules": [{"parentConditions": [{"id": "b", "condition": {"value": 1}}]}]},
        "b": {"defaultValue": 1, "rules": [{"parentConditions": [{"id": "a", "condition": {"value": 1}}]}]},
    }}  # fmt: skip
    assert FeatureEvaluator(payload).evaluate("a").source == "cyclicPrerequisite"


def test_saved_groups_come_from_the_payload():
    payload = {
        "features": {"f": {"defaultValue": False, "rules": [{"force": True, "condition": {"id": {"$inGroup": "g"}}}]}},
        "savedGroups": {"g": ["1", "2"]},
    }
    evaluator = FeatureEvaluator(payload)
    assert evaluator.evaluate("f", {"id": "2"}).value is True
    assert evaluator.evaluate("f", {"id": "3"}).value is False


def test_contextual_bandit_rules_are_skipped():
    payload = {"features": {"f": {"defaultValue": "d", "rules": [
        {"key": "cb", "contextualVariations": ["x", "y"], "contextualBanditRef": "cb"},
        {"force": "next"},
    ]}}}  # fmt: skip
    assert FeatureEvaluator(payload).evaluate("f", {"id": "1"}).value == "next"


def test_sticky_bucket_keeps_a_user_in_place_when_weights_change():
    before = FeatureEvaluator(experiment_payload(weights=[0.5, 0.5]))
    after = FeatureEvaluator(experiment_payload(weights=[0.99, 0.01]))
    moved = 0
    for user in users(300):
        store = StickyBucketStore()
        first = before.evaluate("f", user, EvalOptions(sticky_buckets=store))
        assert store.changed == {f"id||{user['id']}"}
        persisted = list(store.to_dict().values())  # what the app would save and load next time
        again = after.evaluate("f", user, EvalOptions(sticky_buckets=StickyBucketStore(persisted)))
        assert again.value == first.value
        assert again.experiment_result.sticky_bucket_used
        moved += after.evaluate("f", user).value != first.value
    assert moved > 50  # without sticky buckets many users would have switched variation


def test_sticky_bucket_keys_lists_docs_to_load():
    evaluator = FeatureEvaluator(experiment_payload(hashAttribute="id", fallbackAttribute="deviceId"))
    assert evaluator.sticky_bucket_attributes == {"id", "deviceId"}
    assert evaluator.sticky_bucket_keys({"id": 7, "deviceId": "", "x": 1}) == ["id||7"]


def test_forced_variation_and_qa_mode():
    evaluator = FeatureEvaluator(experiment_payload())
    forced = evaluator.evaluate("f", {"id": "1"}, EvalOptions(forced_variations={"exp": 1}))
    assert forced.value == "b" and not forced.experiment_result.hash_used
    assert evaluator.evaluate("f", {"id": "1"}, EvalOptions(qa_mode=True)).source == "defaultValue"
    assert evaluator.evaluate("f", {"id": "1"}, EvalOptions(enabled=False)).source == "defaultValue"


def test_evaluation_does_not_mutate_inputs():
    payload = experiment_payload(condition={"tags": {"$elemMatch": {"$eq": "a"}}})
    attributes = {"id": "1", "tags": ["a"]}
    snapshot = copy.deepcopy((payload, attributes))
    evaluator = FeatureEvaluator(payload)
    result = evaluator.evaluate("f", attributes).to_dict()
    result["experiment"]["variations"].append("mutated")
    assert (payload, attributes) == snapshot
    assert evaluator.evaluate("f", attributes).to_dict()["experiment"]["variations"] == ["a", "b"]


def test_shared_evaluator_across_threads_gives_the_same_answers():
    evaluator = FeatureEvaluator(experiment_payload())
    population = users(2000)
    expected = [evaluator.evaluate("f", u).value for u in population]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda u: evaluator.evaluate("f", u).value, population))
    assert got == expected


def test_encrypted_payload_round_trip():
    features = {"f": {"defaultValue": True}}
    encrypted = encrypt(json.dumps(features), KEY)
    assert json.loads(decrypt(encrypted, KEY)) == features
    evaluator = FeatureEvaluator({"encryptedFeatures": encrypted}, decryption_key=KEY)
    assert evaluator.evaluate("f").value is True
    with pytest.raises(DecryptionError):
        FeatureEvaluator({"encryptedFeatures": encrypted}, decryption_key="Zvwv/+uhpFDznZ6SX39Yjg==")


def test_one_shot_evaluate_and_evaluate_all():
    payload = {"features": {"a": {"defaultValue": 1}, "b": {"defaultValue": 2, "rules": [{"force": 3}]}}}
    assert evaluate(payload, {}, "b").value == 3
    assert {k: r.value for k, r in FeatureEvaluator(payload).evaluate_all({}).items()} == {"a": 1, "b": 3}
