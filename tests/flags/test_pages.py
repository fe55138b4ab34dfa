"""Flag pages: list and filters, creating flags, the rules editor, kill switches, approvals, revisions with
rollback, SDK keys and saved groups."""

from __future__ import annotations

import pytest
from django.test import Client

from valueloop.core.permissions import Role
from valueloop.flags import services
from valueloop.flags.models import FlagRevision, FlagRule, FlagState


def login(world, role=Role.PRODUCT_MANAGER) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


def base(world) -> str:
    return f"/w/{world.ws_a.slug}/flags/"


def test_list__shows_each_environment_and_filters_by_state(flags, world):
    flag = flags.flag("new-checkout", description="One-page checkout")
    flags.flag("quiet")
    flags.rule(flag, flags.dev, kind="force", value=True)
    services.kill_switch_set(actor=flags.pm, flag_id=flag.pk, environment_id=flags.staging.pk, killed=True)
    client = login(world)
    page = client.get(base(world)).content.decode()
    assert "new-checkout" in page and "One-page checkout" in page and "1 rule" in page and "Killed" in page
    live = client.get(base(world), {"environment": flags.dev.pk, "state": "live"}).content.decode()
    assert "new-checkout" in live and "quiet" not in live
    killed = client.get(base(world), {"state": "killed"}).content.decode()
    assert "new-checkout" in killed and "quiet" not in killed
    assert "No flag matches" in client.get(base(world), {"q": "zzz"}).content.decode()
    experiments = client.get(f"/w/{world.ws_a.slug}/experiments/").content.decode()
    assert f'href="{base(world)}"' in experiments  # the "Experiments" section links the flags


def test_create_flag__form_errors_and_success(flags, world):
    client = login(world)
    response = client.post(base(world), {"key": "Bad Key", "value_type": "boolean"})
    assert response.status_code == 400
    assert "lower-case letters" in response.content.decode()
    response = client.post(base(world), {"key": "limit", "value_type": "number", "default_value": "abc"})
    assert response.status_code == 400 and "The default value must be a number" in response.content.decode()
    response = client.post(
        base(world), {"key": "limit", "value_type": "number", "default_value": "5", "feature_id": world.feature_a.pk}
    )
    assert response.status_code == 302
    assert (
        services.selectors.access_flag(
            actor=flags.pm, id=int(response["Location"].rstrip("/").split("/")[-1])
        ).default_value
        == 5
    )


def test_rules_editor__validation_messages_add_edit_move_delete(flags, world):
    flag = flags.flag()
    url = f"{base(world)}{flag.pk}/env/{flags.dev.pk}/"
    client = login(world)
    assert client.get(url).status_code == 200
    bad = client.post(
        url,
        {
            "action": "add_rule",
            "kind": "force",
            "value": "true",
            "condition": '{"country": {"$inn": ["DE"]}}',
            "enabled": "on",
        },
    )
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "unknown operator $inn on country" in text and "Rule 1 (force)" in text
    assert "{&quot;country&quot;: {&quot;$inn&quot;: [&quot;DE&quot;]}}" in text  # the input is kept
    weights = client.post(
        url,
        {
            "action": "add_rule",
            "kind": "experiment",
            "variations": "false\ntrue",
            "weights": "60, 60",
            "coverage": "100",
            "hash_attribute": "id",
            "enabled": "on",
        },
    )
    assert weights.status_code == 400 and "add up to 1.2, not 1" in weights.content.decode()
    ok = client.post(
        url,
        {
            "action": "add_rule",
            "kind": "rollout",
            "value": "true",
            "coverage": "25",
            "hash_attribute": "id",
            "condition": '{"country": "DE"}',
            "enabled": "on",
        },
    )
    assert ok.status_code == 302
    client.post(
        url,
        {
            "action": "add_rule",
            "kind": "experiment",
            "variations": "false\ntrue",
            "weights": "50,50",
            "variation_names": "Control, New",
            "coverage": "80",
            "hash_attribute": "id",
            "enabled": "on",
        },
    )
    first, second = FlagRule.objects.filter(flag=flag, environment=flags.dev).order_by("position")
    assert first.coverage == 0.25 and second.weights == [0.5, 0.5] and second.coverage == 0.8
    page = client.get(url).content.decode()
    assert "Rule 2 · Experiment" in page and "Control" in page
    client.post(url, {"action": "move_up", "rule_id": second.pk})
    assert list(FlagRule.objects.filter(flag=flag, environment=flags.dev).order_by("position")) == [second, first]
    edit = client.post(
        url,
        {
            "action": "update_rule",
            "rule_id": first.pk,
            "version": first.version,
            "kind": "rollout",
            "value": "true",
            "coverage": "40",
            "hash_attribute": "id",
            "enabled": "on",
            "condition": '{"country": "DE"}',
        },
    )
    assert edit.status_code == 302
    first.refresh_from_db()
    assert first.coverage == 0.4
    client.post(url, {"action": "delete_rule", "rule_id": second.pk})
    assert list(FlagRule.objects.filter(flag=flag, environment=flags.dev)) == [first]


