"""Sign-in, throttling, password reset, and the main pages' forms."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client, override_settings

from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.workspaces.models import Product


def test_login__wrong_password_shows_error_and_throttles(world):
    client = Client()
    for _ in range(5):
        response = client.post("/accounts/login/", {"email": "admin@a.test", "password": "wrong"})
        assert response.status_code == 400
        assert "Email or password is not correct." in response.content.decode()
    # even the right password is refused while throttled
    response = client.post("/accounts/login/", {"email": "admin@a.test", "password": "pw-admin-123456"})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()


def test_login__success_goes_to_workspace_and_logout_needs_post(world):
    client = Client()
    response = client.post("/accounts/login/", {"email": "ADMIN@a.test", "password": "pw-admin-123456"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/w/{world.ws_a.slug}/"
    assert client.get("/accounts/logout/").status_code == 405
    client.post("/accounts/logout/")
    assert client.get(f"/w/{world.ws_a.slug}/").status_code == 302


def test_login__next_must_stay_on_site(world):
    response = Client().post(
        "/accounts/login/?next=https://evil.example/",
        {"email": "admin@a.test", "password": "pw-admin-123456", "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and "evil" not in response["Location"]


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_password_reset__email_link_sets_a_new_password(world):
    client = Client()
    client.post("/accounts/password-reset/", {"email": "admin@a.test"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": "a-much-better-pass-42", "new_password2": "a-much-better-pass-42"}
    )
    assert response.status_code == 302
    assert Client().login(username="admin@a.test", password="a-much-better-pass-42")


def test_product_form__creates_product_and_reports_errors(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_OWNER])
    url = f"/w/{world.ws_a.slug}/products/"
    response = client.post(url, {"name": "", "key": "", "description": ""})
    assert response.status_code == 400
    assert "Please fix the following" in response.content.decode()
    response = client.post(url, {"name": "Gamma", "key": "gam", "description": "**hi**"})
    assert response.status_code == 302
    product = Product.objects.get(workspace=world.ws_a, name="Gamma")
    assert product.key == "GAM"
    page = client.get(response["Location"]).content.decode()
    assert "<strong>hi</strong>" in page


def test_product_page__stale_edit_is_refused(world):
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    url = f"/w/{world.ws_a.slug}/products/{world.product_a.pk}/"
    data = {"action": "update", "version": "1", "name": "Alpha App", "key": "ALP", "description": "first"}
    assert client.post(url, data).status_code == 302
    response = client.post(url, {**data, "description": "second"})
    assert response.status_code == 400
    assert "changed by someone else" in response.content.decode()
    assert Product.objects.get(pk=world.product_a.pk).description == "first"


def test_comment_via_htmx__returns_thread_fragment(world):
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    response = client.post(
        f"/w/{world.ws_a.slug}/comments/",
        {"entity_type": "product", "entity_id": world.product_a.pk, "body": "Looks good @admin-a"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Looks good" in html and "<html" not in html
    empty = client.post(
        f"/w/{world.ws_a.slug}/comments/",
        {"entity_type": "product", "entity_id": world.product_a.pk, "body": "  "},
        HTTP_HX_REQUEST="true",
    )
    assert empty.status_code == 400 and "cannot be empty" in empty.content.decode()


def test_audit_page__csv_export_is_formula_safe(world):
    from valueloop.workspaces.services import product_create

    product_create(actor=world.actor_a, name='=HYPERLINK("http://x")', key="EVIL")
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    response = client.get(f"/w/{world.ws_a.slug}/audit/?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    assert "'=HYPERLINK" in body
    assert "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body
    assert AuditEvent.objects.filter(workspace=world.ws_a).count() >= 3


def test_sections__show_empty_states_not_dead_links(world):
    client = Client()
    client.force_login(world.users[Role.CONTRIBUTOR])
    for section in [
        "customers",
        "feedback",
        "discovery",
        "planning",
        "backlog",
        "launches",
        "operations",
        "experiments",
        "signals",
        "learnings",
    ]:
        response = client.get(f"/w/{world.ws_a.slug}/{section}/")
        assert response.status_code == 200, section
    assert client.get(f"/w/{world.ws_a.slug}/no-such-section/").status_code == 404


def test_search__finds_products_and_comments_in_own_workspace_only(world):
    client = Client()
    client.force_login(world.users[Role.CONTRIBUTOR])
    html = client.get(f"/w/{world.ws_a.slug}/search/?q=App").content.decode()
    text = re.sub(r"<[^>]+>", "", html)  # matched words are wrapped in <mark>
    assert "Alpha App" in text and "Beta App" not in text


def test_tokens_page__secret_shown_once_and_reload_creates_nothing(world):
    from valueloop.accounts.models import ApiToken

    client = Client()
    client.force_login(world.users[Role.CONTRIBUTOR])
    url = f"/accounts/w/{world.ws_a.slug}/tokens/"
    response = client.post(url, {"name": "laptop"})
    assert response.status_code == 302
    page = client.get(url)
    assert "vl_" in page.content.decode() and "no-cache" in page["Cache-Control"]
    assert "Copy your new token now" not in client.get(url).content.decode()
    assert ApiToken.objects.filter(user=world.users[Role.CONTRIBUTOR], name="laptop").count() == 1


def test_pages_answer_head_requests(world):
    client = Client()
    client.force_login(world.users[Role.CONTRIBUTOR])
    assert client.head(f"/w/{world.ws_a.slug}/").status_code == 200
    assert client.head("/accounts/login/").status_code == 200


def test_forbidden_page_keeps_the_workspace_shell(world):
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    response = client.get(f"/w/{world.ws_a.slug}/settings/")
    assert response.status_code == 403
    assert world.ws_a.name in response.content.decode()


def test_workspace_pages_show_times_in_the_workspace_time_zone(world):
    from valueloop.workspaces.services import workspace_update

    workspace_update(actor=world.actor_a, timezone="Asia/Tokyo")
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    html = client.get(f"/w/{world.ws_a.slug}/audit/").content.decode()
    assert "+09:00" in html  # <time datetime="..."> carries the zone offset


def test_product_list__counts_active_areas_per_product(world):
    from valueloop.workspaces.services import area_archive, area_create

    extra = area_create(actor=world.actor_a, product_id=world.product_a.pk, name="Old stuff")
    area_create(actor=world.actor_a, product_id=world.product_a.pk, name="Reports")
    area_archive(actor=world.actor_a, area_id=extra.pk)
    client = Client()
    client.force_login(world.users[Role.CONTRIBUTOR])
    html = client.get(f"/w/{world.ws_a.slug}/products/").content.decode()
    assert '<td data-label="Areas">2</td>' in html
