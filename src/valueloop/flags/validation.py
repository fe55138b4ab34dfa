"""Checks on flag input that need no database: values against the flag's type, targeting conditions (compiled
and checked by the evaluation engine), rules, saved-group definitions.

Every failure raises ``Invalid`` naming the field and, for rules, the rule ("Rule 2 (rollout): ..."), so a form
can show the message next to the field and an API client can tell which rule to fix.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from valueloop.core.errors import Invalid
from valueloop.engines.flags import condition_problems

RULE_KIND_NAMES = {"force": "force", "rollout": "rollout", "experiment": "experiment"}
MAX_RULES = 50
MAX_VARIATIONS = 20
MAX_GROUPS_PER_RULE = 10
MAX_PREREQUISITES = 10
MAX_JSON_CHARS = 32_000
MAX_STRING_CHARS = 10_000
MAX_GROUP_VALUES = 10_000
WEIGHT_TOLERANCE = 1e-9
ATTRIBUTE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _has_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 64:
        return False
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def refuse_nul(value: Any, *, field: str, label: str) -> None:
    # Stored JSON must not carry NUL characters: PostgreSQL's jsonb cannot hold them.
    if _has_nul(value):
        raise Invalid(f"{label} contains a NUL character.", fields={field: "Remove the NUL (\\x00) character."})


def clean_key(key: Any, *, field: str = "key", what: str = "flag") -> str:
    key = (key or "").strip() if isinstance(key, str) else key
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise Invalid(
            f"The {what} key must be 1–64 lower-case letters, digits, '-' or '_', starting with a letter or digit.",
            fields={field: "Use lower-case letters, digits, '-' and '_' (e.g. new-checkout)."},
        )
    return key


def parse_json_text(text: Any, *, field: str, label: str, empty: Any = None) -> Any:
    """Form input: a JSON document typed into a text field."""
    if not isinstance(text, str):
        return text
    text = text.strip()
    if not text:
        return empty
    if len(text) > MAX_JSON_CHARS:
        raise Invalid(f"{label} is too long (at most {MAX_JSON_CHARS} characters).", fields={field: "Too long."})
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Invalid(f"{label} is not valid JSON: {exc}.", fields={field: f"Not valid JSON: {exc}."}) from exc


def parse_form_value(text: str, value_type: str, *, field: str, label: str) -> Any:
    """A value typed into a form field, read according to the flag's type."""
    text = (text or "").strip()
    if value_type == "boolean":
        lowered = text.lower()
        if lowered in ("true", "on", "1", "yes"):
            return True
        if lowered in ("false", "off", "0", "no"):
            return False
        raise Invalid(f"{label} must be true or false.", fields={field: "Enter true or false."})
    if value_type == "string":
        return text
    if value_type == "number":
        try:
            number = float(text)
        except ValueError:
            raise Invalid(f"{label} must be a number.", fields={field: "Enter a number, e.g. 3 or 0.25."}) from None
        return int(number) if number.is_integer() and abs(number) < 2**53 and "." not in text else number
    return parse_json_text(text, field=field, label=label)


def clean_value(value: Any, value_type: str, *, field: str = "value", label: str = "The value") -> Any:
    refuse_nul(value, field=field, label=label)
    if value_type == "boolean":
        if not isinstance(value, bool):
            raise Invalid(f"{label} must be true or false (this is a boolean flag).", fields={field: "true or false."})
    elif value_type == "string":
        if not isinstance(value, str):
            raise Invalid(f"{label} must be a string (this is a string flag).", fields={field: "A string."})
        if len(value) > MAX_STRING_CHARS:
            raise Invalid(f"{label} is too long.", fields={field: f"At most {MAX_STRING_CHARS} characters."})
    elif value_type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise Invalid(f"{label} must be a number (this is a number flag).", fields={field: "A finite number."})
        if abs(value) > 1e15:
            raise Invalid(f"{label} is out of range.", fields={field: "Between -10^15 and 10^15."})
    elif value_type == "json":
        if not isinstance(value, dict | list):
            raise Invalid(
                f"{label} must be a JSON object or array (this is a JSON flag).", fields={field: "An object or array."}
            )
        if len(json.dumps(value)) > MAX_JSON_CHARS:
            raise Invalid(f"{label} is too large.", fields={field: f"At most {MAX_JSON_CHARS} characters of JSON."})
    else:
        raise Invalid(f"Unknown flag type {value_type!r}.", fields={"value_type": "boolean, string, number or json."})
    return value


