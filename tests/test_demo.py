"""The demo workspace is deterministic and idempotent: a second run adds nothing anywhere."""

from __future__ import annotations

import pytest
from django.apps import apps

from valueloop.accounts.models import User
from valueloop.demo import DEMO_DOMAIN, DEMO_PASSWORD, _user, build_demo


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
    # The demo's admin may create workspaces under the default policy; nobody else in the demo may.
    from valueloop.workspaces.facade import workspace_creation_allowed

    may_create = {email for email, _, _ in first.logins if workspace_creation_allowed(User.objects.get(email=email))}
    assert may_create == {f"ada@{DEMO_DOMAIN}"}


def test_user__makes_the_admin_of_an_older_demo_an_instance_admin(db):
    older = User.objects.create_user(f"ada@{DEMO_DOMAIN}", DEMO_PASSWORD, name="Ada", handle="ada")
    assert not older.is_staff
    user, created = _user("Ada Okafor", "ada", instance_admin=True)
    assert not created and user.pk == older.pk
    older.refresh_from_db()
    assert older.is_staff
    assert not _user("Priya", "priya")[0].is_staff
