"""Customers' page forms: bad input (blank, the wrong type, another workspace's id) is answered with the error
beside the field and nothing written; good input saves through the service. One view per form: each posts to its
own URL; another workspace's ids are a field error (picked in a form) or a 404 (in the URL)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.factories import ContactFactory, CurrencyRateFactory, CustomerFactory, PersonaFactory
from tests.page_forms import error_beside
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.customers.models import Contact, CurrencyRate, Customer, Persona


@pytest.fixture
def pm(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    return client


@pytest.fixture
def base(world) -> str:
    return f"/w/{world.ws_a.slug}/customers/"


@pytest.fixture
def audit_unchanged():
    """Asserts, at the end of the test, that no write was audited (nothing half-written)."""
    before = AuditEvent.objects.count()
    yield
    assert AuditEvent.objects.count() == before


def test_customer_new__errors_beside_the_fields_and_what_was_typed_is_kept(world, pm, base, audit_unchanged):
    bad = pm.post(
        base + "new/",
        {"name": "Acme", "lifecycle": "customer", "owner_id": world.admin_b.pk, "renewal_date": "31/03/2026"},
    )
    assert bad.status_code == 400  # B's admin is no member of A: not a choice
    assert error_beside(bad, "f-owner_id") == "No such member in this workspace; choose one from the list."
    assert error_beside(bad, "f-renewal_date") == "Enter a date as YYYY-MM-DD, e.g. 2026-03-31."
    assert 'value="Acme"' in bad.content.decode()
    wrong_choice = pm.post(base + "new/", {"name": "Acme", "lifecycle": "sold", "segment": "huge"})
    assert wrong_choice.status_code == 400
    assert "Select a valid choice" in error_beside(wrong_choice, "f-lifecycle")
    assert "Select a valid choice" in error_beside(wrong_choice, "f-segment")
    service_error = pm.post(base + "new/", {"name": "Acme", "arr": "-5", "lifecycle": "customer"})
    assert error_beside(service_error, "f-arr") == "ARR cannot be negative."
    assert not Customer.objects.filter(name="Acme").exists()


def test_customer_new_and_edit__good_input_saves(world, pm, base):
    created = pm.post(base + "new/", {"name": "Acme", "arr": "1 200,000", "lifecycle": "trial", "segment": "smb"})
    acme = Customer.objects.get(workspace=world.ws_a, name="Acme")
    assert created.status_code == 302 and (acme.arr, acme.lifecycle, acme.segment) == (1200000, "trial", "smb")
    form = pm.get(f"{base}{acme.pk}/edit/").content.decode()
    assert 'value="1200000.00"' in form and f'name="version" value="{acme.version}"' in form
    saved = pm.post(
        f"{base}{acme.pk}/edit/", {"name": "Acme Ltd", "arr": "10", "lifecycle": "customer", "version": acme.version}
    )
    acme.refresh_from_db()
    assert saved.status_code == 302 and (acme.name, acme.arr) == ("Acme Ltd", 10)


def test_customer_list__filters_never_fail(world, pm, base):
    CustomerFactory(workspace=world.ws_a, name="Big Bank", arr=500000)
    CustomerFactory(workspace=world.ws_a, name="Tea Shop", arr=4000)
    page = pm.get(base + "?arr_min=100%2C000&segment=nope&owner=abc&sort=zzz&page=x")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Big Bank" in html and "Tea Shop" not in html  # "100,000" read as a bound, the rest ignored
    assert "Tea Shop" in pm.get(base + "?arr_min=-3").content.decode()  # a negative bound is no bound


def test_account_page_forms__each_posts_to_its_own_url(world, pm, base, audit_unchanged):
    acme = CustomerFactory(workspace=world.ws_a, name="Acme")
    bad = pm.post(f"{base}{acme.pk}/contacts/", {"contact-name": "Ada", "contact-email": "x" * 300})
    assert bad.status_code == 400
    assert "at most 254 characters" in error_beside(bad, "id_contact-email")
    assert 'value="Ada"' in bad.content.decode()
    assert not Contact.objects.filter(name="Ada").exists()
    assert pm.get(f"{base}{acme.pk}/archive/").status_code == 405  # a write is never a GET


def test_account_page_forms__another_workspaces_ids_are_404(world, pm, base):
    beta = CustomerFactory(workspace=world.ws_b, name="Beta")
    beta_contact = ContactFactory(workspace=world.ws_b, customer=beta)
    beta_persona = PersonaFactory(workspace=world.ws_b)
    beta_rate = CurrencyRateFactory(workspace=world.ws_b, currency="CHF")
    for url in (
        f"{base}{beta.pk}/archive/",
        f"{base}{beta.pk}/delete/",
        f"{base}{beta.pk}/contacts/",
        f"{base}contacts/{beta_contact.pk}/unsubscribe/",
        f"{base}contacts/{beta_contact.pk}/delete/",
        f"{base}personas/{beta_persona.pk}/delete/",
        f"{base}currencies/{beta_rate.pk}/delete/",
    ):
        assert pm.post(url, {"contact-name": "X"}).status_code == 404, url
    beta.refresh_from_db()
    assert beta.archived_at is None and Contact.objects.filter(pk=beta_contact.pk, unsubscribed_at=None).exists()
    assert Persona.objects.filter(pk=beta_persona.pk).exists() and CurrencyRate.objects.filter(pk=beta_rate.pk).exists()


def test_contact_forms__another_workspaces_account_is_a_field_error(world, pm, base, audit_unchanged):
    beta = CustomerFactory(workspace=world.ws_b, name="Beta")
    bad = pm.post(base + "contacts/", {"name": "Ada", "email": "ada@a.test", "customer_id": beta.pk})
    assert bad.status_code == 400
    assert error_beside(bad, "id_customer_id") == "No such account in this workspace; choose one from the list."
    assert "Beta" not in bad.content.decode() and not Contact.objects.filter(name="Ada").exists()
    ada = ContactFactory(workspace=world.ws_a)
    bad = pm.post(f"{base}contacts/{ada.pk}/", {"name": "A", "customer_id": "abc", "version": ada.version})
    assert error_beside(bad, "e-customer_id") == "No such account in this workspace; choose one from the list."


def test_contact_unsubscribe__goes_back_only_to_this_site(world, pm, base):
    ada = ContactFactory(workspace=world.ws_a, email="ada@a.test")
    response = pm.post(f"{base}contacts/{ada.pk}/unsubscribe/", {"next": "https://evil.test/"})
    assert response["Location"] == f"{base}contacts/{ada.pk}/"
    ada.refresh_from_db()
    assert ada.unsubscribed_at is not None


def test_persona_forms__errors_beside_the_field_and_a_stale_edit_is_refused(world, pm, base):
    persona = PersonaFactory(workspace=world.ws_a, name="CFO")
    duplicate = pm.post(base + "personas/", {"name": "cfo", "goals": "kept"})
    assert duplicate.status_code == 400 and error_beside(duplicate, "p-name")
    assert "kept</textarea>" in duplicate.content.decode()
    url = f"{base}personas/{persona.pk}/"
    assert pm.post(url, {"name": "CFO", "goals": "Cash", "version": persona.version}).status_code == 302
    stale = pm.post(url, {"name": "CFO", "goals": "Other", "version": persona.version})
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    persona.refresh_from_db()
    assert persona.goals == "Cash"
    assert pm.post(url + "delete/").status_code == 302 and not Persona.objects.filter(pk=persona.pk).exists()


def test_currency_forms__errors_beside_the_fields(world, pm, base, audit_unchanged):
    bad = pm.post(base + "currencies/", {"currency": "GBP", "rate": ""})
    assert bad.status_code == 400 and error_beside(bad, "r-rate") == "This field is required."
    bad = pm.post(base + "currencies/", {"currency": "GBP", "rate": "lots"})
    assert bad.status_code == 400 and error_beside(bad, "r-rate")
    assert 'value="lots"' in bad.content.decode()
    assert not CurrencyRate.objects.filter(workspace=world.ws_a).exists()


def test_currency_rate_delete__a_rate_in_use_is_refused_with_the_reason(world, pm, base):
    rate = CurrencyRateFactory(workspace=world.ws_a, currency="GBP")
    CustomerFactory(workspace=world.ws_a, arr=10, arr_currency="GBP")
    refused = pm.post(f"{base}currencies/{rate.pk}/delete/")
    assert refused.status_code == 400 and "Change their currency first" in refused.content.decode()
    assert CurrencyRate.objects.filter(pk=rate.pk).exists()


def test_import_forms__missing_file_is_a_field_error_and_review_without_upload_expires(
    world, pm, base, settings, tmp_path
):
    settings.UPLOADS_DIR = tmp_path
    missing = pm.post(base + "import/", {"kind": "accounts"})
    assert missing.status_code == 400 and "Choose a CSV file to upload." in missing.content.decode()
    expired = pm.post(base + "import/review/", {"step": "confirm"})
    assert expired.status_code == 302 and expired["Location"] == base + "import/"
    odd_options = pm.post(
        base + "import/",
        {"kind": "planets", "preset": "x", "file": SimpleUploadedFile("a.csv", b"name\nAcme\n")},
    )
    assert odd_options.status_code == 200  # unknown options read as the defaults, as before
    done = pm.post(base + "import/review/", {"step": "confirm", "map_name": "name"})
    assert done.status_code == 302 and Customer.objects.filter(workspace=world.ws_a, name="Acme").exists()
