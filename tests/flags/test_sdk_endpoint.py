"""GET /api/features/<client key>: GrowthBook's SDK format, ETag/304, CORS, revoked and unknown keys,
encryption; and GrowthBook's own Python SDK evaluating what we serve exactly as our engine does."""

from __future__ import annotations

import json
import random

import pytest
from django.test import Client
from growthbook import GrowthBook

from valueloop.engines.flags import FeatureEvaluator
from valueloop.flags import services


def sdk_key(env) -> str:
    return env.sdk_keys.get(revoked_at=None).key


def fetch(key: str, **headers):
    return Client().get(f"/api/features/{key}", **headers)


def test_payload__growthbook_format_with_etag_cache_headers_and_cors(flags):
    flags.flag("new-checkout")
    response = fetch(sdk_key(flags.dev))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "public, max-age=30"
    body = response.json()
    assert body["status"] == 200
    assert body["features"] == {"new-checkout": {"defaultValue": False}}
    assert body["savedGroups"] == {}
    assert body["dateUpdated"].endswith("Z")
    etag = response["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    not_modified = fetch(sdk_key(flags.dev), HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert fetch(sdk_key(flags.dev), HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    # a change publishes a new payload: the old ETag no longer matches
    flag = flags.flag("second")
    assert flag
    changed = fetch(sdk_key(flags.dev), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert set(changed.json()["features"]) == {"new-checkout", "second"}


def test_payload__needs_no_session_and_answers_preflight(flags):
    response = Client().options(f"/api/features/{sdk_key(flags.dev)}", HTTP_ORIGIN="https://app.example.com")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in response["Access-Control-Allow-Headers"]
    assert Client().post(f"/api/features/{sdk_key(flags.dev)}").status_code == 405


def test_payload__unknown_and_revoked_keys_get_clear_errors(flags):
    response = fetch("sdk-nope")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_key"
    assert "Unknown SDK key" in response.json()["error"]
    old = sdk_key(flags.prod)
    new = services.sdk_key_rotate(actor=flags.admin, environment_id=flags.prod.pk).key
    response = fetch(old)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401 and body["code"] == "revoked_key"
    assert "was revoked on" in body["error"] and "current key" in body["error"]
    assert response["Cache-Control"] == "no-store"
    assert fetch(new).status_code == 200


def test_payload__each_key_sees_only_its_own_environment_and_workspace(flags, world):
    flags.flag("alpha-only")
    from valueloop.flags.bootstrap import ensure_environments

    b_dev = ensure_environments(world.ws_b)[0]
    assert fetch(sdk_key(b_dev)).json()["features"] == {}
    assert "alpha-only" in fetch(sdk_key(flags.dev)).json()["features"]


def test_payload__encrypted_decrypts_with_growthbooks_sdk(flags):
    services.group_create(actor=flags.pm, key="staff", name="Staff", values=["u-staff"])
    flag = flags.flag()
    flags.rule(flag, flags.staging, kind="force", value=True, saved_groups=["staff"])
    env = services.environment_update(actor=flags.admin, environment_id=flags.staging.pk, encrypted=True)
    body = fetch(sdk_key(env)).json()
    assert body["features"] == {} and "encryptedFeatures" in body and "encryptedSavedGroups" in body
    assert "u-staff" not in json.dumps(body)
    gb = GrowthBook(decryption_key=env.encryption_key)
    gb.set_payload(body)
    gb.set_attributes({"id": "u-staff"})
    assert gb.is_on("new-checkout")
    gb.set_attributes({"id": "someone-else"})
    assert not gb.is_on("new-checkout")
    ours = FeatureEvaluator(body, decryption_key=env.encryption_key)
    assert ours.evaluate("new-checkout", {"id": "u-staff"}).value is True


# --- parity with GrowthBook's Python SDK ------------------------------------------------------------------------


def build_catalogue(flags):
    """Every rule kind, conditions, saved groups (list and condition) and prerequisites, in staging."""
    env = flags.staging
    services.group_create(
        actor=flags.pm,
        key="staff",
        name="Staff",
        attribute="email",
        values=[f"user{i}@corp.example" for i in range(0, 3000, 7)],
    )
    services.group_create(
        actor=flags.pm,
        key="eu-pro",
        name="EU pro",
        kind="condition",
        condition={"country": {"$in": ["DE", "FR", "NL"]}, "plan": {"$in": ["pro", "enterprise"]}},
    )
    checkout = flags.flag("new-checkout")
    flags.rule(checkout, env, kind="force", value=True, saved_groups=["staff"])
    flags.rule(checkout, env, kind="force", value=False, condition={"browser": {"$regex": "^IE"}})
    flags.rule(checkout, env, kind="rollout", value=True, coverage=0.3, condition={"appVersion": {"$vgte": "2.1.0"}})
    layout = flags.flag("layout", value_type="string", default_value="classic")
    flags.rule(
        layout,
        env,
        kind="experiment",
        variations=["classic", "grid", "list"],
        weights=[0.5, 0.25, 0.25],
        coverage=0.8,
        variation_names=["Classic", "Grid", "List"],
        tracking_key="layout-test",
        condition={"age": {"$gte": 18}},
    )
    flags.rule(layout, env, kind="force", value="list", saved_groups=["eu-pro"])
    limit = flags.flag("limit", value_type="number", default_value=10)
    flags.rule(
        limit,
        env,
        kind="force",
        value=100,
        condition={"$or": [{"plan": "enterprise"}, {"age": {"$lt": 21}}]},
        prerequisites=[{"flag": "new-checkout", "condition": {"value": True}}],
    )
    flags.rule(limit, env, kind="rollout", value=50, coverage=0.5, hash_attribute="company")
    config = flags.flag("config", value_type="json", default_value={"theme": "light"})
    flags.rule(
        config,
        env,
        kind="experiment",
        variations=[{"theme": "light"}, {"theme": "dark"}],
        hash_attribute="company",
        seed="cfg-2026",
    )
    flags.rule(config, env, kind="force", value={"theme": "contrast"}, enabled=False)
    gated = flags.flag("gated")
    flags.rule(
        gated,
        env,
        kind="force",
        value=True,
        prerequisites=[{"flag": "layout", "condition": {"value": {"$in": ["grid", "list"]}}}],
    )
    return env


def users(n: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        user = {
            "id": f"user-{i}" if rng.random() > 0.02 else i,
            "email": f"user{i}@corp.example",
            "country": rng.choice(["DE", "FR", "NL", "US", "BR"]),
            "plan": rng.choice(["free", "pro", "enterprise"]),
            "age": rng.randint(14, 70),
            "appVersion": rng.choice(["2.0.9", "2.1.0", "2.10.1", "1.9"]),
            "browser": rng.choice(["Chrome", "IE11", "Firefox"]),
            "company": rng.choice(["acme", "globex", "initech", "", None]),
        }
        if rng.random() < 0.03:
            del user["id"]
        out.append(user)
    return out


def test_growthbook_sdk_evaluates_our_payload_exactly_like_our_engine(flags):
    env = build_catalogue(flags)
    body = fetch(sdk_key(env)).json()
    ours = FeatureEvaluator(body)
    gb = GrowthBook(features=body["features"], saved_groups=body["savedGroups"])
    sources = set()
    for user in users(3000):
        gb.set_attributes(user)
        for key in body["features"]:
            theirs = gb.eval_feature(key)
            mine = ours.evaluate(key, user)
            assert mine.value == theirs.value and type(mine.value) is type(theirs.value), (key, user)
            assert mine.source == theirs.source, (key, user)
            assert mine.rule_id == (theirs.ruleId or ""), (key, user)
            if mine.source == "experiment":
                assert mine.experiment_result.variation_id == theirs.experimentResult.variationId
                assert mine.experiment_result.key == theirs.experimentResult.key
            sources.add((key, mine.source))
    # every kind of outcome was exercised
    assert {
        ("new-checkout", "force"),
        ("layout", "experiment"),
        ("layout", "force"),
        ("config", "experiment"),
        ("limit", "force"),
        ("gated", "force"),
        ("gated", "defaultValue"),
    } <= sources


def test_batch_evaluation_matches_one_by_one(flags):
    env = build_catalogue(flags)
    body = fetch(sdk_key(env)).json()
    ours = FeatureEvaluator(body)
    population = users(4000, seed=5)
    results = ours.evaluate_many_features(list(body["features"]), population)
    for key, batch in results.items():
        values, variations = batch.values(), batch.variation_ids()
        for i, user in enumerate(population):
            one = ours.evaluate(key, user)
            assert values[i] == one.value, (key, user)
            expected_variation = one.experiment_result.variation_id if one.source == "experiment" else None
            assert variations[i] == expected_variation, (key, user)


@pytest.mark.parametrize("hash_attribute", ["id", "company"])
def test_rollout_percentage_only_adds_users_as_it_grows(flags, hash_attribute):
    flag = flags.flag()
    rule = flags.rule(flag, flags.dev, kind="rollout", value=True, coverage=0.2, hash_attribute=hash_attribute)
    population = [{"id": f"u{i}", "company": f"c{i % 300}"} for i in range(3000)]
    on_before = {
        i
        for i, v in enumerate(
            FeatureEvaluator(fetch(sdk_key(flags.dev)).json()).evaluate_many("new-checkout", population).values()
        )
        if v
    }
    services.rule_update(actor=flags.pm, flag_id=flag.pk, environment_id=flags.dev.pk, rule_id=rule.pk, coverage=0.5)
    on_after = {
        i
        for i, v in enumerate(
            FeatureEvaluator(fetch(sdk_key(flags.dev)).json()).evaluate_many("new-checkout", population).values()
        )
        if v
    }
    assert on_before < on_after
    assert 0.15 < len(on_before) / 3000 < 0.25 and 0.44 < len(on_after) / 3000 < 0.56
