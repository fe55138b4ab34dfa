"""The demo workspace is deterministic and idempotent: a second run adds nothing anywhere."""

from __future__ import annotations

import pytest
from django.apps import apps

from valueloop.demo import DEMO_PASSWORD, build_demo


def table_counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.app_label != "sessions"}


@pytest.mark.slow
def test_build_demo__twice_creates_nothing_new(db):
    first = build_demo(scale="small", seed=7)
    counts = table_counts()
    assert first.created and counts["feedback.FeedbackItem"] > 1000 and counts["customers.Customer"] >= 200
    second = build_demo(scale="small", seed=7)
    assert not second.created
    after = table_counts()
    changed = {label: (counts[label], after[label]) for label in counts if counts[label] != after[label]}
    assert not changed, changed
    assert {role for _, _, role in first.logins} >= {"Admin", "Product manager", "Product owner", "Contributor",
                                                      "Stakeholder"}
    assert all(password == DEMO_PASSWORD for _, password, _ in first.logins)
