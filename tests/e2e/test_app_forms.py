"""End-to-end: the main page form of accounts, workspaces, collaboration, themes and experiments in real Chromium.

Bad input that only the server can judge comes back with the error beside the field (``aria-invalid``, described
by the message), what was typed kept and nothing saved; good input saves.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import error_of
from tests.e2e.test_browser import Team, _actor, sign_in, team  # noqa: F401  (the ``team`` fixture)
from valueloop.accounts.models import User
from valueloop.collaboration.models import Comment
from valueloop.core.permissions import Role
from valueloop.workspaces import services as ws_services
from valueloop.workspaces.models import Workspace

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_browser_errors")]


@pytest.fixture
def page(new_page):
    """A page with room for a shared, busy machine (the live server answers slowly under load)."""
    page = new_page()
    page.set_default_timeout(30_000)
    return page


def test_profile_form__a_taken_handle_is_shown_beside_it(page: Page, team: Team, browser_errors):  # noqa: F811
    browser_errors.allow_status(400)
    sign_in(page, team.pm)
    page.goto("/accounts/profile/")
    page.get_by_label("Name").fill("Pia P.")
    handle = page.get_by_label("Handle")
    handle.fill("theo")  # the product owner's
    page.get_by_role("button", name="Save").click()
    expect(error_of(page, handle)).to_have_text("Choose another handle.")
    expect(page.get_by_label("Name")).to_have_value("Pia P.")  # what was typed is kept
    assert User.objects.get(pk=team.pm.pk).handle == "pia"
    handle.fill("pia-p")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/accounts/profile/$"))
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    assert User.objects.get(pk=team.pm.pk).handle == "pia-p"


def test_settings_form__an_unknown_time_zone_is_shown_beside_it(page: Page, team: Team, browser_errors):  # noqa: F811
    browser_errors.allow_status(400)
    sign_in(page, team.admin)
    page.goto(f"/w/{team.workspace.slug}/settings/")
    zone = page.get_by_label("Time zone")
    zone.fill("Mars/Olympus")
    page.get_by_role("button", name="Save settings").click()
    expect(error_of(page, zone)).to_contain_text("Mars/Olympus is not a known IANA time zone")
    expect(zone).to_have_value("Mars/Olympus")  # what was typed is kept
    assert Workspace.objects.get(pk=team.workspace.pk).timezone == "UTC"
    zone.fill("Europe/Berlin")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Workspace settings saved.")).to_be_visible()
    assert Workspace.objects.get(pk=team.workspace.pk).timezone == "Europe/Berlin"


def test_comment_form__a_blank_comment_is_refused_under_the_box(page: Page, team: Team, browser_errors):  # noqa: F811
    browser_errors.allow_status(400)
    product = ws_services.product_create(actor=_actor(team, team.pm, Role.PRODUCT_MANAGER), name="Talk", key="TLK")
    sign_in(page, team.stakeholder)
    page.goto(f"/w/{team.workspace.slug}/products/{product.pk}/")
    body = page.get_by_label("Add a comment")
    body.fill("   ")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(error_of(page, page.locator("#comment-body"))).to_have_text("A comment cannot be empty.")
    assert not Comment.objects.exists()
    page.locator("#comment-body").fill("Ship it")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator(".comment .prose")).to_have_text("Ship it")
    expect(page.locator("#comment-body")).not_to_have_attribute("aria-invalid", "true")
    assert Comment.objects.get().body == "Ship it"
