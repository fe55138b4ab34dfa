"""Writes for feature flags, environments, SDK keys and saved groups.

Invariants:
- Every write checks its scope (after the 404 of an id from another workspace), validates its input
  (``validation``) and runs in one transaction with its audit record(s).
- A flag's configuration in an environment changes only through ``_record_change``: the working copy
  (``FlagState`` + ``FlagRule`` rows) is edited, then either published at once (an environment without
  approval) or gathered into the one open draft revision of that flag and environment. Published revisions are
  never edited; the SDK payload is rebuilt from them (``payload.rebuild``) in the same transaction.
- Where an environment requires approval, a draft is submitted (``pending_approval``) and someone else approves it:
  a member who could make the change (the role may change flags) and, where the environment names approvers, one of
  them (``selectors.may_approve``). Nobody approves a change they contributed to; a stakeholder never approves a flag
  change. While a change awaits approval, the working copy is frozen (edits answer 409), except for the kill switch.
- A change submitted for approval notifies its approvers (in-app and by email, after commit); its authors are told
  when it is approved or rejected.
- The kill switch turning on is an emergency brake: it is published at once, approval or not. Turning it off
  again is an ordinary change.
- Nothing else changes what an approval environment serves without an approved revision (tests/flags/
  test_protected_payload.py checks every route): archiving or restoring a flag served there is a revision awaiting
  approval, and a saved-group edit that would change its payload is refused (make a new group, change the rules).
- A new flag is published at once everywhere with its default value and no rules: nothing depends on it yet.
- Rollback publishes a new revision whose snapshot equals an older published one (history is never rewritten)
  and goes through the same approval path as any other change.
- References hold: saved groups and prerequisite flags named by rules exist in the workspace, prerequisites never
  form a cycle within an environment, and a saved group in use cannot be deleted.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from valueloop.collaboration.facade import notify_members
from valueloop.core.audit import audit_record
from valueloop.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from valueloop.core.permissions import Role, Scope, has_scope
from valueloop.core.services import check_version, clean_and_save, create_audited, update_audited
from valueloop.core.tasks import send_email_task
from valueloop.core.tenancy import Actor
from valueloop.planning.facade import features_by_id
from valueloop.workspaces.facade import members_with_roles

from . import payload, selectors
from .bootstrap import ensure_environments, new_sdk_key
from .diffs import empty_snapshot, snapshot_diff, summary
from .models import VALUE_TYPES, Environment, Flag, FlagRevision, FlagRule, FlagState, SavedGroup, SdkKey
from .validation import MAX_RULES, clean_group, clean_key, clean_rule, clean_value

RULE_FIELDS = [
    "kind",
    "description",
    "enabled",
    "condition",
    "saved_groups",
    "prerequisites",
    "value",
    "coverage",
    "hash_attribute",
    "seed",
    "variations",
    "weights",
    "variation_names",
    "tracking_key",
]
TYPE_DEFAULTS = {"boolean": False, "string": "", "number": 0, "json": {}}
OPEN_STATES = ("draft", "pending_approval")


# --- helpers ------------------------------------------------------------------------------------------------------


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _audit(actor: Actor, flag: Flag, action: str, changes: dict[str, list[Any]]) -> None:
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="flag",
        entity_id=flag.pk,
        entity_label=flag.key,
        action=action,
        changes=changes,
    )


def rule_dict(rule: FlagRule) -> dict[str, Any]:
    return {"uid": rule.uid, **{name: getattr(rule, name) for name in RULE_FIELDS}}


def _rules(flag: Flag, environment: Environment) -> list[FlagRule]:
    return list(FlagRule.objects.filter(flag=flag, environment=environment).order_by("position", "id"))


def working_snapshot(state: FlagState, rules: list[FlagRule]) -> dict[str, Any]:
    return {"default_value": state.default_value, "killed": state.killed, "rules": [rule_dict(r) for r in rules]}


def _lock_state(flag: Flag, environment: Environment) -> FlagState:
    state = (
        FlagState.objects.select_for_update(of=("self",))
        .select_related("published")
        .filter(flag=flag, environment=environment)
        .first()
    )
    if state is None:  # a flag created before an environment existed: give it its state now
        state = FlagState.objects.create(
            workspace=flag.workspace, flag=flag, environment=environment, default_value=flag.default_value
        )
    return state


def _open_revision(flag: Flag, environment: Environment) -> FlagRevision | None:
    return (
        FlagRevision.objects.select_for_update(of=("self",))
        .filter(flag=flag, environment=environment, state__in=OPEN_STATES)
        .order_by("-number")
        .first()
    )


def _next_number(flag: Flag, environment: Environment) -> int:
    last = FlagRevision.objects.filter(flag=flag, environment=environment).order_by("-number").first()
    return (last.number if last else 0) + 1


def _ensure_editable(flag: Flag, environment: Environment) -> None:
    pending = FlagRevision.objects.filter(flag=flag, environment=environment, state="pending_approval").first()
    if pending is not None:
        raise Conflict(
            f"A change to {flag.key} in {environment.name} (revision #{pending.number}) is awaiting approval. "
            "Approve or reject it (or withdraw it) before making further changes.",
            code="pending_approval",
        )


def _access_for_edit(actor: Actor, flag_id: int, environment_id: int) -> tuple[Flag, Environment, FlagState]:
    flag = selectors.access_flag(actor=actor, id=flag_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    environment = selectors.access_environment(actor=actor, id=environment_id)
    if flag.archived_at is not None:
        raise Invalid(f"{flag.key} is archived; restore it before changing its rules.")
    state = _lock_state(flag, environment)
    return flag, environment, state


def _served_rule_count(snapshot: dict[str, Any]) -> int:
    return sum(1 for r in snapshot.get("rules") or [] if r.get("enabled", True))


def _publish(
    actor: Actor,
    flag: Flag,
    environment: Environment,
    state: FlagState,
    snapshot: dict[str, Any],
    *,
    note: str,
    revision: FlagRevision | None = None,
    rollback_of: FlagRevision | None = None,
) -> FlagRevision:
    """Serve ``snapshot``: as a new published revision, or by publishing the given open one."""
    now = timezone.now()
    previous = state.published
    diff = snapshot_diff(previous.snapshot if previous else None, snapshot)
    if revision is None:
        revision = FlagRevision.objects.create(
            workspace=actor.workspace,
            flag=flag,
            environment=environment,
            number=_next_number(flag, environment),
            state="published",
            snapshot=snapshot,
            diff=diff,
            base=previous,
            rollback_of=rollback_of,
            note=note[:200],
            author=actor.user,
            contributors=[actor.user.pk] if actor.user else [],
            published_at=now,
        )
    else:
        revision.state, revision.published_at, revision.diff, revision.base = "published", now, diff, previous
        revision.save(update_fields=["state", "published_at", "diff", "base", "updated_at"])
    state.published = revision
    state.served_killed = bool(snapshot.get("killed"))
    state.served_rules = _served_rule_count(snapshot)
    state.save(update_fields=["published", "served_killed", "served_rules"])
    payload.rebuild(environment)
    _audit(
        actor,
        flag,
        "published",
        {"environment": [None, environment.key], "revision": [previous.number if previous else None, revision.number]},
    )
    return revision


def _record_change(
    actor: Actor, flag: Flag, environment: Environment, state: FlagState, note: str
) -> FlagRevision | None:
    """After the working copy changed: publish it, or gather it into the open draft (approval environments)."""
    snapshot = working_snapshot(state, _rules(flag, environment))
    published = state.published
    if environment.requires_approval:
        revision = _open_revision(flag, environment)
        diff = snapshot_diff(published.snapshot if published else None, snapshot)
        user_id = actor.user.pk if actor.user else None
        if revision is None:
            return FlagRevision.objects.create(
                workspace=actor.workspace,
                flag=flag,
                environment=environment,
                number=_next_number(flag, environment),
                state="draft",
                snapshot=snapshot,
                diff=diff,
                base=published,
                note=note[:200],
                author=actor.user,
                contributors=[user_id] if user_id else [],
            )
        revision.snapshot, revision.diff, revision.base = snapshot, diff, published
        if user_id and user_id not in revision.contributors:
            revision.contributors = [*revision.contributors, user_id]
        revision.note = note[:200]
        revision.save(update_fields=["snapshot", "diff", "base", "contributors", "note", "updated_at"])
        return revision
    if published is not None and _canon(published.snapshot) == _canon(snapshot):
        return None
    return _publish(actor, flag, environment, state, snapshot, note=note)


def _restore_working_copy(flag: Flag, environment: Environment, state: FlagState, snapshot: dict[str, Any]) -> None:
    FlagRule.objects.filter(flag=flag, environment=environment).delete()
    for position, rule in enumerate(snapshot.get("rules") or []):
        row = FlagRule(
            workspace=flag.workspace,
            flag=flag,
            environment=environment,
            position=position,
            uid=rule["uid"],
            **{name: rule.get(name, FlagRule._meta.get_field(name).get_default()) for name in RULE_FIELDS},
        )
        clean_and_save(row)
    state.default_value = snapshot.get("default_value")
    state.killed = bool(snapshot.get("killed"))
    state.version += 1
    state.save(update_fields=["default_value", "killed", "version"])


def _new_uid() -> str:
    return "fr_" + secrets.token_hex(5)


def _check_references(
    actor: Actor, flag: Flag, environment: Environment, rules: list[dict[str, Any]], labels: list[str]
) -> None:
    """Saved groups and prerequisite flags exist; prerequisites form no cycle in this environment."""
    workspace = actor.workspace
    group_keys = set(SavedGroup.objects.filter(workspace=workspace).values_list("key", flat=True))
    flags = dict(Flag.objects.filter(workspace=workspace).values_list("key", "archived_at"))
    for rule, label in zip(rules, labels, strict=True):
        for key in rule.get("saved_groups") or []:
            if key not in group_keys:
                raise Invalid(f"{label}: there is no saved group {key!r}.", fields={"saved_groups": f"Unknown {key}."})
        for prerequisite in rule.get("prerequisites") or []:
            key = prerequisite["flag"]
            if key == flag.key:
                raise Invalid(
                    f"{label}: a flag cannot be its own prerequisite.", fields={"prerequisites": "Not this flag."}
                )
            if key not in flags:
                raise Invalid(f"{label}: there is no flag {key!r}.", fields={"prerequisites": f"Unknown {key}."})
            if flags[key] is not None:
                raise Invalid(f"{label}: the flag {key!r} is archived.", fields={"prerequisites": f"{key} archived."})
    # Prerequisite graph of the environment's working copy, with this flag's rules as they are about to be.
    graph: dict[str, set[str]] = {}
    for key, prerequisites in (
        FlagRule.objects.filter(environment=environment).exclude(flag=flag).values_list("flag__key", "prerequisites")
    ):
        graph.setdefault(key, set()).update(p["flag"] for p in prerequisites or [])
    graph[flag.key] = {p["flag"] for rule in rules for p in rule.get("prerequisites") or []}
    path = _cycle_from(flag.key, graph)
    if path:
        raise Invalid(
            f"These prerequisites would form a cycle in {environment.name}: {' → '.join(path)}.",
            fields={"prerequisites": "Prerequisites cannot form a cycle."},
        )


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for parent in sorted(graph.get(node, ())):
            if parent == start:
                return [*path, start]
            if parent not in seen:
                seen.add(parent)
                stack.append((parent, [*path, parent]))
    return None


def _resolve_feature(workspace, feature_id: int | None):
    if not feature_id:
        return None
    feature = features_by_id(workspace, [feature_id]).get(feature_id)
    if feature is None:
        raise Invalid("No such feature in this workspace.", fields={"feature_id": "Unknown feature."})
    return feature


# --- flags --------------------------------------------------------------------------------------------------------


@transaction.atomic
def flag_create(
    *,
    actor: Actor,
    key: str,
    value_type: str = "boolean",
    default_value: Any = None,
    description: str = "",
    feature_id: int | None = None,
) -> Flag:
    actor.require(Scope.PORTFOLIO_WRITE)
    key = clean_key(key)
    if value_type not in dict(VALUE_TYPES):
        raise Invalid(f"Unknown flag type {value_type!r}.", fields={"value_type": "boolean, string, number or json."})
    if default_value is None:
        default_value = TYPE_DEFAULTS[value_type]
    default_value = clean_value(default_value, value_type, field="default_value", label="The default value")
    if Flag.objects.filter(workspace=actor.workspace, key=key).exists():
        raise Invalid(f"A flag with the key {key!r} already exists.", fields={"key": "Already taken."})
    flag = Flag(
        workspace=actor.workspace,
        key=key,
        value_type=value_type,
        default_value=default_value,
        description=(description or "").strip(),
        feature=_resolve_feature(actor.workspace, feature_id),
        created_by=actor.user,
    )
    create_audited(
        actor, flag, entity_type="flag", fields=["key", "value_type", "default_value", "description", "feature"]
    )
    for environment in ensure_environments(actor.workspace):
        state = FlagState.objects.create(
            workspace=actor.workspace, flag=flag, environment=environment, default_value=default_value
        )
        _publish(actor, flag, environment, state, empty_snapshot(default_value), note="Flag created")
    return flag


@transaction.atomic
def flag_update(*, actor: Actor, flag_id: int, expected_version: int | None = None, **changes) -> Flag:
    flag = selectors.access_flag(actor=actor, id=flag_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    unknown = set(changes) - {"description", "default_value", "feature_id", "archived"}
    if "key" in unknown or "value_type" in unknown:
        raise Invalid(
            "A flag's key and type cannot change (SDKs and code refer to them); create a new flag instead.",
            fields={"key" if "key" in unknown else "value_type": "Cannot change."},
        )
    if unknown:
        raise Invalid(f"Unknown flag fields: {', '.join(sorted(unknown))}.")
    check_version(flag, expected_version)
    updates: dict[str, Any] = {}
    if "description" in changes:
        updates["description"] = (changes["description"] or "").strip()
    if "feature_id" in changes:
        updates["feature"] = _resolve_feature(actor.workspace, changes["feature_id"])
    new_default = None
    if "default_value" in changes:
        new_default = clean_value(
            changes["default_value"], flag.value_type, field="default_value", label="The default value"
        )
        if _canon(new_default) != _canon(flag.default_value):
            updates["default_value"] = new_default
    archive = changes.get("archived")
    if archive is True and flag.archived_at is None:
        _check_archivable(flag)
        # Where approval is required and the flag is served, archiving is a revision that waits for approval; the
        # flag is archived once no such environment serves it any more (``_archive_when_unserved``).
        if _submit_archiving(actor, flag, archive=True):
            archive = None
        else:
            updates["archived_at"] = timezone.now()
    elif archive is False and flag.archived_at is not None:
        updates["archived_at"] = None
    if not updates:
        return flag
    if "default_value" in updates:
        environments = ensure_environments(actor.workspace)
        for environment in environments:
            _ensure_editable(flag, environment)
    action = "updated"
    if "archived_at" in updates:
        action = "archived" if updates["archived_at"] else "restored"
    update_audited(actor, flag, updates, entity_type="flag", expected_version=None, action=action)
    if "default_value" in updates:
        for environment in environments:
            state = _lock_state(flag, environment)
            state.default_value = new_default
            state.save(update_fields=["default_value"])
            _record_change(actor, flag, environment, state, note="Default value changed")
    if "archived_at" in updates:
        if updates["archived_at"] is None:
            # Served again at once where no approval is needed; a revision awaits approval elsewhere.
            _submit_archiving(actor, flag, archive=False)
        for environment in ensure_environments(actor.workspace):
            payload.rebuild(environment)
    return flag


def _served_in(state: FlagState) -> bool:
    return state.published is not None and not state.published.snapshot.get("archived")


def _submit_archiving(actor: Actor, flag: Flag, *, archive: bool) -> list[FlagRevision]:
    """In every environment that requires approval and where archiving (or restoring) would change what is served,
    open a revision doing it, submitted for approval; return them (none: nothing waits)."""
    submitted = []
    for environment in ensure_environments(actor.workspace):
        if not environment.requires_approval:
            continue
        state = _lock_state(flag, environment)
        if archive and not _served_in(state):
            continue
        if not archive:
            if state.published is None:
                continue
            if not state.published.snapshot.get("archived"):
                # Archived before archiving became a revision: record that it is not served, then ask to serve it.
                _publish(
                    actor, flag, environment, state, {**state.published.snapshot, "archived": True}, note="Archived"
                )
        open_revision = _open_revision(flag, environment)
        if open_revision is not None:
            raise Conflict(
                f"{flag.key} has an open change in {environment.name} (revision #{open_revision.number}, "
                f"{open_revision.get_state_display().lower()}). Publish or discard it first.",
                code="open_change",
            )
        snapshot = {k: v for k, v in state.published.snapshot.items() if k != "archived"}
        if archive:
            snapshot["archived"] = True
        revision = FlagRevision.objects.create(
            workspace=actor.workspace,
            flag=flag,
            environment=environment,
            number=_next_number(flag, environment),
            state="pending_approval",
            snapshot=snapshot,
            diff=snapshot_diff(state.published.snapshot, snapshot),
            base=state.published,
            note="Archive the flag" if archive else "Restore the flag",
            author=actor.user,
            contributors=[actor.user.pk] if actor.user else [],
            submitted_at=timezone.now(),
        )
        _audit(
            actor,
            flag,
            "change_submitted",
            {"environment": [None, environment.key], "revision": [None, revision.number]},
        )
        _ask_for_approval(actor, revision)
        submitted.append(revision)
    return submitted


def _archive_when_unserved(actor: Actor, flag: Flag) -> None:
    """After an archiving revision was approved: archive the flag once no approval environment serves it."""
    if flag.archived_at is not None:
        return
    protected = FlagState.objects.filter(flag=flag, environment__requires_approval=True).select_related("published")
    if any(_served_in(state) for state in protected):
        return
    update_audited(
        actor, flag, {"archived_at": timezone.now()}, entity_type="flag", expected_version=None, action="archived"
    )
    for environment in ensure_environments(actor.workspace):
        payload.rebuild(environment)


def _check_archivable(flag: Flag) -> None:
    live = FlagState.objects.filter(
        flag=flag, environment__requires_approval=True, served_killed=False, served_rules__gt=0
    ).select_related("environment")
    for state in live:
        raise Invalid(
            f"{flag.key} still serves rules in {state.environment.name}. Turn its kill switch on there (or remove "
            "its rules) before archiving, so that archiving cannot change what users get.",
            fields={"archived": f"Live in {state.environment.name}."},
        )


# --- rules --------------------------------------------------------------------------------------------------------


@transaction.atomic
def rule_create(*, actor: Actor, flag_id: int, environment_id: int, **data) -> FlagRule:
    flag, environment, state = _access_for_edit(actor, flag_id, environment_id)
    _ensure_editable(flag, environment)
    rules = _rules(flag, environment)
    if len(rules) >= MAX_RULES:
        raise Invalid(f"A flag has at most {MAX_RULES} rules per environment.")
    label = f"Rule {len(rules) + 1}"
    clean = clean_rule(data, value_type=flag.value_type, label=label)
    _check_references(
        actor,
        flag,
        environment,
        [rule_dict(r) for r in rules] + [clean],
        [f"Rule {i + 1}" for i in range(len(rules) + 1)],
    )
    rule = FlagRule(
        workspace=actor.workspace, flag=flag, environment=environment, position=len(rules), uid=_new_uid(), **clean
    )
    clean_and_save(rule)
    _audit(actor, flag, "rule_added", {"environment": [None, environment.key], "rule": [None, rule_dict(rule)]})
    _record_change(actor, flag, environment, state, note=f"{label} added ({rule.kind})")
    return rule


def _access_rule(flag: Flag, environment: Environment, rule_id: int) -> tuple[FlagRule, list[FlagRule], int]:
    rules = _rules(flag, environment)
    for index, rule in enumerate(rules):
        if rule.pk == rule_id:
            return rule, rules, index
    raise NotFound("Rule not found.")


@transaction.atomic
def rule_update(
    *, actor: Actor, flag_id: int, environment_id: int, rule_id: int, expected_version: int | None = None, **changes
) -> FlagRule:
    flag, environment, state = _access_for_edit(actor, flag_id, environment_id)
    rule, rules, index = _access_rule(flag, environment, rule_id)
    _ensure_editable(flag, environment)
    check_version(rule, expected_version)
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise Invalid(f"Unknown rule fields: {', '.join(sorted(unknown))}.")
    label = f"Rule {index + 1}"
    before = rule_dict(rule)
    merged = {**{k: v for k, v in before.items() if k != "uid"}, **changes}
    clean = clean_rule(merged, value_type=flag.value_type, label=label)
    proposed = [rule_dict(r) if r.pk != rule.pk else {**clean, "uid": rule.uid} for r in rules]
    _check_references(actor, flag, environment, proposed, [f"Rule {i + 1}" for i in range(len(rules))])
    changed = {k: [before[k], v] for k, v in clean.items() if _canon(before[k]) != _canon(v)}
    if not changed:
        return rule
    for name, value in clean.items():
        setattr(rule, name, value)
    rule.version += 1
    clean_and_save(rule)
    _audit(actor, flag, "rule_updated", {"environment": [None, environment.key], "rule": [None, rule.uid], **changed})
    _record_change(actor, flag, environment, state, note=f"{label} changed")
    return rule


@transaction.atomic
def rule_delete(*, actor: Actor, flag_id: int, environment_id: int, rule_id: int) -> None:
    flag, environment, state = _access_for_edit(actor, flag_id, environment_id)
    rule, rules, index = _access_rule(flag, environment, rule_id)
    _ensure_editable(flag, environment)
    before = rule_dict(rule)
    rule.delete()
    for position, other in enumerate(r for r in rules if r.pk != rule_id):
        if other.position != position:
            other.position = position
            other.save(update_fields=["position"])
    _audit(actor, flag, "rule_deleted", {"environment": [None, environment.key], "rule": [before, None]})
    _record_change(actor, flag, environment, state, note=f"Rule {index + 1} removed")


@transaction.atomic
def rule_move(*, actor: Actor, flag_id: int, environment_id: int, rule_id: int, direction: str) -> FlagRule:
    flag, environment, state = _access_for_edit(actor, flag_id, environment_id)
    rule, rules, index = _access_rule(flag, environment, rule_id)
    _ensure_editable(flag, environment)
    if direction not in ("up", "down"):
        raise Invalid("Move a rule up or down.", fields={"direction": "up or down."})
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(rules):
        raise Invalid(f"Rule {index + 1} is already the {'first' if direction == 'up' else 'last'}.")
    rules[index], rules[target] = rules[target], rules[index]
    for position, other in enumerate(rules):
        if other.position != position:
            other.position = position
            other.save(update_fields=["position"])
    _audit(actor, flag, "rule_moved", {"environment": [None, environment.key], "position": [index + 1, target + 1]})
    _record_change(actor, flag, environment, state, note=f"Rule {index + 1} moved {direction}")
    rule.position = target
    return rule


# --- kill switch, drafts, approvals, rollback ---------------------------------------------------------------------


@transaction.atomic
def kill_switch_set(*, actor: Actor, flag_id: int, environment_id: int, killed: bool) -> FlagState:
    flag, environment, state = _access_for_edit(actor, flag_id, environment_id)
    if not isinstance(killed, bool):
        raise Invalid("killed must be true or false.", fields={"killed": "true or false."})
    if state.killed == killed:
        return state
    state.killed = killed
    state.version += 1
    if killed:
        state.save(update_fields=["killed", "version"])
        # The brake: publish "killed" on top of what is served now, whatever waits in a draft.
        base = state.published.snapshot if state.published else empty_snapshot(state.default_value)
        _publish(actor, flag, environment, state, {**base, "killed": True}, note="Kill switch on")
        revision = _open_revision(flag, environment)
        if revision is not None:
            revision.snapshot = {**revision.snapshot, "killed": True}
            revision.diff = snapshot_diff(state.published.snapshot, revision.snapshot)
            revision.save(update_fields=["snapshot", "diff", "updated_at"])
    else:
        _ensure_editable(flag, environment)
        state.save(update_fields=["killed", "version"])
        _record_change(actor, flag, environment, state, note="Kill switch off")
    _audit(actor, flag, "kill_switch_on" if killed else "kill_switch_off", {"environment": [None, environment.key]})
    return state


@transaction.atomic
def draft_publish(*, actor: Actor, flag_id: int, environment_id: int, comment: str = "") -> FlagRevision:
    """Publish the open draft: at once, or (approval environments) submitted for approval."""
    flag, environment, state = _access_for_edit(actor, flag_id, environment_id)
    revision = _open_revision(flag, environment)
    if revision is None:
        raise Invalid(f"There are no unpublished changes to {flag.key} in {environment.name}.")
    if revision.state == "pending_approval":
        raise Conflict(f"Revision #{revision.number} is already awaiting approval.", code="pending_approval")
    published = state.published
    revision.diff = snapshot_diff(published.snapshot if published else None, revision.snapshot)
    if not revision.diff:
        raise Invalid("The draft is the same as what is published: nothing to publish. Discard it instead.")
    if comment:
        revision.note = comment.strip()[:200]
    if environment.requires_approval:
        revision.state, revision.submitted_at = "pending_approval", timezone.now()
        revision.save(update_fields=["state", "submitted_at", "diff", "note", "updated_at"])
        _audit(
            actor,
            flag,
            "change_submitted",
            {"environment": [None, environment.key], "revision": [None, revision.number]},
        )
        _ask_for_approval(actor, revision)
        return revision
    return _publish(actor, flag, environment, state, revision.snapshot, note=revision.note, revision=revision)


@transaction.atomic
def draft_discard(*, actor: Actor, flag_id: int, environment_id: int) -> FlagRevision:
    """Throw away the open change (a draft, or one's own change awaiting approval) and reset the working copy."""
    flag, environment, state = _access_for_edit(actor, flag_id, environment_id)
    revision = _open_revision(flag, environment)
    if revision is None:
        raise Invalid(f"There are no unpublished changes to {flag.key} in {environment.name}.")
    user_id = actor.user.pk if actor.user else None
    if (
        revision.state == "pending_approval"
        and user_id not in revision.contributors
        and not selectors.may_approve(actor, environment)
    ):
        raise PermissionDenied("Only the people who made this change, or an approver, can withdraw it.")
    _close(actor, flag, environment, state, revision, comment="Discarded", action="change_discarded")
    return revision


def _close(
    actor: Actor,
    flag: Flag,
    environment: Environment,
    state: FlagState,
    revision: FlagRevision,
    *,
    comment: str,
    action: str,
) -> None:
    revision.state, revision.reviewed_by, revision.reviewed_at = "rejected", actor.user, timezone.now()
    revision.review_comment = comment[:500]
    revision.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_comment", "updated_at"])
    published = state.published.snapshot if state.published else empty_snapshot(flag.default_value)
    _restore_working_copy(flag, environment, state, published)
    _audit(actor, flag, action, {"environment": [None, environment.key], "revision": [None, revision.number]})


def _access_pending(actor: Actor, revision_id: int) -> tuple[FlagRevision, FlagState]:
    """The revision awaiting approval, locked, once the actor may review it: 404 for another workspace's id, 403 for
    a role that may not change flags or a member who is not among the environment's named approvers."""
    revision = selectors.access_revision(actor=actor, id=revision_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    environment = revision.environment
    if not selectors.may_approve(actor, environment):
        names = ", ".join(user.display_name for user in selectors.approver_users(environment))
        raise PermissionDenied(
            f"Only the named approvers of {environment.name} ({names or 'none are members any more'}) can review "
            "changes there.",
            code="not_an_approver",
        )
    state = _lock_state(revision.flag, environment)
    if revision.state != "pending_approval":
        raise Conflict(
            f"Revision #{revision.number} is {revision.get_state_display().lower()}, not awaiting approval.",
            code="not_pending",
        )
    return revision, state


@transaction.atomic
def revision_approve(*, actor: Actor, revision_id: int, comment: str = "") -> FlagRevision:
    revision, state = _access_pending(actor, revision_id)
    user_id = actor.user.pk if actor.user else None
    if user_id is None or user_id == revision.author_id or user_id in revision.contributors:
        raise PermissionDenied(
            "You contributed to this change, so you cannot approve it: another approver must.", code="self_approval"
        )
    revision.reviewed_by, revision.reviewed_at, revision.review_comment = actor.user, timezone.now(), comment[:500]
    revision.save(update_fields=["reviewed_by", "reviewed_at", "review_comment"])
    _audit(
        actor,
        revision.flag,
        "change_approved",
        {"environment": [None, revision.environment.key], "revision": [None, revision.number]},
    )
    published = _publish(
        actor, revision.flag, revision.environment, state, revision.snapshot, note=revision.note, revision=revision
    )
    if revision.snapshot.get("archived"):
        _archive_when_unserved(actor, revision.flag)
    _tell_authors(actor, revision, "approved")
    return published


@transaction.atomic
def revision_reject(*, actor: Actor, revision_id: int, comment: str = "") -> FlagRevision:
    revision, state = _access_pending(actor, revision_id)
    _close(
        actor,
        revision.flag,
        revision.environment,
        state,
        revision,
        comment=comment or "Rejected",
        action="change_rejected",
    )
    _tell_authors(actor, revision, "rejected")
    return revision


# --- who is told --------------------------------------------------------------------------------------------------


def _revision_label(revision: FlagRevision) -> str:
    return f"{revision.flag.key} #{revision.number} in {revision.environment.name}"


def _email_after_commit(users, subject: str, body: str) -> None:
    # One message per person (nobody sees the others' addresses), queued after commit: no mail for a change that was
    # rolled back, and a slow mail server never holds the request.
    for email in sorted({user.email for user in users if user.email}):
        transaction.on_commit(lambda email=email: send_email_task.enqueue(subject, body, [email]))


def _ask_for_approval(actor: Actor, revision: FlagRevision) -> None:
    """A change now awaits approval: tell everyone who may approve it (not its own contributors)."""
    contributors = {revision.author_id, *(revision.contributors or [])}
    approvers = [u for u in selectors.approver_users(revision.environment) if u.pk not in contributors]
    label = _revision_label(revision)
    notify_members(
        workspace=actor.workspace,
        user_ids=[u.pk for u in approvers],
        kind="approval_requested",
        entity_type="flag",
        entity_id=revision.flag_id,
        entity_label=label,
        actor_user=actor.user,
    )
    url = settings.VALUELOOP_PUBLIC_URL.rstrip("/") + reverse("flags:approvals", args=[actor.workspace.slug])
    who = actor.user.display_name if actor.user else "Valueloop"
    changes = "\n".join(f"- {line}" for line in summary(revision.diff, revision.snapshot.get("rules"))) or "-"
    _email_after_commit(
        approvers,
        f"Approval needed: {label}",
        f"{who} asks for your approval of a change to {label} ({actor.workspace.name}).\n\n"
        f"{revision.note or ''}\n{changes}\n\nReview it: {url}\n",
    )


def _tell_authors(actor: Actor, revision: FlagRevision, decision: str) -> None:
    """The change was approved or rejected: tell the people who made it."""
    authors = {revision.author_id, *(revision.contributors or [])} - {None}
    label = f"{_revision_label(revision)} {decision}"
    notify_members(
        workspace=actor.workspace,
        user_ids=authors,
        kind="approval_decided",
        entity_type="flag",
        entity_id=revision.flag_id,
        entity_label=label,
        actor_user=actor.user,
    )
    members = [user for user, _ in members_with_roles(actor.workspace) if user.pk in authors and user != actor.user]
    url = settings.VALUELOOP_PUBLIC_URL.rstrip("/") + reverse(
        "flags:flag_revisions", args=[actor.workspace.slug, revision.flag_id]
    )
    who = actor.user.display_name if actor.user else "Valueloop"
    comment = f"\n\nComment: {revision.review_comment}" if revision.review_comment else ""
    _email_after_commit(
        members,
        f"Your change was {decision}: {label}",
        f"{who} {decision} your change to {_revision_label(revision)}.{comment}\n\nHistory: {url}\n",
    )


@transaction.atomic
def revision_rollback(*, actor: Actor, revision_id: int) -> FlagRevision:
    """Serve an older published snapshot again, as a new revision (pending approval where required)."""
    target = selectors.access_revision(actor=actor, id=revision_id, scope=Scope.PORTFOLIO_WRITE)
    flag, environment = target.flag, target.environment
    if flag.archived_at is not None:
        raise Invalid(f"{flag.key} is archived; restore it first.")
    state = _lock_state(flag, environment)
    if target.published_at is None:
        raise Invalid(f"Revision #{target.number} was never published, so there is nothing to go back to.")
    open_revision = _open_revision(flag, environment)
    if open_revision is not None:
        raise Conflict(
            f"{flag.key} has an open change in {environment.name} (revision #{open_revision.number}, "
            f"{open_revision.get_state_display().lower()}). Publish or discard it before rolling back.",
            code="open_change",
        )
    if state.published is not None and _canon(state.published.snapshot) == _canon(target.snapshot):
        raise Invalid(f"Revision #{target.number} is what {environment.name} serves now.")
    snapshot = target.snapshot
    rules = snapshot.get("rules") or []
    _check_references(actor, flag, environment, rules, [f"Rule {i + 1}" for i in range(len(rules))])
    _restore_working_copy(flag, environment, state, snapshot)
    note = f"Roll back to #{target.number}"
    _audit(actor, flag, "rolled_back", {"environment": [None, environment.key], "revision": [None, target.number]})
    if environment.requires_approval:
        published = state.published
        pending = FlagRevision.objects.create(
            workspace=actor.workspace,
            flag=flag,
            environment=environment,
            number=_next_number(flag, environment),
            state="pending_approval",
            snapshot=snapshot,
            diff=snapshot_diff(published.snapshot if published else None, snapshot),
            base=published,
            rollback_of=target,
            note=note,
            author=actor.user,
            contributors=[actor.user.pk] if actor.user else [],
            submitted_at=timezone.now(),
        )
        _ask_for_approval(actor, pending)
        return pending
    return _publish(actor, flag, environment, state, snapshot, note=note, rollback_of=target)


# --- environments and SDK keys ------------------------------------------------------------------------------------


def _environment_audit(actor: Actor, environment: Environment, action: str, changes: dict) -> None:
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="flag_environment",
        entity_id=environment.pk,
        entity_label=environment.name,
        action=action,
        changes=changes,
    )


@transaction.atomic
def environment_update(
    *,
    actor: Actor,
    environment_id: int,
    expected_version: int | None = None,
    requires_approval: bool | None = None,
    encrypted: bool | None = None,
    approver_ids: list[int] | None = None,
) -> Environment:
    """Change an environment's settings. ``approver_ids``: the members who alone may approve changes there (an empty
    list: every member whose role may change flags); each must be a member whose role may change flags."""
    environment = selectors.access_environment(
        actor=actor, id=environment_id, scope=Scope.WORKSPACE_MANAGE, for_update=True
    )
    check_version(environment, expected_version)
    changes: dict[str, list[Any]] = {}
    fields = []
    if approver_ids is not None:
        wanted = _clean_approvers(actor, approver_ids)
        current = set(environment.approvers.values_list("pk", flat=True))
        if wanted != current:
            environment.approvers.set(sorted(wanted))
            changes["approvers"] = [sorted(current), sorted(wanted)]
    if requires_approval is not None and requires_approval != environment.requires_approval:
        changes["requires_approval"] = [environment.requires_approval, requires_approval]
        environment.requires_approval = requires_approval
        fields.append("requires_approval")
    if encrypted is not None and encrypted != bool(environment.encryption_key):
        # The key itself never goes into the audit log.
        changes["encrypted"] = [not encrypted, encrypted]
        environment.encryption_key = base64.b64encode(os.urandom(16)).decode() if encrypted else ""
        fields.append("encryption_key")
    if not changes:
        return environment
    environment.version += 1
    environment.save(update_fields=[*fields, "version"])
    if "encryption_key" in fields:
        payload.rebuild(environment)
    _environment_audit(actor, environment, "updated", changes)
    return environment


def _clean_approvers(actor: Actor, approver_ids: list[int]) -> set[int]:
    roles = {user.pk: (user, role) for user, role in members_with_roles(actor.workspace)}
    for user_id in approver_ids:
        if user_id not in roles:
            raise Invalid(
                f"User {user_id} is not a member of this workspace, so cannot approve its flag changes.",
                fields={"approver_ids": f"{user_id} is not a member."},
            )
        user, role = roles[user_id]
        if not has_scope(role, Scope.PORTFOLIO_WRITE):
            raise Invalid(
                f"{user.display_name} is a {Role(role).label.lower()}, who cannot change flags, so cannot approve "
                "flag changes. Name an admin, product manager or product owner.",
                fields={"approver_ids": f"{user.display_name} cannot change flags."},
            )
    return set(approver_ids)


@transaction.atomic
def sdk_key_rotate(*, actor: Actor, environment_id: int) -> SdkKey:
    """Issue a new SDK key and revoke the current one(s): SDKs using an old key get 401 from now on."""
    environment = selectors.access_environment(
        actor=actor, id=environment_id, scope=Scope.WORKSPACE_MANAGE, for_update=True
    )
    now = timezone.now()
    revoked = SdkKey.objects.filter(environment=environment, revoked_at=None).update(revoked_at=now)
    key = SdkKey.objects.create(
        workspace=actor.workspace, environment=environment, key=new_sdk_key(), created_by=actor.user
    )
    _environment_audit(actor, environment, "sdk_key_rotated", {"revoked_keys": [None, revoked]})
    return key


@transaction.atomic
def sdk_key_revoke(*, actor: Actor, environment_id: int) -> Environment:
    """Revoke every key of the environment (a leaked key): nothing is served until a new key is issued."""
    environment = selectors.access_environment(
        actor=actor, id=environment_id, scope=Scope.WORKSPACE_MANAGE, for_update=True
    )
    revoked = SdkKey.objects.filter(environment=environment, revoked_at=None).update(revoked_at=timezone.now())
    if not revoked:
        raise Invalid(f"{environment.name} has no active SDK key to revoke.")
    _environment_audit(actor, environment, "sdk_key_revoked", {"revoked_keys": [None, revoked]})
    return environment


# --- saved groups -------------------------------------------------------------------------------------------------


GROUP_FIELDS = ["key", "name", "description", "kind", "attribute", "values", "condition"]


def _rebuild_all(workspace) -> None:
    for environment in ensure_environments(workspace):
        payload.rebuild(environment)


@transaction.atomic
def group_create(*, actor: Actor, key: str, **data) -> SavedGroup:
    actor.require(Scope.PORTFOLIO_WRITE)
    key = clean_key(key, what="saved group")
    clean = clean_group(data)
    if SavedGroup.objects.filter(workspace=actor.workspace, key=key).exists():
        raise Invalid(f"A saved group with the key {key!r} already exists.", fields={"key": "Already taken."})
    group = SavedGroup(workspace=actor.workspace, key=key, **clean)
    _refuse_if_served_under_approval(actor, key, clean, action="create")
    return create_audited(actor, group, entity_type="saved_group", fields=GROUP_FIELDS)


@transaction.atomic
def group_update(*, actor: Actor, group_id: int, expected_version: int | None = None, **changes) -> SavedGroup:
    group = selectors.access_group(actor=actor, id=group_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    unknown = set(changes) - set(GROUP_FIELDS[1:])
    if "key" in changes:
        raise Invalid("A saved group's key cannot change (rules refer to it).", fields={"key": "Cannot change."})
    if unknown:
        raise Invalid(f"Unknown saved group fields: {', '.join(sorted(unknown))}.")
    current = {name: getattr(group, name) for name in GROUP_FIELDS[1:]}
    if changes.get("kind", group.kind) != group.kind:
        current.update(attribute="", values=[], condition={})
    clean = clean_group({**current, **changes})
    check_version(group, expected_version)
    _refuse_if_served_under_approval(actor, group.key, {**current, **clean}, action="change")
    update_audited(actor, group, clean, entity_type="saved_group", expected_version=expected_version)
    _rebuild_all(actor.workspace)
    return group


def _refuse_if_served_under_approval(actor: Actor, key: str, data: dict[str, Any], *, action: str) -> None:
    """A saved group is resolved into every payload that uses it, so editing it in place would change what an
    approval environment serves without an approved revision: refuse, naming the flags and the way through."""
    groups = payload.workspace_groups(actor.workspace.pk)
    definition = SavedGroup(workspace=actor.workspace, key=key, **{k: v for k, v in data.items() if k in GROUP_FIELDS})
    proposed = {**groups, key: payload.group_definition(definition)}
    for environment in ensure_environments(actor.workspace):
        if not environment.requires_approval:
            continue
        before, after = payload.served_content(environment, groups), payload.served_content(environment, proposed)
        if before == after:
            continue
        changed = sorted(flag for flag in after[0] if before[0].get(flag) != after[0].get(flag))
        if before[1] != after[1]:
            changed = sorted(set(changed) | _served_users(environment, key))
        raise Conflict(
            f"The saved group {key!r} is served in {environment.name} (by {', '.join(changed) or 'its rules'}), which "
            f"requires approval, so a {action} here would change what {environment.name} serves without one. Create "
            "a new saved group instead, point those rules at it and submit them for approval (then delete this one).",
            code="served_under_approval",
        )


def _served_users(environment: Environment, key: str) -> set[str]:
    states = FlagState.objects.filter(environment=environment, published__isnull=False).select_related(
        "flag", "published"
    )
    return {
        s.flag.key
        for s in states
        if any(key in (r.get("saved_groups") or []) for r in s.published.snapshot.get("rules") or [])
    }


def _group_users(group: SavedGroup) -> list[str]:
    """Flags whose working copy or served configuration names the group."""
    users: set[str] = set()
    for key, refs in FlagRule.objects.filter(workspace=group.workspace).values_list("flag__key", "saved_groups"):
        if group.key in (refs or []):
            users.add(key)
    for state in FlagState.objects.filter(workspace=group.workspace, published__isnull=False).select_related(
        "flag", "published"
    ):
        if any(group.key in (r.get("saved_groups") or []) for r in state.published.snapshot.get("rules") or []):
            users.add(state.flag.key)
    return sorted(users)


@transaction.atomic
def group_delete(*, actor: Actor, group_id: int) -> None:
    group = selectors.access_group(actor=actor, id=group_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    users = _group_users(group)
    if users:
        raise Conflict(
            f"The saved group {group.key!r} is used by {', '.join(users[:5])}{' …' if len(users) > 5 else ''}. "
            "Remove it from those rules (and publish) first.",
            code="in_use",
        )
    before = {name: getattr(group, name) for name in GROUP_FIELDS}
    pk, label = group.pk, str(group)
    group.delete()
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="saved_group",
        entity_id=pk,
        entity_label=label,
        action="deleted",
        changes={k: [v, None] for k, v in before.items()},
    )
