"""core.extensions: lower apps ask, higher apps answer; and the apps' own points are answered once wired."""

from __future__ import annotations

from valueloop.core import extensions


def test_page_context__merges_providers_in_order_and_is_empty_without_any():
    point = "tests.page"
    assert extensions.page_context(point, actor=None) == {}

    def first(*, actor):
        return {"a": 1, "shared": "first"}

    def second(*, actor):
        return {"b": 2, "shared": "second"}

    def nothing(*, actor):
        return None

    try:
        for provider in (first, second, nothing, first):  # the repeated registration keeps one
            extensions.register(point, provider)
        assert extensions.providers(point) == [first, second, nothing]
        assert extensions.page_context(point, actor=None) == {"a": 1, "b": 2, "shared": "second"}
    finally:
        for provider in (first, second, nothing):
            extensions.unregister(point, provider)
    assert extensions.providers(point) == []


def test_ask__first_answer_or_the_default():
    point = "tests.ask"
    assert extensions.ask(point, default="none", x=1) == "none"

    def double(*, x):
        return 2 * x

    extensions.register(point, double)
    try:
        assert extensions.ask(point, default="none", x=21) == 42
    finally:
        extensions.unregister(point, double)


def test_the_apps_points_are_answered_by_the_apps_above_them():
    """Evidence, discovery and planning register in ready(); if one stops, a lower page silently loses a panel,
    so the wiring itself is checked."""
    owners = {
        "feedback.item_page": "valueloop.evidence",
        "research.interview_page": "valueloop.evidence",
        "discovery.solutions": "valueloop.planning",
        "evidence.feature": "valueloop.planning",
    }
    for point, owner in owners.items():
        assert [p.__module__.rsplit(".", 1)[0] for p in extensions.providers(point)] == [owner], point
    assert sorted(p.__module__ for p in extensions.providers("evidence.target_choices")) == [
        "valueloop.discovery.facade",
        "valueloop.planning.facade",
    ]


def test_evidence_target_choices_offer_problems_and_features(world):
    from valueloop.evidence.facade import target_choices

    choices = target_choices(world.actor_a)
    assert (world.problem_a.pk, "Alpha problem") in choices["problems"]
    assert (world.feature_a.pk, "Alpha feature") in choices["features"]
    assert all(pk != world.problem_b.pk for pk, _ in choices["problems"])  # the other workspace's are absent
    assert target_choices(world.actor_a, "zzz-no-match") == {"problems": [], "features": []}
