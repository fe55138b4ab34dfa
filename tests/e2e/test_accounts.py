"""End-to-end: sign-in throttling, changing and resetting a password, in real Chromium.

A stranger hammering an account from the owner's address is slowed and told how long to wait,
while the owner's known browser still signs in; a password change signs out the other browser and
revokes the API tokens; the reset link offers the same. Fails on any browser console error.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from valueloop.accounts.models import ApiToken, User
from valueloop.accounts.services import token_create
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.workspaces import services as ws_services

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_browser_errors")]
PASSWORD = "e2e-password-4821"
NEW_PASSWORD = "e2e-new-password-9735"


@pytest.fixture
def owner(transactional_db) -> User:
    user = User.objects.create_user("ada@accounts.test", PASSWORD, name="Ada Admin", handle="ada", is_staff=True)
    workspace = ws_services.workspace_create(user=user, name="Accounts E2E")  # an instance admin may create it
    token_create(actor=Actor(user=user, workspace=workspace, role=Role.ADMIN), name="ci")
    return user


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_stranger_is_slowed_while_the_owners_browser_signs_in(new_page, owner: User, browser_errors):
    browser_errors.allow_status(400)
    browser_errors.allow_status(429)
    known = new_page()
    sign_in(known, owner.email, PASSWORD)
    expect(known.get_by_role("button", name="Sign out")).to_be_visible()
    known.get_by_role("button", name="Sign out").click()

    stranger = new_page()  # same address (the live server sees 127.0.0.1 for both), no device cookie
    for _ in range(5):
        sign_in(stranger, owner.email, "guess")
        expect(stranger.get_by_role("alert")).to_have_text("Email or password is not correct.")
    sign_in(stranger, owner.email, PASSWORD)
    expect(stranger.get_by_role("alert")).to_have_text(
        re.compile(r"^Too many failed sign-ins\. Try again in \d+ seconds?, or reset your password\.$")
    )
    expect(stranger.get_by_label("Email")).to_have_value(owner.email)

    sign_in(known, owner.email, PASSWORD)
    expect(known.get_by_role("button", name="Sign out")).to_be_visible()


def test_password_change_signs_out_the_other_browser_and_revokes_tokens(new_page, owner: User, browser_errors):
    here, there = new_page(), new_page()
    for page in (here, there):
        sign_in(page, owner.email, PASSWORD)
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    here.goto("/accounts/profile/")
    here.get_by_role("link", name="Change password").click()
    expect(here.get_by_role("heading", name="Change your password")).to_be_visible()
    expect(here.get_by_text("A new password signs you out on every other browser and device.")).to_be_visible()
    revoke = here.get_by_label("Also revoke my API tokens")
    expect(revoke).to_be_checked()
    here.get_by_label("Current password").fill(PASSWORD)
    here.get_by_label("New password").fill(NEW_PASSWORD)
    here.get_by_label("Repeat it").fill(NEW_PASSWORD)
    here.get_by_role("button", name="Change password").click()
    expect(here).to_have_url(re.compile(r"/accounts/profile/$"))
    expect(
        here.get_by_text("Password changed. Your other sessions are signed out. 1 API token revoked.")
    ).to_be_visible()
    assert not ApiToken.objects.filter(user=owner, revoked_at=None).exists()

    there.goto("/accounts/profile/")
    expect(there).to_have_url(re.compile(r"/accounts/login/\?next="))


def test_reset_link_offers_to_revoke_tokens(page: Page, owner: User, live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    page.goto("/accounts/password-reset/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_role("button", name="Send reset link").click()
    link = re.search(r"https?://[^/\s]+(/accounts/password-reset/\S+/)", mail.outbox[-1].body).group(1)
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    expect(page.get_by_label("Also revoke my API tokens")).to_be_checked()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat it").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    assert not ApiToken.objects.filter(user=owner, revoked_at=None).exists()
    sign_in(page, owner.email, NEW_PASSWORD)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
