"""End-to-end: an admin uploads a CSV of events on the event data page in real Chromium, sees the counts, opens
the event source page; no console errors (CSP). Screenshots go to $VALUELOOP_E2E_SHOTS when set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import (  # noqa: F401  (fixtures)
    IN_CI,
    MISSING,
    browser,
    browser_errors,
    new_page,
    page,
    warm_live_server,
)
from valueloop.accounts.models import User
from valueloop.workspaces import services as ws_services

from .conftest import add_experiment
from .test_api import CSV

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(MISSING is not None and not IN_CI, reason=f"e2e browser tests skipped: {MISSING}"),
]
PASSWORD = "e2e-password-4821"
SHOTS = os.environ.get("VALUELOOP_E2E_SHOTS")


def shot(tab, name: str) -> None:
    if SHOTS:
        tab.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_upload_csv_and_see_counts(transactional_db, page, browser_errors, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    from valueloop.core.permissions import Role
    from valueloop.core.tenancy import Actor

    admin = User.objects.create_user("ada@e2e.test", PASSWORD, name="Ada Admin", handle="ada", is_staff=True)
    workspace = ws_services.workspace_create(user=admin, name="Acme Events")
    add_experiment(Actor(user=admin, workspace=workspace, role=Role.ADMIN), "new-checkout", "checkout-test", 3)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/w/{workspace.slug}/events/")
    expect(page.get_by_text("No exposures yet")).to_be_visible()
    shot(page, "events-empty")
    csv = tmp_path / "events.csv"
    csv.write_text(CSV)
    page.get_by_label("File").set_input_files(str(csv))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Stored 2 exposures and 1 metric event from events.csv")).to_be_visible()
    expect(page.get_by_role("cell", name="checkout-test")).to_be_visible()
    expect(page.get_by_role("cell", name="purchase")).to_be_visible()
    shot(page, "events-overview")
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV + "purchase,,,u9,tomorrow,1\n")
    browser_errors.allow_status(400)
    page.get_by_label("File").set_input_files(str(bad))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert")).to_contain_text("rows[5].timestamp")
    shot(page, "events-upload-error")
    page.goto(f"/w/{workspace.slug}/events/source/")
    page.get_by_label("Your warehouse").check()
    page.get_by_label("SQLAlchemy URL").fill("postgresql+psycopg://analyst:pw@warehouse.example/analytics")
    page.get_by_label("Exposures table").fill("analytics.exposures")
    page.get_by_label("Events table").fill("analytics.events")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Event source saved")).to_be_visible()
    expect(page.get_by_label("SQLAlchemy URL")).to_have_value(
        "postgresql+psycopg://analyst:***@warehouse.example/analytics"
    )
    shot(page, "events-source")
    assert list(browser_errors) == [], browser_errors
