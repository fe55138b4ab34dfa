"""Flag services: validation, references and cycles, publishing, approvals, rollback, kill switch, audit."""

from __future__ import annotations

import json

import pytest

from valueloop.core.audit import AuditEvent
from valueloop.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from valueloop.flags import services
from valueloop.flags.models import FlagRevision, FlagRule, FlagState


def served(env) -> dict:
    env.refresh_from_db()
    return json.loads(env.payload)


# --- creation and validation --------------------------------------------------------------------------------------


def test_flag_create__publishes_the_default_everywhere_and_audits(flags):
    flag = flags.flag("new-checkout", description="One-page checkout")
    for env in flags.envs.values():
        assert served(env)["features"]["new-checkout"] == {"defaultValue": False}
        state = FlagState.objects.get(flag=flag, environment=env)
        assert state.published.state == "published" and state.published.number == 1
    assert AuditEvent.objects.filter(entity_type="flag", entity_id=flag.pk, action="created").exists()


def test_flag_create__refuses_bad_keys_duplicates_and_values_of_the_wrong_type(flags):
    with pytest.raises(Invalid) as exc:
        flags.flag("New Checkout")
    assert "key" in exc.value.fields
    flags.flag("dup")
    with pytest.raises(Invalid, match="already exists"):
        flags.flag("dup")
    with pytest.raises(Invalid, match="must be a number") as exc:
        flags.flag("limit", value_type="number", default_value="10")
    assert exc.value.fields == {"default_value": "A finite number."}
    with pytest.raises(Invalid, match="object or array"):
        flags.flag("config", value_type="json", default_value="x")


def test_flag_create__feature_must_be_in_the_workspace(flags, world):
    with pytest.raises(Invalid, match="No such feature"):
        flags.flag("linked", feature_id=world.feature_b.pk)
    flag = flags.flag("linked", feature_id=world.feature_a.pk)
    assert flag.feature_id == world.feature_a.pk


def test_flag_create__requires_the_write_scope(flags):
    with pytest.raises(PermissionDenied):
        flags.flag("nope", actor=flags.contributor)


def test_rule_create__unknown_operator_names_the_rule_and_the_operator(flags):
    flag = flags.flag()
    flags.rule(flag, flags.dev, kind="force", value=True)
    with pytest.raises(Invalid) as exc:
        flags.rule(flag, flags.dev, kind="force", value=True, condition={"country": {"$inn": ["DE"]}})
    assert exc.value.message.startswith("Rule 2 (force): unknown operator $inn on country")
    assert "condition" in exc.value.fields


def test_rule_create__malformed_conditions_are_refused_with_a_reason(flags):
    flag = flags.flag()
    cases = [
        ({"$or": {"a": 1}}, "$or needs a list of conditions"),
        ({"email": {"$regex": "(unclosed"}}, "not a valid regular expression"),
        ({"plan": {"$in": "enterprise"}}, "$in on plan needs a list of values"),
        ({"age": {"$gt": 18, "max": 30}}, "mixes operators and plain keys"),
        ("{not json", "not valid JSON"),
        (["a"], "must be a JSON object"),
    ]
    for condition, message in cases:
        with pytest.raises(Invalid, match=message.replace("$", r"\$").replace("(", r"\(")):
            flags.rule(flag, flags.dev, kind="force", value=True, condition=condition)


def test_rule_create__weights_must_sum_to_one(flags):
    flag = flags.flag("layout", value_type="string", default_value="a")
    with pytest.raises(Invalid, match=r"the weights add up to 0\.9, not 1") as exc:
        flags.rule(flag, flags.dev, kind="experiment", variations=["a", "b"], weights=[0.4, 0.5])
    assert "weights" in exc.value.fields
    with pytest.raises(Invalid, match="one weight per variation"):
        flags.rule(flag, flags.dev, kind="experiment", variations=["a", "b", "c"], weights=[0.5, 0.5])
    # 0.1 ten times is 0.9999999999999999: within the 1e-9 tolerance
    rule = flags.rule(flag, flags.dev, kind="experiment", variations=["a"] * 2 + ["b"] * 8, weights=[0.1] * 10)
    assert len(rule.weights) == 10
    rule = flags.rule(flag, flags.dev, kind="experiment", variations=["a", "b", "c"])
    assert rule.weights == pytest.approx([1 / 3] * 3)


