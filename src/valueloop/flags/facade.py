"""What other apps may import from flags. Every function is scoped to the workspace it is given.

Invariants: reads only; values come from what is published (what SDKs see), never from unpublished drafts.
The one exception is the section "used by experiments": it changes a flag's experiment rule, and only through
``services`` (scope check, validation, audit, revisions, and approval where the environment requires it).
"""

from __future__ import annotations

from typing import Any

from .bootstrap import ensure_environments
from .models import Flag


def flag_choices(workspace) -> list[tuple[int, str]]:
    return list(Flag.objects.filter(workspace=workspace, archived_at=None).order_by("key").values_list("pk", "key"))


def flags_for_features(workspace, feature_ids) -> dict[int, list[Flag]]:
    """Live flags grouped by the planning feature they are linked to."""
    grouped: dict[int, list[Flag]] = {}
    query = Flag.objects.filter(workspace=workspace, archived_at=None, feature_id__in=list(feature_ids))
    for flag in query.order_by("key"):
        grouped.setdefault(flag.feature_id, []).append(flag)
    return grouped


def published_payload(workspace, environment_key: str) -> dict[str, Any] | None:
    """The environment's SDK payload as served (JSON text and ETag), e.g. for experiment analysis."""
    for environment in ensure_environments(workspace):
        if environment.key == environment_key:
            return {
                "payload": environment.payload,
                "etag": environment.etag,
                "encrypted": bool(environment.encryption_key),
            }
    return None


def experiment_keys(workspace_id: int) -> set[str]:
    """The experiment keys SDKs report for this workspace: ``tracking_key or flag.key`` of every experiment
    rule, in the working copy and in what is published (a rule deleted but still served keeps reporting)."""
    from .models import FlagRule, FlagState

    keys: set[str] = set()
    rules = FlagRule.objects.filter(workspace_id=workspace_id, kind="experiment")
    for tracking_key, flag_key in rules.values_list("tracking_key", "flag__key"):
        keys.add(tracking_key or flag_key)
    served = FlagState.objects.filter(workspace_id=workspace_id, published__isnull=False).values_list(
        "published__snapshot", "flag__key"
    )
    for snapshot, flag_key in served:
        for rule in (snapshot or {}).get("rules") or []:
            if isinstance(rule, dict) and rule.get("kind") == "experiment":
                keys.add(rule.get("tracking_key") or flag_key)
    return keys


def sdk_key_environment(client_key: str) -> tuple[int, str] | None:
    """Resolve an SDK client key to ``(workspace_id, environment key)``; ``None`` when unknown or revoked."""
    from .selectors import sdk_key_lookup

    key = sdk_key_lookup(client_key)
    if key is None or key.revoked_at is not None:
        return None
    return key.workspace_id, key.environment.key


def sdk_key_revoked(client_key: str) -> bool:
    """Whether the key exists but was revoked (to tell SDK users which of the two went wrong)."""
    from .selectors import sdk_key_lookup

    key = sdk_key_lookup(client_key)
    return key is not None and key.revoked_at is not None


# --- used by experiments ---
# Writes go through ``services`` (scope checks, validation, audit, revisions, production approval); these
# helpers only find the experiment's rule (by its tracking key) and submit the change where approval is needed.


def environment_choices(workspace) -> list[dict[str, Any]]:
    """The workspace's environments (created on first use): ``id``, ``key``, ``name``, ``requires_approval``."""
    return [
        {"id": e.pk, "key": e.key, "name": e.name, "requires_approval": e.requires_approval}
        for e in ensure_environments(workspace)
    ]


def flag_summary(workspace, flag_id: int | None) -> dict[str, Any] | None:
    """``key``, ``value_type``, ``default_value``, ``archived`` of a flag of the workspace (None if unknown)."""
    if not flag_id:
        return None
    flag = Flag.objects.filter(workspace=workspace, pk=flag_id).first()
    if flag is None:
        return None
    return {
        "id": flag.pk,
        "key": flag.key,
        "value_type": flag.value_type,
        "default_value": flag.default_value,
        "archived": flag.archived_at is not None,
    }


def clean_experiment_rule(value_type: str, data: dict[str, Any], *, label: str = "The experiment") -> dict[str, Any]:
    """Validate an experiment rule (values against the flag's type, weights, coverage, condition) exactly as the
    flags services will; raises ``Invalid`` naming the field."""
    from .validation import clean_rule

    return clean_rule({**data, "kind": "experiment"}, value_type=value_type, label=label)


def parse_flag_value(text: str, value_type: str, *, field: str, label: str) -> Any:
    """A value typed into a form, read according to the flag's type (``Invalid`` naming ``field``)."""
    from .validation import clean_value, parse_form_value

    value = parse_form_value(text, value_type, field=field, label=label)
    return clean_value(value, value_type, field=field, label=label)


def _experiment_rule(flag_id: int, environment_id: int, tracking_key: str):
    from .models import FlagRule

    return (
        FlagRule.objects.filter(
            flag_id=flag_id, environment_id=environment_id, kind="experiment", tracking_key=tracking_key
        )
        .order_by("position", "id")
        .first()
    )


