"""End-to-end: a production flag change waits for approval. The author adds a rule in production and submits it;
production's SDK payload does not change; the approver sees the notification badge, follows the approvals page and
approves; only then does production serve the rule. Fails on any browser console error."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from valueloop.accounts.models import User
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.flags import services as flags
from valueloop.flags.bootstrap import ensure_environments
from valueloop.flags.models import SdkKey
from valueloop.workspaces import services as ws_services
from valueloop.workspaces.models import Membership

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_browser_errors")]

PASSWORD = "e2e-password-5137"


@pytest.fixture
def team(transactional_db):
    admin = User.objects.create_user("ada@e2e.test", PASSWORD, name="Ada Admin", handle="ada", is_staff=True)
    workspace = ws_services.workspace_create(user=admin, name="Acme Flags")
    people = {}
    for email, name, role in (
        ("pia@e2e.test", "Pia Manager", Role.PRODUCT_MANAGER),
        ("otto@e2e.test", "Otto Owner", Role.PRODUCT_OWNER),
    ):
        user = User.objects.create_user(email, PASSWORD, name=name, handle=email.split("@")[0])
        Membership.objects.create(workspace=workspace, user=user, role=role.value)
        people[role] = user
    pm = Actor(user=people[Role.PRODUCT_MANAGER], workspace=workspace, role=Role.PRODUCT_MANAGER)
    flag = flags.flag_create(actor=pm, key="one-tap-pay", description="Pay with one tap")
    prod = {e.key: e for e in ensure_environments(workspace)}["production"]
    # Only the product owner approves in production (named approver): the admin is not asked.
    flags.environment_update(
        actor=Actor(user=admin, workspace=workspace, role=Role.ADMIN),
        environment_id=prod.pk,
        approver_ids=[people[Role.PRODUCT_OWNER].pk],
    )
    key = SdkKey.objects.get(environment=prod, revoked_at=None).key
    return {"workspace": workspace, "people": people, "flag": flag, "prod": prod, "sdk_key": key}


def sign_in(page: Page, user: User) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def served(team) -> dict:
    response = Client().get(f"/api/features/{team['sdk_key']}")
    return json.loads(response.content)["features"]["one-tap-pay"]


def test_production_change__served_only_once_the_approver_approves(new_page, team):
    slug, flag, prod = team["workspace"].slug, team["flag"], team["prod"]
    before = served(team)
    assert "rules" not in before

    author = new_page()
    sign_in(author, team["people"][Role.PRODUCT_MANAGER])
    author.goto(f"/w/{slug}/flags/{flag.pk}/env/{prod.pk}/")
    author.get_by_text("Add a rule", exact=True).click()
    author.locator("#nr-value").select_option("true")
    author.get_by_role("button", name="Add rule").click()
    expect(author.get_by_role("heading", name="Unpublished changes (draft #2)")).to_be_visible()
    author.get_by_label("Comment").fill("Everyone gets one-tap pay")
    author.get_by_role("button", name="Submit for approval").click()
    expect(author.get_by_role("heading", name="Awaiting approval: revision #2")).to_be_visible()
    assert served(team) == before  # submitted, not served

    approver = new_page()
    sign_in(approver, team["people"][Role.PRODUCT_OWNER])
    approver.goto(f"/w/{slug}/flags/")
    expect(approver.get_by_test_id("unread-count")).to_have_text("1")
    approver.get_by_role("link", name="Notifications").click()
    expect(approver.get_by_text("asks for your approval of")).to_be_visible()
    approver.goto(f"/w/{slug}/flags/approvals/")
    expect(approver.get_by_text("Everyone gets one-tap pay")).to_be_visible()
    assert served(team) == before
    approver.get_by_role("button", name="Approve and publish").click()
    expect(approver.get_by_text("Approved: one-tap-pay #2 is now served.")).to_be_visible()

    after = served(team)
    assert after["rules"][0]["force"] is True and after != before

    author.goto(f"/w/{slug}/flags/")
    expect(author.get_by_test_id("unread-count")).to_have_text("1")  # told that the change was approved
