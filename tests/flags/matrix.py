"""Ids of flag objects for the permission-matrix and tenant-isolation suites, and sample request bodies."""

from __future__ import annotations

from tests.factories import MembershipFactory
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.flags import services
from valueloop.flags.bootstrap import ensure_environments


def second_product_manager(workspace) -> Actor:
    """Another member who may change flags: the author of changes that every role of the matrix may review."""
    membership = MembershipFactory(workspace=workspace, role=Role.PRODUCT_MANAGER.value)
    return Actor(user=membership.user, workspace=workspace, role=Role.PRODUCT_MANAGER)


def flag_ids(actor, label: str = "Alpha", author=None) -> dict:
    """A flag with a rule in staging, a production change awaiting approval (by ``author``, by default another
    product manager, so that no role of the matrix approves its own change) and a saved group."""
    author = author or second_product_manager(actor.workspace)
    slug = label.lower()
    envs = {e.key: e for e in ensure_environments(actor.workspace)}
    flag = services.flag_create(actor=actor, key=f"{slug}-flag", description=f"{label} flag {slug}-secret")
    rule = services.rule_create(
        actor=actor, flag_id=flag.pk, environment_id=envs["staging"].pk, kind="force", value=True
    )
    services.rule_create(actor=author, flag_id=flag.pk, environment_id=envs["production"].pk, kind="force", value=True)
    pending = services.draft_publish(actor=author, flag_id=flag.pk, environment_id=envs["production"].pk)
    group = services.group_create(actor=actor, key=f"{slug}-group", name=f"{label} group", values=[f"{slug}-user"])
    return {
        "flag_id": flag.pk,
        "environment_id": envs["staging"].pk,
        "rule_id": rule.pk,
        "revision_id": pending.pk,
        "group_id": group.pk,
    }


def sample_bodies(ids: dict) -> dict:
    return {
        "flags_environment_update": {"requires_approval": True},
        "flags_sdk_key_rotate": None,
        "flags_sdk_key_revoke": None,
        "flags_group_create": {"key": "matrix-group", "name": "Matrix group", "values": ["u1", "u2"]},
        "flags_group_update": {"name": "Renamed group"},
        "flags_group_delete": None,
        "flags_revision_approve": {"comment": "Matrix approval"},
        "flags_revision_reject": {"comment": "Matrix rejection"},
        "flags_revision_rollback": None,
        "flags_flag_evaluate": {"environment": "staging", "users": [{"id": "u1"}, {"id": "u2", "country": "DE"}]},
        "flags_flag_create": {"key": "matrix-flag", "value_type": "boolean", "default_value": False},
        "flags_flag_update": {"description": "Updated"},
        "flags_rule_create": {"kind": "force", "value": True, "condition": {"country": "DE"}},
        "flags_rule_update": {"description": "Updated"},
        "flags_rule_delete": None,
        "flags_rule_move": {"direction": "down"},
        "flags_kill_switch_set": {"killed": True},
        "flags_draft_publish": {"comment": "Matrix publish"},
        "flags_draft_discard": None,
    }
