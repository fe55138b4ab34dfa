"""A member of workspace A using B's ids gets 404 on every operation that takes an id, and
listings never include B's rows. Generated from the API routing table."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.conftest import build_for_module, session_world
from tests.evidence.matrix import evidence_ids
from tests.experiments.matrix import experiment_ids
from tests.flags.matrix import flag_ids
from tests.planning.matrix import planning_ids
from tests.routes import LazyIds, api_operations, fill, listing_query_for, query_for, sample_body
from tests.themes.matrix import theme_ids
from valueloop.accounts.services import token_create
from valueloop.collaboration.services import comment_create
from valueloop.core.permissions import Role
from valueloop.workspaces.models import Membership
from valueloop.workspaces.services import invitation_create

OPERATIONS = api_operations()
WITH_IDS = [
    o
    for o in OPERATIONS
    if "{" in o.path
    or o.operation_id
    in {
        "collaboration_comment_list",
        "collaboration_activity_list",
        "collaboration_comment_create",
        "collaboration_follow_update",
    }
]
LISTS = [
    o
    for o in OPERATIONS
    if o.method == "GET"
    and "{" not in o.path
    and o.operation_id not in {"collaboration_comment_list", "collaboration_activity_list"}
]
B_MARKERS = ("Beta", "beta-secret", "admin@b.test")


def b_ids(world) -> dict:
    comment = comment_create(
        actor=world.actor_b, entity_type="product", entity_id=world.product_b.pk, body="beta-secret comment"
    )
    invitation, _ = invitation_create(actor=world.actor_b, role="contributor", email="beta-guest@b.test")
    token, _ = token_create(actor=world.actor_b, name="Beta token")
    from valueloop.feedback.services import feedback_create, saved_view_create

    b_feedback = feedback_create(actor=world.actor_b, text="Beta feedback beta-secret", tags=["beta-secret-tag"])
    from tests.customers.matrix import customer_ids

    eager = {
        "ws": world.ws_b.slug,
        "product_id": world.product_b.pk,
        "problem_id": world.problem_b.pk,
        "feature_id": world.feature_b.pk,
        "area_id": world.area_b.pk,
        "member_id": Membership.objects.get(workspace=world.ws_b, user=world.admin_b).pk,
        "comment_id": comment.pk,
        "invitation_id": invitation.pk,
        "token_id": token.pk,
        "feedback_id": b_feedback.pk,
        "tag_id": b_feedback.tags.get().pk,
        "view_id": saved_view_create(actor=world.actor_b, name="Beta view", query="").pk,
    }
    b = world.actor_b
    return LazyIds(
        eager,
        [
            (("customer_id", "contact_id", "persona_id", "rate_id"), lambda: customer_ids(b, "Beta")),
            (("delivery_item_id", "formula_id", "team_id", "throughput_id"), lambda: planning_ids(b, "Beta")),
            (
                ("evidence_id", "highlight_id", "interview_id", "link_feedback_id", "target_id", "target_type"),
                lambda: evidence_ids(b, "Beta"),
            ),
            (("environment_id", "flag_id", "group_id", "revision_id", "rule_id"), lambda: flag_ids(b, "Beta")),
            (("item_id", "other_theme_id", "theme_id"), lambda: theme_ids(b, "Beta")),
            (
                ("exp_environment_id", "exp_feature_id", "exp_flag_id", "experiment_id", "learning_id", "metric_id"),
                lambda: experiment_ids(b, "Beta"),
            ),
        ],
    )


class IsolationRows:
    """Workspace B's rows (every group built) and an API token of A's admin, made once per module."""

    def __init__(self, world):
        self.b_ids = b_ids(world).build_all()
        self.a_secret = token_create(actor=world.actor_a, name="isolation")[1]

    def a_client(self) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {self.a_secret}")


@pytest.fixture(scope="module")
def rows(module_transaction, django_db_blocker) -> IsolationRows:
    # Built once inside the module's transaction (see tests/conftest.py): tests roll back to these rows.
    return build_for_module(django_db_blocker, lambda: IsolationRows(session_world()))


@pytest.mark.parametrize("op", WITH_IDS, ids=lambda o: o.operation_id)
def test_ids_of_another_workspace_answer_404(world, rows, op):
    ids = rows.b_ids
    client = rows.a_client()
    url = fill(op.path, ids) + query_for(op.operation_id, ids)
    kwargs = {}
    if op.method in {"POST", "PUT", "PATCH"}:
        body = sample_body(op.operation_id, ids)
        if body is not None:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    response = getattr(client, op.method.lower())(url, **kwargs)
    assert response.status_code == 404, (op.operation_id, response.status_code, response.content)
    assert response.json()["code"] == "not_found"
    # and nothing of B leaked into the error
    assert not any(marker in response.content.decode() for marker in B_MARKERS)


@pytest.mark.parametrize("op", LISTS, ids=lambda o: o.operation_id)
def test_listings_never_show_another_workspace(world, rows, op):
    comment_create(actor=world.actor_a, entity_type="product", entity_id=world.product_a.pk, body="@admin-b hello")
    response = rows.a_client().get(op.path + "?page_size=200" + listing_query_for(op.operation_id))
    assert response.status_code == 200, response.content
    text = response.content.decode()
    assert not any(marker in text for marker in B_MARKERS), (op.operation_id, text[:500])


def test_session_user_cannot_pick_a_workspace_they_do_not_belong_to(world, client):
    client.force_login(world.users[Role.ADMIN])
    response = client.get("/api/v1/products", HTTP_X_WORKSPACE=world.ws_b.slug)
    assert response.status_code == 401
    assert response.json()["code"] == "no_workspace"
    response = client.get("/api/v1/products", HTTP_X_WORKSPACE=world.ws_a.slug)
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["items"]] == ["Alpha App"]


def test_mentions_never_notify_members_of_other_workspaces(world):
    from valueloop.collaboration.models import Notification

    # Counted before and after: B's admin may hold notifications other tests of this worker left committed.
    before = Notification.objects.filter(recipient=world.admin_b).count()
    comment_create(
        actor=world.actor_a, entity_type="product", entity_id=world.product_a.pk, body="ping @admin-b and @admin@b.test"
    )
    assert Notification.objects.filter(recipient=world.admin_b).count() == before


def test_pages_of_b_ids_inside_a_are_404(world, client):
    client.force_login(world.users[Role.ADMIN])
    response = client.get(f"/w/{world.ws_a.slug}/products/{world.product_b.pk}/")
    assert response.status_code == 404
    response = client.get(f"/w/{world.ws_b.slug}/products/{world.product_b.pk}/")
    assert response.status_code == 404
