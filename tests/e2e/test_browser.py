"""End-to-end: real Chromium against the live server, through the pages a team uses every day.

The main scenario follows the issue: a product manager creates a product, @mentions a colleague
in its discussion, and the colleague finds the mention through the notification badge.
Every test also fails on browser console errors, which is where CSP violations and broken
HTMX wiring show up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from valueloop.accounts.models import User
from valueloop.collaboration.models import Comment, Notification
from valueloop.core.permissions import Role
from valueloop.workspaces import services as ws_services
from valueloop.workspaces.models import Membership, Product, Workspace

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_browser_errors")]

PASSWORD = "e2e-password-4821"
PHONE = (390, 844)


@dataclass
class Team:
    workspace: Workspace
    admin: User
    pm: User  # product manager: may create products
    po: User  # product owner: gets mentioned
    stakeholder: User  # reads and comments, never edits the portfolio

    @property
    def home(self) -> str:
        return f"/w/{self.workspace.slug}/"


def _user(email: str, name: str, handle: str, **extra) -> User:
    return User.objects.create_user(email, PASSWORD, name=name, handle=handle, **extra)


@pytest.fixture
def team(transactional_db) -> Team:
    admin = _user("ada@e2e.test", "Ada Admin", "ada", is_staff=True)  # an instance admin creates the workspace
    workspace = ws_services.workspace_create(user=admin, name="Acme E2E")
    members = {}
    for role, email, name, handle in [
        (Role.PRODUCT_MANAGER, "pia@e2e.test", "Pia Manager", "pia"),
        (Role.PRODUCT_OWNER, "theo@e2e.test", "Theo Owner", "theo"),
        (Role.STAKEHOLDER, "sam@e2e.test", "Sam Stakeholder", "sam"),
    ]:
        user = _user(email, name, handle)
        Membership.objects.create(workspace=workspace, user=user, role=role.value)
        members[role] = user
    return Team(workspace, admin, members[Role.PRODUCT_MANAGER], members[Role.PRODUCT_OWNER], members[Role.STAKEHOLDER])


def sign_in(page: Page, user: User, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def test_mention_reaches_the_colleague_through_the_notification_badge(page: Page, team: Team):
    # User 1 signs in and lands in the workspace.
    sign_in(page, team.pm)
    expect(page).to_have_url(re.compile(re.escape(team.home) + "$"))
    expect(page.get_by_role("heading", level=1, name="Acme E2E")).to_be_visible()
    # htmx is loaded from our own static files (a CSP-blocked or missing script would leave it undefined).
    assert page.evaluate("typeof window.htmx") == "object"

    # ...creates a product through the form.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Products", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Products")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Rocket Billing")
    page.get_by_label("Key").fill("RKT")
    page.get_by_label("Description").fill("Usage-based billing for **rocket** fuel.")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rocket Billing")
    expect(page.get_by_role("status")).to_contain_text("Product Rocket Billing created.")
    product = Product.objects.get(workspace=team.workspace, key="RKT")
    assert page.url.endswith(f"/w/{team.workspace.slug}/products/{product.pk}/")

    # ...posts a comment mentioning user 2 by handle; htmx swaps it into the thread without a reload.
    page.evaluate("window.__sameDocument = true")
    thread = page.locator("#thread")
    expect(thread.get_by_text("No comments yet.")).to_be_visible()
    page.get_by_label("Add a comment").fill("@theo can you size the invoicing part this sprint?")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(thread.locator(".comment")).to_have_count(1)
    expect(thread.locator(".comment")).to_contain_text("can you size the invoicing part")
    expect(page.get_by_label("Add a comment")).to_have_value("")
    assert page.evaluate("window.__sameDocument") is True, "the comment should post through htmx, not a reload"
    assert Comment.objects.filter(entity_type="product", entity_id=product.pk).count() == 1
    # The author follows the thread they wrote in.
    expect(thread.get_by_role("button", name="Following")).to_be_visible()
    # User 1 has no unread notifications of their own.
    expect(page.get_by_test_id("unread-count")).to_have_count(0)
    sign_out(page)

    # User 2 signs in and sees the unread badge.
    sign_in(page, team.po)
    expect(page).to_have_url(re.compile(re.escape(team.home) + "$"))
    badge = page.get_by_test_id("unread-count")
    expect(badge).to_have_text("1")
    assert Notification.objects.filter(recipient=team.po, kind="mention", read_at__isnull=True).count() == 1

    # ...opens the notifications and clicks the mention.
    page.get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(page.get_by_role("heading", level=1, name="Notifications")).to_be_visible()
    item = page.locator(".notifications li.unread")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("can you size the invoicing part")
    item.get_by_role("link", name=re.compile(r"Pia Manager mentioned you on product")).click()

    # ...and lands on the product, at the comment, with the notification read.
    comment = Comment.objects.get(entity_type="product", entity_id=product.pk)
    expect(page).to_have_url(re.compile(rf"/products/{product.pk}/#comment-{comment.pk}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rocket Billing")
    expect(page.locator(f"#comment-{comment.pk}")).to_be_visible()
    expect(page.locator(f"#comment-{comment.pk}")).to_contain_text("@theo can you size the invoicing part")
    expect(page.get_by_test_id("unread-count")).to_have_count(0)
    assert not Notification.objects.filter(recipient=team.po, read_at__isnull=True).exists()
    sign_out(page)
    # Signed out means signed out: the workspace now asks for a sign-in.
    page.goto(team.home)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))


def test_failed_sign_in_shows_the_error(page: Page, team: Team, browser_errors):
    browser_errors.allow_status(400)
    sign_in(page, team.pm, password="not-the-password")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    error = page.get_by_role("alert")
    expect(error).to_have_text("Email or password is not correct.")
    # The email is kept, the password is not, and the field points at the error.
    expect(page.get_by_label("Email")).to_have_value(team.pm.email)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Email")).to_have_attribute("aria-describedby", "login-error")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_product_form_rejects_an_empty_name_and_creates_nothing(page: Page, team: Team, browser_errors):
    browser_errors.allow_status(400)
    sign_in(page, team.pm)
    page.goto(f"/w/{team.workspace.slug}/products/")
    name = page.get_by_label("Name", exact=True)

    # An empty name is stopped by the browser before anything is sent.
    page.get_by_role("button", name="Create product").click()
    assert name.evaluate("el => el.validity.valueMissing") is True
    assert name.evaluate("el => el.validationMessage") != ""
    expect(page).to_have_url(re.compile(r"/products/$"))

    # A blank (whitespace) name passes the browser and must be refused by the server, clearly.
    name.fill("   ")
    page.get_by_label("Key").fill("BLANK")
    page.get_by_role("button", name="Create product").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_contain_text("Please fix the following")
    expect(summary).to_contain_text("name")
    expect(page.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Key")).to_have_value("BLANK")  # what was typed is kept
    assert not Product.objects.filter(workspace=team.workspace).exists()


def test_stakeholder_sees_no_new_product_form(page: Page, team: Team):
    pm = _actor(team, team.pm, Role.PRODUCT_MANAGER)
    ws_services.product_create(actor=pm, name="Visible Product", key="VIS")
    ws_services.product_create(actor=pm, name="Other Thing", key="OTH")
    sign_in(page, team.stakeholder)
    page.goto(f"/w/{team.workspace.slug}/products/")
    expect(page.get_by_role("link", name="Visible Product")).to_be_visible()
    expect(page.get_by_role("heading", name="New product")).to_have_count(0)
    expect(page.get_by_role("button", name="Create product")).to_have_count(0)
    # The filter narrows the list in place (htmx) and keeps the address shareable.
    page.get_by_label("Filter products").fill("other")
    expect(page.get_by_role("link", name="Visible Product")).to_have_count(0)
    expect(page.get_by_role("link", name="Other Thing")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/products/\?q=other"))
    page.get_by_label("Filter products").fill("")
    expect(page.get_by_role("link", name="Visible Product")).to_be_visible()
    # On the product page a stakeholder can discuss but not edit.
    page.get_by_role("link", name="Visible Product").click()
    expect(page.get_by_text("Edit product")).to_have_count(0)
    expect(page.get_by_role("button", name="Add area")).to_have_count(0)
    expect(page.get_by_label("Add a comment")).to_be_visible()


def test_keyboard_slash_focuses_search_and_ctrl_enter_sends_a_comment(page: Page, team: Team):
    product = ws_services.product_create(actor=_actor(team, team.pm, Role.PRODUCT_MANAGER), name="Keys", key="KEY")
    sign_in(page, team.pm)
    page.goto(f"/w/{team.workspace.slug}/products/{product.pk}/")
    # Tab from the top reaches the skip link first; it jumps past the navigation to the page itself.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Products")).to_be_focused()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search", exact=True)).to_be_focused()
    page.keyboard.press("Escape")

    box = page.get_by_label("Add a comment")
    box.fill("Sent from the keyboard")
    box.press("Control+Enter")
    expect(page.locator("#thread .comment")).to_contain_text("Sent from the keyboard")
    assert Comment.objects.filter(entity_id=product.pk, body="Sent from the keyboard").exists()


def test_phone_menu_button_reveals_the_navigation(new_page, team: Team):
    page = new_page(*PHONE)
    sign_in(page, team.pm)
    expect(page).to_have_url(re.compile(re.escape(team.home) + "$"))
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(nav).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="Products", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Products")).to_be_visible()
    # Nothing is wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # The menu closes again, and signing out is reachable from it.
    menu = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    menu.click()
    expect(nav).to_be_visible()
    menu.click()
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    nav.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))


def _actor(team: Team, user: User, role: Role):
    from valueloop.core.tenancy import Actor

    return Actor(user=user, workspace=team.workspace, role=role)


def test_blank_comment_shows_the_servers_error_in_place(page: Page, team: Team, browser_errors):
    """htmx swaps 4xx answers (see the htmx-config meta in base.html), so the refusal is visible."""
    browser_errors.allow_status(400)
    product = ws_services.product_create(actor=_actor(team, team.pm, Role.PRODUCT_MANAGER), name="Blank", key="BLK")
    sign_in(page, team.pm)
    page.goto(f"/w/{team.workspace.slug}/products/{product.pk}/")
    page.get_by_label("Add a comment").fill("    ")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator("#comment-error")).to_contain_text("cannot be empty")
    assert not Comment.objects.filter(entity_id=product.pk).exists()
