"""End-to-end: a product manager curates themes in real Chromium and finds the whisper on Signals.

Open the themes, rename one, merge two, create a problem from a theme, and see the emerging theme
(with its explanation) on the Signals page. Fails on any browser console error (CSP, HTMX)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.factories import CustomerFactory, FeedbackItemFactory
from tests.themes.corpus import WHISPER, make_items
from valueloop.accounts.models import User
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.discovery.models import Problem
from valueloop.evidence.models import Evidence
from valueloop.themes import runs
from valueloop.themes.models import ItemEmbedding, Theme, ThemeAssignment
from valueloop.themes.services import theme_create
from valueloop.workspaces import services as ws_services
from valueloop.workspaces.models import Membership

pytestmark = pytest.mark.e2e
PASSWORD = "e2e-password-4821"


@pytest.fixture
def setup(transactional_db):
    admin = User.objects.create_user("ada@themes.test", PASSWORD, name="Ada Admin", handle="ada", is_staff=True)
    workspace = ws_services.workspace_create(user=admin, name="Themes E2E")
    pm = User.objects.create_user("pia@themes.test", PASSWORD, name="Pia Manager", handle="pia")
    Membership.objects.create(workspace=workspace, user=pm, role=Role.PRODUCT_MANAGER.value)
    customers = [CustomerFactory(workspace=workspace, name=f"Account {i}", arr=20000) for i in range(6)]
    make_items(workspace, 20, customers=customers)
    now = timezone.now()
    whispers = [
        FeedbackItemFactory(
            workspace=workspace, text=text, customer=customers[i], received_at=now - dt.timedelta(days=1 + i)
        )
        for i, text in enumerate(WHISPER)
    ]
    run = runs.recluster(workspace, trigger="manual")
    assert run.status == "succeeded", run.error
    # The whisper gets a theme of its own whatever the clustering did with five short texts (the engine
    # has its own tests); this test is about the pages.
    ids = list(ItemEmbedding.objects.filter(feedback__in=whispers).values_list("id", flat=True))
    theme_create(actor=Actor(user=pm, workspace=workspace, role=Role.PRODUCT_MANAGER), name="SOC 2 audit", item_ids=ids)
    runs.refresh_emerging(workspace)
    return workspace, pm


def sign_in(page: Page, user: User) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_pm_renames_merges_makes_a_problem_and_sees_the_whisper_on_signals(page: Page, setup, browser_errors):
    workspace, pm = setup
    page.on("dialog", lambda dialog: dialog.accept())
    browser_errors.allow_status(400)
    sign_in(page, pm)
    page.goto(f"/w/{workspace.slug}/feedback/")
    page.get_by_role("link", name="Themes", exact=True).click()
    expect(page.get_by_role("heading", name="Themes", level=1)).to_be_visible()
    rows = page.locator("table.theme-table tbody tr")
    expect(rows.first).to_be_visible()

    # Rename the biggest theme (not the whisper's).
    whisper = ThemeAssignment.objects.filter(item__feedback__text=WHISPER[0]).get().theme
    others = Theme.objects.filter(workspace=workspace, status="active").exclude(pk=whisper.pk).order_by("-size", "id")
    first = others.first()
    page.get_by_role("link", name=first.name, exact=True).first.click()
    page.get_by_label("Name", exact=True).fill("Billing reminders")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_text("Renamed.")).to_be_visible()
    expect(page.get_by_role("heading", name="Billing reminders", level=1)).to_be_visible()

    # Merge another theme into it.
    other = others.exclude(pk=first.pk).first()
    moved = set(ThemeAssignment.objects.filter(theme=other).values_list("item_id", flat=True))
    page.goto(f"/w/{workspace.slug}/themes/{other.pk}/")
    page.get_by_label("Merge into").select_option(label="Billing reminders")
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_text(re.compile("Merged into “Billing reminders”"))).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/themes/{first.pk}/$"))
    assert moved <= set(ThemeAssignment.objects.filter(theme=first).values_list("item_id", flat=True))

    # Create a problem from it: its items become evidence.
    page.get_by_role("button", name="Create problem from theme").click()
    expect(
        page.get_by_text(re.compile(r"Created the problem “Billing reminders” with \d+ new evidence"))
    ).to_be_visible()
    problem = Problem.objects.get(workspace=workspace, title="Billing reminders")
    first.refresh_from_db()
    assert Evidence.objects.filter(target_type="problem", target_id=problem.pk).count() == first.size
    page.get_by_role("link", name=re.compile("Problem: Billing reminders")).click()
    expect(page).to_have_url(re.compile(rf"/problems/{problem.pk}/$"))

    # The whisper is on the Signals page, with its explanation and the why.
    page.get_by_role("link", name="Signals").click()
    expect(page.get_by_role("heading", name="Signals", level=1)).to_be_visible()
    card = page.locator(f"#theme-{whisper.pk}")
    expect(card).to_be_visible()
    expect(
        card.get_by_text(re.compile(r"\d+ mentions from \d+ accounts \(\$[\d.]+K ARR\) in the last 14 days"))
    ).to_be_visible()
    card.get_by_text("Why is this flagged?").click()
    expect(card.get_by_text("Chance of a rise this large by luck")).to_be_visible()


def test_move_to_a_new_theme_without_a_name_is_refused_beside_the_name(page: Page, setup, browser_errors):
    """The move form posts to its own URL; the refusal comes back beside the name, the ticked item still ticked."""
    workspace, pm = setup
    browser_errors.allow_status(400)
    theme = Theme.objects.filter(workspace=workspace, status="active").order_by("-size", "id").first()
    item_id = ThemeAssignment.objects.filter(theme=theme).order_by("id").first().item_id
    sign_in(page, pm)
    page.goto(f"/w/{workspace.slug}/themes/{theme.pk}/")
    tick = page.locator(f"#item-{item_id}")
    tick.check()
    page.get_by_label("Move selected items to").select_option(label="A new theme, named…")
    page.get_by_role("button", name="Move").click()
    expect(page).to_have_url(re.compile(rf"/themes/{theme.pk}/move/$"))
    name = page.locator("#move-new_theme_name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{name.get_attribute('aria-describedby')}")).not_to_be_empty()
    expect(page.locator(f"#item-{item_id}")).to_be_checked()
    assert ThemeAssignment.objects.get(item_id=item_id).theme_id == theme.pk
    name.fill("Hand-picked")
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_text(re.compile("Created the theme “Hand-picked” with 1 items"))).to_be_visible()
    assert ThemeAssignment.objects.get(item_id=item_id).theme.name == "Hand-picked"
