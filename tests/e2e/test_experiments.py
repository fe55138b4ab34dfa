"""End-to-end: a product manager creates an experiment on a feature, sizes it on the design page (figures update
as they type), starts it, reads the results once events arrive, records a decision and finds the learning in the
learning log and on the feature's evidence. Fails on any browser console error (CSP, broken htmx wiring)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.experiments.simulation import send, simulate
from valueloop.accounts.models import User
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.engines import stats
from valueloop.experiments import services as experiments
from valueloop.experiments.models import Experiment, Learning
from valueloop.flags import services as flags
from valueloop.planning.services import feature_create
from valueloop.workspaces import services as ws_services
from valueloop.workspaces.models import Membership

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_browser_errors")]

PASSWORD = "e2e-password-4821"


@pytest.fixture(autouse=True)
def events_dir(settings, tmp_path):
    settings.EVENTS_DIR = tmp_path / "events"  # the live server runs in this process: it sees the setting


@pytest.fixture
def lab(transactional_db):
    admin = User.objects.create_user("ada@e2e.test", PASSWORD, name="Ada Admin", handle="ada", is_staff=True)
    workspace = ws_services.workspace_create(user=admin, name="Acme Lab")
    pm = User.objects.create_user("pia@e2e.test", PASSWORD, name="Pia Manager", handle="pia")
    Membership.objects.create(workspace=workspace, user=pm, role=Role.PRODUCT_MANAGER.value)
    actor = Actor(user=pm, workspace=workspace, role=Role.PRODUCT_MANAGER)
    feature = feature_create(actor=actor, title="One-page checkout")
    flags.flag_create(actor=actor, key="one-page-checkout", description="The new checkout")
    experiments.metric_create(actor=actor, key="conversion", name="Checkout conversion", event="purchase")
    experiments.metric_create(
        actor=actor, key="errors", name="Errors per user", kind="mean", event="error", lower_is_better=True
    )
    return {"workspace": workspace, "pm": pm, "feature": feature}


def sign_in(page: Page, user: User) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_experiment_from_hypothesis_to_learning(page: Page, lab, browser_errors):
    browser_errors.allow_status(400)  # the decision form is first sent incomplete, on purpose
    slug = lab["workspace"].slug
    sign_in(page, lab["pm"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Experiments").click()
    expect(page.get_by_role("heading", level=1, name="Experiments")).to_be_visible()
    expect(page.get_by_role("navigation", name="Experiments").get_by_role("link", name="Feature flags")).to_be_visible()

    # Create the experiment.
    page.get_by_role("link", name="New experiment").first.click()
    page.get_by_label("Name", exact=True).fill("One-page checkout test")
    page.get_by_label("Key").fill("one-page-test")
    page.get_by_label("Hypothesis").fill("A **one-page** checkout lifts conversion.")
    page.get_by_label("Feature it tests").select_option(label="One-page checkout")
    page.get_by_label("Flag", exact=True).select_option(label="one-page-checkout (boolean)")
    page.get_by_label("Environment").select_option(label="Development")
    page.get_by_label("Variation 1 value").fill("false")
    page.get_by_label("Variation 2 name").fill("One page")
    page.get_by_label("Variation 2 value").fill("true")
    page.get_by_label("Primary metric").select_option(label="Checkout conversion")
    page.get_by_role("group", name="Guardrail metrics").get_by_label("Errors per user").check()
    page.get_by_role("button", name="Create experiment").click()
    experiment = Experiment.objects.get(key="one-page-test")
    expect(page).to_have_url(re.compile(rf"/experiments/{experiment.pk}/design/$"))

    # Size it: the figures follow the inputs (htmx), and bad input names the field.
    page.evaluate("window.__sameDocument = true")
    baseline = page.get_by_label("Baseline (conversion % or mean)", exact=True)
    baseline.fill("8")
    page.get_by_label("Minimum detectable effect").fill("10")
    page.get_by_label("Eligible users per day").fill("3000")
    expected = stats.sample_size("binomial", baseline=0.08, mde=0.10, daily_units=3000)
    expect(page.get_by_test_id("n-per-variation")).to_have_text(f"{expected.n_per_variation:,}")
    expect(page.get_by_test_id("expected-days")).to_have_text(f"{expected.days} days")
    baseline.fill("180")
    expect(page.locator("#figures .error-summary")).to_contain_text("baseline")
    baseline.fill("8")
    expect(page.get_by_test_id("n-per-variation")).to_have_text(f"{expected.n_per_variation:,}")
    assert page.evaluate("window.__sameDocument") is True, "the figures should update through htmx"
    page.get_by_role("button", name="Save the plan").click()
    expect(page.get_by_role("status")).to_contain_text("Plan saved")

    # Start it: the flag serves the variations in development.
    page.get_by_role("button", name="Start experiment").click()
    expect(page.get_by_role("status")).to_contain_text("Experiment started")
    experiment.refresh_from_db()
    assert experiment.status == "running" and experiment.design["n_per_variation"] == expected.n_per_variation

    # Events arrive (what the SDK would send); the results show the analysis.
    send(lab["workspace"], simulate("one-page-test", units=(900, 900), rates=(0.08, 0.12), seed=11))
    page.get_by_role("link", name="Results").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Results: One-page checkout test")
    expect(page.get_by_text("users counted")).to_be_visible()
    expect(page.locator("figure.chart svg.chart-svg")).to_have_count(2)
    expect(page.get_by_role("heading", name="Checkout conversion primary")).to_be_visible()

    # Decide: first without a variation (refused, naming the field), then properly.
    page.get_by_label("Ship", exact=True).check()
    page.get_by_label("What did we learn?").fill("One page lifts conversion by a third; ship it.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".error-summary")).to_contain_text("variation")
    expect(page.get_by_label("What did we learn?")).to_have_value("One page lifts conversion by a third; ship it.")
    page.get_by_label("Chosen variation").select_option(label="One page")
    page.get_by_label("Roll it out through the flag").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("status")).to_contain_text("Decision recorded: ship")
    expect(page.get_by_test_id("learning-text")).to_contain_text("One page lifts conversion by a third")
    assert Learning.objects.filter(experiment=experiment).count() == 1

    # The learning is in the learning log, searchable, and on the feature's evidence.
    page.get_by_role("link", name="learning log").first.click()
    expect(page.get_by_role("heading", level=1, name="Learning log")).to_be_visible()
    page.get_by_label("Search").last.fill("a third")
    expect(page.locator("#entries")).to_contain_text("One page lifts conversion by a third")
    page.get_by_label("Search").last.fill("nothing like this")
    expect(page.locator("#entries")).to_contain_text("No learning matches")
    page.goto(f"/w/{slug}/features/{lab['feature'].pk}/")
    expect(page.get_by_text("What experiments taught")).to_be_visible()
    expect(page.locator(".learning-item")).to_contain_text("One page lifts conversion by a third")


def test_experiment_form__words_for_a_number_are_shown_beside_the_field(page: Page, lab, browser_errors):
    """Bad input comes back beside its field, with everything typed kept; fixed, the experiment is created."""
    browser_errors.allow_status(400)
    slug = lab["workspace"].slug
    sign_in(page, lab["pm"])
    page.goto(f"/w/{slug}/experiments/new/")
    page.get_by_label("Name", exact=True).fill("Copy test")
    page.get_by_label("Key").fill("copy-test")
    page.get_by_label("Hypothesis").fill("Plainer copy lifts conversion.")
    page.get_by_label("Feature it tests").select_option(label="One-page checkout")
    page.get_by_label("Flag", exact=True).select_option(label="one-page-checkout (boolean)")
    page.get_by_label("Environment").select_option(label="Development")
    page.get_by_label("Variation 1 value").fill("false")
    page.get_by_label("Variation 2 value").fill("true")
    days = page.get_by_label("Planned duration (days)")
    days.fill("two weeks")
    page.get_by_role("button", name="Create experiment").click()
    expect(days).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{days.get_attribute('aria-describedby')}")).to_have_text("A number, e.g. 4.5.")
    expect(days).to_have_value("two weeks")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Copy test")  # what was typed is kept
    assert not Experiment.objects.filter(key="copy-test").exists()
    days.fill("21")
    page.get_by_role("button", name="Create experiment").click()
    expect(page).to_have_url(re.compile(r"/design/$"))
    assert Experiment.objects.get(key="copy-test").planned_days == 21
