"""Shared fixtures: two workspaces (A and B), a member of A in every role, API clients.

Workspace B exists so that every test can check that A's users never see B's rows.
"""

from __future__ import annotations

import pytest
from django.test import Client

from valueloop.accounts.models import User
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.workspaces import services as ws_services
from valueloop.workspaces.models import Membership


class World:
    """Two workspaces with a member in every role in A and an admin in B, plus sample rows."""

    def __init__(self):
        self.users: dict[Role, User] = {}
        # The admins of A and B created their workspaces, so they are instance admins (the default policy).
        admin = User.objects.create_user(
            "admin@a.test", "pw-admin-123456", name="Admin A", handle="admin-a", is_staff=True
        )
        self.users[Role.ADMIN] = admin
        self.ws_a = ws_services.workspace_create(user=admin, name="Alpha Co")
        for role in Role:
            if role == Role.ADMIN:
                continue
            handle = role.value.replace("_", "-")
            user = User.objects.create_user(f"{handle}@a.test", "pw-member-123456", name=handle.title(), handle=handle)
            Membership.objects.create(workspace=self.ws_a, user=user, role=role.value)
            self.users[role] = user
        self.admin_b = User.objects.create_user(
            "admin@b.test", "pw-admin-b-123456", name="Admin B", handle="admin-b", is_staff=True
        )
        self.ws_b = ws_services.workspace_create(user=self.admin_b, name="Beta Inc")
        self.actor_a = Actor(user=admin, workspace=self.ws_a, role=Role.ADMIN)
        self.actor_b = Actor(user=self.admin_b, workspace=self.ws_b, role=Role.ADMIN)
        self.product_a = ws_services.product_create(actor=self.actor_a, name="Alpha App", key="ALP")
        self.area_a = ws_services.area_create(actor=self.actor_a, product_id=self.product_a.pk, name="Billing")
        self.product_b = ws_services.product_create(actor=self.actor_b, name="Beta App", key="BET")
        self.area_b = ws_services.area_create(actor=self.actor_b, product_id=self.product_b.pk, name="Search")
        from valueloop.discovery.services import problem_create
        from valueloop.planning.services import feature_create

        self.problem_a = problem_create(actor=self.actor_a, title="Alpha problem", product_id=self.product_a.pk)
        self.feature_a = feature_create(actor=self.actor_a, title="Alpha feature", problem_id=self.problem_a.pk)
        self.problem_b = problem_create(actor=self.actor_b, title="Beta problem", product_id=self.product_b.pk)
        self.feature_b = feature_create(actor=self.actor_b, title="Beta feature", problem_id=self.problem_b.pk)

    def actor(self, role: Role) -> Actor:
        return Actor(user=self.users[role], workspace=self.ws_a, role=role)

    def member(self, role: Role) -> Membership:
        return Membership.objects.get(workspace=self.ws_a, user=self.users[role])


@pytest.fixture(autouse=True)
def _private_event_store(settings, tmp_path_factory):
    """Each test gets its own event store (Parquet parts): SQLite hands out the same workspace ids again after
    a rollback, and parallel workers share the data dir, so a shared store would leak events between tests."""
    settings.EVENTS_DIR = tmp_path_factory.mktemp("events")


@pytest.fixture
def world(db) -> World:
    return World()


def token_client(actor: Actor, role: str | None = None) -> Client:
    from valueloop.accounts.services import token_create

    _, secret = token_create(actor=actor, name="test", role=role)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def api_client_for(world):
    def make(role: Role) -> Client:
        return token_client(world.actor(role))

    return make
