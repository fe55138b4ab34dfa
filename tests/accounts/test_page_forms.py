"""Accounts' page forms: sign-in, profile and API tokens. Bad input is answered with the error beside the field and
nothing written; good input saves."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.page_forms import audit_unchanged, error_beside  # noqa: F401  (the ``audit_unchanged`` fixture)
from valueloop.accounts.models import ApiToken, User
from valueloop.core.permissions import Role


@pytest.fixture
def contributor(world):
    client = Client()
    client.force_login(world.users[Role.CONTRIBUTOR])
    return client


def test_login_view__a_missing_field_is_shown_beside_it_and_the_email_is_kept(world):
    response = Client().post("/accounts/login/", {"email": "admin@a.test", "password": ""})
    assert response.status_code == 400
    assert error_beside(response, "password") == "Enter your password."
    assert 'value="admin@a.test"' in response.content.decode()
    blank = Client().post("/accounts/login/", {"email": " ", "password": "x"})
    assert blank.status_code == 400 and error_beside(blank, "email") == "Enter your email."


def test_login_view__a_wrong_pair_is_one_alert_that_the_email_field_points_at(world):
    response = Client().post("/accounts/login/", {"email": "admin@a.test", "password": "wrong"})
    page = response.content.decode()
    assert response.status_code == 400
    assert '<p class="error" role="alert" id="login-error">Email or password is not correct.</p>' in page
    assert 'aria-describedby="login-error"' in page


def test_login_view__next_from_the_query_is_kept_in_the_form_when_on_site(world):
    page = Client().get("/accounts/login/?next=/w/alpha-co/features/").content.decode()
    assert 'name="next" value="/w/alpha-co/features/"' in page
    assert (
        'value="https://evil.example/"'
        not in Client().get("/accounts/login/?next=https://evil.example/").content.decode()
    )


@pytest.mark.usefixtures("audit_unchanged")
def test_profile_view__a_taken_handle_is_shown_beside_it_and_nothing_saved(world, contributor):
    response = contributor.post("/accounts/profile/", {"name": "Connie", "handle": "admin-a"})
    assert response.status_code == 400
    assert error_beside(response, "handle") == "Choose another handle."
    assert 'value="Connie"' in response.content.decode()  # what was typed is kept
    too_long = contributor.post("/accounts/profile/", {"name": "Connie", "handle": "x" * 41})
    assert too_long.status_code == 400 and "at most 40 characters" in error_beside(too_long, "handle")
    user = User.objects.get(pk=world.users[Role.CONTRIBUTOR].pk)
    assert (user.name, user.handle) == ("Contributor", "contributor")


def test_profile_view__good_input_saves(world, contributor):
    assert contributor.post("/accounts/profile/", {"name": " Connie ", "handle": "Connie_C"}).status_code == 302
    user = User.objects.get(pk=world.users[Role.CONTRIBUTOR].pk)
    assert (user.name, user.handle) == ("Connie", "connie_c")
    page = contributor.get("/accounts/profile/").content.decode()
    assert 'value="connie_c"' in page


@pytest.mark.usefixtures("audit_unchanged")
def test_tokens_view__bad_input_beside_each_field_and_no_token(world, contributor):
    url = f"/accounts/w/{world.ws_a.slug}/tokens/"
    response = contributor.post(url, {"name": "", "role": "admin", "expires_in_days": "soon"})
    assert response.status_code == 400
    assert error_beside(response, "token-name") == "This field is required."
    assert error_beside(response, "token-role") == "Choose your role or a weaker one."
    assert error_beside(response, "token-expires_in_days") == "Enter a whole number."
    long = contributor.post(url, {"name": "laptop", "expires_in_days": "4000"})
    assert long.status_code == 400 and "3650" in error_beside(long, "token-expires_in_days")
    assert 'value="laptop"' in long.content.decode()
    assert not ApiToken.objects.filter(user=world.users[Role.CONTRIBUTOR]).exists()


def test_tokens_view__offers_the_members_role_or_weaker_and_saves(world, contributor):
    url = f"/accounts/w/{world.ws_a.slug}/tokens/"
    page = contributor.get(url).content.decode()
    assert '<option value="stakeholder">' in page and '<option value="contributor">' not in page
    assert contributor.post(url, {"name": "ci", "role": "stakeholder", "expires_in_days": "30"}).status_code == 302
    token = ApiToken.objects.get(user=world.users[Role.CONTRIBUTOR], name="ci")
    assert token.role == "stakeholder" and token.expires_at is not None


def test_token_revoke_view__another_workspaces_token_is_not_found(world, contributor):
    from valueloop.accounts.services import token_create

    token, _ = token_create(actor=world.actor_b, name="beta")
    response = contributor.post(f"/accounts/w/{world.ws_a.slug}/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
