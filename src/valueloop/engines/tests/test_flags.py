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
    condition_problems,
    decrypt,
    encrypt,
    eval_condition,
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


# -- JavaScript semantics (GrowthBook's JS SDK is the reference; each case below once diverged from it) ----------


def force_when(condition):
    rule = {"force": "forced", "condition": condition}
    return {"features": {"f": {"defaultValue": "default", "rules": [rule]}}}


@pytest.mark.parametrize(
    ("condition", "users", "expected"),
    [
        ({"beta": {"$eq": False}}, [{"beta": 0}, {"beta": False}, {"beta": 0}], ["default", "forced", "default"]),
        ({"beta": {"$eq": False}}, [{"beta": False}, {"beta": 0}], ["forced", "default"]),
        ({"beta": {"$eq": True}}, [{"beta": 1}, {"beta": True}, {"beta": 0}], ["default", "forced", "default"]),
        ({"beta": {"$type": "number"}}, [{"beta": True}, {"beta": 1}], ["default", "forced"]),
    ],
)
def test_evaluate_many_features__tells_false_from_0_and_true_from_1(condition, users, expected):
    evaluator = FeatureEvaluator(force_when(condition))
    assert [evaluator.evaluate("f", u).value for u in users] == expected
    assert evaluator.evaluate_many_features(["f"], users)["f"].values() == expected


@pytest.mark.parametrize(
    ("condition", "attributes", "expected"),
    [
        ({"v": {"$vlt": "1.0.0"}}, {}, True),  # a missing version compares as "0"
        ({"v": {"$vlt": "1.0.0"}}, {"v": None}, True),
        ({"v": {"$veq": "0"}}, {}, True),
        ({"v": {"$vne": "0.0.0"}}, {}, True),
        ({"v": {"$vgt": "0.0.1"}}, {"v": True}, False),  # booleans too, not "true"
        ({"v": {"$veq": "0"}}, {"v": False}, True),
        ({"v": {"$vgt": "1.9.9"}}, {"v": 2}, True),  # numbers by their string
        ({"v": {"$vgte": True}}, {"v": "0"}, True),  # the operand follows the same rule
    ],
)
def test_eval_condition__version_operators_read_missing_and_non_strings_as_version_0(condition, attributes, expected):
    assert eval_condition(condition, attributes) is expected


@pytest.mark.parametrize(
    ("condition", "tags", "expected"),
    [
        ({"$elemMatch": {"$exists": False}}, [None], False),  # null elements are skipped
        ({"$elemMatch": {"$type": "null"}}, [None, "a"], False),
        ({"$elemMatch": {"name": None}}, [None], False),
        ({"$elemMatch": {"$eq": 0}}, [None, 0], True),  # 0, "" and false are still tested
        ({"$elemMatch": {"$eq": ""}}, [""], True),
    ],
)
def test_eval_condition__elem_match_skips_null_elements(condition, tags, expected):
    assert eval_condition({"tags": condition}, {"tags": tags}) is expected


@pytest.mark.parametrize(
    ("condition", "attributes", "expected"),
    [
        ({"tags": {"$eq": ["a"]}}, {"tags": ["a"]}, False),  # === on arrays and objects is identity
        ({"tags": {"$ne": ["a"]}}, {"tags": ["a"]}, True),
        ({"o": {"$eq": {"a": 1}}}, {"o": {"a": 1}}, False),
        ({"tags": {"$in": [["a"], "b"]}}, {"tags": [["a"]]}, False),  # includes() compares arrays by identity too
        ({"o": {"$nin": [{"a": 1}]}}, {"o": {"a": 1}}, True),
        ({"n": {"$eq": 1}}, {"n": 1.0}, True),
        ({"n": {"$eq": 1}}, {"n": True}, False),
    ],
)
def test_eval_condition__eq_and_in_compare_arrays_and_objects_by_identity(condition, attributes, expected):
    assert eval_condition(condition, attributes) is expected


@pytest.mark.parametrize(
    ("condition", "attributes", "expected"),
    [
        ({"x": 0}, {}, True),  # null * 1 === 0
        ({"x": 0}, {"x": None}, True),
        ({"x": 0}, {"x": ""}, True),
        ({"x": "null"}, {}, True),  # null + "" === "null"
        ({"x": ""}, {}, False),
        ({"x": "1,2"}, {"x": [1, 2]}, True),
        ({"x": {"$regex": "^null$"}}, {}, True),  # RegExp.test(String(null))
        ({"x": {"$regex": "^1,2$"}}, {"x": [1, 2]}, True),
        ({"x": {"$lt": 1}}, {}, True),  # null < 1
        ({"x": {"$alli": ["a"]}}, {"x": [["A"]]}, True),  # String(["A"]).toLowerCase()
        ({"x": {"$alli": ["null"]}}, {"x": [None]}, True),
    ],
)
def test_eval_condition__coerces_null_and_arrays_as_javascript_does(condition, attributes, expected):
    assert eval_condition(condition, attributes) is expected


