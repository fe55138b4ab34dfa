"""Who may create workspaces: an instance policy (VALUELOOP_WORKSPACE_CREATION=admins|everyone, default admins).

An instance admin is ``User.is_staff`` (``valueloop createadmin`` makes one; the demo's admin is one). The operator's
own commands (via cli/system) are not bound by the policy.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from valueloop.accounts.models import User
from valueloop.core.errors import PermissionDenied
from valueloop.core.permissions import Role
from valueloop.workspaces import services
from valueloop.workspaces.models import Membership, Workspace

NEW = "/workspaces/new/"
REFUSAL = "On this server, workspaces are created by its administrators"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_workspace_create__default_policy_admits_instance_admins_only(world, settings):
    assert settings.WORKSPACE_CREATION == "admins"
    ordinary = world.users[Role.PRODUCT_MANAGER]
    with pytest.raises(PermissionDenied) as caught:
        services.workspace_create(user=ordinary, name="Side project")
    assert caught.value.status == 403 and REFUSAL in caught.value.message
    assert not Workspace.objects.filter(name="Side project").exists()
    staff = User.objects.create_user("ops@a.test", "pw-ops-123456", is_staff=True)
    workspace = services.workspace_create(user=staff, name="Side project")
    assert Membership.objects.get(workspace=workspace, user=staff).role == Role.ADMIN


def test_workspace_create__everyone_policy_admits_every_signed_in_user(world, settings):
    settings.WORKSPACE_CREATION = "everyone"
    workspace = services.workspace_create(user=world.users[Role.STAKEHOLDER], name="Mine")
    assert Membership.objects.filter(workspace=workspace, user=world.users[Role.STAKEHOLDER]).exists()


def test_workspace_create__an_inactive_user_is_refused_under_either_policy(world, settings):
    settings.WORKSPACE_CREATION = "everyone"
    user = User.objects.create_user("gone@a.test", "pw-gone-123456", is_active=False, is_staff=True)
    with pytest.raises(PermissionDenied):
        services.workspace_create(user=user, name="Ghost")


@pytest.mark.parametrize("via", ["cli", "system"])
def test_workspace_create__the_operators_commands_are_not_bound(world, via):
    workspace = services.workspace_create(user=world.users[Role.CONTRIBUTOR], name="Imported", via=via)
    assert workspace.pk


def test_workspace_create_view__excluded_users_get_403_with_the_reason(world):
    client = signed_in(world.users[Role.PRODUCT_MANAGER])
    response = client.get(NEW)
    assert response.status_code == 403 and REFUSAL in response.content.decode()
    response = client.post(NEW, {"name": "Sneaky", "timezone": "UTC", "currency": "USD"})
    assert response.status_code == 403 and REFUSAL in response.content.decode()
    assert not Workspace.objects.filter(name="Sneaky").exists()


def test_workspace_create_view__instance_admin_creates_a_workspace(world):
    client = signed_in(world.users[Role.ADMIN])
    assert client.get(NEW).status_code == 200
    response = client.post(NEW, {"name": "Gamma", "timezone": "UTC", "currency": "EUR"})
    workspace = Workspace.objects.get(name="Gamma")
    assert response.status_code == 302 and response["Location"] == f"/w/{workspace.slug}/"


@pytest.mark.parametrize(
    ("policy", "role", "shown"),
    [
        ("admins", Role.ADMIN, True),  # admin A is an instance admin
        ("admins", Role.PRODUCT_MANAGER, False),
        ("everyone", Role.PRODUCT_MANAGER, True),
    ],
)
def test_workspaces_view__shows_new_workspace_only_to_whom_may_create(world, settings, policy, role, shown):
    settings.WORKSPACE_CREATION = policy
    html = signed_in(world.users[role]).get("/workspaces/").content.decode()
    assert (f'href="{NEW}"' in html) is shown


def test_createadmin__makes_an_instance_admin_who_may_create_workspaces(db, capsys):
    call_command("createadmin", "--email", "Root@Example.test", "--generate-password")
    user = User.objects.get(email="root@example.test")
    assert user.is_staff
    assert "Generated password" in capsys.readouterr().out
    assert signed_in(user).post(NEW, {"name": "First", "timezone": "UTC", "currency": "USD"}).status_code == 302


def test_settings__workspace_creation_policy_is_validated():
    from tests.test_deploy_defaults import run_python

    result = run_python("import django; django.setup()", VALUELOOP_MODE="test", VALUELOOP_WORKSPACE_CREATION="anyone")
    assert result.returncode != 0
    assert "VALUELOOP_WORKSPACE_CREATION must be admins or everyone" in result.stderr
