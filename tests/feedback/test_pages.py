"""The inbox and the other feedback pages: filters, HTMX partials, bulk triage, item page, import flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from tests.feedback.conftest import FIXTURES, make_item
from valueloop.core.permissions import Role
from valueloop.feedback import services
from valueloop.feedback.models import FeedbackItem, SavedView


def signed_in(world, role=Role.ADMIN) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


def inbox(world) -> str:
    return f"/w/{world.ws_a.slug}/feedback/"


@pytest.fixture
def items(world, accounts):
    return {
        "dunning": make_item(
            world, "Dunning reminders twice", customer_id=accounts.acme.pk, source="support", tags=["dunning"]
        ),
        "bank": make_item(world, "Bank feed broken", customer_id=accounts.globex.pk, source="email"),
        "old": make_item(world, "Archived thing about exports"),
    } | {
        "_": services.feedback_set_status(
            actor=world.actor_a,
            feedback_id=FeedbackItem.objects.get(text="Archived thing about exports").pk,
            status="archived",
        )
    }


def test_inbox__lists_new_items_with_tabs_and_counts(world, items):
    response = signed_in(world).get(inbox(world))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Dunning reminders twice" in html and "Bank feed broken" in html
    assert "Archived thing" not in html  # the New tab
    assert 'aria-current="page">New <span class="count">2</span>' in html
    assert 'Archived <span class="count">1</span>' in html
    assert "valueloop/inbox.js" in html and 'data-shortcut="e"' in html
    assert "<script>" not in html  # CSP: no inline scripts


def test_inbox__filters_and_search(world, items, accounts):
    client = signed_in(world, Role.STAKEHOLDER)
    html = client.get(inbox(world) + "?source=email").content.decode()
    assert "Bank feed broken" in html and "Dunning reminders" not in html
    html = client.get(inbox(world) + "?tag=dunning").content.decode()
    assert "Dunning reminders" in html and "Bank feed" not in html
    html = client.get(inbox(world) + "?segment=smb").content.decode()
    assert "Bank feed broken" in html and "Dunning" not in html.split('id="inbox-results"')[1]
    html = client.get(inbox(world) + f"?customer={accounts.acme.pk}").content.decode()
    assert "Acme GmbH" in html and "Bank feed" not in html
    html = client.get(inbox(world) + "?q=exports").content.decode()  # search looks at every status
    assert "Archived thing about exports" in html
    html = client.get(inbox(world) + "?q=%22foo+OR&source=fax&received_from=nonsense").content.decode()
    assert "Nothing matches" in html
    assert "data-bulk-form" not in html and "bulk-bar" not in html  # stakeholders cannot triage


def test_inbox__htmx_returns_the_results_partial(world, items):
    response = signed_in(world).get(inbox(world) + "?q=dunning", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="inbox-results")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Dunning reminders twice" in html and 'class="status-tabs"' in html


def test_inbox__empty_states(world):
    html = signed_in(world).get(inbox(world)).content.decode()
    assert "No feedback yet" in html or "No feedback here" in html
    assert "Import feedback" in html
    make_item(world, "Something")
    services.feedback_bulk(
        actor=world.actor_a, ids=list(FeedbackItem.objects.values_list("pk", flat=True)), action="triage"
    )
    html = signed_in(world).get(inbox(world)).content.decode()
    assert "Inbox zero" in html


def test_bulk_page__archives_with_and_without_htmx(world, items):
    client = signed_in(world, Role.PRODUCT_OWNER)
    ids = [items["dunning"].pk, items["bank"].pk]
    response = client.post(inbox(world) + "bulk/", {"ids": [ids[0]], "action": "archive", "back": "source=support"})
    assert response.status_code == 302 and response["Location"].endswith("/feedback/?source=support")
    assert FeedbackItem.objects.get(pk=ids[0]).status == "archived"
    response = client.post(
        inbox(world) + "bulk/",
        {"ids": [ids[1]], "action": "triage", "back": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="inbox-results",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "1 item marked triaged." in html and "<html" not in html
    assert FeedbackItem.objects.get(pk=ids[1]).status == "triaged"
    response = client.post(inbox(world) + "bulk/", {"ids": ["x"], "action": "archive"}, HTTP_HX_REQUEST="true")
    assert "not valid" in response.content.decode()


def test_bulk_page__tag_and_customer(world, items, accounts):
    client = signed_in(world)
    ids = [items["dunning"].pk, items["bank"].pk]
    client.post(inbox(world) + "bulk/", {"ids": ids, "action": "add_tag", "tag": "Q3"})
    assert FeedbackItem.objects.filter(tags__name="q3").count() == 2
    client.post(inbox(world) + "bulk/", {"ids": ids, "action": "assign_customer", "customer": "Initech"})
    assert set(FeedbackItem.objects.filter(pk__in=ids).values_list("customer", flat=True)) == {accounts.initech.pk}


def test_bulk_page__stakeholder_is_refused(world, items):
    response = signed_in(world, Role.STAKEHOLDER).post(
        inbox(world) + "bulk/", {"ids": [items["bank"].pk], "action": "archive"}
    )
    assert response.status_code == 403
    assert FeedbackItem.objects.get(pk=items["bank"].pk).status == "new"


def test_item_page__escapes_text_and_links_safely(world, accounts):
    item = make_item(
        world,
        "Hello <script>alert(1)</script>\nsecond line",
        url="https://support.example/t/9",
        customer_id=accounts.acme.pk,
    )
    html = signed_in(world, Role.STAKEHOLDER).get(f"{inbox(world)}{item.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line" in html
    assert 'href="https://support.example/t/9" rel="noopener noreferrer nofollow" target="_blank"' in html
    assert 'id="thread"' in html and "evidence-hook" in html
    assert "Mark triaged" not in html  # stakeholders read only


def test_item_page__triage_tags_and_edit(world, accounts):
    item = make_item(world, "Original text")
    client = signed_in(world)
    url = f"{inbox(world)}{item.pk}/"
    assert client.post(url + "status/", {"status": "triaged", "version": 1}).status_code == 302
    assert client.post(url + "tags/", {"tags": "ux, Mobile"}).status_code == 302
    item.refresh_from_db()
    assert item.status == "triaged" and sorted(item.tags.values_list("name", flat=True)) == ["mobile", "ux"]
    stale = client.post(url + "status/", {"status": "archived", "version": 1})
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    response = client.post(
        url,
        {
            "version": item.version,
            "text": "Edited",
            "title": "T",
            "source": "email",
            "importance": "important",
            "url": "",
            "customer": "Globex Ltd",
            "received_at": "2025-02-03T10:00",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.text, item.source, item.customer_id) == ("Edited", "email", accounts.globex.pk)
    bad = client.post(url, {"text": "x", "customer": "Nobody"})
    assert bad.status_code == 400 and "Unknown customer" in bad.content.decode()


def test_item_page__other_workspace_is_404(world):
    other = services.feedback_create(actor=world.actor_b, text="Beta")
    assert signed_in(world).get(f"{inbox(world)}{other.pk}/").status_code == 404


def test_item_new_page(world, accounts):
    client = signed_in(world)
    response = client.post(
        inbox(world) + "new/",
        {"text": "From a call", "source": "sales_call", "customer": "acme.example", "tags": "pricing"},
    )
    assert response.status_code == 302
    item = FeedbackItem.objects.get()
    assert item.customer == accounts.acme and item.source == "sales_call"
    assert client.post(inbox(world) + "new/", {"text": ""}).status_code == 400


def test_saved_views_page(world, items):
    client = signed_in(world, Role.STAKEHOLDER)
    response = client.post(inbox(world) + "views/", {"name": "Email", "query": "source=email&status=new"})
    assert response.status_code == 302 and response["Location"].endswith("?status=new&source=email")
    view = SavedView.objects.get()
    html = client.get(inbox(world)).content.decode()
    assert ">Email</a>" in html
    assert client.post(f"{inbox(world)}views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.exists()


def test_import_page__upload_preview_confirm(world, accounts, tmp_path):
    client = signed_in(world)
    with override_settings(UPLOADS_DIR=tmp_path):
        assert client.get(inbox(world) + "import/").status_code == 200
        upload = SimpleUploadedFile("tickets.csv", (FIXTURES / "zendesk_tickets.csv").read_bytes())
        response = client.post(inbox(world) + "import/", {"action": "upload", "preset": "zendesk", "file": upload})
        html = response.content.decode()
        assert response.status_code == 200, html
        assert "Import 3 items" in html and "Dunning reminders sent twice" in html  # preview
        assert 'name="map_text"' in html and '<option value="Description" selected>' in html
        token = response.context["token"]
        stored = list(Path(tmp_path).rglob(f"{token}*"))
        assert len(stored) == 1 and not FeedbackItem.objects.exists()
        mapping = {f"map_{k}": v or "" for k, v in response.context["report"].mapping.items()}
        response = client.post(
            inbox(world) + "import/review/",
            {
                "action": "confirm",
                "token": token,
                "preset": "zendesk",
                "mapping_edited": "1",
                "filename": "tickets.csv",
                **mapping,
            },
        )
        assert response.status_code == 200 and "3 created" in response.content.decode()
        assert FeedbackItem.objects.count() == 3
        assert not stored[0].exists()  # cleaned up


def test_import_page__shows_row_errors_and_refuses_big_files(world, tmp_path):
    client = signed_in(world)
    with override_settings(UPLOADS_DIR=tmp_path, FEEDBACK_IMPORT_MAX_BYTES=2000):
        bad = SimpleUploadedFile("bad.csv", b"text,date\nGood,2025-01-01\nBad,tomorrowish\n")
        html = client.post(inbox(world) + "import/", {"action": "upload", "file": bad}).content.decode()
        assert "tomorrowish" in html and '<td data-label="Row">3</td>' in html
        assert "Skip the 1 invalid row, import 1" in html
        big = SimpleUploadedFile("big.csv", b"text,date\n" + b"x,2025-01-01\n" * 2000)
        response = client.post(inbox(world) + "import/", {"action": "upload", "file": big})
        assert response.status_code == 400 and "the limit is" in response.content.decode()
        assert not [p for p in Path(tmp_path).rglob("*") if p.is_file() and p.stat().st_size > 2000]
    assert not FeedbackItem.objects.exists()


def test_import_page__stakeholder_is_refused_contributor_allowed(world):
    assert signed_in(world, Role.STAKEHOLDER).get(inbox(world) + "import/").status_code == 403
    assert signed_in(world, Role.CONTRIBUTOR).get(inbox(world) + "import/").status_code == 200


def test_tags_page(world, items):
    client = signed_in(world)
    html = client.get(inbox(world) + "tags/").content.decode()
    assert "dunning" in html
    assert client.post(inbox(world) + "tags/", {"name": "Pricing"}).status_code == 302
    assert client.post(inbox(world) + "tags/", {"name": "pricing"}).status_code == 400


def test_inbox_script_is_served_and_loaded_only_by_the_inbox(world, items):
    response = Client().get("/static/valueloop/inbox.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b'case "j"' in body and b"button.click()" in body
    detail = signed_in(world).get(f"{inbox(world)}{items['bank'].pk}/").content.decode()
    assert "inbox.js" not in detail
