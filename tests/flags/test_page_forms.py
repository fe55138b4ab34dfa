"""Flags' page forms: bad input is answered with the error beside the field (or, for a button, as a message) and
nothing written; good input saves; another workspace's ids are 404. One view per form: each posts to its own URL."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.page_forms import audit_unchanged, error_beside  # noqa: F401  (the ``audit_unchanged`` fixture)
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.flags import services
from valueloop.flags.bootstrap import ensure_environments
from valueloop.flags.models import Environment, FlagRevision, FlagState, SavedGroup


def login(world, role=Role.ADMIN) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


def env_url(world, environment, action: str) -> str:
    return f"/w/{world.ws_a.slug}/flags/environments/{environment.pk}/{action}/"


@pytest.fixture
def prod(world) -> Environment:
    return {e.key: e for e in ensure_environments(world.ws_a)}["production"]


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


@pytest.mark.parametrize(
    ("action", "field", "posted"),
    [
        ("approval", "requires_approval", {}),
        ("approval", "requires_approval", {"requires_approval": "yes"}),
        ("encryption", "encrypted", {"encrypted": ""}),
        ("encryption", "encrypted", {"encrypted": "1"}),
    ],
)
@pytest.mark.usefixtures("audit_unchanged")
def test_environment_toggles__bad_input_is_refused_with_a_message_and_writes_nothing(
    world, prod, action, field, posted
):
    before = (prod.requires_approval, prod.encryption_key, prod.version)
    response = login(world).post(env_url(world, prod, action), posted, follow=True)
    assert response.status_code == 200 and "Choose on or off." in _messages(response)
    prod.refresh_from_db()
    assert (prod.requires_approval, prod.encryption_key, prod.version) == before


def test_environment_toggles__good_input_saves(world, prod):
    admin = login(world)
    assert prod.requires_approval and not prod.encryption_key
    response = admin.post(env_url(world, prod, "approval"), {"requires_approval": "false"}, follow=True)
    assert "Approval setting saved." in _messages(response)
    admin.post(env_url(world, prod, "encryption"), {"encrypted": "true"})
    prod.refresh_from_db()
    assert not prod.requires_approval and prod.encryption_key
    admin.post(env_url(world, prod, "encryption"), {"encrypted": "false"})
    prod.refresh_from_db()
    assert not prod.encryption_key


def test_sdk_keys__rotate_then_revoke(world, prod):
    admin = login(world)
    old = prod.sdk_keys.get(revoked_at=None)
    response = admin.post(env_url(world, prod, "rotate-key"), follow=True)
    assert "New SDK key issued" in _messages(response)
    new = prod.sdk_keys.get(revoked_at=None)
    assert new.pk != old.pk
    admin.post(env_url(world, prod, "revoke-key"))
    assert not prod.sdk_keys.filter(revoked_at=None).exists()


@pytest.mark.parametrize("action", ["rotate-key", "revoke-key", "approval", "encryption"])
def test_sdk_buttons__another_workspace_environment_is_404_and_a_non_admin_403(world, prod, action):
    other = ensure_environments(world.ws_b)[0]
    data = {"requires_approval": "true", "encrypted": "true"}
    assert login(world).post(env_url(world, other, action), data).status_code == 404
    before = (prod.requires_approval, prod.encryption_key, prod.version)
    assert login(world, Role.PRODUCT_MANAGER).post(env_url(world, prod, action), data).status_code == 403
    prod.refresh_from_db()
    assert (prod.requires_approval, prod.encryption_key, prod.version) == before
    assert prod.sdk_keys.filter(revoked_at=None).count() == 1


def test_sdk_page__answers_get_only(world):
    assert login(world).post(f"/w/{world.ws_a.slug}/flags/sdk/", {"action": "rotate"}).status_code == 405


# --- saved groups -------------------------------------------------------------------------------------------------


def groups_url(world) -> str:
    return f"/w/{world.ws_a.slug}/flags/groups/"


@pytest.fixture
def staff(world):
    return services.group_create(
        actor=world.actor(Role.PRODUCT_MANAGER), key="staff", name="Staff", attribute="email", values=["a@x.io"]
    )


@pytest.mark.usefixtures("audit_unchanged")
def test_group_list_view__bad_input_is_shown_beside_the_field_and_kept(world):
    pm = login(world, Role.PRODUCT_MANAGER)
    blank = pm.post(groups_url(world), {"key": "", "name": "EU", "kind": "list"})
    assert blank.status_code == 400 and error_beside(blank, "ng-key") == "This field is required."
    bad_json = pm.post(groups_url(world), {"key": "eu", "name": "EU", "kind": "condition", "condition": "{country"})
    assert bad_json.status_code == 400
    assert error_beside(bad_json, "ng-condition").startswith("Not valid JSON:")
    assert 'value="eu"' in bad_json.content.decode() and "{country</textarea>" in bad_json.content.decode()
    bad_kind = pm.post(groups_url(world), {"key": "eu", "name": "EU", "kind": "everyone"})
    assert bad_kind.status_code == 400 and "not one of the available choices" in error_beside(bad_kind, "ng-kind")
    refused = pm.post(
        groups_url(world), {"key": "eu", "name": "EU", "kind": "condition", "condition": '{"a": {"$ni": []}}'}
    )
    assert refused.status_code == 400 and "unknown operator $ni" in error_beside(refused, "ng-condition")
    assert not SavedGroup.objects.filter(workspace=world.ws_a).exists()


def test_group_list_view__good_input_saves_and_search_filters(world, staff):
    pm = login(world, Role.PRODUCT_MANAGER)
    response = pm.post(
        groups_url(world), {"key": "germany", "name": "Germany", "kind": "condition", "condition": '{"country": "DE"}'}
    )
    assert response.status_code == 302
    group = SavedGroup.objects.get(workspace=world.ws_a, key="germany")
    assert group.kind == "condition" and group.condition == {"country": "DE"} and group.values == []
    found = pm.get(groups_url(world), {"q": "germ"}).content.decode()
    assert "Germany" in found and "Staff" not in found
    everything = pm.get(groups_url(world), {"page": "zz"})  # an unreadable page number reads as the first
    assert everything.status_code == 200 and "Staff" in everything.content.decode()


def test_group_detail_view__bad_input_beside_the_field_and_a_stale_version_refused(world, staff):
    audited = AuditEvent.objects.count()  # after ``staff`` exists
    pm = login(world, Role.PRODUCT_MANAGER)
    url = f"{groups_url(world)}{staff.pk}/"
    page = pm.get(url).content.decode()
    assert "a@x.io</textarea>" in page and 'id="eg-values"' in page
    blank = pm.post(url, {"name": " ", "kind": "list", "attribute": "email", "values": "b@x.io", "version": 1})
    assert blank.status_code == 400 and error_beside(blank, "eg-name") == "This field is required."
    assert "b@x.io</textarea>" in blank.content.decode()
    stale = pm.post(url, {"name": "Staff", "kind": "list", "attribute": "email", "values": "b@x.io", "version": 9})
    assert stale.status_code == 400 and "someone else" in stale.content.decode()
    staff.refresh_from_db()
    assert staff.values == ["a@x.io"] and AuditEvent.objects.count() == audited


def test_group_detail_view__good_input_saves(world, staff):
    pm = login(world, Role.PRODUCT_MANAGER)
    url = f"{groups_url(world)}{staff.pk}/"
    data = {"name": "Staff", "kind": "list", "attribute": "email", "values": "b@x.io, c@x.io", "version": 1}
    assert pm.post(url, data).status_code == 302
    staff.refresh_from_db()
    assert staff.values == ["b@x.io", "c@x.io"] and staff.version == 2


def test_group_delete_view__in_use_refused_on_the_page_and_other_workspace_404(world, staff):
    pm = login(world, Role.PRODUCT_MANAGER)
    actor = world.actor(Role.PRODUCT_MANAGER)
    flag = services.flag_create(actor=actor, key="beta")
    dev = {e.key: e for e in ensure_environments(world.ws_a)}["development"]
    services.rule_create(
        actor=actor, flag_id=flag.pk, environment_id=dev.pk, kind="force", value=True, saved_groups=["staff"]
    )
    refused = pm.post(f"{groups_url(world)}{staff.pk}/delete/")
    assert refused.status_code == 400 and "is used by beta" in refused.content.decode()
    assert SavedGroup.objects.filter(pk=staff.pk).exists()
    other = services.group_create(actor=world.actor_b, key="other", name="Other", values=["x"])
    assert pm.post(f"{groups_url(world)}{other.pk}/delete/").status_code == 404
    assert pm.post(f"{groups_url(world)}{other.pk}/", {"name": "Mine", "kind": "list"}).status_code == 404
    assert login(world, Role.CONTRIBUTOR).post(f"{groups_url(world)}{staff.pk}/delete/").status_code == 403
    assert SavedGroup.objects.filter(pk__in=[staff.pk, other.pk]).count() == 2


# --- approvals and revisions --------------------------------------------------------------------------------------


def pending_change(world, key="approval-flag"):
    """A production change by the product manager, awaiting approval."""
    pm = world.actor(Role.PRODUCT_MANAGER)
    prod = {e.key: e for e in ensure_environments(world.ws_a)}["production"]
    flag = services.flag_create(actor=pm, key=key)
    services.rule_create(actor=pm, flag_id=flag.pk, environment_id=prod.pk, kind="force", value=True)
    return services.draft_publish(actor=pm, flag_id=flag.pk, environment_id=prod.pk)


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"revision_id": "{pk}"}, "Approve or reject."),
        ({"revision_id": "{pk}", "action": "publish"}, "Approve or reject."),
        ({"action": "approve"}, "Choose the change to review."),
        ({"action": "approve", "revision_id": "abc"}, "Enter a whole number."),
        ({"action": "approve", "revision_id": "{pk}", "comment": "x" * 501}, "at most 500 characters"),
    ],
)
def test_approval_list_view__bad_input_is_refused_with_a_message_and_writes_nothing(world, posted, message):
    pending = pending_change(world)
    audited = AuditEvent.objects.count()
    data = {k: v.replace("{pk}", str(pending.pk)) for k, v in posted.items()}
    response = login(world).post(f"/w/{world.ws_a.slug}/flags/approvals/", data, follow=True)
    assert response.status_code == 200 and message in _messages(response)
    pending.refresh_from_db()
    assert pending.state == "pending_approval" and AuditEvent.objects.count() == audited


def test_approval_list_view__approve_and_reject_and_a_safe_next(world):
    url = f"/w/{world.ws_a.slug}/flags/approvals/"
    first, second = pending_change(world), pending_change(world, key="other-flag")
    admin = login(world)
    approved = admin.post(url, {"action": "approve", "revision_id": first.pk, "next": "https://evil.example/"})
    assert approved["Location"] == url
    rejected = admin.post(url, {"action": "reject", "revision_id": second.pk, "comment": "not now", "next": "/w/x/"})
    assert rejected["Location"] == "/w/x/"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state, second.review_comment) == ("published", "rejected", "not now")


def test_approval_list_view__another_workspace_change_is_404(world):
    pending = pending_change(world)
    response = Client()
    response.force_login(world.admin_b)
    url = f"/w/{world.ws_b.slug}/flags/approvals/"
    assert response.post(url, {"action": "approve", "revision_id": pending.pk}).status_code == 404
    pending.refresh_from_db()
    assert pending.state == "pending_approval"


def test_revision_list_view__bad_rollback_refused_and_other_workspace_404(world):
    actor = world.actor(Role.PRODUCT_MANAGER)
    flag = services.flag_create(actor=actor, key="limit")
    staging = {e.key: e for e in ensure_environments(world.ws_a)}["staging"]
    services.rule_create(actor=actor, flag_id=flag.pk, environment_id=staging.pk, kind="force", value=True)
    url = f"/w/{world.ws_a.slug}/flags/{flag.pk}/revisions/"
    pm = login(world, Role.PRODUCT_MANAGER)
    other = pending_change_in_b(world)
    count = FlagRevision.objects.count()
    bad = pm.post(f"{url}?environment={staging.pk}", {"revision_id": "abc"}, follow=True)
    assert "Enter a whole number." in _messages(bad)
    assert bad.redirect_chain[-1][0] == f"{url}?environment={staging.pk}"
    assert pm.post(url, {"revision_id": other.pk}).status_code == 404
    assert login(world, Role.STAKEHOLDER).post(url, {"revision_id": "1"}).status_code == 403
    assert FlagRevision.objects.count() == count
    assert pm.get(url, {"environment": "zz", "page": "zz"}).status_code == 200


def pending_change_in_b(world):
    flag = services.flag_create(actor=world.actor_b, key="b-flag")
    dev = {e.key: e for e in ensure_environments(world.ws_b)}["development"]
    services.rule_create(actor=world.actor_b, flag_id=flag.pk, environment_id=dev.pk, kind="force", value=True)
    return FlagRevision.objects.filter(flag=flag).first()


# --- flag detail --------------------------------------------------------------------------------------------------


def flag_url(world, flag, action="") -> str:
    return f"/w/{world.ws_a.slug}/flags/{flag.pk}/{action}"


@pytest.fixture
def limit(world):
    return services.flag_create(
        actor=world.actor(Role.PRODUCT_MANAGER), key="limit", value_type="number", default_value=1
    )


def test_flag_detail_view__bad_input_is_shown_beside_the_field_and_kept(world, limit):
    audited = AuditEvent.objects.count()  # after ``limit`` exists
    pm = login(world, Role.PRODUCT_MANAGER)
    page = pm.get(flag_url(world, limit)).content.decode()
    assert 'id="fd-default_value"' in page and 'value="1"' in page
    not_a_number = pm.post(flag_url(world, limit), {"default_value": "abc", "description": "typed", "version": 1})
    assert not_a_number.status_code == 400
    assert error_beside(not_a_number, "fd-default_value") == "The default value must be a number."
    assert 'value="abc"' in not_a_number.content.decode() and ">\ntyped</textarea>" in not_a_number.content.decode()
    other = pm.post(flag_url(world, limit), {"feature_id": world.feature_b.pk, "version": 1})
    assert other.status_code == 400
    assert error_beside(other, "fd-feature_id").startswith("No such feature in this workspace")
    stale = pm.post(flag_url(world, limit), {"default_value": "2", "version": 7})
    assert stale.status_code == 400 and "someone else" in stale.content.decode()
    limit.refresh_from_db()
    assert (limit.default_value, limit.description, limit.feature_id) == (1, "", None)
    assert AuditEvent.objects.count() == audited


def test_flag_detail_view__good_input_saves_and_blank_default_keeps_it(world, limit):
    pm = login(world, Role.PRODUCT_MANAGER)
    data = {"default_value": " ", "feature_id": world.feature_a.pk, "description": "Rate limit", "version": 1}
    assert pm.post(flag_url(world, limit), data).status_code == 302
    limit.refresh_from_db()
    assert (limit.default_value, limit.feature_id, limit.description) == (1, world.feature_a.pk, "Rate limit")
    assert pm.post(flag_url(world, limit), {"default_value": "2.5", "version": limit.version}).status_code == 302
    limit.refresh_from_db()
    assert limit.default_value == 2.5


def test_flag_archive_and_restore__own_urls_and_other_workspace_404(world, limit, prod):
    # Without an approval environment, archiving is immediate.
    services.environment_update(actor=world.actor_a, environment_id=prod.pk, requires_approval=False)
    pm = login(world, Role.PRODUCT_MANAGER)
    assert pm.post(flag_url(world, limit, "archive/")).status_code == 302
    limit.refresh_from_db()
    assert limit.archived_at is not None
    assert pm.post(flag_url(world, limit, "restore/")).status_code == 302
    limit.refresh_from_db()
    assert limit.archived_at is None
    other = services.flag_create(actor=world.actor_b, key="b-flag")
    assert pm.post(flag_url(world, other, "archive/")).status_code == 404
    assert pm.post(flag_url(world, other), {"description": "mine"}).status_code == 404
    assert login(world, Role.CONTRIBUTOR).post(flag_url(world, limit, "archive/")).status_code == 403
    assert pm.get(flag_url(world, limit, "archive/")).status_code == 405
    other.refresh_from_db()
    assert other.archived_at is None and other.description == ""


def test_flag_archive_view__a_flag_served_under_approval_is_refused_on_the_page(world):
    pending = pending_change(world)
    pm = login(world, Role.PRODUCT_MANAGER)
    admin = world.actor_a
    services.revision_approve(actor=admin, revision_id=pending.pk)
    refused = pm.post(flag_url(world, pending.flag, "archive/"))
    assert refused.status_code == 400 and "error-summary" in refused.content.decode()
    pending.flag.refresh_from_db()
    assert pending.flag.archived_at is None


# --- flag list and kill switch ------------------------------------------------------------------------------------


def test_flag_list_view__bad_input_is_shown_beside_the_field_and_kept(world):
    audited = AuditEvent.objects.count()
    pm = login(world, Role.PRODUCT_MANAGER)
    url = f"/w/{world.ws_a.slug}/flags/"
    wrong_type = pm.post(url, {"key": "limit", "value_type": "number", "default_value": "abc", "description": "kept"})
    assert wrong_type.status_code == 400
    assert error_beside(wrong_type, "nf-default_value") == "The default value must be a number."
    assert 'value="abc"' in wrong_type.content.decode() and 'value="kept"' in wrong_type.content.decode()
    unknown_type = pm.post(url, {"key": "limit", "value_type": "date"})
    assert unknown_type.status_code == 400 and "not one of the available choices" in error_beside(
        unknown_type, "nf-value_type"
    )
    other = pm.post(url, {"key": "limit", "value_type": "boolean", "feature_id": world.feature_b.pk})
    assert error_beside(other, "nf-feature_id").startswith("No such feature in this workspace")
    bad_key = pm.post(url, {"key": "Bad Key", "value_type": "boolean"})
    assert bad_key.status_code == 400 and "lower-case letters" in error_beside(bad_key, "nf-key")
    assert AuditEvent.objects.count() == audited


def test_flag_list_view__unreadable_filters_read_as_no_filter(world):
    services.flag_create(actor=world.actor(Role.PRODUCT_MANAGER), key="visible")
    page = login(world).get(
        f"/w/{world.ws_a.slug}/flags/", {"environment": "abc", "state": "exploded", "archived": "x", "page": "-1"}
    )
    assert page.status_code == 200 and "visible" in page.content.decode()


def test_kill_switch_view__bad_input_refused_with_a_message_and_other_workspace_404(world, prod):
    pm = login(world, Role.PRODUCT_MANAGER)
    flag = services.flag_create(actor=world.actor(Role.PRODUCT_MANAGER), key="brake")
    url = f"/w/{world.ws_a.slug}/flags/{flag.pk}/env/{prod.pk}/kill/"
    refused = pm.post(url, {"killed": "maybe"}, follow=True)
    assert "Choose whether the kill switch is on or off." in _messages(refused)
    other = services.flag_create(actor=world.actor_b, key="b-brake")
    b_prod = {e.key: e for e in ensure_environments(world.ws_b)}["production"]
    assert (
        pm.post(f"/w/{world.ws_a.slug}/flags/{other.pk}/env/{b_prod.pk}/kill/", {"killed": "true"}).status_code == 404
    )
    assert pm.post(f"/w/{world.ws_a.slug}/flags/{flag.pk}/env/{b_prod.pk}/kill/", {"killed": "true"}).status_code == 404
    assert not FlagState.objects.filter(served_killed=True).exists()
