"""Search in the browser: `/` focuses the search box, typing shows results grouped by kind, the arrow keys move
between results and Enter opens one (issue 12)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import Team, sign_in, team  # noqa: F401  (the ``team`` fixture)
from tests.factories import CommentFactory, CustomerFactory, FeatureFactory, FeedbackItemFactory

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_browser_errors")]


def test_search__type_then_move_with_the_keyboard_and_open(page: Page, team: Team):  # noqa: F811
    ws = team.workspace
    feature = FeatureFactory(workspace=ws, title="E-invoicing for Germany (XRechnung)")
    FeedbackItemFactory(workspace=ws, title="XRechnung mandate", text="When will **XRechnung** ship?")
    FeedbackItemFactory(workspace=ws, text="We need XRechnung before January")
    customer = CustomerFactory(workspace=ws, name="Acme Networks plc")
    CommentFactory(workspace=ws, body="Nothing to see")
    sign_in(page, team.stakeholder)
    expect(page).to_have_url(re.compile(re.escape(team.home) + "$"))

    # `/` focuses the search box in the top bar; Enter searches.
    page.keyboard.press("/")
    top = page.get_by_role("searchbox", name="Search", exact=True)
    expect(top).to_be_focused()
    top.fill("Acme Net")
    top.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=Acme\+Net"))
    expect(page.locator("#search-customer .search-hit")).to_have_count(1)
    expect(page.locator("#search-customer mark").first).to_have_text("Acme")

    # On the search page, typing updates the results in place: grouped by kind, counted, highlighted.
    field = page.locator("#search-q")
    field.fill("xrechn")
    expect(page.locator("#search-feature-h")).to_contain_text("Features 1")
    expect(page.locator("#search-feedback-h")).to_contain_text("Feedback 2")
    expect(page).to_have_url(re.compile(r"q=xrechn"))
    hits = page.locator("a.search-hit")
    expect(hits).to_have_count(3)
    expect(page.locator("#search-results")).not_to_contain_text("**")
    # Let the last in-place update land: a late swap of the results would take the focus the keys move.
    page.wait_for_load_state("networkidle")

    # Arrow keys move between results (and back up into the field); Enter opens the focused one.
    field.focus()
    field.press("ArrowDown")
    expect(hits.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(hits.nth(1)).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # past the last result: stays there
    expect(hits.nth(2)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(hits.nth(0)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(field).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/w/{ws.slug}/features/{feature.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("XRechnung")

    # Too short, and nothing found, say so.
    page.go_back()
    field = page.locator("#search-q")
    field.fill("x")
    expect(page.get_by_text("Type at least two characters.")).to_be_visible()
    field.fill("qqqzzz")
    expect(page.get_by_text("Nothing matches “qqqzzz”.")).to_be_visible()
    assert customer.pk  # the customer was found above by its name
