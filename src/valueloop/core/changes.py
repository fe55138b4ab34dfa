"""Audit changes in words, for activity lists, the home page and the audit log.

An audit row's ``changes`` maps a field to ``[before, after]`` (or to a bare value). Values can be anything JSON
holds: flag rules and targeting conditions are dicts and lists, which printed as Python (``{'uid': 'fr_…',
'kind': 'force', …``) mean nothing to a reader. This module says what changed instead.

Invariants:
- Pure: no Django, no database; the same input gives the same text.
- Every value is shortened (``MAX_TEXT`` characters); containers are summarised by what they hold (a name or
  title when they carry one, else a count), never printed raw.
- Field and kind names are turned into words (``cost_of_delay_per_week`` -> "cost of delay per week",
  ``experiment_decision`` -> "experiment decision"); an ``_id`` suffix is dropped.
"""

from __future__ import annotations

from typing import Any

MAX_TEXT = 60
MAX_FIELDS = 6
NAME_KEYS = ("name", "title", "label", "key", "email")
EMPTY = "—"


def words(name: str) -> str:
    """``experiment_decision`` -> "experiment decision"; ``owner_id`` -> "owner"."""
    text = str(name or "").strip()
    if text.endswith("_id") and len(text) > 3:
        text = text[:-3]
    return text.replace("_", " ").replace("-", " ").strip()


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1].rstrip() + "…"


def _named(mapping: dict) -> str | None:
    for key in NAME_KEYS:
        value = mapping.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return _short(str(value))
    return None


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def value_text(value: Any) -> str:
    """One value in words: empty, yes/no, a short text, or a summary of a list or mapping."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        named = _named(value)
        if named:
            return named
        kind = value.get("kind") or value.get("type")
        if isinstance(kind, str) and kind:
            return f"a {words(kind)} rule" if "rule" not in kind else words(kind)
        return _plural(len(value), "setting")
    if isinstance(value, list | tuple):
        if all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
            shown = ", ".join(_short(str(v)) for v in value[:3])
            more = len(value) - 3
            return _short(shown) + (f" and {more} more" if more > 0 else "")
        return _plural(len(value), "item")
    return _short(str(value))


def _identity(value: Any) -> Any:
    """What makes a list element the same element across versions (its uid/id/name, else itself)."""
    if isinstance(value, dict):
        for key in ("uid", "id", *NAME_KEYS):
            if key in value:
                return (key, str(value[key]))
        return repr(sorted(value.items(), key=lambda kv: kv[0]))
    return repr(value)


def change_text(field: str, before: Any, after: Any) -> str:
    """One field's change in words."""
    label = words(field) or "value"
    if isinstance(before, list | tuple) and isinstance(after, list | tuple):
        old, new = {_identity(v) for v in before}, {_identity(v) for v in after}
        added, removed = len(new - old), len(old - new)
        if added or removed:
            parts = [f"{added} added" if added else "", f"{removed} removed" if removed else ""]
            return f"{label}: " + ", ".join(p for p in parts if p)
        return f"{label}: changed" if list(before) != list(after) else f"{label}: reordered"
    if isinstance(before, dict) and isinstance(after, dict):
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        if not changed:
            return f"{label}: unchanged"
        return (
            f"{label}: changed " + ", ".join(words(k) for k in changed[:4]) + (" and more" if len(changed) > 4 else "")
        )
    if before in (None, "") and after not in (None, ""):
        return f"{label}: set to {value_text(after)}"
    if after in (None, "") and before not in (None, ""):
        return f"{label}: cleared (was {value_text(before)})"
    return f"{label}: {value_text(before)} → {value_text(after)}"


def describe(changes: dict | None, *, limit: int = MAX_FIELDS) -> list[str]:
    """Each changed field in words (at most ``limit``, then "and N more fields")."""
    out = []
    items = list((changes or {}).items()) if isinstance(changes, dict) else []
    for field, pair in items[:limit]:
        if isinstance(pair, list) and len(pair) == 2:
            out.append(change_text(field, pair[0], pair[1]))
        else:
            out.append(f"{words(field) or 'value'}: {value_text(pair)}")
    if len(items) > limit:
        out.append(f"and {_plural(len(items) - limit, 'more field')}")
    return out
