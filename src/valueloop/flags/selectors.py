"""Reads for feature flags. Every query starts from the actor's workspace; an id of another workspace is
NotFound before any role check. Environments are created on first use (see ``bootstrap``)."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from django.db.models import Count, Prefetch, Q
from django.urls import reverse

from valueloop.core.entities import EntityRef
from valueloop.core.errors import Invalid, NotFound
from valueloop.core.permissions import Scope, has_scope
from valueloop.core.selectors import access_row
from valueloop.core.tenancy import Actor
from valueloop.engines.flags import FeatureEvaluator
from valueloop.workspaces.facade import members_with_roles

from .bootstrap import ensure_environments
from .models import Environment, Flag, FlagRevision, FlagRule, FlagState, SavedGroup, SdkKey

ENV_STATES = {
    "live": "Serving rules",
    "default": "Default value only",
    "killed": "Kill switch on",
    "draft": "Unpublished changes",
    "pending": "Awaiting approval",
}


def flag_ref(workspace, entity_id: int) -> EntityRef | None:
    flag = Flag.objects.filter(workspace=workspace, pk=entity_id).only("key").first()
    if flag is None:
        return None
    return EntityRef("flag", flag.pk, flag.key, reverse("flags:flag_detail", args=[workspace.slug, flag.pk]))


# --- environments -------------------------------------------------------------------------------------------------


def environment_list(*, actor: Actor) -> list[Environment]:
    actor.require(Scope.WORKSPACE_READ)
    ensure_environments(actor.workspace)
    active = SdkKey.objects.filter(revoked_at=None).order_by("-created_at")
    return list(
        Environment.objects.filter(workspace=actor.workspace)
        .prefetch_related(Prefetch("sdk_keys", queryset=active, to_attr="active_keys"), "approvers")
        .order_by("position", "id")
    )


def access_environment(*, actor: Actor, id: int, scope=None, for_update: bool = False) -> Environment:
    return access_row(
        Environment, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Environment not found."
    )


def environment_by_key(*, actor: Actor, key: str) -> Environment:
    actor.require(Scope.WORKSPACE_READ)
    ensure_environments(actor.workspace)
    environment = Environment.objects.filter(workspace=actor.workspace, key=key).first()
    if environment is None:
        raise NotFound(f"No environment {key!r}: use development, staging or production.")
    return environment


def active_key(environment: Environment) -> SdkKey | None:
    keys = getattr(environment, "active_keys", None)
    if keys is None:
        keys = list(environment.sdk_keys.filter(revoked_at=None).order_by("-created_at")[:1])
    return keys[0] if keys else None


# --- flags --------------------------------------------------------------------------------------------------------


def _with_states(query):
    states = FlagState.objects.select_related("environment", "published").order_by("environment__position")
    open_revisions = FlagRevision.objects.filter(state__in=("draft", "pending_approval")).select_related("environment")
    return query.select_related("feature").prefetch_related(
        Prefetch("states", queryset=states, to_attr="env_states"),
        Prefetch("revisions", queryset=open_revisions, to_attr="open_revisions"),
    )


def flag_list(
    *,
    actor: Actor,
    search: str = "",
    archived: bool = False,
    environment_id: int | None = None,
    state: str = "",
    feature_id: int | None = None,
):
    actor.require(Scope.WORKSPACE_READ)
    query = Flag.objects.filter(workspace=actor.workspace, archived_at__isnull=not archived)
    if search:
        query = query.filter(Q(key__icontains=search) | Q(description__icontains=search))
    if feature_id:
        query = query.filter(feature_id=feature_id)
    if state:
        if state not in ENV_STATES:
            raise Invalid(f"Unknown state {state!r}.", fields={"state": ", ".join(ENV_STATES)})
        env_filter = Q(environment__workspace=actor.workspace)
        if environment_id:
            env_filter &= Q(environment_id=environment_id)
        if state in ("draft", "pending"):
            revision_state = "draft" if state == "draft" else "pending_approval"
            ids = FlagRevision.objects.filter(env_filter, state=revision_state).values("flag_id")
        else:
            states = FlagState.objects.filter(env_filter)
            if state == "killed":
                states = states.filter(served_killed=True)
            elif state == "live":
                states = states.filter(served_killed=False, served_rules__gt=0)
            else:
                states = states.filter(served_killed=False, served_rules=0)
            ids = states.values("flag_id")
        query = query.filter(pk__in=ids)
    return _with_states(query).order_by("key", "id")


def access_flag(*, actor: Actor, id: int, scope=None, for_update: bool = False) -> Flag:
    query = Flag.objects.filter(workspace=actor.workspace, pk=id).select_related("feature", "created_by")
    if for_update:
        query = query.select_for_update(of=("self",))
    flag = query.first()
    if flag is None:
        raise NotFound("Flag not found.")
    actor.require(scope or Scope.WORKSPACE_READ)
    return flag


def flag_detail(*, actor: Actor, flag_id: int) -> Flag:
    flag = access_flag(actor=actor, id=flag_id)
    return _with_states(Flag.objects.filter(pk=flag.pk)).get()


def flag_environment(*, actor: Actor, flag_id: int, environment_id: int) -> dict[str, Any]:
    """A flag in one environment: its working copy, what is served, and the open change if any."""
    flag = access_flag(actor=actor, id=flag_id)
    environment = access_environment(actor=actor, id=environment_id)
    state = FlagState.objects.filter(flag=flag, environment=environment).select_related("published").first()
    rules = list(FlagRule.objects.filter(flag=flag, environment=environment).order_by("position", "id"))
    open_revision = (
        FlagRevision.objects.filter(flag=flag, environment=environment, state__in=("draft", "pending_approval"))
        .select_related("author")
        .order_by("-number")
        .first()
    )
    return {
        "flag": flag,
        "env": environment,
        "state": state,
        "rules": rules,
        "published": state.published if state else None,
        "open_change": open_revision,
        # the API's shape (FlagEnvironmentOut)
        "flag_id": flag.pk,
        "environment_id": environment.pk,
        "environment": environment.key,
        "requires_approval": environment.requires_approval,
        "default_value": state.default_value if state else flag.default_value,
        "killed": bool(state and state.killed),
    }


# --- revisions ----------------------------------------------------------------------------------------------------


def revision_list(*, actor: Actor, flag_id: int, environment_id: int | None = None, state: str = ""):
    flag = access_flag(actor=actor, id=flag_id)
    query = FlagRevision.objects.filter(workspace=actor.workspace, flag=flag)
    if environment_id:
        query = query.filter(environment_id=environment_id)
    if state:
        query = query.filter(state=state)
    return query.select_related("environment", "author", "reviewed_by", "flag", "rollback_of").order_by(
        "environment__position", "-number"
    )


def access_revision(*, actor: Actor, id: int, scope=None, for_update: bool = False) -> FlagRevision:
    query = FlagRevision.objects.filter(workspace=actor.workspace, pk=id).select_related(
        "flag", "environment", "author", "reviewed_by"
    )
    if for_update:
        query = query.select_for_update(of=("self",))
    revision = query.first()
    if revision is None:
        raise NotFound("Revision not found.")
    actor.require(scope or Scope.WORKSPACE_READ)
    return revision


def approver_users(environment: Environment) -> list:
    """Who may approve changes in ``environment``: its named approvers, or (none named) every member whose role may
    change flags. Either way only members whose role may change flags: a stakeholder never approves a flag change."""
    named = {user.pk for user in environment.approvers.all()}
    return [
        user
        for user, role in members_with_roles(environment.workspace)
        if has_scope(role, Scope.PORTFOLIO_WRITE) and (not named or user.pk in named)
    ]


def may_approve(actor: Actor, environment: Environment) -> bool:
    """Whether ``actor`` may approve (or reject) changes in ``environment`` (self-approval is checked apart)."""
    if actor.user is None or not actor.can(Scope.PORTFOLIO_WRITE):
        return False
    named = {user.pk for user in environment.approvers.all()}
    return not named or actor.user.pk in named


def approver_choices(workspace) -> list[tuple[int, str]]:
    """Members who could be named approvers (their role may change flags), for the approvers form."""
    return [
        (user.pk, f"{user.display_name} ({user.email})")
        for user, role in members_with_roles(workspace)
        if has_scope(role, Scope.PORTFOLIO_WRITE)
    ]


def approval_list(*, actor: Actor):
    actor.require(Scope.WORKSPACE_READ)
    return (
        FlagRevision.objects.filter(workspace=actor.workspace, state="pending_approval")
        .select_related("flag", "environment", "author", "reviewed_by", "rollback_of")
        .prefetch_related("environment__approvers")
        .order_by("submitted_at", "id")
    )


def open_environment_ids(*, actor: Actor, flag_id: int) -> set[int]:
    """Environments where the flag has a draft or a change awaiting approval."""
    return set(
        FlagRevision.objects.filter(
            workspace=actor.workspace, flag_id=flag_id, state__in=("draft", "pending_approval")
        ).values_list("environment_id", flat=True)
    )


def live_revision_ids(*, actor: Actor, flag_id: int) -> set[int]:
    return set(
        FlagState.objects.filter(workspace=actor.workspace, flag_id=flag_id, published__isnull=False).values_list(
            "published_id", flat=True
        )
    )


# --- saved groups -------------------------------------------------------------------------------------------------


def group_list(*, actor: Actor, search: str = ""):
    actor.require(Scope.WORKSPACE_READ)
    query = SavedGroup.objects.filter(workspace=actor.workspace)
    if search:
        query = query.filter(Q(key__icontains=search) | Q(name__icontains=search))
    return query.order_by("name", "id")


def access_group(*, actor: Actor, id: int, scope=None, for_update: bool = False) -> SavedGroup:
    return access_row(
        SavedGroup, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Saved group not found."
    )


def group_keys(workspace) -> list[str]:
    return list(SavedGroup.objects.filter(workspace=workspace).order_by("key").values_list("key", flat=True))


def flag_keys(workspace, *, exclude: int | None = None) -> list[str]:
    query = Flag.objects.filter(workspace=workspace, archived_at=None)
    if exclude:
        query = query.exclude(pk=exclude)
    return list(query.order_by("key").values_list("key", flat=True))


# --- the SDK endpoint and evaluation ------------------------------------------------------------------------------


def sdk_key_lookup(key: str) -> SdkKey | None:
    """The SDK endpoint's one query: the key (revoked or not) with its environment. Public: no actor."""
    if not key or len(key) > 64:
        return None
    return SdkKey.objects.select_related("environment").filter(key=key).first()


