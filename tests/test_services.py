"""Behaviour of the foundation's services: audit, versions, roles, tokens, invitations,
comments and notifications."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core import mail
from django.utils import timezone

from tests.conftest import token_client
from valueloop.accounts.models import ApiToken, User
from valueloop.accounts.services import token_create, token_revoke
from valueloop.collaboration import services as collab
from valueloop.collaboration.models import Follow, Notification
from valueloop.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.workspaces import services
from valueloop.workspaces.models import Membership, Product


def test_product_update__audits_before_and_after(world):
    services.product_update(actor=world.actor_a, product_id=world.product_a.pk, description="New words")
    event = AuditEvent.objects.filter(entity_type="product", entity_id=world.product_a.pk, action="updated").get()
    assert event.changes == {"description": ["", "New words"]}
    assert event.actor == world.users[Role.ADMIN]
    assert event.workspace == world.ws_a


def test_product_update__stale_version_is_refused_and_nothing_changes(world):
    product = services.product_update(actor=world.actor_a, product_id=world.product_a.pk, description="v2")
    assert product.version == 2
    with pytest.raises(Conflict) as excinfo:
        services.product_update(actor=world.actor_a, product_id=product.pk, expected_version=1, description="v3")
    assert "version 1" in excinfo.value.message
    assert Product.objects.get(pk=product.pk).description == "v2"


def test_product_update__over_api_answers_409_on_stale_version(world):
    client = token_client(world.actor_a)
    url = f"/api/v1/products/{world.product_a.pk}"
    ok = client.patch(url, json.dumps({"description": "one", "version": 1}), content_type="application/json")
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = client.patch(url, json.dumps({"description": "two", "version": 1}), content_type="application/json")
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"


def test_product_create__duplicate_name_is_invalid_and_writes_nothing(world):
    before = AuditEvent.objects.count()
    with pytest.raises(Invalid) as excinfo:
        services.product_create(actor=world.actor_a, name="alpha app", key="ZZZ")
    assert "name" in excinfo.value.fields
    assert AuditEvent.objects.count() == before


def test_product_create__contributor_is_forbidden(world):
    with pytest.raises(PermissionDenied):
        services.product_create(actor=world.actor(Role.CONTRIBUTOR), name="Nope")


def test_product_archive_and_restore__are_audited_and_reversible(world):
    services.product_archive(actor=world.actor_a, product_id=world.product_a.pk)
    assert Product.objects.get(pk=world.product_a.pk).archived_at is not None
    services.product_archive(actor=world.actor_a, product_id=world.product_a.pk, archived=False)
    assert Product.objects.get(pk=world.product_a.pk).archived_at is None
    actions = list(
        AuditEvent.objects.filter(entity_type="product", entity_id=world.product_a.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["created", "archived", "restored"]


def test_member_role_change__last_admin_cannot_be_demoted_or_removed(world):
    admin_membership = world.member(Role.ADMIN)
    with pytest.raises(Conflict):
        services.member_role_change(actor=world.actor_a, membership_id=admin_membership.pk, role="stakeholder")
    with pytest.raises(Conflict):
        services.member_remove(actor=world.actor_a, membership_id=admin_membership.pk)
    services.member_role_change(actor=world.actor_a, membership_id=world.member(Role.PRODUCT_MANAGER).pk, role="admin")
    services.member_role_change(actor=world.actor_a, membership_id=admin_membership.pk, role="stakeholder")
    assert Membership.objects.get(pk=admin_membership.pk).role == "stakeholder"


def test_member_remove__revokes_their_tokens(world):
    pm = world.actor(Role.PRODUCT_MANAGER)
    client = token_client(pm)
    assert client.get("/api/v1/me").status_code == 200
    services.member_remove(actor=world.actor_a, membership_id=world.member(Role.PRODUCT_MANAGER).pk)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert "revoked" in response.json()["message"]


def test_token__is_shown_once_and_stored_as_digest(world):
    token, secret = token_create(actor=world.actor_a, name="ci")
    assert secret.startswith("vl_") and secret not in (token.digest, token.prefix)
    assert not ApiToken.objects.filter(digest=secret).exists()


def test_token__role_is_capped_by_the_member_role(world):
    with pytest.raises(Invalid):
        token_create(actor=world.actor(Role.CONTRIBUTOR), name="x", role="admin")
    # a demoted member's older admin-level token acts with the new, weaker role
    pm_membership = world.member(Role.PRODUCT_MANAGER)
    client = token_client(world.actor(Role.PRODUCT_MANAGER))
    services.member_role_change(actor=world.actor_a, membership_id=pm_membership.pk, role="stakeholder")
    response = client.post("/api/v1/products", json.dumps({"name": "Sneaky"}), content_type="application/json")
    assert response.status_code == 403


def test_token__revoked_and_expired_tokens_are_refused_with_reason(world):
    token, secret = token_create(actor=world.actor_a, name="old", expires_in_days=1)
    client = token_client(world.actor_a)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    assert client.get("/api/v1/me").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and "expired" in response.json()["message"]
    token2, secret2 = token_create(actor=world.actor_a, name="other")
    token_revoke(actor=world.actor_a, token_id=token2.pk)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret2}"
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and "revoked" in response.json()["message"]
    client.defaults["HTTP_AUTHORIZATION"] = "Bearer nonsense"
    assert "not a Valueloop token" in client.get("/api/v1/me").json()["message"]


def test_invitation__by_link_adds_member_once(world):
    _invitation, url = services.invitation_create(actor=world.actor_a, role="contributor")
    token = url.rstrip("/").rsplit("/", 1)[1]
    newcomer = User.objects.create_user("new@x.test", "pw-new-1234567")
    membership = services.invitation_accept(user=newcomer, token=token)
    assert membership.role == "contributor" and membership.workspace == world.ws_a
    with pytest.raises(NotFound):
        services.invitation_accept(user=newcomer, token=token)  # used


def test_invitation__by_email_sends_mail_and_checks_address(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _, url = services.invitation_create(actor=world.actor_a, role="stakeholder", email="Guest@X.test")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["guest@x.test"]
    assert url in mail.outbox[0].body
    other = User.objects.create_user("someone-else@x.test", "pw-other-1234567")
    with pytest.raises(Invalid):
        services.invitation_accept(user=other, token=url.rstrip("/").rsplit("/", 1)[1])


def test_invitation__expired_link_is_refused(world):
    invitation, url = services.invitation_create(actor=world.actor_a, role="contributor")
    invitation.expires_at = timezone.now() - dt.timedelta(minutes=1)
    invitation.save()
    with pytest.raises(NotFound):
        services.invitation_for_token(url.rstrip("/").rsplit("/", 1)[1])


def test_comment_create__mentions_notify_members_once_and_author_follows(world):
    pm = world.users[Role.PRODUCT_MANAGER]
    comment = collab.comment_create(
        actor=world.actor_a,
        entity_type="product",
        entity_id=world.product_a.pk,
        body="@product-manager look, and again @product-manager; cc @product-manager@a.test",
    )
    notes = Notification.objects.filter(recipient=pm)
    assert notes.count() == 1 and notes.get().kind == "mention" and notes.get().comment == comment
    assert Follow.objects.filter(user=world.users[Role.ADMIN], entity_id=world.product_a.pk).exists()
    # a follower hears about the next comment; the author does not
    collab.comment_create(
        actor=world.actor(Role.CONTRIBUTOR), entity_type="product", entity_id=world.product_a.pk, body="Reply"
    )
    assert Notification.objects.filter(recipient=world.users[Role.ADMIN], kind="comment").count() == 1
    assert not Notification.objects.filter(recipient=world.users[Role.CONTRIBUTOR]).exists()


def test_comment__markdown_is_sanitised(world):
    comment = collab.comment_create(
        actor=world.actor_a,
        entity_type="product",
        entity_id=world.product_a.pk,
        body="<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> **bold**",
    )
    html = comment.body_html
    assert "<script" not in html
    assert 'href="javascript:' not in html
    assert "<img" not in html  # raw HTML is shown as text, never as an element
    assert "&lt;script&gt;" in html
    assert "<strong>bold</strong>" in html


def test_comment_update__only_author_or_admin(world):
    comment = collab.comment_create(
        actor=world.actor(Role.CONTRIBUTOR), entity_type="product", entity_id=world.product_a.pk, body="mine"
    )
    with pytest.raises(PermissionDenied):
        collab.comment_update(actor=world.actor(Role.PRODUCT_MANAGER), comment_id=comment.pk, body="theirs")
    collab.comment_update(actor=world.actor_a, comment_id=comment.pk, body="moderated")
    collab.comment_delete(actor=world.actor(Role.CONTRIBUTOR), comment_id=comment.pk)
    event = AuditEvent.objects.filter(entity_type="comment", entity_id=comment.pk, action="deleted").get()
    assert event.changes == {"body": ["moderated", None]}


def test_comment_create__on_unknown_entity_is_not_found(world):
    with pytest.raises(NotFound):
        collab.comment_create(actor=world.actor_a, entity_type="product", entity_id=world.product_b.pk, body="x")
    with pytest.raises(NotFound):
        collab.comment_create(actor=world.actor_a, entity_type="spaceship", entity_id=1, body="x")