def test_rules_editor__production_draft_submit_and_approve(flags, world):
    flag = flags.flag()
    url = f"{base(world)}{flag.pk}/env/{flags.prod.pk}/"
    pm = login(world)
    pm.post(url, {"action": "add_rule", "kind": "force", "value": "true", "enabled": "on"})
    page = pm.get(url).content.decode()
    assert "Unpublished changes" in page and "Submit for approval" in page
    pm.post(url, {"action": "publish", "comment": "ship it"})
    page = pm.get(url).content.decode()
    assert "Awaiting approval" in page and "another approver must review it" in page
    approvals = f"{base(world)}approvals/"
    revision = FlagRevision.objects.get(flag=flag, environment=flags.prod, state="pending_approval")
    response = pm.post(approvals, {"action": "approve", "revision_id": revision.pk})
    assert response.status_code == 302
    revision.refresh_from_db()
    assert revision.state == "pending_approval"  # self-approval refused (with a message)
    admin = login(world, Role.ADMIN)
    assert "ship it" in admin.get(approvals).content.decode()
    admin.post(approvals, {"action": "approve", "revision_id": revision.pk, "comment": "fine", "next": url})
    revision.refresh_from_db()
    assert revision.state == "published"
    assert FlagState.objects.get(flag=flag, environment=flags.prod).served_rules == 1


def test_kill_switch__from_the_list_with_htmx_and_without(flags, world):
    flag = flags.flag()
    url = f"{base(world)}{flag.pk}/env/{flags.prod.pk}/kill/"
    client = login(world, Role.PRODUCT_OWNER)
    response = client.post(url, {"killed": "true"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    row = response.content.decode()
    assert row.lstrip().startswith(f'<tr id="flag-{flag.pk}"') and "Killed" in row and "Un-kill" in row
    assert FlagState.objects.get(flag=flag, environment=flags.prod).served_killed
    response = client.post(url, {"killed": "false", "next": base(world)})
    assert response.status_code == 302 and response["Location"] == base(world)
    assert login(world, Role.CONTRIBUTOR).post(url, {"killed": "true"}).status_code == 403
    assert client.post(url, {"killed": "maybe", "next": "https://evil.example"})["Location"] == base(world)


def test_revisions__diffs_and_rollback(flags, world):
    flag = flags.flag("limit", value_type="number", default_value=1)
    rule = flags.rule(flag, flags.staging, kind="rollout", value=5, coverage=0.2)
    services.rule_update(
        actor=flags.pm, flag_id=flag.pk, environment_id=flags.staging.pk, rule_id=rule.pk, coverage=0.5
    )
    url = f"{base(world)}{flag.pk}/revisions/"
    client = login(world)
    page = client.get(url, {"environment": flags.staging.pk}).content.decode()
    assert "Rule 1: rollout 20 % → 50 %" in page and "Served now" in page and "Roll back to #2" in page
    second = FlagRevision.objects.get(flag=flag, environment=flags.staging, number=2)
    assert client.post(url, {"revision_id": second.pk}).status_code == 302
    assert FlagRule.objects.get(flag=flag, environment=flags.staging).coverage == 0.2
    assert "restores #2" in client.get(url).content.decode()


def test_sdk_page__keys_for_admins_only_and_admin_actions(flags, world):
    key = flags.prod.sdk_keys.get(revoked_at=None).key
    admin = login(world, Role.ADMIN)
    page = admin.get(f"{base(world)}sdk/").content.decode()
    assert key in page and "apiHost" in page and "ValueloopProvider" in page
    member = login(world, Role.CONTRIBUTOR).get(f"{base(world)}sdk/").content.decode()
    assert key not in member and "sdk-…" in member
    rotate = f"{base(world)}environments/{flags.prod.pk}/rotate-key/"
    assert f'action="{rotate}"' in page
    admin.post(rotate)
    assert flags.prod.sdk_keys.get(key=key).revoked_at is not None
    response = login(world).post(rotate)
    assert response.status_code == 403  # product managers cannot manage keys
    assert flags.prod.sdk_keys.filter(revoked_at=None).count() == 1


def test_saved_group_pages(flags, world):
    client = login(world)
    url = f"{base(world)}groups/"
    bad = client.post(url, {"key": "eu", "name": "EU", "kind": "condition", "condition": '{"country": {"$ni": []}}'})
    assert bad.status_code == 400 and "unknown operator $ni" in bad.content.decode()
    client.post(
        url, {"key": "staff", "name": "Staff", "kind": "list", "attribute": "email", "values": "a@x.io\nb@x.io, c@x.io"}
    )
    group = services.selectors.group_list(actor=flags.pm).get(key="staff")
    assert group.values == ["a@x.io", "b@x.io", "c@x.io"]
    detail = f"{url}{group.pk}/"
    assert "3 values" in client.get(detail).content.decode()
    client.post(detail, {"name": "Staff", "kind": "list", "attribute": "email", "values": "a@x.io", "version": 1})
    group.refresh_from_db()
    assert group.values == ["a@x.io"]
    assert client.post(f"{detail}delete/").status_code == 302
    assert not services.selectors.group_list(actor=flags.pm).exists()


@pytest.mark.parametrize("role", [Role.STAKEHOLDER, Role.CONTRIBUTOR])
def test_read_only_roles_see_no_edit_controls(flags, world, role):
    flag = flags.flag()
    client = login(world, role)
    page = client.get(f"{base(world)}{flag.pk}/env/{flags.dev.pk}/").content.decode()
    assert "Add rule</button>" not in page and 'value="kill"' not in page
    assert "New flag" not in client.get(base(world)).content.decode()
