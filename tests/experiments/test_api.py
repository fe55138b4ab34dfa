"""The experiments API: CRUD, start/stop/decide, the design calculation, results as data, learnings."""

from __future__ import annotations

import json

from tests.conftest import token_client
from tests.experiments.simulation import send, simulate
from valueloop.core.permissions import Role
from valueloop.engines import stats
from valueloop.experiments import services


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def _patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def test_api__create_update_start_results_decide(world, pm, lab):
    _, parts = lab
    client = token_client(pm)
    body = {
        "key": "api-test",
        "name": "API test",
        "hypothesis": "Faster is better.",
        "feature_id": world.feature_a.pk,
        "flag_id": parts["flag"].pk,
        "environment_id": parts["env"].pk,
        "variations": [{"name": "Control", "value": False}, {"name": "Fast", "value": True}],
        "weights": [0.5, 0.5],
        "metrics": [{"metric_id": parts["conversion"].pk, "role": "primary"}],
    }
    response = _post(client, "/api/v1/experiments", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "draft" and created["metrics"][0]["role"] == "primary"
    url = f"/api/v1/experiments/{created['id']}"
    response = _patch(client, url, {"name": "Renamed", "version": created["version"]})
    assert response.status_code == 200 and response.json()["version"] == created["version"] + 1
    assert _patch(client, url, {"name": "Stale", "version": created["version"]}).status_code == 409
    response = _patch(client, url, {"weights": [0.7, 0.2]})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "weights", "message": "They add up to 0.9; they must add up to 1."}]
    assert _post(client, f"{url}/start", {}).json()["status"] == "running"
    empty = client.get(f"{url}/results").json()
    assert empty["has_data"] is False and empty["units"] == [0, 0] and "No exposures" in empty["message"]
    sim = simulate("api-test", units=(300, 320), rates=(0.1, 0.2), seed=4)
    send(world.ws_a, sim)
    results = client.get(f"{url}/results").json()
    assert results["has_data"] and results["units"] == [300, 320]
    (metric,) = results["metrics"]
    want = stats.analyse("binomial", sim.stats("conversion"), weights=[0.5, 0.5]).comparison(1)
    assert metric["effects"][0]["relative"]["estimate"] == want.relative.estimate
    assert metric["effects"][0]["absolute"]["p_value"] == want.absolute.p_value
    assert results["srm"]["warning"] is False and results["series"][-1]["estimate"] == want.relative.estimate
    response = _post(client, f"{url}/decide", {"outcome": "ship", "variation": 1, "learning": "Fast wins."})
    assert response.status_code == 201, response.content
    assert response.json()["decision"]["outcome"] == "ship" and response.json()["experiment"]["status"] == "decided"
    learnings = client.get("/api/v1/experiments/learnings?search=fast").json()
    assert learnings["count"] == 1 and learnings["items"][0]["experiment_name"] == "Renamed"
    learning_id = learnings["items"][0]["id"]
    assert client.get(f"/api/v1/experiments/learnings/{learning_id}").json()["outcome"] == "ship"
    assert _post(client, f"{url}/decide", {"outcome": "stop", "learning": "again"}).status_code == 409


def test_api__bad_bodies_name_the_field(world, pm, lab):
    _, parts = lab
    client = token_client(pm)
    response = _post(
        client,
        "/api/v1/experiments",
        {
            "key": "x",
            "name": "x",
            "hypothesis": "x",
            "flag_id": parts["flag"].pk,
            "environment_id": parts["env"].pk,
            "variations": [{"name": "a", "value": 1}],
            "weightz": [1],
        },
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"variations", "weightz"} <= fields


def test_api__design_calculation(world):
    client = token_client(world.actor(Role.STAKEHOLDER))
    body = {"baseline": 0.1, "mde": 0.05, "daily_traffic": 4000, "coverage": 0.5, "planned_days": 21}
    response = _post(client, "/api/v1/experiments/design", body)
    assert response.status_code == 200, response.content
    expected = stats.sample_size("binomial", baseline=0.1, mde=0.05, daily_units=4000, traffic_fraction=0.5)
    data = response.json()
    assert data["n_per_variation"] == expected.n_per_variation and data["days"] == expected.days
    reachable = stats.minimum_detectable_effect("binomial", baseline=0.1, n_per_variation=4000 * 0.5 * 0.5 * 21)
    assert abs(data["reachable_relative_mde"] - reachable.relative) < 1e-12
    response = _post(client, "/api/v1/experiments/design", {**body, "weights": [0.6, 0.3]})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "weights"
    response = _post(client, "/api/v1/experiments/design", {**body, "baseline": 1.5})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "baseline"
    response = _post(client, "/api/v1/experiments/design", {**body, "kind": "mean", "baseline": 20})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "variance"


def test_api__metrics_crud(world, pm):
    client = token_client(pm)
    response = _post(
        client,
        "/api/v1/experiments/metrics",
        {
            "key": "aov",
            "name": "AOV",
            "kind": "ratio",
            "event": "purchase",
            "aggregation": "sum",
            "denominator_event": "order",
        },
    )
    assert response.status_code == 201, response.content
    metric = response.json()
    url = f"/api/v1/experiments/metrics/{metric['id']}"
    assert _patch(client, url, {"lower_is_better": True, "version": 1}).json()["lower_is_better"] is True
    assert client.get("/api/v1/experiments/metrics").json()["count"] == 1
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_api__stakeholder_reads_but_cannot_write(world, pm, lab):
    experiment, _ = lab
    client = token_client(world.actor(Role.STAKEHOLDER))
    assert client.get(f"/api/v1/experiments/{experiment.pk}").status_code == 200
    assert _post(client, f"/api/v1/experiments/{experiment.pk}/start", {}).status_code == 403
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    assert client.get(f"/api/v1/experiments/{experiment.pk}/results").status_code == 200