def test_rule_create__values_follow_the_flag_type(flags):
    flag = flags.flag()
    with pytest.raises(Invalid, match=r"Rule 1 \(force\): the value must be true or false"):
        flags.rule(flag, flags.dev, kind="force", value="yes")
    with pytest.raises(Invalid, match="give the value"):
        flags.rule(flag, flags.dev, kind="rollout", coverage=0.5)
    with pytest.raises(Invalid, match="between 0 and 100"):
        flags.rule(flag, flags.dev, kind="rollout", value=True, coverage=1.5)
    with pytest.raises(Invalid, match="2 to 20 variations"):
        flags.rule(flag, flags.dev, kind="experiment", variations=[True])


def test_rule_create__references_must_exist(flags):
    flag = flags.flag()
    with pytest.raises(Invalid, match="no saved group 'staff'"):
        flags.rule(flag, flags.dev, kind="force", value=True, saved_groups=["staff"])
    with pytest.raises(Invalid, match="no flag 'ghost'"):
        flags.rule(flag, flags.dev, kind="force", value=True, prerequisites=[{"flag": "ghost"}])
    with pytest.raises(Invalid, match="its own prerequisite"):
        flags.rule(flag, flags.dev, kind="force", value=True, prerequisites=[{"flag": flag.key}])


def test_prerequisites__cycles_are_refused_naming_the_path(flags):
    a, b, c = flags.flag("a"), flags.flag("b"), flags.flag("c")
    flags.rule(a, flags.dev, kind="force", value=True, prerequisites=[{"flag": "b"}])
    flags.rule(b, flags.dev, kind="force", value=True, prerequisites=[{"flag": "c", "condition": {"value": True}}])
    with pytest.raises(Invalid, match="cycle in Development: c → a → b → c"):
        flags.rule(c, flags.dev, kind="force", value=True, prerequisites=[{"flag": "a"}])
    # the same prerequisite in another environment is fine: no cycle there
    flags.rule(c, flags.staging, kind="force", value=True, prerequisites=[{"flag": "a"}])
    payload = served(flags.dev)["features"]["a"]["rules"][0]
    assert payload["parentConditions"] == [{"id": "b", "condition": {"value": True}}]


def test_rule_update_move_delete__publish_in_order_in_non_approval_environments(flags):
    flag = flags.flag("limit", value_type="number", default_value=1)
    first = flags.rule(flag, flags.dev, kind="force", value=2, condition={"plan": "pro"})
    second = flags.rule(flag, flags.dev, kind="rollout", value=3, coverage=0.2)
    assert [r["force"] for r in served(flags.dev)["features"]["limit"]["rules"]] == [2, 3]
    services.rule_move(actor=flags.pm, flag_id=flag.pk, environment_id=flags.dev.pk, rule_id=second.pk, direction="up")
    assert [r["force"] for r in served(flags.dev)["features"]["limit"]["rules"]] == [3, 2]
    with pytest.raises(Invalid, match="already the first"):
        services.rule_move(
            actor=flags.pm, flag_id=flag.pk, environment_id=flags.dev.pk, rule_id=second.pk, direction="up"
        )
    services.rule_update(
        actor=flags.pm,
        flag_id=flag.pk,
        environment_id=flags.dev.pk,
        rule_id=second.pk,
        coverage=0.5,
        expected_version=second.version,
    )
    with pytest.raises(Conflict):  # a stale edit is refused
        services.rule_update(
            actor=flags.pm,
            flag_id=flag.pk,
            environment_id=flags.dev.pk,
            rule_id=second.pk,
            coverage=0.6,
            expected_version=second.version,
        )
    services.rule_delete(actor=flags.pm, flag_id=flag.pk, environment_id=flags.dev.pk, rule_id=first.pk)
    rules = served(flags.dev)["features"]["limit"]["rules"]
    assert len(rules) == 1 and rules[0]["coverage"] == 0.5 and rules[0]["seed"] == "limit"
    revisions = FlagRevision.objects.filter(flag=flag, environment=flags.dev).order_by("number")
    assert [r.state for r in revisions] == ["published"] * 6
    assert revisions.last().diff[0]["path"].startswith("rules.")
    actions = set(AuditEvent.objects.filter(entity_type="flag", entity_id=flag.pk).values_list("action", flat=True))
    assert {"rule_added", "rule_moved", "rule_updated", "rule_deleted", "published"} <= actions


