"""End-to-end: the planning and discovery forms (one view per form) in real Chromium.

Each form posts to its own URL; good input saves and comes back to the page, bad input comes back with the
error beside the field (``aria-invalid``, described by the message) and nothing saved.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import error_of
from tests.e2e.test_browser import Team, _actor, sign_in, team  # noqa: F401  (the ``team`` fixture)
from valueloop.core.permissions import Role
from valueloop.discovery.models import Problem
from valueloop.planning import services
from valueloop.planning.models import BacklogMove, DeliveryItem, Feature
from valueloop.planning.models import Team as PlanningTeam

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_browser_errors")]


@pytest.fixture
def page(new_page):
    """A page with room for a shared, busy machine (the live server answers slowly under load)."""
    page = new_page()
    page.set_default_timeout(30_000)
    return page


def test_feature_page__each_form_saves_or_shows_its_error_in_place(page: Page, team: Team, browser_errors):  # noqa: F811
    browser_errors.allow_status(400)
    page.on("dialog", lambda dialog: dialog.accept())
    feature = services.feature_create(actor=_actor(team, team.pm, Role.PRODUCT_MANAGER), title="Dunning retries")
    sign_in(page, team.pm)
    url = f"/w/{team.workspace.slug}/features/{feature.pk}/"
    page.goto(url)

    # A delivery item: a bad estimate comes back beside the field, on the item form's own URL.
    page.get_by_label("New item").fill("Retry scheduler")
    page.get_by_label("Estimate (weeks)").last.fill("soon")
    page.get_by_role("button", name="Add item").click()
    expect(page).to_have_url(re.compile(rf"/features/{feature.pk}/items/$"))
    estimate = page.locator("#ni-estimate_weeks")
    expect(error_of(page, estimate)).to_have_text("Enter a number, e.g. 1250 or 2.5.")
    expect(page.get_by_label("New item")).to_have_value("Retry scheduler")  # what was typed is kept
    assert not DeliveryItem.objects.exists()
    estimate.fill("1,5")
    page.get_by_role("button", name="Add item").click()
    expect(page).to_have_url(re.compile(rf"/features/{feature.pk}/#items-h$"))
    expect(page.get_by_role("cell", name="Retry scheduler")).to_be_visible()
    item = DeliveryItem.objects.get()
    assert float(item.estimate_weeks) == 1.5

    # Its edit form opens where it failed.
    page.get_by_text("Edit Retry scheduler").click()
    page.locator(f"#it-estimate_weeks-{item.pk}").fill("-2")
    page.locator(f"#it-estimate_weeks-{item.pk}").press("Enter")
    expect(page).to_have_url(re.compile(rf"/items/{item.pk}/$"))
    expect(error_of(page, page.locator(f"#it-estimate_weeks-{item.pk}"))).to_contain_text("more than 0")
    item.refresh_from_db()
    assert float(item.estimate_weeks) == 1.5

    # The prioritisation inputs post to their own URL too.
    page.goto(url)
    page.get_by_text("Edit the prioritisation inputs").click()
    page.locator("#fd-cod_increase_revenue").fill("lots")
    page.locator("#fd-duration_likely").fill("2")
    page.get_by_role("button", name="Save inputs").click()
    expect(page).to_have_url(re.compile(rf"/features/{feature.pk}/inputs/$"))
    # A money field (core.forms.MoneyField) names the amount formats it reads.
    expect(error_of(page, page.locator("#fd-cod_increase_revenue"))).to_have_text(
        "'lots' is not an amount; enter e.g. 12500 or 12,500.50."
    )
    page.locator("#fd-cod_increase_revenue").fill("1000")
    page.get_by_role("button", name="Save inputs").click()
    expect(page.get_by_text("Prioritisation inputs saved.")).to_be_visible()
    assert Feature.objects.get(pk=feature.pk).cd3 == 500

    # Deleting the item is a form of its own.
    page.get_by_text("Edit Retry scheduler").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Delivery item deleted.")).to_be_visible()
    assert not DeliveryItem.objects.exists()


def test_backlog__a_blank_reason_is_refused_beside_the_reason(page: Page, team: Team, browser_errors):  # noqa: F811
    browser_errors.allow_status(400)
    pm = _actor(team, team.pm, Role.PRODUCT_MANAGER)
    first = services.feature_create(actor=pm, title="Aardvark")
    second = services.feature_create(actor=pm, title="Badger")
    for feature, cod in ((first, "1000"), (second, "500")):
        services.prioritisation_update(actor=pm, feature_id=feature.pk, cod_increase_revenue=cod, duration_likely="1")
    sign_in(page, team.po)
    page.goto(f"/w/{team.workspace.slug}/backlog/")
    row = page.locator(f"#backlog-{second.pk}")
    row.locator("summary").click()
    reason = row.get_by_label(re.compile("Why?"))
    reason.fill("    ")
    row.get_by_role("button", name="Up one").click()
    row = page.locator(f"#backlog-{second.pk}")
    expect(error_of(page, row.get_by_label(re.compile("Why?")))).to_have_text("A reason is required for a hand move.")
    assert not BacklogMove.objects.exists()
    row.get_by_label(re.compile("Why?")).fill("Promised at the QBR")
    row.get_by_role("button", name="Up one").click()
    expect(page.get_by_text("Moved 2 → 1 by Theo Owner")).to_be_visible()
    assert BacklogMove.objects.get().reason == "Promised at the QBR"


def test_problem_and_team_forms__errors_in_place_then_saved(page: Page, team: Team, browser_errors):  # noqa: F811
    browser_errors.allow_status(400)
    sign_in(page, team.pm)
    page.goto(f"/w/{team.workspace.slug}/problems/")
    title = page.locator("#np-title")
    title.fill("   ")
    page.get_by_role("button", name="Add problem").click()
    expect(error_of(page, page.locator("#np-title"))).to_have_text("This field is required.")
    expect(page.locator(".error-summary")).to_contain_text("Please fix the following")
    page.locator("#np-title").fill("Month-end close is slow")
    page.get_by_role("button", name="Add problem").click()
    expect(page.get_by_role("heading", name=re.compile("Month-end close is slow"))).to_be_visible()
    assert Problem.objects.filter(workspace=team.workspace).count() == 1

    planning_team = services.team_create(actor=_actor(team, team.pm, Role.PRODUCT_MANAGER), name="Core")
    page.goto(f"/w/{team.workspace.slug}/planning/schedule/")
    page.get_by_text("Edit Core").click()
    capacity = page.locator(f"#tcapacity-{planning_team.pk}")
    capacity.fill("40")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/planning/teams/{planning_team.pk}/$"))
    expect(error_of(page, page.locator(f"#tcapacity-{planning_team.pk}"))).to_contain_text("from 0.1 to 10")
    page.locator(f"#tcapacity-{planning_team.pk}").fill("1.5")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Team saved.")).to_be_visible()
    assert float(PlanningTeam.objects.get(pk=planning_team.pk).capacity) == 1.5


def test_whatif_panel__htmx_shows_the_error_then_the_new_ranking(page: Page, team: Team, browser_errors):  # noqa: F811
    browser_errors.allow_status(400)
    pm = _actor(team, team.pm, Role.PRODUCT_MANAGER)
    slow = services.feature_create(actor=pm, title="Slow but big")
    services.prioritisation_update(actor=pm, feature_id=slow.pk, cod_increase_revenue="3000", duration_likely="6")
    quick = services.feature_create(actor=pm, title="Quick")
    services.prioritisation_update(actor=pm, feature_id=quick.pk, cod_increase_revenue="1000", duration_likely="1")
    sign_in(page, team.pm)
    page.goto(f"/w/{team.workspace.slug}/planning/economics/")
    weeks = page.get_by_label("Likely duration in weeks of Slow but big")
    weeks.fill("0")
    page.get_by_role("button", name="Try it").click()
    expect(page.locator("#whatif-result .error-summary")).to_contain_text("Slow but big, Weeks")
    expect(page.locator("#whatif-result .error-summary")).to_contain_text("more than 0 weeks")
    weeks.fill("1")
    page.get_by_role("button", name="Try it").click()
    expect(page.locator("#whatif-result")).to_contain_text("nothing was saved")
    assert Feature.objects.get(pk=slow.pk).duration_likely == 6
