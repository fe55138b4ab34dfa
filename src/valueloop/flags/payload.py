"""The SDK payload of an environment, in GrowthBook's format (SDK spec 0.7.x / 0.8), built from what is
published: each live flag's published revision, never the working copy.

Invariants:
- A killed flag is served as its default value with no rules; an archived flag, or one whose published snapshot
  archives it in this environment (``"archived": true``), is not served at all.
- Saved groups are resolved here: a condition group is inlined into the rule's condition; a list group becomes
  ``{attribute: {"$inGroup": key}}`` and its values are served in ``savedGroups`` (only the groups served rules
  use, so unrelated lists of ids never leave the server).
- Rollouts and experiments hash with hashVersion 2; a rollout's seed defaults to the flag key, so raising the
  percentage only ever adds users.
- The body is serialised once per rebuild and stored with its ETag (a hash of the body), so serving it is a
  single indexed read.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from django.utils import timezone

from valueloop.engines.flags import encrypt

_log = logging.getLogger(__name__)


def group_condition(group: dict[str, Any], key: str) -> dict[str, Any]:
    if group["kind"] == "list":
        return {group["attribute"]: {"$inGroup": key}}
    return group["condition"]


def compile_rule(
    rule: dict[str, Any], *, flag_key: str, groups: dict[str, dict[str, Any]], used_groups: set[str]
) -> dict[str, Any] | None:
    parts = [rule["condition"]] if rule.get("condition") else []
    for key in rule.get("saved_groups") or []:
        group = groups.get(key)
        if group is None:
            _log.warning("flags: rule %s of %s names a missing saved group %s; not served", rule["uid"], flag_key, key)
            return None
        parts.append(group_condition(group, key))
        if group["kind"] == "list":
            used_groups.add(key)
    out: dict[str, Any] = {"id": rule["uid"]}
    if len(parts) == 1:
        out["condition"] = parts[0]
    elif parts:
        out["condition"] = {"$and": parts}
    if rule.get("prerequisites"):
        out["parentConditions"] = [{"id": p["flag"], "condition": p["condition"]} for p in rule["prerequisites"]]
    kind = rule["kind"]
    if kind == "force":
        out["force"] = rule["value"]
    elif kind == "rollout":
        out.update(
            force=rule["value"],
            coverage=rule["coverage"],
            hashAttribute=rule["hash_attribute"],
            seed=rule.get("seed") or flag_key,
            hashVersion=2,
        )
    else:
        tracking_key = rule.get("tracking_key") or flag_key
        names = rule.get("variation_names") or []
        out.update(
            key=tracking_key,
            variations=rule["variations"],
            weights=rule["weights"],
            coverage=rule["coverage"],
            hashAttribute=rule["hash_attribute"],
            seed=rule.get("seed") or tracking_key,
            hashVersion=2,
            meta=[
                {"key": str(i), **({"name": names[i]} if i < len(names) and names[i] else {})}
                for i in range(len(rule["variations"]))
            ],
        )
        if rule.get("description"):
            out["name"] = rule["description"]
    return out


def compile_feature(
    flag_key: str, snapshot: dict[str, Any], groups: dict[str, dict[str, Any]], used_groups: set[str]
) -> dict[str, Any]:
    feature: dict[str, Any] = {"defaultValue": snapshot.get("default_value")}
    if snapshot.get("killed"):
        return feature
    rules = []
    for rule in snapshot.get("rules") or []:
        if not rule.get("enabled", True):
            continue
        compiled = compile_rule(rule, flag_key=flag_key, groups=groups, used_groups=used_groups)
        if compiled is not None:
            rules.append(compiled)
    if rules:
        feature["rules"] = rules
    return feature


def build_document(
    served: list[tuple[str, dict[str, Any]]], groups: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(features, savedGroups) for the served (flag key, published snapshot) pairs."""
    used: set[str] = set()
    features = {key: compile_feature(key, snapshot, groups, used) for key, snapshot in served}
    saved_groups = {key: groups[key]["values"] for key in sorted(used)}
    return features, saved_groups


def serialise(features: dict[str, Any], saved_groups: dict[str, Any], *, encryption_key: str = "") -> tuple[str, str]:
    """(body, etag). The ETag covers content only, so an unchanged payload keeps answering 304."""
    content = json.dumps([features, saved_groups], sort_keys=True, separators=(",", ":"))
    etag = '"' + hashlib.sha256((encryption_key + content).encode()).hexdigest()[:32] + '"'
    document: dict[str, Any] = {"status": 200}
    if encryption_key:
        document["features"] = {}
        document["encryptedFeatures"] = encrypt(json.dumps(features, separators=(",", ":")), encryption_key)
        document["encryptedSavedGroups"] = encrypt(json.dumps(saved_groups, separators=(",", ":")), encryption_key)
    else:
        document["features"] = features
        document["savedGroups"] = saved_groups
    document["dateUpdated"] = timezone.now().isoformat().replace("+00:00", "Z")
    return json.dumps(document, separators=(",", ":")), etag


def group_definition(group) -> dict[str, Any]:
    """What the payload uses of a saved group (its name and description are not served)."""
    return {"kind": group.kind, "attribute": group.attribute, "values": group.values, "condition": group.condition}


def workspace_groups(workspace_id: int) -> dict[str, dict[str, Any]]:
    from .models import SavedGroup

    return {g.key: group_definition(g) for g in SavedGroup.objects.filter(workspace_id=workspace_id)}


def served_content(
    environment, groups: dict[str, dict[str, Any]] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(features, savedGroups) the environment serves now, or would serve with ``groups`` instead of the workspace's
    saved groups. A flag is served when it is not archived and its published snapshot is not an archiving one."""
    from .models import FlagState

    states = (
        FlagState.objects.filter(environment=environment, flag__archived_at=None, published__isnull=False)
        .select_related("flag", "published")
        .order_by("flag__key")
    )
    served = [(s.flag.key, s.published.snapshot) for s in states if not s.published.snapshot.get("archived")]
    if groups is None:
        groups = workspace_groups(environment.workspace_id)
    return build_document(served, groups)


def rebuild(environment) -> None:
    """Rebuild and store the environment's payload from its published revisions. Call inside the transaction
    of the change that published something, so the payload and the revision commit together."""
    features, saved_groups = served_content(environment)
    body, etag = serialise(features, saved_groups, encryption_key=environment.encryption_key)
    if etag == environment.etag and environment.payload:
        return
    environment.payload, environment.etag, environment.payload_updated_at = body, etag, timezone.now()
    environment.save(update_fields=["payload", "etag", "payload_updated_at"])