def clean_condition(condition: Any, *, label: str, field: str = "condition") -> dict:
    condition = parse_json_text(condition, field=field, label=f"{label}: the condition", empty={})
    if condition is None:
        return {}
    if not isinstance(condition, dict):
        raise Invalid(
            f'{label}: the condition must be a JSON object, e.g. {{"country": {{"$in": ["DE", "FR"]}}}}.',
            fields={field: "A JSON object."},
        )
    if len(json.dumps(condition)) > MAX_JSON_CHARS:
        raise Invalid(f"{label}: the condition is too large.", fields={field: "Too large."})
    refuse_nul(condition, field=field, label=f"{label}: the condition")
    problems = condition_problems(condition)
    if problems:
        raise Invalid(f"{label}: {'; '.join(problems[:3])}.", fields={field: f"{label}: {'; '.join(problems[:3])}."})
    return condition


def clean_attribute(name: Any, *, label: str, field: str = "hash_attribute") -> str:
    name = name.strip() if isinstance(name, str) else name
    if not isinstance(name, str) or not ATTRIBUTE_RE.match(name):
        raise Invalid(
            f"{label}: {name!r} is not an attribute name (letters, digits, '_', '.', '-'; at most 64).",
            fields={field: "An attribute name such as id, deviceId or company.id."},
        )
    return name


def clean_coverage(coverage: Any, *, label: str) -> float:
    if isinstance(coverage, bool) or not isinstance(coverage, int | float) or not 0 <= coverage <= 1:
        raise Invalid(
            f"{label}: the rollout percentage must be between 0 and 100 % (coverage 0–1).",
            fields={"coverage": "Between 0 and 1 (0 % to 100 %)."},
        )
    return float(coverage)


def clean_weights(weights: Any, count: int, *, label: str) -> list[float]:
    if weights in (None, []):
        return [1.0 / count] * count
    if not isinstance(weights, list) or len(weights) != count:
        raise Invalid(
            f"{label}: give one weight per variation ({count}).", fields={"weights": f"{count} weights, one each."}
        )
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, int | float) or not 0 <= w <= 1:
            raise Invalid(f"{label}: every weight must be between 0 and 1.", fields={"weights": "Between 0 and 1."})
    total = math.fsum(weights)
    if abs(total - 1) > WEIGHT_TOLERANCE:
        raise Invalid(
            f"{label}: the weights add up to {total:g}, not 1. Make them add up to exactly 1 (100 %).",
            fields={"weights": f"They add up to {total:g}; they must add up to 1."},
        )
    return [float(w) for w in weights]


def clean_rule(data: dict[str, Any], *, value_type: str, label: str) -> dict[str, Any]:
    """A rule as stored (and snapshotted): every field present, shaped for its kind."""
    kind = data.get("kind")
    if kind not in RULE_KIND_NAMES:
        raise Invalid(f"{label}: the kind must be force, rollout or experiment.", fields={"kind": "Unknown kind."})
    label = f"{label} ({kind})"
    description = data.get("description") or ""
    if not isinstance(description, str) or len(description) > 200:
        raise Invalid(f"{label}: the description is too long.", fields={"description": "At most 200 characters."})
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise Invalid(f"{label}: enabled must be true or false.", fields={"enabled": "true or false."})
    rule: dict[str, Any] = {
        "kind": kind,
        "description": description.strip(),
        "enabled": enabled,
        "condition": clean_condition(data.get("condition"), label=label),
        "saved_groups": _clean_group_refs(data.get("saved_groups"), label=label),
        "prerequisites": _clean_prerequisites(data.get("prerequisites"), label=label),
        "value": None,
        "coverage": 1.0,
        "hash_attribute": clean_attribute(data.get("hash_attribute") or "id", label=label),
        "seed": _clean_text(data.get("seed"), 120, field="seed", label=label),
        "variations": [],
        "weights": [],
        "variation_names": [],
        "tracking_key": "",
    }
    if kind in ("force", "rollout"):
        if "value" not in data or data.get("value") is None:
            raise Invalid(f"{label}: give the value to serve.", fields={"value": "Required."})
        rule["value"] = clean_value(data["value"], value_type, label=f"{label}: the value")
    if kind == "rollout":
        rule["coverage"] = clean_coverage(data.get("coverage", 1.0), label=label)
    if kind == "experiment":
        variations = data.get("variations")
        if not isinstance(variations, list) or not 2 <= len(variations) <= MAX_VARIATIONS:
            raise Invalid(
                f"{label}: an experiment needs 2 to {MAX_VARIATIONS} variations.",
                fields={"variations": f"2 to {MAX_VARIATIONS} values."},
            )
        rule["variations"] = [
            clean_value(v, value_type, field="variations", label=f"{label}: variation {i + 1}")
            for i, v in enumerate(variations)
        ]
        rule["weights"] = clean_weights(data.get("weights"), len(variations), label=label)
        names = data.get("variation_names") or []
        if not isinstance(names, list) or len(names) > len(variations) or not all(isinstance(n, str) for n in names):
            raise Invalid(f"{label}: one name per variation at most.", fields={"variation_names": "Names, in order."})
        rule["variation_names"] = [n.strip()[:60] for n in names]
        rule["coverage"] = clean_coverage(data.get("coverage", 1.0), label=label)
        rule["tracking_key"] = _clean_text(data.get("tracking_key"), 120, field="tracking_key", label=label)
    return rule