def test_rules_of_another_workspace_are_not_found(flags, world):
    flag = flags.flag()
    rule = flags.rule(flag, flags.dev, kind="force", value=True)
    from valueloop.flags.bootstrap import ensure_environments

    b_env = ensure_environments(world.ws_b)[0]
    with pytest.raises(NotFound):
        services.rule_update(actor=world.actor_b, flag_id=flag.pk, environment_id=b_env.pk, rule_id=rule.pk)
    with pytest.raises(NotFound):  # A's flag with B's environment
        services.rule_create(actor=flags.pm, flag_id=flag.pk, environment_id=b_env.pk, kind="force", value=True)


# --- approvals -----------------------------------------------------------------------------------------------------


def test_production_changes_collect_in_a_draft_then_need_another_approver(flags):
    flag = flags.flag()
    before = served(flags.prod)
    flags.rule(flag, flags.prod, kind="force", value=True, condition={"country": "DE"})
    flags.rule(flag, flags.prod, actor=flags.admin, kind="rollout", value=True, coverage=0.1)
    assert served(flags.prod) == before  # nothing served yet
    draft = FlagRevision.objects.get(flag=flag, environment=flags.prod, state="draft")
    assert set(draft.contributors) == {flags.pm.user.pk, flags.admin.user.pk}
    assert [d["path"].count(".") for d in draft.diff] == [1, 1]  # two rules added
    pending = services.draft_publish(actor=flags.pm, flag_id=flag.pk, environment_id=flags.prod.pk, comment="go")
    assert pending.state == "pending_approval"
    with pytest.raises(Conflict, match="awaiting approval"):
        flags.rule(flag, flags.prod, kind="force", value=False)
    for contributor in (flags.pm, flags.admin):  # the author, and someone who edited the change
        with pytest.raises(PermissionDenied, match="cannot approve") as exc:
            services.revision_approve(actor=contributor, revision_id=pending.pk)
        assert exc.value.code == "self_approval"
    for role_that_cannot_change_flags in (flags.stakeholder, flags.contributor):
        with pytest.raises(PermissionDenied, match=r"does not allow portfolio\.write"):
            services.revision_approve(actor=role_that_cannot_change_flags, revision_id=pending.pk)
    approved = services.revision_approve(actor=flags.po, revision_id=pending.pk, comment="ok")
    assert approved.state == "published" and approved.reviewed_by == flags.po.user
    rules = served(flags.prod)["features"]["new-checkout"]["rules"]
    assert [r.get("coverage") for r in rules] == [None, 0.1]
    assert AuditEvent.objects.filter(entity_id=flag.pk, action="change_approved").exists()
    with pytest.raises(Conflict, match="not awaiting approval"):
        services.revision_approve(actor=flags.admin, revision_id=pending.pk)


