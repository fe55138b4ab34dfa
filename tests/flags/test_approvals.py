"""Who approves flag changes, and who is told (issue 10, item 4).

Approval belongs to members who could make the change (admin, product manager, product owner) or, where an
environment names approvers, to them alone; a stakeholder never approves or publishes a flag change; nobody
approves their own change. A change awaiting approval notifies its approvers in-app and by email; its authors
hear when it is approved or rejected.
"""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.test import Client

from tests.conftest import token_client
from tests.factories import MembershipFactory
from valueloop.collaboration.models import Notification
from valueloop.core.errors import Invalid, PermissionDenied
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.flags import services
from valueloop.flags.models import FlagRevision


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def login(world, role) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


def submit(flags, author, key="approval-flag", capture=None):
    """A production change by ``author``, submitted for approval (mail sent when ``capture`` runs commit hooks)."""
    flag = flags.flag(key=key, actor=author)
    flags.rule(flag, flags.prod, actor=author, kind="force", value=True)
    if capture is None:
        return services.draft_publish(actor=author, flag_id=flag.pk, environment_id=flags.prod.pk, comment="go")
    with capture(execute=True):
        return services.draft_publish(actor=author, flag_id=flag.pk, environment_id=flags.prod.pk, comment="go")


def notified(world, kind) -> set[int]:
    return set(Notification.objects.filter(workspace=world.ws_a, kind=kind).values_list("recipient_id", flat=True))


# --- who approves -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.CONTRIBUTOR])
def test_revision_approve__refused_to_roles_that_cannot_change_flags_api(flags, world, role):
    pending = submit(flags, flags.pm)
    client = token_client(world.actor(role))
    for action in ("approve", "reject"):
        response = post(client, f"/api/v1/flags/revisions/{pending.pk}/{action}", {"comment": "x"})
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "forbidden"
    pending.refresh_from_db()
    assert pending.state == "pending_approval"