def _clean_text(value: Any, limit: int, *, field: str, label: str) -> str:
    value = value or ""
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise Invalid(f"{label}: {field} must be text of at most {limit} characters.", fields={field: "Too long."})
    return value.strip()


def _clean_group_refs(refs: Any, *, label: str) -> list[str]:
    refs = refs or []
    if not isinstance(refs, list) or len(refs) > MAX_GROUPS_PER_RULE:
        raise Invalid(
            f"{label}: saved groups are a list of at most {MAX_GROUPS_PER_RULE} group keys.",
            fields={"saved_groups": "A list of group keys."},
        )
    return [clean_key(r, field="saved_groups", what="saved group") for r in dict.fromkeys(refs)]


def _clean_prerequisites(items: Any, *, label: str) -> list[dict[str, Any]]:
    items = items or []
    if not isinstance(items, list) or len(items) > MAX_PREREQUISITES:
        raise Invalid(
            f"{label}: prerequisites are a list of at most {MAX_PREREQUISITES} {{flag, condition}} objects.",
            fields={"prerequisites": "A list."},
        )
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) - {"flag", "condition"}:
            raise Invalid(
                f'{label}: prerequisite {i + 1} must be {{"flag": key, "condition": {{...}}}}.',
                fields={"prerequisites": "Each item has a flag key and a condition on its value."},
            )
        flag = clean_key(item.get("flag"), field="prerequisites")
        condition = item.get("condition")
        if condition in (None, {}):
            condition = {"value": True}
        out.append(
            {
                "flag": flag,
                "condition": clean_condition(condition, label=f"{label}: prerequisite {flag}", field="prerequisites"),
            }
        )
    return out


def clean_group(data: dict[str, Any]) -> dict[str, Any]:
    kind = data.get("kind") or "list"
    if kind not in ("list", "condition"):
        raise Invalid("A saved group is a list of values or a condition.", fields={"kind": "list or condition."})
    name = (data.get("name") or "").strip()
    if not name or len(name) > 120:
        raise Invalid("Give the group a name (at most 120 characters).", fields={"name": "Required."})
    out: dict[str, Any] = {
        "name": name,
        "description": _clean_text(data.get("description"), 500, field="description", label="The group"),
        "kind": kind,
        "attribute": "",
        "values": [],
        "condition": {},
    }
    if kind == "list":
        out["attribute"] = clean_attribute(data.get("attribute") or "id", label="The group", field="attribute")
        values = data.get("values") or []
        if isinstance(values, str):
            values = [v.strip() for v in re.split(r"[\n,]", values) if v.strip()]
        if not isinstance(values, list) or len(values) > MAX_GROUP_VALUES:
            raise Invalid(
                f"A list group holds at most {MAX_GROUP_VALUES} values.", fields={"values": "Too many values."}
            )
        for v in values:
            if isinstance(v, bool) or not isinstance(v, str | int | float) or (isinstance(v, str) and len(v) > 200):
                raise Invalid(
                    "Group values are strings (at most 200 characters) or numbers.", fields={"values": f"{v!r}."}
                )
        refuse_nul(values, field="values", label="The group's values")
        out["values"] = list(dict.fromkeys(values))
    else:
        out["condition"] = clean_condition(data.get("condition"), label="The group")
        if not out["condition"]:
            raise Invalid("A condition group needs a condition.", fields={"condition": "Required."})
    return out