@pytest.mark.parametrize(
    ("condition", "attributes", "expected"),
    [
        ({"o": {"a": 1, "b": 2}}, {"o": {"b": 2, "a": 1}}, False),  # JSON.stringify keeps the key order
        ({"o": {"a": 1, "b": 2}}, {"o": {"a": 1, "b": 2}}, True),
        ({"o": {"a": 1, "1": 2}}, {"o": {"1": 2, "a": 1}}, True),  # integer-like keys always come first
        ({"o": [1, {"a": 1, "b": 2}]}, {"o": [1, {"b": 2, "a": 1}]}, False),
    ],
)
def test_eval_condition__literal_objects_compare_as_json_strings(condition, attributes, expected):
    assert eval_condition(condition, attributes) is expected


@pytest.mark.parametrize(
    ("condition", "attributes", "expected"),
    [
        ({"tags.length": 2}, {"tags": ["a", "b"]}, True),
        ({"tags.1": "b"}, {"tags": ["a", "b"]}, True),
        ({"tags.01": "b"}, {"tags": ["a", "b"]}, False),  # not an array index
        ({"tags.٠": "a"}, {"tags": ["a", "b"]}, False),
    ],
)
def test_eval_condition__paths_read_array_indexes_and_length(condition, attributes, expected):
    assert eval_condition(condition, attributes) is expected


@pytest.mark.parametrize(
    ("condition", "attributes", "expected"),
    [
        ({"x": 4}, {"x": "\ufeff4"}, True),  # Number() trims JavaScript's whitespace...
        ({"x": 5}, {"x": "\x1c5"}, False),  # ...which is not Python's
        ({"x": 3}, {"x": "٣"}, False),  # ASCII digits only
        ({"x": {"$lt": "1,3"}}, {"x": [1, 2]}, True),  # an array compares as its string with a string
        ({"x": {"$gt": "["}}, {"x": {"a": 1}}, True),  # "[object Object]" > "["
        ({"x": {"$gt": "\uffff"}}, {"x": "😀"}, False),  # UTF-16 order: a surrogate pair sorts below U+FFFF
        ({"x": {"$lt": "\uffff"}}, {"x": "a😀"}, True),
    ],
)
def test_eval_condition__numbers_and_strings_compare_as_javascript_does(condition, attributes, expected):
    assert eval_condition(condition, attributes) is expected


def test_hash_value__stringifies_numbers_as_javascript_does():
    assert hash_value("s", 1e-7, 1) == hash_value("s", "1e-7", 1)
    assert hash_value("s", 1e-6, 2) == hash_value("s", "0.000001", 2)
    assert hash_value("s", 1e21, 2) == hash_value("s", "1e+21", 2)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("^\\d$", "٣", False),  # \d is ASCII in JavaScript
        ("a$", "a\n", False),  # $ is the end of the text
        ("^.$", "😀", False),  # . is one UTF-16 unit
        ("(?<n>a)", "a", True),  # JavaScript's named groups
        ("(?P<n>a)", "a", False),  # Python's are invalid: no match
        ("^[^]$", "x", True),
    ],
)
def test_eval_condition__regex_follows_javascript_regexp(pattern, value, expected):
    assert eval_condition({"x": {"$regex": pattern}}, {"x": value}) is expected


def test_condition_problems__check_regexes_with_javascript_syntax():
    assert condition_problems({"x": {"$regex": "(?<n>a)"}}) == []
    assert "not a valid regular expression" in condition_problems({"x": {"$regex": "(?P<n>a)"}})[0]


@pytest.mark.parametrize(
    ("group", "in_group", "not_in_group"),
    [
        (["u1"], True, False),
        ({"type": "list", "values": ["u1"]}, True, False),  # the newer saved-group format
        ("not a list", False, False),  # a malformed entry matches nobody, either way
        ({"type": "condition", "condition": {}}, False, False),
        ({"type": "list", "values": "u1"}, False, False),
        (None, False, False),
    ],
)
def test_eval_condition__saved_groups_in_both_formats_and_malformed_ones(group, in_group, not_in_group):
    groups = {"g": group}
    assert eval_condition({"id": {"$inGroup": "g"}}, {"id": "u1"}, groups) is in_group
    assert eval_condition({"id": {"$notInGroup": "g"}}, {"id": "u1"}, groups) is not_in_group
    assert eval_condition({"id": {"$notInGroup": "unknown"}}, {"id": "u1"}, groups) is True


def test_evaluate__rollout_includes_the_user_whose_bucket_equals_the_coverage():
    users = [{"id": f"user-{i}"} for i in range(50)]
    bucket = hash_value("f", "user-7", 2)
    evaluator = FeatureEvaluator(
        {"features": {"f": {"defaultValue": "off", "rules": [{"force": "on", "coverage": bucket, "hashVersion": 2}]}}}
    )
    assert evaluator.evaluate("f", {"id": "user-7"}).value == "on"
    expected = ["on" if hash_value("f", u["id"], 2) <= bucket else "off" for u in users]
    assert [evaluator.evaluate("f", u).value for u in users] == expected
    assert evaluator.evaluate_many_features(["f"], users)["f"].values() == expected


def test_evaluate__experiment_rules_ignore_fields_of_inline_experiments():
    # The reference builds a rule's experiment from the rule's experiment fields only: active, status, force
    # and url belong to inline experiments.
    rule = {"key": "exp", "variations": ["a", "b"], "active": False, "status": "draft", "url": "^/never$"}
    result = FeatureEvaluator({"features": {"f": {"defaultValue": "d", "rules": [rule]}}}).evaluate("f", {"id": "1"})
    assert result.source == "experiment"
    assert result.value in ("a", "b")
