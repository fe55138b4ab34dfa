"""The flags management API: a full flow, key visibility, bad input, and batch evaluation."""

from __future__ import annotations

import json

from tests.conftest import token_client
from valueloop.core.permissions import Role
from valueloop.engines.flags import FeatureEvaluator


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def test_flow__create_flag_add_rules_submit_approve_and_read_revisions(world):
    pm = token_client(world.actor(Role.PRODUCT_MANAGER))
    admin = token_client(world.actor_a)
    envs = {e["key"]: e for e in pm.get("/api/v1/flags/environments").json()["items"]}
    assert [e["sdk_key"] for e in envs.values()] == [None, None, None]  # keys: admins only
    assert all(e["sdk_key"].startswith("sdk-") for e in admin.get("/api/v1/flags/environments").json()["items"])
    response = post(pm, "/api/v1/flags", {"key": "new-checkout", "description": "One-page checkout"})
    assert response.status_code == 201, response.content
    flag = response.json()
    assert [e["published_revision"] for e in flag["environments"]] == [1, 1, 1]
    prod = envs["production"]["id"]
    url = f"/api/v1/flags/{flag['id']}/environments/{prod}"
    response = post(
        pm,
        f"{url}/rules",
        {"kind": "rollout", "value": True, "coverage": 0.2, "condition": {"country": {"$in": ["DE"]}}},
    )
    assert response.status_code == 201, response.content
    rule = response.json()
    assert rule["uid"].startswith("fr_") and rule["hash_attribute"] == "id"
    response = patch(pm, f"{url}/rules/{rule['id']}", {"coverage": 0.3, "version": rule["version"]})
    assert response.status_code == 200 and response.json()["coverage"] == 0.3
    stale = patch(pm, f"{url}/rules/{rule['id']}", {"coverage": 0.4, "version": rule["version"]})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    detail = pm.get(url).json()
    assert detail["open_change"]["state"] == "draft" and detail["published"]["number"] == 1
    assert detail["open_change"]["changes"][0].startswith("Rule 1 added: roll out true to 30 %")
    submitted = post(pm, f"{url}/publish", {"comment": "Start at 30 %"})
    assert submitted.status_code == 200 and submitted.json()["state"] == "pending_approval"
    assert pm.get("/api/v1/flags/approvals").json()["count"] == 1
    own = post(pm, f"/api/v1/flags/revisions/{submitted.json()['id']}/approve", {})
    assert own.status_code == 403 and own.json()["code"] == "self_approval"
    approved = post(admin, f"/api/v1/flags/revisions/{submitted.json()['id']}/approve", {"comment": "ok"})
    assert approved.status_code == 200 and approved.json()["state"] == "published"
    assert approved.json()["reviewed_by_email"] == "admin@a.test"
    revisions = pm.get(f"/api/v1/flags/{flag['id']}/revisions?environment_id={prod}").json()
    assert [r["number"] for r in revisions["items"]] == [2, 1]
    rollback = post(pm, f"/api/v1/flags/revisions/{revisions['items'][1]['id']}/rollback", {})
    assert rollback.status_code == 201 and rollback.json()["state"] == "pending_approval"
    assert rollback.json()["rollback_of"] == 1
    kill = post(pm, f"{url}/kill-switch", {"killed": True})
    assert kill.status_code == 200 and kill.json()["served_killed"] is True


def test_bad_input__clear_errors(world):
    pm = token_client(world.actor(Role.PRODUCT_MANAGER))
    flag = post(pm, "/api/v1/flags", {"key": "f"}).json()
    env = pm.get("/api/v1/flags/environments").json()["items"][0]["id"]
    url = f"/api/v1/flags/{flag['id']}/environments/{env}/rules"
    bad_operator = post(pm, url, {"kind": "force", "value": True, "condition": {"plan": {"$equals": "pro"}}})
    assert bad_operator.status_code == 422
    assert bad_operator.json()["message"].startswith("Rule 1 (force): unknown operator $equals on plan")
    assert bad_operator.json()["errors"][0]["field"] == "condition"
    weights = post(pm, url, {"kind": "experiment", "variations": [True, False], "weights": [0.7, 0.7]})
    assert weights.status_code == 422 and "add up to 1.4, not 1" in weights.json()["message"]
    typo = post(pm, url, {"kind": "force", "value": True, "conditon": {}})
    assert typo.status_code == 422 and typo.json()["errors"][0]["message"] == "Unknown field."
    nul = post(pm, url, {"kind": "force", "value": True, "condition": {"name": "a\x00b"}})
    assert nul.status_code == 422 and "NUL" in nul.json()["message"]
    assert post(pm, "/api/v1/flags", {"key": "Bad Key"}).status_code == 422
    assert patch(pm, f"/api/v1/flags/{flag['id']}", {"value_type": "string"}).status_code == 422


def test_batch_evaluate__matches_the_sdk_and_validates_its_input(world):
    pm = token_client(world.actor(Role.PRODUCT_MANAGER))
    flag = post(pm, "/api/v1/flags", {"key": "layout", "value_type": "string", "default_value": "classic"}).json()
    staging = {e["key"]: e for e in pm.get("/api/v1/flags/environments").json()["items"]}["staging"]["id"]
    url = f"/api/v1/flags/{flag['id']}/environments/{staging}/rules"
    post(pm, url, {"kind": "force", "value": "vip", "condition": {"plan": "enterprise"}})
    post(pm, url, {"kind": "experiment", "variations": ["classic", "grid"], "weights": [0.5, 0.5]})
    users = [{"id": f"u{i}", "plan": ["free", "enterprise"][i % 7 == 0]} for i in range(5000)]
    response = post(pm, "/api/v1/flags/evaluate", {"environment": "staging", "flags": ["layout"], "users": users})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["users"] == 5000 and body["environment"] == "staging"
    values, variations = body["flags"]["layout"]["values"], body["flags"]["layout"]["variation_ids"]
    from valueloop.flags.models import Environment

    env = Environment.objects.get(pk=staging)
    evaluator = FeatureEvaluator(json.loads(env.payload))
    for i, user in enumerate(users):
        one = evaluator.evaluate("layout", user)
        assert values[i] == one.value
        assert variations[i] == (one.experiment_result.variation_id if one.source == "experiment" else None)
    assert set(values) == {"vip", "classic", "grid"}
    unknown = post(pm, "/api/v1/flags/evaluate", {"environment": "staging", "flags": ["nope"], "users": []})
    assert unknown.status_code == 422 and "Not served in Staging: nope" in unknown.json()["message"]
    too_many = post(pm, "/api/v1/flags/evaluate", {"users": [{}] * 100_001})
    assert too_many.status_code == 422
    everything = post(token_client(world.actor(Role.STAKEHOLDER)), "/api/v1/flags/evaluate", {"users": [{"id": "x"}]})
    assert everything.status_code == 200 and set(everything.json()["flags"]) == {"layout"}
