"""End-to-end: charts on a 390 x 844 phone. The feature page's demand chart (was 422 px wide) and the experiment
effects chart (shrank until unreadable) fit the viewport with no horizontal scroll, and their text is at least 11 px
after the SVG is scaled to its box."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import Team, _actor, sign_in, team  # noqa: F401  (the ``team`` fixture)
from tests.experiments.simulation import send, simulate
from tests.factories import CustomerFactory, FeedbackItemFactory, experiment_lab
from valueloop.core.permissions import Role
from valueloop.evidence.services import evidence_link
from valueloop.experiments import services as experiments
from valueloop.planning.services import feature_create

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_browser_errors")]

PHONE = (390, 844)

# The smallest text of the chart's SVG in CSS pixels: its font size times the scale of the viewBox to the box.
SMALLEST_TEXT_PX = """svg => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const sizes = [...svg.querySelectorAll('text')].map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
  return sizes.length ? Math.min(...sizes) : 0;
}"""


@pytest.fixture
def charted(team: Team, settings, tmp_path):  # noqa: F811
    """A feature with a year of linked feedback (a 12-month demand chart) and a running experiment on it with
    results (the effects chart)."""
    settings.EVENTS_DIR = tmp_path / "events"  # the live server runs in this process: it sees the setting
    pm = _actor(team, team.pm, Role.PRODUCT_MANAGER)
    feature = feature_create(actor=pm, title="Automatic bank reconciliation for multi-entity groups")
    customers = [CustomerFactory(workspace=team.workspace, name=f"Account {k}") for k in range(3)]
    for k in range(24):
        item = FeedbackItemFactory(
            workspace=team.workspace, text=f"Reconciliation pain {k}", customer=customers[k % 3], days_ago=15 * k
        )
        evidence_link(actor=pm, target_type="feature", target_id=feature.pk, feedback_id=item.pk, importance=3)
    experiment, _ = experiment_lab(pm, feature=feature)
    experiments.experiment_start(actor=pm, experiment_id=experiment.pk)
    send(team.workspace, simulate(experiment.key, units=(900, 900), rates=(0.08, 0.12), seed=11))
    base = f"/w/{team.workspace.slug}"
    return {
        "demand": (f"{base}/features/{feature.pk}/", "bars"),
        "effects": (f"{base}/experiments/{experiment.pk}/results/", "effects"),
    }


@pytest.mark.parametrize("chart", ["demand", "effects"])
def test_chart__fits_a_phone_and_stays_readable(new_page, team: Team, charted, chart):  # noqa: F811
    page: Page = new_page(*PHONE)
    page.set_default_timeout(30_000)
    sign_in(page, team.pm)
    url, kind = charted[chart]
    page.goto(url)
    figure = page.locator(f'figure.chart[data-chart="{kind}"]').first
    svg = figure.locator("svg.chart-svg")
    expect(svg).to_be_visible()
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0], box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0], "the page scrolls sideways"
    assert figure.evaluate("f => f.scrollWidth <= f.clientWidth"), "the chart scrolls sideways in its box"
    smallest = svg.evaluate(SMALLEST_TEXT_PX)
    assert smallest >= 11, f"the smallest chart text is {smallest:.1f} px on a phone"
    expect(figure.get_by_text("Show the data as a table")).to_be_visible()
