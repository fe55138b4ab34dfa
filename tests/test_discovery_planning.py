"""Problems and features: the opportunity-solution tree, cross-workspace checks, release stamp."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.conftest import token_client
from valueloop.core.errors import Conflict, Invalid
from valueloop.core.permissions import Role
from valueloop.discovery.services import problem_create, problem_update
from valueloop.planning.models import Feature
from valueloop.planning.services import feature_create, feature_update


def test_problem_create__product_of_another_workspace_is_refused(world):
    with pytest.raises(Invalid) as excinfo:
        problem_create(actor=world.actor_a, title="X", product_id=world.product_b.pk)
    assert "product_id" in excinfo.value.fields


def test_problem_create__area_implies_its_product_and_must_match(world):
    problem = problem_create(actor=world.actor_a, title="Area only", area_id=world.area_a.pk)
    assert problem.product_id == world.product_a.pk
    other = problem_create(actor=world.actor_a, title="Other product", product_id=None)
    with pytest.raises(Invalid):
        problem_update(actor=world.actor_a, problem_id=other.pk, area_id=world.area_b.pk)


def test_feature_release__stamps_released_at_once_and_clears_on_reopen(world):
    feature = feature_update(actor=world.actor_a, feature_id=world.feature_a.pk, status="released")
    first = feature.released_at
    assert first is not None
    feature = feature_update(actor=world.actor_a, feature_id=feature.pk, title="Renamed")
    assert feature.released_at == first
    feature = feature_update(actor=world.actor_a, feature_id=feature.pk, status="in_progress")
    assert feature.released_at is None


def test_feature_create__problem_of_another_workspace_is_refused(world):
    with pytest.raises(Invalid) as excinfo:
        feature_create(actor=world.actor_a, title="Y", problem_id=world.problem_b.pk)
    assert "problem_id" in excinfo.value.fields
    assert not Feature.objects.filter(title="Y").exists()


def test_feature_update__stale_version_conflicts(world):
    feature_update(actor=world.actor_a, feature_id=world.feature_a.pk, expected_version=1, title="v2")
    with pytest.raises(Conflict):
        feature_update(actor=world.actor_a, feature_id=world.feature_a.pk, expected_version=1, title="v3")


def test_feature_api__create_and_filter_by_problem(world):
    client = token_client(world.actor(Role.PRODUCT_OWNER))
    response = client.post(
        "/api/v1/features",
        json.dumps({"title": "Bulk approve", "problem_id": world.problem_a.pk}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    listing = client.get(f"/api/v1/features?problem_id={world.problem_a.pk}").json()
    assert {f["title"] for f in listing["items"]} == {"Alpha feature", "Bulk approve"}
    bad = client.post(
        "/api/v1/features", json.dumps({"title": "x", "status": "shipped"}), content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"


def test_tree_page__shows_problems_with_their_solutions(world):
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    html = client.get(f"/w/{world.ws_a.slug}/problems/tree/").content.decode()
    assert html.index("Alpha problem") < html.index("Alpha feature")
    assert "Beta" not in html


def test_problem_page__form_errors_and_evidence_empty_state(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    response = client.post(f"/w/{world.ws_a.slug}/problems/", {"title": " "})
    assert response.status_code == 400 and "Please fix the following" in response.content.decode()
    page = client.get(f"/w/{world.ws_a.slug}/problems/{world.problem_a.pk}/").content.decode()
    assert "No customer evidence yet" in page and "Alpha feature" in page