def _submit(actor, flag_id: int, environment_id: int, note: str) -> dict[str, Any]:
    """After a working-copy change: where approval is required, submit the open draft (``pending_approval``);
    elsewhere it is already published. Returns ``state`` and the revision ``number``."""
    from . import services
    from .models import Environment, FlagRevision, FlagState

    environment = Environment.objects.get(workspace=actor.workspace, pk=environment_id)
    open_revision = (
        FlagRevision.objects.filter(flag_id=flag_id, environment=environment, state__in=("draft", "pending_approval"))
        .order_by("-number")
        .first()
    )
    if environment.requires_approval and open_revision is not None:
        if open_revision.state == "draft":
            if not open_revision.diff:  # the draft is what is served: nothing to approve
                services.draft_discard(actor=actor, flag_id=flag_id, environment_id=environment_id)
            else:
                open_revision = services.draft_publish(
                    actor=actor, flag_id=flag_id, environment_id=environment_id, comment=note
                )
                return {"state": open_revision.state, "revision": open_revision.number}
        else:
            return {"state": open_revision.state, "revision": open_revision.number}
    state = FlagState.objects.filter(flag_id=flag_id, environment=environment).select_related("published").first()
    number = state.published.number if state is not None and state.published is not None else None
    return {"state": "published", "revision": number}


def experiment_rule_set(
    *,
    actor,
    flag_id: int,
    environment_id: int,
    tracking_key: str,
    variations: list[Any],
    variation_names: list[str],
    weights: list[float],
    coverage: float,
    condition: dict[str, Any],
    hash_attribute: str = "id",
    description: str = "",
) -> dict[str, Any]:
    """Create or update the experiment rule of ``tracking_key`` in the flag's environment (enabled), then publish it
    or submit it for approval. Returns ``rule_id``, ``state`` and ``revision``."""
    from . import services

    data = {
        "kind": "experiment",
        "enabled": True,
        "variations": variations,
        "variation_names": variation_names,
        "weights": weights,
        "coverage": coverage,
        "condition": condition,
        "hash_attribute": hash_attribute,
        "tracking_key": tracking_key,
        "description": description[:200],
    }
    rule = _experiment_rule(flag_id, environment_id, tracking_key)
    if rule is None:
        rule = services.rule_create(actor=actor, flag_id=flag_id, environment_id=environment_id, **data)
    else:  # the rule exists already (set up on the flag): keep its description, align the split
        data.pop("description")
        rule = services.rule_update(
            actor=actor, flag_id=flag_id, environment_id=environment_id, rule_id=rule.pk, **data
        )
    return {"rule_id": rule.pk, **_submit(actor, flag_id, environment_id, f"Experiment {tracking_key} started")}


def experiment_rule_end(*, actor, flag_id: int, environment_id: int, tracking_key: str) -> dict[str, Any] | None:
    """Stop serving the experiment's variations: its rule is disabled (everyone falls through to the next rule or
    the default). ``None`` when there is no such rule any more."""
    from . import services

    rule = _experiment_rule(flag_id, environment_id, tracking_key)
    if rule is None:
        return None
    if rule.enabled:
        services.rule_update(
            actor=actor, flag_id=flag_id, environment_id=environment_id, rule_id=rule.pk, enabled=False
        )
    return {"rule_id": rule.pk, **_submit(actor, flag_id, environment_id, f"Experiment {tracking_key} stopped")}


def experiment_rollout(
    *,
    actor,
    flag_id: int,
    environment_id: int,
    tracking_key: str,
    value: Any,
    condition: dict[str, Any],
    note: str,
) -> dict[str, Any]:
    """Ship a variation: the experiment rule becomes a rule forcing ``value`` for the audience it targeted (same
    condition, groups and prerequisites). Without such a rule in that environment, a force rule is added. Published
    at once, or submitted for approval where the environment requires it."""
    from . import services

    rule = _experiment_rule(flag_id, environment_id, tracking_key)
    if rule is None:
        rule = services.rule_create(
            actor=actor,
            flag_id=flag_id,
            environment_id=environment_id,
            kind="force",
            value=value,
            condition=condition,
            description=note[:200],
        )
    else:
        rule = services.rule_update(
            actor=actor,
            flag_id=flag_id,
            environment_id=environment_id,
            rule_id=rule.pk,
            kind="force",
            value=value,
            enabled=True,
            description=note[:200],
        )
    return {"rule_id": rule.pk, **_submit(actor, flag_id, environment_id, note)}


def experiment_rule_status(workspace, flag_id: int | None, environment_id: int | None, tracking_key: str) -> dict:
    """What the flag does with the experiment: ``served`` (its rule is published and enabled), ``working`` (the rule
    exists in the working copy), ``pending`` (number of a revision awaiting approval, or None)."""
    from .models import FlagRevision, FlagState

    if not flag_id or not environment_id:
        return {"served": False, "working": False, "pending": None}
    rule = _experiment_rule(flag_id, environment_id, tracking_key)
    state = (
        FlagState.objects.filter(workspace=workspace, flag_id=flag_id, environment_id=environment_id)
        .select_related("published")
        .first()
    )
    served = False
    if state is not None and state.published is not None and not state.served_killed:
        served = any(
            r.get("kind") == "experiment" and r.get("tracking_key") == tracking_key and r.get("enabled", True)
            for r in state.published.snapshot.get("rules") or []
        )
    pending = (
        FlagRevision.objects.filter(
            workspace=workspace, flag_id=flag_id, environment_id=environment_id, state="pending_approval"
        )
        .values_list("number", flat=True)
        .first()
    )
    return {"served": served, "working": rule is not None and rule.enabled, "pending": pending}