def test_reject__closes_the_change_and_resets_the_working_copy(flags):
    flag = flags.flag()
    flags.rule(flag, flags.prod, kind="force", value=True)
    pending = services.draft_publish(actor=flags.pm, flag_id=flag.pk, environment_id=flags.prod.pk)
    services.revision_reject(actor=flags.admin, revision_id=pending.pk, comment="not now")
    pending.refresh_from_db()
    assert pending.state == "rejected" and pending.review_comment == "not now"
    assert not FlagRule.objects.filter(flag=flag, environment=flags.prod).exists()
    assert served(flags.prod)["features"]["new-checkout"] == {"defaultValue": False}
    # editing works again
    flags.rule(flag, flags.prod, kind="force", value=True)


def test_draft_discard_and_publish_with_nothing_to_publish(flags):
    flag = flags.flag()
    with pytest.raises(Invalid, match="no unpublished changes"):
        services.draft_publish(actor=flags.pm, flag_id=flag.pk, environment_id=flags.prod.pk)
    rule = flags.rule(flag, flags.prod, kind="force", value=True)
    services.rule_delete(actor=flags.pm, flag_id=flag.pk, environment_id=flags.prod.pk, rule_id=rule.pk)
    with pytest.raises(Invalid, match="nothing to publish"):
        services.draft_publish(actor=flags.pm, flag_id=flag.pk, environment_id=flags.prod.pk)
    services.draft_discard(actor=flags.pm, flag_id=flag.pk, environment_id=flags.prod.pk)
    assert not FlagRevision.objects.filter(flag=flag, state__in=("draft", "pending_approval")).exists()


def test_kill_switch__is_immediate_even_in_production_and_unkilling_needs_approval(flags):
    flag = flags.flag()
    flags.rule(flag, flags.prod, kind="force", value=True)
    pending = services.draft_publish(actor=flags.pm, flag_id=flag.pk, environment_id=flags.prod.pk)
    services.revision_approve(actor=flags.admin, revision_id=pending.pk)
    flags.rule(flag, flags.prod, kind="rollout", value=True, coverage=0.5)  # a draft in progress
    services.kill_switch_set(actor=flags.po, flag_id=flag.pk, environment_id=flags.prod.pk, killed=True)
    assert served(flags.prod)["features"]["new-checkout"] == {"defaultValue": False}
    draft = FlagRevision.objects.get(flag=flag, environment=flags.prod, state="draft")
    assert draft.snapshot["killed"] is True  # approving the draft later does not un-kill
    assert len(draft.snapshot["rules"]) == 2
    services.kill_switch_set(actor=flags.po, flag_id=flag.pk, environment_id=flags.prod.pk, killed=False)
    assert served(flags.prod)["features"]["new-checkout"] == {"defaultValue": False}  # still killed until approved
    pending = services.draft_publish(actor=flags.po, flag_id=flag.pk, environment_id=flags.prod.pk)
    assert set(pending.contributors) == {flags.pm.user.pk, flags.po.user.pk}
    services.revision_approve(actor=flags.admin, revision_id=pending.pk)
    assert len(served(flags.prod)["features"]["new-checkout"]["rules"]) == 2
    actions = list(AuditEvent.objects.filter(entity_id=flag.pk).values_list("action", flat=True))
    assert "kill_switch_on" in actions and "kill_switch_off" in actions


# --- rollback ------------------------------------------------------------------------------------------------------


def test_rollback__publishes_a_new_revision_equal_to_the_old_snapshot(flags):
    flag = flags.flag("limit", value_type="number", default_value=1)
    rule = flags.rule(flag, flags.staging, kind="force", value=5)
    v2 = FlagState.objects.get(flag=flag, environment=flags.staging).published
    services.rule_update(actor=flags.pm, flag_id=flag.pk, environment_id=flags.staging.pk, rule_id=rule.pk, value=9)
    assert served(flags.staging)["features"]["limit"]["rules"][0]["force"] == 9
    restored = services.revision_rollback(actor=flags.pm, revision_id=v2.pk)
    assert restored.state == "published" and restored.number == 4 and restored.rollback_of == v2
    assert restored.snapshot == v2.snapshot
    assert served(flags.staging)["features"]["limit"]["rules"][0]["force"] == 5
    assert FlagRule.objects.get(flag=flag, environment=flags.staging).value == 5  # working copy too
    with pytest.raises(Invalid, match="serves now"):
        services.revision_rollback(actor=flags.pm, revision_id=v2.pk)
    history = FlagRevision.objects.filter(flag=flag, environment=flags.staging).order_by("number")
    assert [r.number for r in history] == [1, 2, 3, 4]  # history is never rewritten


