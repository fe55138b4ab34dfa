"""Shared fixtures: two workspaces (A and B), a member of A in every role, API clients.

Workspace B exists so that every test can check that A's users never see B's rows.

The world is built once per test session (per xdist worker), right after the test database is set up, and
committed; every database test then runs in a transaction that rolls back, so the world's rows are the same at the
start of every test, whether or not the test asks for ``world``. Invariants:
- ``world`` hands each test its own deep copy of the session's objects, so a test that changes an instance in
  memory (``world.ws_a.currency = ...``) cannot leak that into the next test; the per-process caches keyed by the
  world's workspace ids (the home page's counts) are dropped before each test for the same reason.
- Transactional tests (``transaction=True``, ``transactional_db``, ``live_server`` with it) flush every table when
  they end; before the next test starts, a missing world is built again (new ids), so every test sees one.
"""

from __future__ import annotations

import copy

import pytest
from django.db import transaction
from django.test import Client

from valueloop.accounts.models import User
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.workspaces import services as ws_services
from valueloop.workspaces.models import Membership, Workspace


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


class _Session:
    """The session's world (the template each test copies) and pytest-django's database blocker."""

    world: World | None = None
    blocker = None


def _build_world() -> World:
    with _Session.blocker.unblock(), transaction.atomic():
        return World()


def _world_present() -> bool:
    world = _Session.world
    with _Session.blocker.unblock():
        return Workspace.objects.filter(pk=world.ws_a.pk).exists() and User.objects.filter(pk=world.admin_b.pk).exists()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, plus the world committed in it (once per session and worker)."""
    _Session.blocker = django_db_blocker
    with django_db_blocker.unblock():
        if User.objects.filter(email="admin@a.test").exists():  # --reuse-db kept an earlier session's rows
            from django.core.management import call_command

            call_command("flush", interactive=False, verbosity=0)
    _Session.world = _build_world()
    yield
    _Session.world = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Runs before the test's fixtures (so outside its transaction): a transactional test before this one flushed
    # the tables, and the world is built again, committed, for this test and the ones after it.
    if _Session.world is not None and not _world_present():
        _Session.world = _build_world()


@pytest.fixture(scope="module")
def module_transaction(django_db_setup, django_db_blocker):
    """One transaction around a whole module: rows a module fixture builds after this one are shared by the
    module's tests (each test runs in a savepoint rolled back after it, so no test sees another's writes) and are
    rolled back when the module ends, so no other module sees them. Not for modules with transactional tests
    (their flush cannot run inside a transaction)."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic._from_testcase = True  # as Django's TestCase marks its own: durable blocks inside stay allowed
        atomic.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def build_for_module(django_db_blocker, build):
    """Run ``build()`` with database access, for a module-scoped fixture that depends on ``module_transaction``."""
    with django_db_blocker.unblock():
        return build()


def session_world() -> World:
    """The session's world itself (not a copy), for module-scoped fixtures; tests use the ``world`` fixture."""
    return _Session.world


@pytest.fixture(autouse=True)
def _private_event_store(settings, tmp_path_factory):
    """Each test gets its own event store (Parquet parts): SQLite hands out the same workspace ids again after
    a rollback, and parallel workers share the data dir, so a shared store would leak events between tests."""
    settings.EVENTS_DIR = tmp_path_factory.mktemp("events")


@pytest.fixture
def world(db) -> World:
    from valueloop.home.selectors import forget_summary

    template = _Session.world
    for workspace in (template.ws_a, template.ws_b):
        forget_summary(workspace.pk)
    return copy.deepcopy(template)


def token_client(actor: Actor, role: str | None = None) -> Client:
    from valueloop.accounts.services import token_create

    _, secret = token_create(actor=actor, name="test", role=role)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def api_client_for(world):
    def make(role: Role) -> Client:
        return token_client(world.actor(role))

    return make
