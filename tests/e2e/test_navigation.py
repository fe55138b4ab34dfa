"""End-to-end: navigation a new product manager can use (issue 12, "Pages that speak plainly"). Interviews and
surveys have their own entries in the menu (they were reachable only from customer pages), and at phone width
the nine planning framework tabs stay one row that scrolls sideways instead of wrapping onto three lines."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import Team, sign_in, team  # noqa: F401  (the ``team`` fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_browser_errors")]

PHONE = (390, 844)


def test_interviews_and_surveys_are_in_the_menu(new_page, team: Team):  # noqa: F811
    page: Page = new_page()
    sign_in(page, team.pm)
    page.goto(team.home)
    menu = page.get_by_role("navigation", name="Main")
    menu.get_by_role("link", name="Interviews").click()
    expect(page).to_have_url(re.compile(r"/research/interviews/$"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Surveys").click()
    expect(page).to_have_url(re.compile(r"/research/surveys/$"))


def test_planning_tabs_stay_one_scrolling_row_on_a_phone(new_page, team: Team):  # noqa: F811
    page: Page = new_page(*PHONE)
    sign_in(page, team.pm)
    page.goto(f"/w/{team.workspace.slug}/planning/")
    tabs = page.get_by_role("navigation", name="Framework").get_by_role("link")
    expect(tabs.first).to_be_visible()
    tops = {round(box["y"]) for box in (tabs.nth(i).bounding_box() for i in range(tabs.count())) if box}
    assert tabs.count() >= 6 and len(tops) == 1, f"{tabs.count()} tabs on {len(tops)} rows"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0], "the page scrolls sideways"
    strip = page.get_by_role("navigation", name="Framework")
    assert strip.evaluate("n => n.scrollWidth > n.clientWidth"), "the tab strip itself scrolls"