def test_rollback__in_production_waits_for_approval(flags):
    flag = flags.flag()
    first = FlagState.objects.get(flag=flag, environment=flags.prod).published
    flags.rule(flag, flags.prod, kind="force", value=True)
    pending = services.draft_publish(actor=flags.pm, flag_id=flag.pk, environment_id=flags.prod.pk)
    services.revision_approve(actor=flags.admin, revision_id=pending.pk)
    rollback = services.revision_rollback(actor=flags.pm, revision_id=first.pk)
    assert rollback.state == "pending_approval" and rollback.rollback_of == first
    assert "rules" in served(flags.prod)["features"]["new-checkout"]
    services.revision_approve(actor=flags.admin, revision_id=rollback.pk)
    assert served(flags.prod)["features"]["new-checkout"] == {"defaultValue": False}
    flags.rule(flag, flags.prod, kind="force", value=True)
    draft = FlagRevision.objects.get(flag=flag, environment=flags.prod, state="draft")
    with pytest.raises(Invalid, match="never published"):
        services.revision_rollback(actor=flags.pm, revision_id=draft.pk)


def test_rollback__refused_while_a_change_is_open(flags):
    flag = flags.flag()
    first = FlagState.objects.get(flag=flag, environment=flags.prod).published
    flags.rule(flag, flags.prod, kind="force", value=True)
    with pytest.raises(Conflict, match="Publish or discard it"):
        services.revision_rollback(actor=flags.pm, revision_id=first.pk)


# --- flag updates, archive, saved groups -----------------------------------------------------------------------------


def test_default_value_change__publishes_or_drafts_per_environment(flags):
    flag = flags.flag("limit", value_type="number", default_value=1)
    services.flag_update(actor=flags.pm, flag_id=flag.pk, default_value=7)
    assert served(flags.dev)["features"]["limit"]["defaultValue"] == 7
    assert served(flags.prod)["features"]["limit"]["defaultValue"] == 1
    assert FlagRevision.objects.get(flag=flag, environment=flags.prod, state="draft").snapshot["default_value"] == 7
    with pytest.raises(Invalid, match="key and type cannot change"):
        services.flag_update(actor=flags.pm, flag_id=flag.pk, value_type="string")


def test_archive__refused_while_live_in_production_then_removes_the_flag(flags):
    flag = flags.flag()
    flags.rule(flag, flags.prod, kind="force", value=True)
    pending = services.draft_publish(actor=flags.pm, flag_id=flag.pk, environment_id=flags.prod.pk)
    services.revision_approve(actor=flags.admin, revision_id=pending.pk)
    with pytest.raises(Invalid, match="Turn its kill switch on"):
        services.flag_update(actor=flags.pm, flag_id=flag.pk, archived=True)
    services.kill_switch_set(actor=flags.pm, flag_id=flag.pk, environment_id=flags.prod.pk, killed=True)
    # Production requires approval: archiving there is a revision that waits, and the flag stays served meanwhile.
    services.flag_update(actor=flags.pm, flag_id=flag.pk, archived=True)
    assert "new-checkout" in served(flags.prod)["features"]
    flag.refresh_from_db()
    assert flag.archived_at is None
    archiving = FlagRevision.objects.get(flag=flag, environment=flags.prod, state="pending_approval")
    assert archiving.snapshot["archived"] is True and [d["path"] for d in archiving.diff] == ["archived"]
    services.revision_approve(actor=flags.admin, revision_id=archiving.pk)
    flag.refresh_from_db()
    assert flag.archived_at is not None
    assert "new-checkout" not in served(flags.prod)["features"]
    assert "new-checkout" not in served(flags.dev)["features"]
    # Restoring: served again at once where no approval is needed, in production once approved.
    services.flag_update(actor=flags.pm, flag_id=flag.pk, archived=False)
    assert "new-checkout" in served(flags.dev)["features"]
    assert "new-checkout" not in served(flags.prod)["features"]
    restoring = FlagRevision.objects.get(flag=flag, environment=flags.prod, state="pending_approval")
    services.revision_approve(actor=flags.admin, revision_id=restoring.pk)
    assert "new-checkout" in served(flags.prod)["features"]


