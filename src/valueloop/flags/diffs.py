"""Diffs between two snapshots of a flag's configuration in one environment, and their wording.

A snapshot is ``{"default_value", "killed", "rules": [rule, ...]}`` with every rule carrying its ``uid``, and
``"archived": true`` when it stops serving the flag in its environment.
A diff is a list of entries ``{"path", "before", "after"}``; rules are matched by uid, so a moved rule is an
order change and an edited rule lists only the fields that changed.
"""

from __future__ import annotations

import json
from typing import Any

RULE_FIELD_LABELS = {
    "kind": "kind",
    "description": "description",
    "enabled": "enabled",
    "condition": "condition",
    "saved_groups": "saved groups",
    "prerequisites": "prerequisites",
    "value": "value",
    "coverage": "rollout",
    "hash_attribute": "hash attribute",
    "seed": "seed",
    "variations": "variations",
    "weights": "weights",
    "variation_names": "variation names",
    "tracking_key": "tracking key",
}


def empty_snapshot(default_value: Any) -> dict[str, Any]:
    return {"default_value": default_value, "killed": False, "rules": []}


def snapshot_diff(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    before = before or {"default_value": None, "killed": False, "rules": []}
    out: list[dict[str, Any]] = []
    for key in ("default_value", "killed"):
        if before.get(key) != after.get(key) or type(before.get(key)) is not type(after.get(key)):
            out.append({"path": key, "before": before.get(key), "after": after.get(key)})
    if bool(before.get("archived")) != bool(after.get("archived")):
        out.append({"path": "archived", "before": bool(before.get("archived")), "after": bool(after.get("archived"))})
    old = {r["uid"]: r for r in before.get("rules", [])}
    new = {r["uid"]: r for r in after.get("rules", [])}
    for uid, rule in new.items():
        if uid not in old:
            out.append({"path": f"rules.{uid}", "before": None, "after": rule})
            continue
        for field in RULE_FIELD_LABELS:
            if _canon(old[uid].get(field)) != _canon(rule.get(field)):
                out.append({"path": f"rules.{uid}.{field}", "before": old[uid].get(field), "after": rule.get(field)})
    for uid, rule in old.items():
        if uid not in new:
            out.append({"path": f"rules.{uid}", "before": rule, "after": None})
    common_before = [uid for uid in old if uid in new]
    common_after = [uid for uid in new if uid in old]
    if common_before != common_after:
        out.append({"path": "rules.order", "before": list(old), "after": list(new)})
    return out


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(entry: dict[str, Any], rule_numbers: dict[str, int] | None = None) -> str:
    """One diff entry in words, e.g. "Rule 2: rollout 20 % → 50 %"."""
    path, before, after = entry["path"], entry.get("before"), entry.get("after")
    numbers = rule_numbers or {}
    if path == "default_value":
        if before is None:
            return f"Default value {_short(after)}"
        return f"Default value {_short(before)} → {_short(after)}"
    if path == "killed":
        return "Kill switch on: everyone gets the default value" if after else "Kill switch off: rules apply again"
    if path == "archived":
        return "Archived: SDKs no longer receive this flag here" if after else "Restored: SDKs receive this flag again"
    if path == "rules.order":
        return "Rules reordered"
    parts = path.split(".")
    uid = parts[1]
    name = f"Rule {numbers[uid]}" if uid in numbers else f"Rule {uid}"
    if len(parts) == 2:
        if before is None:
            return f"{name} added: {_rule_summary(after)}"
        return f"Rule removed: {_rule_summary(before)}"
    field = parts[2]
    label = RULE_FIELD_LABELS.get(field, field)
    if field == "coverage":
        return f"{name}: {label} {_percent(before)} → {_percent(after)}"
    if field == "weights":
        return f"{name}: weights {_percents(before)} → {_percents(after)}"
    return f"{name}: {label} {_short(before)} → {_short(after)}"


def _percent(value: Any) -> str:
    return f"{value * 100:g} %" if isinstance(value, int | float) else "—"


def _percents(values: Any) -> str:
    return " / ".join(_percent(v) for v in values or []) or "—"


def _rule_summary(rule: dict[str, Any] | None) -> str:
    if not rule:
        return "—"
    kind = rule.get("kind")
    when = f" when {_short(rule['condition'], 60)}" if rule.get("condition") else ""
    groups = f" in {', '.join(rule['saved_groups'])}" if rule.get("saved_groups") else ""
    if kind == "force":
        return f"force {_short(rule.get('value'))}{when}{groups}"
    if kind == "rollout":
        return f"roll out {_short(rule.get('value'))} to {_percent(rule.get('coverage'))}{when}{groups}"
    return f"experiment {_short(rule.get('variations'))}{when}{groups}"


def summary(diff: list[dict[str, Any]], rules: list[dict[str, Any]] | None = None) -> list[str]:
    numbers = {r["uid"]: i + 1 for i, r in enumerate(rules or [])}
    return [describe(entry, numbers) for entry in diff]
