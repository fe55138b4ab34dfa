"""Changing or resetting a password ends other sessions and (by default) revokes the API tokens;
an admin revokes a member's tokens for their workspace."""

from __future__ import annotations

import re

from django.contrib.sessions.backends.cached_db import SessionStore
from django.core import mail
from django.test import Client, override_settings

from tests.conftest import token_client
from valueloop.accounts.models import ApiToken
from valueloop.accounts.selectors import token_lookup
from valueloop.accounts.services import token_create
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.workspaces.models import Membership

NEW_PASSWORD = "a-much-better-pass-42"


def _signed_in(email: str, password: str, address: str) -> Client:
    client = Client(REMOTE_ADDR=address)
    assert client.post("/accounts/login/", {"email": email, "password": password}).status_code == 302
    return client


def _tokens_in_both_workspaces(world) -> list[str]:
    """admin@a.test holds two tokens in A and, as a member of B, one in B."""
    admin = world.users[Role.ADMIN]
    Membership.objects.create(workspace=world.ws_b, user=admin, role=Role.CONTRIBUTOR.value)
    secrets = [token_create(actor=world.actor_a, name=name)[1] for name in ("ci", "laptop")]
    secrets.append(token_create(actor=Actor(user=admin, workspace=world.ws_b, role=Role.CONTRIBUTOR), name="b")[1])
    return secrets


def _session_is_gone(client: Client) -> bool:
    key = client.cookies["sessionid"].value
    client.get("/accounts/profile/")  # the session's next request
    return not SessionStore().exists(key)


def test_password_change__revokes_tokens_and_signs_out_other_sessions(world):
    secrets = _tokens_in_both_workspaces(world)
    here = _signed_in("admin@a.test", "pw-admin-123456", "192.0.2.1")
    elsewhere = _signed_in("admin@a.test", "pw-admin-123456", "192.0.2.2")

    form = here.get("/accounts/password/")
    assert form.status_code == 200
    assert re.search(r'name="revoke_tokens" value="1" checked', form.content.decode())
    response = here.post(
        "/accounts/password/",
        {
            "old_password": "pw-admin-123456",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "revoke_tokens": "1",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/accounts/profile/"
    assert "Your other sessions are signed out. 3 API tokens revoked." in response.content.decode()

    assert here.get("/accounts/profile/").status_code == 200  # this session stays
    assert elsewhere.get("/accounts/profile/").status_code == 302  # the other one is signed out...
    assert _session_is_gone(elsewhere)  # ...and its session is deleted from the cache and the database
    assert [token_lookup(secret)[1] for secret in secrets] == ["The bearer token was revoked."] * 3
    revoked = AuditEvent.objects.filter(entity_type="api_token", action="revoked")
    assert sorted(revoked.values_list("workspace_id", flat=True)) == sorted(
        [world.ws_a.pk, world.ws_a.pk, world.ws_b.pk]
    )
    assert set(revoked.values_list("actor_label", flat=True)) == {"admin@a.test"}
    changed = AuditEvent.objects.get(entity_type="user", action="password_changed")
    assert changed.changes == {"api_tokens_revoked": [None, 3]}


def test_password_change__unticked_keeps_the_tokens(world):
    secrets = _tokens_in_both_workspaces(world)
    here = _signed_in("admin@a.test", "pw-admin-123456", "192.0.2.1")
    elsewhere = _signed_in("admin@a.test", "pw-admin-123456", "192.0.2.2")
    response = here.post(
        "/accounts/password/",
        {"old_password": "pw-admin-123456", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert all(token_lookup(secret)[0] is not None for secret in secrets)
    assert elsewhere.get("/accounts/profile/").status_code == 302  # a new password always ends other sessions


def test_password_change__wrong_current_password_changes_nothing(world):
    secrets = _tokens_in_both_workspaces(world)
    here = _signed_in("admin@a.test", "pw-admin-123456", "192.0.2.1")
    response = here.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, "revoke_tokens": "1"},
    )
    assert response.status_code == 400
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert all(token_lookup(secret)[0] is not None for secret in secrets)
    assert Client().login(username="admin@a.test", password="pw-admin-123456")
    assert Client().get("/accounts/password/").status_code == 302  # signed-out visitors go to sign in


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_password_reset_confirm__offers_revocation_and_ends_every_session(world):
    secrets = _tokens_in_both_workspaces(world)
    elsewhere = _signed_in("admin@a.test", "pw-admin-123456", "192.0.2.2")
    client = Client()
    client.post("/accounts/password-reset/", {"email": "admin@a.test"})
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert re.search(r'name="revoke_tokens" value="1" checked', form.content.decode())
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, "revoke_tokens": "1"},
    )
    assert response.status_code == 302
    assert [token_lookup(secret)[1] for secret in secrets] == ["The bearer token was revoked."] * 3
    assert _session_is_gone(elsewhere)
    assert Client().login(username="admin@a.test", password=NEW_PASSWORD)


def test_member_tokens_revoke__admin_revokes_only_this_workspaces_tokens(world):
    secrets = _tokens_in_both_workspaces(world)  # the member is admin@a.test; B's admin acts below
    member_in_b = Membership.objects.get(workspace=world.ws_b, user=world.users[Role.ADMIN])
    b_admin = token_client(world.actor_b)
    response = b_admin.delete(f"/api/v1/members/{member_in_b.pk}/tokens")
    assert response.status_code == 200 and response.json() == {"revoked": 1}
    assert [token_lookup(secret)[0] is not None for secret in secrets] == [True, True, False]
    event = AuditEvent.objects.get(entity_type="api_token", action="revoked")
    assert (event.workspace_id, event.actor_label, event.via) == (world.ws_b.pk, "admin@b.test", "api")
    # A's membership id is another workspace's: 404, nothing revoked
    member_in_a = world.member(Role.ADMIN)
    assert b_admin.delete(f"/api/v1/members/{member_in_a.pk}/tokens").status_code == 404
    assert [token_lookup(secret)[0] is not None for secret in secrets[:2]] == [True, True]


def test_members_page__admin_revokes_a_members_tokens(world):
    pm = world.users[Role.PRODUCT_MANAGER]
    _, secret = token_create(actor=world.actor(Role.PRODUCT_MANAGER), name="pm laptop")
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    url = f"/w/{world.ws_a.slug}/members/"
    page = client.get(url)
    assert f"Revoke the API tokens of {pm.display_name}" in page.content.decode()
    revoke = f"{url}{world.member(Role.PRODUCT_MANAGER).pk}/tokens/revoke/"  # each member's button posts here
    response = client.post(revoke, follow=True)
    assert "1 API token revoked." in response.content.decode()
    assert token_lookup(secret)[1] == "The bearer token was revoked."
    assert client.post(f"{url}x/tokens/revoke/").status_code == 404  # not a member id: no such page

    contributor = Client()
    contributor.force_login(world.users[Role.CONTRIBUTOR])
    page = contributor.get(url)
    assert "Revoke the API tokens" not in page.content.decode()
    assert contributor.post(revoke).status_code == 403


def test_member_remove__audits_each_revoked_token(world):
    token, _ = token_create(actor=world.actor(Role.PRODUCT_MANAGER), name="pm laptop")
    client = token_client(world.actor_a)
    assert client.delete(f"/api/v1/members/{world.member(Role.PRODUCT_MANAGER).pk}").status_code == 204
    assert AuditEvent.objects.filter(entity_type="api_token", entity_id=token.pk, action="revoked").count() == 1
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
