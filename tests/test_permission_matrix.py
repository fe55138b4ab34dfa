"""Every role x every API operation and page, expected allow/deny derived from the one
role->scope table. Generated from the routing tables: a new route is covered automatically."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.conftest import build_for_module, session_world
from tests.evidence.matrix import evidence_ids
from tests.experiments.matrix import experiment_ids
from tests.flags.matrix import flag_ids
from tests.planning.matrix import planning_ids
from tests.routes import LazyIds, api_operations, fill, pages, query_for, sample_body
from tests.themes.matrix import theme_ids
from valueloop.accounts.services import token_create
from valueloop.collaboration.services import comment_create
from valueloop.core.permissions import Role, has_scope
from valueloop.workspaces.services import invitation_create

OPERATIONS = api_operations()
PAGES = pages()


def shared_ids(world) -> LazyIds:
    """Rows of workspace A that any route may name, whoever calls it (created by A's admin)."""
    invitation, _ = invitation_create(actor=world.actor_a, role="contributor", email="someone@example.com")
    from valueloop.feedback.services import feedback_create

    feedback = feedback_create(actor=world.actor_a, text="Alpha feedback about dunning", tags=["dunning"])
    from tests.customers.matrix import customer_ids

    eager = {
        "ws": world.ws_a.slug,
        "product_id": world.product_a.pk,
        "problem_id": world.problem_a.pk,
        "feature_id": world.feature_a.pk,
        "area_id": world.area_a.pk,
        "invitation_id": invitation.pk,
        "notification_id": 1,
        "token": "not-a-real-token",
        "section": "customers",
        "uidb64": "MQ",
        "feedback_id": feedback.pk,
        "tag_id": feedback.tags.get().pk,
    }
    a = world.actor_a
    return LazyIds(
        eager,
        [
            (("customer_id", "contact_id", "persona_id", "rate_id"), lambda: customer_ids(a)),
            (("delivery_item_id", "formula_id", "team_id", "throughput_id"), lambda: planning_ids(a)),
            (
                ("evidence_id", "highlight_id", "interview_id", "link_feedback_id", "target_id", "target_type"),
                lambda: evidence_ids(a),
            ),
            (
                ("environment_id", "flag_id", "group_id", "revision_id", "rule_id"),
                lambda: flag_ids(a),
            ),
            (("item_id", "other_theme_id", "theme_id"), lambda: theme_ids(a)),
            (
                ("exp_environment_id", "exp_feature_id", "exp_flag_id", "experiment_id", "learning_id", "metric_id"),
                lambda: experiment_ids(a),
            ),
        ],
    )


def ids_for(world, role: Role, shared: LazyIds | None = None) -> LazyIds:
    """Concrete ids in workspace A for every path parameter the routes use: the ``shared`` rows (built here when not
    given) and the caller's own comment, token, saved view and a member other than the caller."""
    shared = shared_ids(world) if shared is None else shared
    actor = world.actor(role)
    comment = comment_create(actor=actor, entity_type="product", entity_id=world.product_a.pk, body="hello")
    token, _ = token_create(actor=actor, name="to revoke")
    target = world.member(Role.CONTRIBUTOR if role != Role.CONTRIBUTOR else Role.STAKEHOLDER)
    from valueloop.feedback.services import saved_view_create

    return shared.overlay(
        {
            "member_id": target.pk,
            "comment_id": comment.pk,
            "token_id": token.pk,
            "view_id": saved_view_create(actor=actor, name="My view", query="status=new").pk,
        }
    )


class MatrixRows:
    """Every role's ids (every group built) and the secret of an API token per role, made once per module."""

    def __init__(self, world):
        shared = shared_ids(world).build_all()
        self.ids = {role: ids_for(world, role, shared) for role in Role}
        self.secrets = {role: token_create(actor=world.actor(role), name="matrix")[1] for role in Role}

    def client(self, role: Role) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {self.secrets[role]}")


@pytest.fixture(scope="module")
def rows(module_transaction, django_db_blocker) -> MatrixRows:
    # Built once, inside the module's transaction: each test's writes roll back to these rows, and the module's end
    # rolls the rows back, so other modules never see them. Building them per test was most of the suite's time.
    return build_for_module(django_db_blocker, lambda: MatrixRows(session_world()))


def call_api(client: Client, op, ids: dict):
    url = fill(op.path, ids) + query_for(op.operation_id, ids)
    kwargs = {}
    if op.method in {"POST", "PUT", "PATCH"}:
        body = sample_body(op.operation_id, ids)
        if body is not None:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, op.method.lower())(url, **kwargs)


def test_every_api_operation_declares_its_scope():
    undeclared = [f"{o.method} {o.path}" for o in OPERATIONS if not o.declared]
    assert not undeclared, f"Operations without @requires: {undeclared}"
    assert len(OPERATIONS) >= 25


def test_every_page_declares_who_may_see_it():
    undeclared = [p.route for p in PAGES if p.kind is None and not p.route.startswith("static")]
    assert not undeclared, f"Pages without workspace_page/signed_in_page/public_page: {undeclared}"


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("op", OPERATIONS, ids=lambda o: o.operation_id)
def test_api_matrix(world, rows, op, role):
    response = call_api(rows.client(role), op, rows.ids[role])
    allowed = op.scope is None or has_scope(role, op.scope)
    if allowed:
        assert response.status_code not in (401, 403, 404, 405, 500), (role, op, response.content)
    else:
        assert response.status_code == 403, (role, op, response.status_code, response.content)
        assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda o: o.operation_id)
def test_api_without_credentials_is_401(world, rows, op):
    response = call_api(Client(), op, rows.ids[Role.ADMIN])
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


WORKSPACE_PAGES = [p for p in PAGES if p.kind == "workspace"]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("page", WORKSPACE_PAGES, ids=lambda p: p.name)
def test_page_matrix(world, rows, page, role):
    client = Client()
    client.force_login(world.users[role])
    ids = rows.ids[role]
    url = "/" + fill(page.route, ids)
    response = client.get(url)
    if response.status_code == 405:  # a POST-only page: post an empty form
        response = client.post(url, {})
    allowed = page.scope is None or has_scope(role, page.scope)
    if allowed:
        assert response.status_code not in (401, 403, 500), (role, page.route, response.status_code)
    else:
        assert response.status_code == 403, (role, page.route, response.status_code)


@pytest.mark.parametrize("page", WORKSPACE_PAGES, ids=lambda p: p.name)
def test_page_of_other_workspace_is_404(world, rows, page):
    client = Client()
    client.force_login(world.admin_b)  # not a member of A
    url = "/" + fill(page.route, rows.ids[Role.ADMIN])
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    assert response.status_code == 404, (page.route, response.status_code)


@pytest.mark.parametrize("page", [p for p in PAGES if p.kind in ("workspace", "signed_in")], ids=lambda p: p.name)
def test_pages_send_anonymous_users_to_sign_in(world, rows, page):
    url = "/" + fill(page.route, rows.ids[Role.ADMIN])
    response = Client().get(url)
    if response.status_code == 405:
        response = Client().post(url, {})
    assert response.status_code in (302, 403), (page.route, response.status_code)
    if response.status_code == 302:
        assert "/accounts/login/" in response["Location"]
