"""Feedback's page forms: bad input (blank, the wrong type, an unknown customer, another workspace's persona) is
answered with the error beside the field and nothing written; good input saves through the service. One view per
form: the item page's status, tags and edit forms, and the tags page's rename and delete, each post to their own
URL; another workspace's ids in a URL are a 404."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.test import Client

from tests.factories import FeedbackItemFactory, PersonaFactory, TagFactory
from tests.page_forms import error_beside
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.feedback.models import FeedbackItem, Tag


@pytest.fixture
def pm(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    return client


@pytest.fixture
def base(world) -> str:
    return f"/w/{world.ws_a.slug}/feedback/"


@pytest.fixture
def audit_unchanged():
    """Asserts, at the end of the test, that no write was audited (nothing half-written)."""
    before = AuditEvent.objects.count()
    yield
    assert AuditEvent.objects.count() == before


def test_item_new__errors_beside_the_fields_and_what_was_typed_is_kept(world, pm, base, audit_unchanged):
    beta_persona = PersonaFactory(workspace=world.ws_b, name="Beta persona")
    bad = pm.post(
        base + "new/",
        {
            "text": "Export is slow",
            "source": "carrier_pigeon",
            "received_at": "yesterday",
            "customer": "Nobody Inc",
            "personas": [beta_persona.pk],
        },
    )
    assert bad.status_code == 400
    assert "Select a valid choice" in error_beside(bad, "n-source")
    assert error_beside(bad, "n-received_at") == "Use a date and time such as 2025-03-31 14:05."
    assert error_beside(bad, "n-customer") == "Unknown customer."
    html = bad.content.decode()
    assert "No such persona in this workspace" in html and "Beta persona" not in html
    assert "Export is slow</textarea>" in html and 'value="Nobody Inc"' in html
    blank = pm.post(base + "new/", {"text": "  "})
    assert blank.status_code == 400 and error_beside(blank, "n-text") == "This field is required."
    assert not FeedbackItem.objects.exists()


def test_item_new__good_input_saves_in_the_workspace_time_zone(world, pm, base):
    persona = PersonaFactory(workspace=world.ws_a, name="CFO")
    response = pm.post(
        base + "new/",
        {"text": "Export is slow", "received_at": "2025-03-31T14:05", "personas": [persona.pk], "another": "1"},
    )
    assert response.status_code == 302 and response["Location"] == base + "new/"
    item = FeedbackItem.objects.get()
    assert (item.source, list(item.personas.all())) == ("other", [persona])
    assert item.received_at == dt.datetime(2025, 3, 31, 14, 5, tzinfo=zoneinfo.ZoneInfo(world.ws_a.timezone))


def test_item_page_forms__status_tags_and_edit_post_to_their_own_urls(world, pm, base, audit_unchanged):
    item = FeedbackItemFactory(workspace=world.ws_a, text="Original")
    url = f"{base}{item.pk}/"
    bad_status = pm.post(url + "status/", {"status": "linked", "version": item.version})
    assert bad_status.status_code == 400 and "Select a valid choice" in bad_status.content.decode()
    bad_tags = pm.post(url + "tags/", {"tags": "x" * 2000})
    assert bad_tags.status_code == 400 and "at most 1300 characters" in error_beside(bad_tags, "item-tags")
    bad_edit = pm.post(url, {"text": "Edited", "importance": "urgent", "version": item.version})
    assert bad_edit.status_code == 400 and "Select a valid choice" in error_beside(bad_edit, "e-importance")
    assert "Edited</textarea>" in bad_edit.content.decode()
    item.refresh_from_db()
    assert (item.text, item.status) == ("Original", "new") and not item.tags.exists()
    assert pm.get(url + "status/").status_code == 405  # a write is never a GET


def test_item_page_forms__another_workspaces_item_is_404(world, pm, base):
    beta = FeedbackItemFactory(workspace=world.ws_b, text="Beta")
    for suffix, data in (("status/", {"status": "archived"}), ("tags/", {"tags": "x"}), ("", {"text": "Mine"})):
        assert pm.post(f"{base}{beta.pk}/{suffix}", data).status_code == 404
    beta.refresh_from_db()
    assert (beta.text, beta.status) == ("Beta", "new")


def test_tags_page_forms__rename_and_delete_each_have_a_url(world, pm, base):
    tag = TagFactory(workspace=world.ws_a, name="pricing")
    beta_tag = TagFactory(workspace=world.ws_b, name="beta")
    blank = pm.post(f"{base}tags/{tag.pk}/rename/", {"name": " "})
    assert blank.status_code == 400 and error_beside(blank, f"rename-{tag.pk}-name")
    assert pm.post(f"{base}tags/{tag.pk}/rename/", {"name": "Price"}).status_code == 302
    tag.refresh_from_db()
    assert tag.name == "price"
    assert pm.post(f"{base}tags/{beta_tag.pk}/rename/", {"name": "mine"}).status_code == 404
    assert pm.post(f"{base}tags/{beta_tag.pk}/delete/").status_code == 404
    assert pm.post(f"{base}tags/{tag.pk}/delete/").status_code == 302
    assert list(Tag.objects.values_list("name", flat=True)) == ["beta"]


def test_bulk_and_filters__never_a_500(world, pm, base):
    item = FeedbackItemFactory(workspace=world.ws_a, text="Hello")
    assert pm.get(base + "?customer=abc&received_from=31/12/2025&persona=-1&sort=zzz&page=q").status_code == 200
    response = pm.post(base + "bulk/", {"ids": [item.pk, "1e9"], "action": "archive"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "new"


def test_import_review__a_made_up_token_is_gone(world, pm, base, settings, tmp_path):
    settings.UPLOADS_DIR = tmp_path
    response = pm.post(base + "import/review/", {"token": "../../etc/passwd", "action": "confirm"})
    assert response.status_code == 302 and response["Location"] == base + "import/"
    missing = pm.post(base + "import/", {"preset": "generic"})
    assert missing.status_code == 400 and "Choose a CSV or JSON file to upload." in missing.content.decode()