_EVALUATORS: OrderedDict[tuple[int, str], FeatureEvaluator] = OrderedDict()
_EVALUATORS_LOCK = threading.Lock()


def evaluator_for(environment: Environment) -> FeatureEvaluator:
    """The compiled published payload of an environment, cached per payload version (ETag)."""
    cache_key = (environment.pk, environment.etag)
    with _EVALUATORS_LOCK:
        evaluator = _EVALUATORS.get(cache_key)
        if evaluator is not None:
            _EVALUATORS.move_to_end(cache_key)
            return evaluator
    document = json.loads(environment.payload or "{}")
    evaluator = FeatureEvaluator(document, decryption_key=environment.encryption_key or None)
    with _EVALUATORS_LOCK:
        _EVALUATORS[cache_key] = evaluator
        while len(_EVALUATORS) > 32:
            _EVALUATORS.popitem(last=False)
    return evaluator


def evaluate_batch(*, actor: Actor, environment: str, flags: list[str], users: list[dict[str, Any]]) -> dict[str, Any]:
    """What each user gets from each flag in an environment, as its SDKs would compute it (published config)."""
    env = environment_by_key(actor=actor, key=environment)
    evaluator = evaluator_for(env)
    keys = list(dict.fromkeys(flags)) if flags else list(evaluator.feature_keys)
    unknown = [k for k in keys if k not in set(evaluator.feature_keys)]
    if unknown:
        raise Invalid(
            f"Not served in {env.name}: {', '.join(unknown[:10])}. (Archived flags and unknown keys are not served.)",
            fields={"flags": "Unknown or archived flag keys."},
        )
    results = evaluator.evaluate_many_features(keys, users)
    return {
        "environment": env.key,
        "users": len(users),
        "etag": env.etag,
        "flags": {
            key: {"values": result.values(), "variation_ids": result.variation_ids()} for key, result in results.items()
        },
    }


def counts_by_environment(workspace) -> dict[str, dict[str, int]]:
    """Per environment: how many flags serve rules, are killed, wait for approval (for page headers)."""
    out: dict[str, dict[str, int]] = {}
    rows = (
        FlagState.objects.filter(workspace=workspace, flag__archived_at=None)
        .values("environment__key")
        .annotate(
            live=Count("id", filter=Q(served_killed=False, served_rules__gt=0)),
            killed=Count("id", filter=Q(served_killed=True)),
        )
    )
    for row in rows:
        out[row["environment__key"]] = {"live": row["live"], "killed": row["killed"]}
    return out