def test_revision_approve__by_a_product_owner_publishes_api(flags, world):
    pending = submit(flags, flags.pm)
    response = post(token_client(flags.po), f"/api/v1/flags/revisions/{pending.pk}/approve", {"comment": "ok"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "published"
    assert response.json()["reviewed_by_email"] == flags.po.user.email


def test_revision_approve__self_approval_refused_api(flags, world):
    pending = submit(flags, flags.po)
    response = post(token_client(flags.po), f"/api/v1/flags/revisions/{pending.pk}/approve", {})
    assert response.status_code == 403
    assert "cannot approve" in response.json()["message"]
    pending.refresh_from_db()
    assert pending.state == "pending_approval"


def test_revision_approve__stakeholder_refused_on_the_approvals_page(flags, world):
    pending = submit(flags, flags.pm)
    page = login(world, Role.STAKEHOLDER)
    assert "Approve and publish" not in page.get(f"/w/{world.ws_a.slug}/flags/approvals/").content.decode()
    response = page.post(f"/w/{world.ws_a.slug}/flags/approvals/", {"action": "approve", "revision_id": pending.pk})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.state == "pending_approval"
    shown = page.get(f"/w/{world.ws_a.slug}/flags/approvals/").content.decode()
    assert "does not allow portfolio.write" in shown


def test_revision_approve__product_owner_on_the_approvals_page(flags, world):
    pending = submit(flags, flags.pm)
    page = login(world, Role.PRODUCT_OWNER)
    assert "Approve and publish" in page.get(f"/w/{world.ws_a.slug}/flags/approvals/").content.decode()
    page.post(f"/w/{world.ws_a.slug}/flags/approvals/", {"action": "approve", "revision_id": pending.pk})
    pending.refresh_from_db()
    assert pending.state == "published" and pending.reviewed_by == flags.po.user


# --- named approvers ----------------------------------------------------------------------------------------------


def test_environment_update__named_approvers_alone_approve(flags, world):
    services.environment_update(actor=flags.admin, environment_id=flags.prod.pk, approver_ids=[flags.po.user.pk])
    pending = submit(flags, flags.pm)
    with pytest.raises(PermissionDenied, match="named approvers of Production") as exc:
        services.revision_approve(actor=flags.admin, revision_id=pending.pk)
    assert exc.value.code == "not_an_approver"
    with pytest.raises(PermissionDenied, match="named approvers"):
        services.revision_reject(actor=flags.admin, revision_id=pending.pk)
    approved = services.revision_approve(actor=flags.po, revision_id=pending.pk)
    assert approved.state == "published"


def test_environment_update__approvers_must_be_members_who_may_change_flags(flags, world):
    outsider = world.admin_b
    for user, message in (
        (outsider, "not a member of this workspace"),
        (world.users[Role.STAKEHOLDER], "cannot change flags"),
        (world.users[Role.CONTRIBUTOR], "cannot change flags"),
    ):
        with pytest.raises(Invalid, match=message) as exc:
            services.environment_update(actor=flags.admin, environment_id=flags.prod.pk, approver_ids=[user.pk])
        assert "approver_ids" in exc.value.fields
    assert list(flags.reload(flags.prod).approvers.all()) == []
    with pytest.raises(PermissionDenied):
        services.environment_update(actor=flags.pm, environment_id=flags.prod.pk, approver_ids=[flags.pm.user.pk])


def test_environment_update__approvers_api_set_read_validate_and_clear(flags, world):
    admin = token_client(flags.admin)
    url = f"/api/v1/flags/environments/{flags.prod.pk}"
    response = patch(admin, url, {"approver_ids": [flags.po.user.pk, flags.pm.user.pk]})
    assert response.status_code == 200, response.content
    assert response.json()["approver_ids"] == sorted([flags.po.user.pk, flags.pm.user.pk])
    bad = patch(admin, url, {"approver_ids": [world.users[Role.STAKEHOLDER].pk]})
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["approver_ids"]
    assert patch(token_client(flags.pm), url, {"approver_ids": []}).status_code == 403
    cleared = patch(admin, url, {"approver_ids": []})
    assert cleared.json()["approver_ids"] == []
    listed = admin.get("/api/v1/flags/environments").json()["items"]
    assert {e["key"]: e["approver_ids"] for e in listed}["production"] == []


def test_environment_approvers_page__sets_approvers_and_refuses_others(flags, world):
    url = f"/w/{world.ws_a.slug}/flags/environments/{flags.prod.pk}/approvers/"
    admin = login(world, Role.ADMIN)
    form = admin.get(url).content.decode()
    assert world.users[Role.PRODUCT_OWNER].email in form
    assert world.users[Role.STAKEHOLDER].email not in form  # stakeholders are not offered
    refused = admin.post(url, {"approver_ids": [world.users[Role.STAKEHOLDER].pk]})
    assert refused.status_code == 400
    assert "not a member who may change flags" in refused.content.decode()
    saved = admin.post(url, {"approver_ids": [flags.po.user.pk], "version": flags.reload(flags.prod).version})
    assert saved.status_code == 302
    assert list(flags.reload(flags.prod).approvers.all()) == [flags.po.user]
    assert "Approvers: Product-Owner" in admin.get(f"/w/{world.ws_a.slug}/flags/sdk/").content.decode()
    assert login(world, Role.PRODUCT_MANAGER).post(url, {"approver_ids": []}).status_code == 403


# --- who is told --------------------------------------------------------------------------------------------------


def test_draft_publish__notifies_and_emails_every_approver_but_the_author(
    flags, world, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    pending = submit(flags, flags.pm, capture=django_capture_on_commit_callbacks)
    expected = {flags.admin.user.pk, flags.po.user.pk}  # who may change flags, but not the author
    assert notified(world, "approval_requested") == expected
    note = Notification.objects.filter(kind="approval_requested").first()
    assert note.actor == flags.pm.user and note.entity_type == "flag" and note.entity_id == pending.flag_id
    assert {m.to[0] for m in mail.outbox} == {flags.admin.user.email, flags.po.user.email}
    assert all(len(m.to) == 1 for m in mail.outbox)
    body = mail.outbox[0].body
    assert "approval-flag" in body and f"/w/{world.ws_a.slug}/flags/approvals/" in body


def test_draft_publish__notifies_only_the_named_approvers(flags, world, django_capture_on_commit_callbacks):
    services.environment_update(actor=flags.admin, environment_id=flags.prod.pk, approver_ids=[flags.po.user.pk])
    mail.outbox.clear()
    submit(flags, flags.pm, capture=django_capture_on_commit_callbacks)
    assert notified(world, "approval_requested") == {flags.po.user.pk}
    assert [m.to for m in mail.outbox] == [[flags.po.user.email]]


def test_revision_rollback__pending_rollback_notifies_approvers(flags, world, django_capture_on_commit_callbacks):
    pending = submit(flags, flags.pm)
    services.revision_approve(actor=flags.admin, revision_id=pending.pk)
    first = FlagRevision.objects.get(flag=pending.flag, environment=flags.prod, number=1)
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        services.revision_rollback(actor=flags.po, revision_id=first.pk)
    assert notified(world, "approval_requested") == {flags.admin.user.pk, flags.pm.user.pk}


@pytest.mark.parametrize("decision", ["approved", "rejected"])
def test_review__the_authors_are_told(flags, world, django_capture_on_commit_callbacks, decision):
    extra = MembershipFactory(workspace=world.ws_a, role=Role.PRODUCT_OWNER.value).user
    co_author = Actor(user=extra, workspace=world.ws_a, role=Role.PRODUCT_OWNER)
    flag = flags.flag(key="told-flag", actor=flags.pm)
    flags.rule(flag, flags.prod, actor=flags.pm, kind="force", value=True)
    flags.rule(flag, flags.prod, actor=co_author, kind="force", value=False)
    pending = services.draft_publish(actor=flags.pm, flag_id=flag.pk, environment_id=flags.prod.pk)
    mail.outbox.clear()
    review = services.revision_approve if decision == "approved" else services.revision_reject
    with django_capture_on_commit_callbacks(execute=True):
        review(actor=flags.admin, revision_id=pending.pk, comment="looked at it")
    assert notified(world, "approval_decided") == {flags.pm.user.pk, extra.pk}
    label = Notification.objects.filter(kind="approval_decided").first().entity_label
    assert label == f"told-flag #{pending.number} in Production {decision}"
    assert {m.to[0] for m in mail.outbox} == {flags.pm.user.email, extra.email}
    assert all(decision in m.subject and "looked at it" in m.body for m in mail.outbox)


def test_notifications_page__shows_the_request_and_the_badge(flags, world):
    submit(flags, flags.pm)
    page = login(world, Role.PRODUCT_OWNER).get(f"/w/{world.ws_a.slug}/notifications/").content.decode()
    assert "asks for your approval of" in page and "approval-flag #" in page
    assert 'data-testid="unread-count">1<' in page
