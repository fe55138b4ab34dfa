"""core.changes: audit changes read as words, never as Python dicts (issue 12, "Pages that speak plainly")."""

from __future__ import annotations

import random

from valueloop.core.changes import MAX_TEXT, change_text, describe, value_text, words


def test_words__names_become_words():
    assert words("experiment_decision") == "experiment decision"
    assert words("owner_id") == "owner"
    assert words("cost_of_delay_per_week") == "cost of delay per week"


def test_value_text__scalars_and_containers():
    assert value_text(None) == value_text("") == value_text([]) == "—"
    assert value_text(True) == "yes" and value_text(False) == "no"
    assert value_text("x" * 500).endswith("…") and len(value_text("x" * 500)) == MAX_TEXT
    assert value_text(["DE", "FR", "NL", "BE", "AT"]) == "DE, FR, NL and 2 more"
    assert value_text({"name": "Beta testers", "id": 4}) == "Beta testers"
    assert value_text({"uid": "fr_1", "kind": "force", "value": True}) == "a force rule"
    assert value_text({"a": 1, "b": 2}) == "2 settings"
    assert value_text([{"uid": "fr_1"}, {"uid": "fr_2"}]) == "2 items"


def test_change_text__lists_of_rules_say_what_was_added_and_removed():
    before = [{"uid": "fr_1", "kind": "force", "condition": {"country": "DE"}}]
    after = [
        {"uid": "fr_1", "kind": "force", "condition": {"country": "FR"}},
        {"uid": "fr_2", "kind": "rollout", "coverage": 0.5},
    ]
    assert change_text("rules", before, after) == "rules: 1 added"
    assert change_text("rules", after, before) == "rules: 1 removed"
    assert change_text("rules", before, [dict(before[0], condition={"country": "FR"})]) == "rules: changed"
    assert change_text("condition", {"country": "DE"}, {"country": "FR", "plan": "pro"}) == (
        "condition: changed country, plan"
    )
    assert change_text("status", "planned", "released") == "status: planned → released"
    assert change_text("owner_id", None, 7) == "owner: set to 7"
    assert change_text("description", "old text", "") == "description: cleared (was old text)"


def test_describe__caps_the_fields_and_never_prints_python_reprs():
    rng = random.Random(7)

    def random_value(depth=0):
        choice = rng.randrange(6 if depth < 3 else 4)
        if choice == 0:
            return None
        if choice == 1:
            return rng.choice([True, False, 0, 1.5, "text"])
        if choice == 2:
            return "".join(rng.choice("ab: xy") for _ in range(rng.randrange(200)))
        if choice == 3:
            return rng.randrange(10**6)
        if choice == 4:
            return [random_value(depth + 1) for _ in range(rng.randrange(5))]
        return {f"k{i}": random_value(depth + 1) for i in range(rng.randrange(5))}

    for _ in range(500):
        changes = {f"field_{i}": [random_value(), random_value()] for i in range(rng.randrange(1, 10))}
        lines = describe(changes)
        assert len(lines) <= 7
        for line in lines:
            assert "{'" not in line and "['" not in line and len(line) < 3 * MAX_TEXT + 40, line
        if len(changes) > 6:
            assert lines[-1] == f"and {len(changes) - 6} more field{'s' if len(changes) - 6 != 1 else ''}"