def test_saved_groups__compiled_into_conditions_and_protected_while_used(flags):
    staff = services.group_create(actor=flags.pm, key="staff", name="Staff", attribute="email", values=["a@x.io"])
    services.group_create(
        actor=flags.pm,
        key="eu-enterprise",
        name="EU enterprise",
        kind="condition",
        condition={"plan": "enterprise", "country": {"$in": ["DE", "FR"]}},
    )
    services.group_create(actor=flags.pm, key="unused", name="Unused", values=["secret-id"])
    flag = flags.flag()
    flags.rule(
        flag, flags.dev, kind="force", value=True, saved_groups=["staff", "eu-enterprise"], condition={"beta": True}
    )
    payload = served(flags.dev)
    assert payload["features"]["new-checkout"]["rules"][0]["condition"] == {
        "$and": [
            {"beta": True},
            {"email": {"$inGroup": "staff"}},
            {"plan": "enterprise", "country": {"$in": ["DE", "FR"]}},
        ]
    }
    assert payload["savedGroups"] == {"staff": ["a@x.io"]}  # only the groups in use leave the server
    with pytest.raises(Conflict, match="used by new-checkout"):
        services.group_delete(actor=flags.pm, group_id=staff.pk)
    services.group_update(actor=flags.pm, group_id=staff.pk, values=["a@x.io", "b@x.io"])
    assert served(flags.dev)["savedGroups"] == {"staff": ["a@x.io", "b@x.io"]}
    with pytest.raises(Invalid, match=r"The group: unknown operator \$nope on x"):
        services.group_create(actor=flags.pm, key="bad", name="Bad", kind="condition", condition={"x": {"$nope": 1}})


# --- environments --------------------------------------------------------------------------------------------------


def test_environments__created_once_with_keys_and_production_requiring_approval(flags, world):
    from valueloop.flags.bootstrap import ensure_environments

    again = ensure_environments(world.ws_a)
    assert [e.key for e in again] == ["development", "staging", "production"]
    assert [e.requires_approval for e in again] == [False, False, True]
    keys = {e.sdk_keys.get(revoked_at=None).key for e in again}
    assert len(keys) == 3 and all(k.startswith("sdk-") for k in keys)


def test_environment_settings_need_the_manage_scope_and_are_audited(flags):
    with pytest.raises(PermissionDenied):
        services.environment_update(actor=flags.pm, environment_id=flags.prod.pk, requires_approval=False)
    env = services.environment_update(actor=flags.admin, environment_id=flags.prod.pk, encrypted=True)
    assert len(env.encryption_key) == 24
    assert "encryptedFeatures" in served(flags.prod)
    event = AuditEvent.objects.get(entity_type="flag_environment", entity_id=env.pk)
    assert event.changes == {"encrypted": [False, True]}  # the key itself is not logged
    key = services.sdk_key_rotate(actor=flags.admin, environment_id=env.pk)
    assert env.sdk_keys.filter(revoked_at=None).get() == key
    services.sdk_key_revoke(actor=flags.admin, environment_id=env.pk)
    with pytest.raises(Invalid, match="no active SDK key"):
        services.sdk_key_revoke(actor=flags.admin, environment_id=env.pk)
