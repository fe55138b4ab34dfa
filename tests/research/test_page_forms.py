"""Research's page forms: bad input (blank, the wrong type, another workspace's account or contact, a file over the
limit, a stale version) is answered with the error beside the field and nothing written; good input saves; the
list filters never fail."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.factories import ContactFactory, CustomerFactory
from tests.page_forms import error_beside
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.research.models import Highlight, Interview, SurveyResponse
from valueloop.research.services import interview_create

NOTES = "The export takes three days. The export takes three days again."


@pytest.fixture
def pm(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    return client


@pytest.fixture
def audit_unchanged():
    """Asserts, at the end of the test, that no write was audited (nothing half-written)."""
    before = AuditEvent.objects.count()
    yield
    assert AuditEvent.objects.count() == before


@pytest.fixture
def interview(world):
    return interview_create(actor=world.actor_a, title="Acme call", happened_on="2026-03-01", notes=NOTES)


def test_interview_list_view__bad_input_beside_each_field_and_typed_values_kept(world, pm, audit_unchanged):
    other_account = CustomerFactory(workspace=world.ws_b, name="Beta account")
    other_contact = ContactFactory(workspace=world.ws_b, name="Bea Other")
    url = f"/w/{world.ws_a.slug}/research/interviews/"
    blank = pm.post(url, {"title": "  ", "happened_on": "2026-03-01"})
    assert blank.status_code == 400 and error_beside(blank, "ni-title") == "This field is required."
    bad_date = pm.post(url, {"title": "Acme call", "happened_on": "03/01/2026", "notes": "typed notes"})
    assert bad_date.status_code == 400
    assert error_beside(bad_date, "ni-happened_on") == "Enter a date as YYYY-MM-DD, e.g. 2026-03-31."
    assert 'value="Acme call"' in bad_date.content.decode() and "typed notes" in bad_date.content.decode()
    other = pm.post(
        url,
        {
            "title": "Acme call",
            "happened_on": "2026-03-01",
            "customer_id": other_account.pk,
            "participant_ids": [other_contact.pk],
        },
    )
    assert other.status_code == 400 and "Beta account" not in other.content.decode()
    assert error_beside(other, "ni-customer_id") == "No such account in this workspace; choose one from the list."
    assert error_beside(other, "ni-participant_ids").startswith("No such contact in this workspace")
    assert not Interview.objects.filter(title="Acme call").exists()


def test_interview_list_view__good_input_saves_with_participants(world, pm):
    acme = CustomerFactory(workspace=world.ws_a, name="Acme")
    ana = ContactFactory(workspace=world.ws_a, name="Ana", customer=acme)
    response = pm.post(
        f"/w/{world.ws_a.slug}/research/interviews/",
        {"title": "Acme call", "happened_on": "2026-03-01", "consent": "1", "participant_ids": [ana.pk]},
    )
    assert response.status_code == 302
    saved = Interview.objects.get(workspace=world.ws_a, title="Acme call")
    assert saved.consent and saved.customer == acme and list(saved.participants.all()) == [ana]


def test_interview_list_view__stakeholder_may_not_post_and_filters_never_fail(world, interview):
    viewer = Client()
    viewer.force_login(world.users[Role.STAKEHOLDER])
    url = f"/w/{world.ws_a.slug}/research/interviews/"
    assert viewer.post(url, {"title": "Sneaky", "happened_on": "2026-03-01"}).status_code == 403
    assert "Acme call" in viewer.get(f"{url}?consent=no&q=acme").content.decode()
    assert "Acme call" not in viewer.get(f"{url}?consent=yes").content.decode()
    odd = viewer.get(f"{url}?consent=maybe&q={'x' * 500}&page=zz")
    assert odd.status_code == 200


def test_interview_edit_view__errors_in_place_and_a_stale_version_refused(world, pm, interview):
    url = f"/w/{world.ws_a.slug}/research/interviews/{interview.pk}/edit/"
    shown = pm.get(url).content.decode()
    assert 'value="Acme call"' in shown and f'name="version" value="{interview.version}"' in shown
    data = {"title": "Renamed", "happened_on": "2026-03-02", "notes": NOTES, "version": interview.version}
    too_long = pm.post(url, {**data, "title": "x" * 201})
    assert too_long.status_code == 400 and "at most 200 characters" in error_beside(too_long, "ei-title")
    assert pm.post(url, data).status_code == 302
    stale = pm.post(url, {**data, "title": "Stale"})
    assert stale.status_code == 400 and "reload" in stale.content.decode().lower()
    interview.refresh_from_db()
    assert interview.title == "Renamed"


def test_interview_edit_view__another_workspace_is_404(world, pm):
    theirs = interview_create(actor=world.actor_b, title="Theirs", happened_on="2026-03-01")
    url = f"/w/{world.ws_a.slug}/research/interviews/{theirs.pk}/edit/"
    assert pm.post(url, {"title": "Mine", "happened_on": "2026-03-01"}).status_code == 404
    highlights = f"/w/{world.ws_a.slug}/research/interviews/{theirs.pk}/highlights/"
    assert pm.post(highlights, {"text": "x"}).status_code == 404


def test_highlight_create_view__text_not_in_the_notes_is_an_error_on_the_page(world, pm, interview, audit_unchanged):
    url = f"/w/{world.ws_a.slug}/research/interviews/{interview.pk}/highlights/"
    missing = pm.post(url, {"text": "never said this", "rendered_offset": "3"})
    assert missing.status_code == 400 and "Please fix the following" in missing.content.decode()
    assert "never said this" in missing.content.decode()  # what was typed is kept
    negative = pm.post(url, {"text": "takes three days", "rendered_offset": "-4"})
    assert negative.status_code == 400
    blank = pm.post(url, {"text": ""})
    assert blank.status_code == 400 and error_beside(blank, "hl-text") == "This field is required."
    assert not Highlight.objects.filter(interview=interview).exists()


def test_highlight_create_view__the_offset_picks_the_repeat(world, pm, interview):
    page = pm.get(f"/w/{world.ws_a.slug}/research/interviews/{interview.pk}/").content.decode()
    # highlight.js fills the form from a selection in the notes through these attributes.
    assert 'data-select-text="notes"' in page and 'data-select-start="notes"' in page
    assert 'name="rendered_offset"' in page
    url = f"/w/{world.ws_a.slug}/research/interviews/{interview.pk}/highlights/"
    assert pm.post(url, {"text": "takes three days", "rendered_offset": "40"}).status_code == 302
    highlight = Highlight.objects.get(interview=interview)
    assert highlight.start == NOTES.rindex("takes three days")


def test_survey_import_view__file_errors_beside_the_field(world, pm, settings, audit_unchanged):
    url = f"/w/{world.ws_a.slug}/research/surveys/import/"
    missing = pm.post(url, {"kind": "nps"})
    assert missing.status_code == 400 and error_beside(missing, "si-file") == "Choose a CSV file."
    assert 'value="nps" selected' in missing.content.decode()  # the choice is kept
    good = b"kind,score,date\nnps,9,2026-01-01\n"
    bad_kind = pm.post(url, {"file": SimpleUploadedFile("a.csv", good), "kind": "ces"})
    assert bad_kind.status_code == 400 and "Select a valid choice" in error_beside(bad_kind, "si-kind")
    settings.UPLOAD_LIMITS = {"max_bytes": 16}
    too_big = pm.post(url, {"file": SimpleUploadedFile("a.csv", good)})
    assert too_big.status_code == 400 and "16 bytes" in error_beside(too_big, "si-file")
    assert not SurveyResponse.objects.filter(workspace=world.ws_a).exists()


def test_survey_import_view__dry_run_writes_nothing_and_a_real_run_imports(world, pm):
    url = f"/w/{world.ws_a.slug}/research/surveys/import/"
    data = b"kind,score,date\nnps,9,2026-01-01\nnps,3,2026-01-02\n"
    checked = pm.post(url, {"file": SimpleUploadedFile("a.csv", data), "dry_run": "1"})
    assert checked.status_code == 200 and not SurveyResponse.objects.filter(workspace=world.ws_a).exists()
    imported = pm.post(url, {"file": SimpleUploadedFile("a.csv", data), "allow_unknown_accounts": "1"})
    assert imported.status_code == 200 and SurveyResponse.objects.filter(workspace=world.ws_a).count() == 2


def test_surveys_view__filters_read_bad_values_as_defaults(world, pm):
    url = f"/w/{world.ws_a.slug}/research/surveys/"
    odd = pm.get(f"{url}?kind=ces&months=5&page=-1")
    assert odd.status_code == 200 and odd.context["kind"] == "nps" and odd.context["months"] == 12
    chosen = pm.get(f"{url}?kind=csat&months=3")
    assert chosen.context["kind"] == "csat" and chosen.context["months"] == 3
    assert '<option value="3" selected>' in chosen.content.decode()
