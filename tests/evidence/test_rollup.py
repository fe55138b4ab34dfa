"""The roll-up behind a problem or feature: accounts and ARR counted once, segments, personas,
quotes, demand over time; and the pages that show it."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tests.charts import assert_every_chart_complete
from tests.conftest import token_client
from tests.factories import CustomerFactory, FeedbackItemFactory, PersonaFactory
from valueloop.core.permissions import Role
from valueloop.evidence.facade import evidence_panel
from valueloop.evidence.models import Evidence
from valueloop.evidence.selectors import rollup
from valueloop.evidence.services import evidence_link
from valueloop.research.services import highlight_create, interview_create


@pytest.fixture
def linked(world):
    ws = world.ws_a
    acme = CustomerFactory(workspace=ws, name="Acme", arr=100000, segment="enterprise")
    bolt = CustomerFactory(workspace=ws, name="Bolt", arr=50000, segment="smb")
    gone = CustomerFactory(workspace=ws, name="Gone Ltd", arr=999999, segment="smb", archived_at=timezone.now())
    cfo = PersonaFactory(workspace=ws, name="CFO")
    clerk = PersonaFactory(workspace=ws, name="AP clerk")
    items = [
        FeedbackItemFactory(
            workspace=ws, text="Acme one: reconciliation takes days", customer=acme, days_ago=70, personas=[cfo]
        ),
        FeedbackItemFactory(
            workspace=ws,
            text="Acme two: please automate the bank match",
            customer=acme,
            days_ago=40,
            personas=[cfo, clerk],
        ),
        FeedbackItemFactory(
            workspace=ws, text="Acme three: month-end is painful", customer=acme, days_ago=5, personas=[clerk]
        ),
        FeedbackItemFactory(workspace=ws, text="Bolt: we close the books in Excel", customer=bolt, days_ago=35),
        FeedbackItemFactory(workspace=ws, text="Anonymous: reconciling is slow", days_ago=1),
        FeedbackItemFactory(workspace=ws, text="Gone: we left over this", customer=gone, days_ago=2),
    ]
    importances = [2, 4, 1, 4, 3, 4]
    for item, importance in zip(items, importances, strict=True):
        evidence_link(
            actor=world.actor_a,
            target_type="problem",
            target_id=world.problem_a.pk,
            feedback_id=item.pk,
            importance=importance,
        )
    return {"acme": acme, "bolt": bolt, "gone": gone, "items": items, "cfo": cfo, "clerk": clerk}


def test_rollup__accounts_and_arr_count_each_account_once(world, linked):
    summary = rollup(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk)
    assert summary.count == 6
    # Acme (3 items) once + Bolt; the archived account stays out of the roll-up like everywhere else.
    assert summary.accounts == 2
    assert summary.arr == Decimal("150000.00")
    segments = {s["segment"]: s for s in summary.by_segment}
    assert segments["enterprise"]["accounts"] == 1 and segments["enterprise"]["arr"] == Decimal("100000")
    assert segments["enterprise"]["items"] == 3
    assert segments["smb"]["accounts"] == 1 and segments["smb"]["arr"] == Decimal("50000")
    assert segments["none"]["items"] == 1  # the anonymous item
    personas = {p["label"]: p for p in summary.by_persona}
    assert personas["CFO"]["items"] == 2 and personas["CFO"]["accounts"] == 1
    assert personas["AP clerk"]["items"] == 2


def test_rollup__strongest_then_newest_quotes(world, linked):
    summary = rollup(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, quotes=3)
    # importance 4 first, ties broken by the account's ARR (Gone Ltd's ARR is large but it is ranked by the row).
    strongest = [e.feedback_id for e in summary.strongest]
    items = linked["items"]
    assert strongest[:3] == [items[5].pk, items[1].pk, items[3].pk]
    newest = [e.feedback_id for e in summary.newest]
    assert newest == [items[4].pk, items[5].pk, items[2].pk]
    assert summary.strongest[0].excerpt.startswith("Gone:")


def test_rollup__demand_per_month_items_and_unique_accounts(world, linked):
    summary = rollup(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk)
    assert len(summary.months) >= 6
    assert sum(m.items for m in summary.months) == 6
    this_month = timezone.now().date().replace(day=1)
    assert summary.months[-1].start == this_month
    by_month = {m.start: m for m in summary.months}
    acme_month = (timezone.now() - dt.timedelta(days=40)).date().replace(day=1)
    assert by_month[acme_month].items >= 1


def test_rollup__quotes_from_interviews_without_consent_are_never_shown(world):
    interview = interview_create(
        actor=world.actor_a, title="Call", happened_on="2026-01-10", notes="Secret words here.", consent=True
    )
    highlight = highlight_create(actor=world.actor_a, interview_id=interview.pk, text="Secret words")
    evidence_link(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, highlight_id=highlight.pk)
    interview.consent = False  # consent withdrawn afterwards
    interview.save(update_fields=["consent"])
    summary = rollup(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk)
    assert summary.count == 1 and summary.strongest == [] and summary.newest == []


def test_evidence_panel__keeps_its_template_keys(world, linked):
    panel = evidence_panel(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk)["evidence"]
    for key in ("count", "accounts", "arr", "currency", "by_segment", "quotes"):
        assert key in panel
    assert panel["chart"] is not None and "<svg" in panel["chart"].svg
    assert panel["loop"] is None  # not a released feature


def test_evidence_panel__parts_are_computed_on_first_use_with_flat_queries(
    world, linked, django_assert_num_queries, django_assert_max_num_queries
):
    with django_assert_num_queries(0):
        panel = evidence_panel(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk)["evidence"]
    with django_assert_num_queries(2):  # the accounts and their segments: what a Cost of Delay hint needs
        assert panel["arr"] == Decimal("150000") and panel["accounts"] == 2
    with django_assert_max_num_queries(8):
        values = dict(panel)
    assert values["count"] == 6 and len(values["quotes"]) == 5 and values["chart"] is not None
    more = CustomerFactory(workspace=world.ws_a, name="More", arr=5, segment="smb")
    for n in range(30):  # more links cost no more queries
        item = FeedbackItemFactory(workspace=world.ws_a, text=f"more {n}", customer=more, days_ago=n)
        evidence_link(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, feedback_id=item.pk)
    with django_assert_max_num_queries(8):
        dict(evidence_panel(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk)["evidence"])


def test_problem_page__shows_numbers_chart_and_data_table(world, linked):
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    html = client.get(f"/w/{world.ws_a.slug}/problems/{world.problem_a.pk}/").content.decode()
    assert "150,000" in html or "150.000" in html or "150000" in html
    assert 'role="img"' in html and "<svg" in html and "Show the data as a table" in html
    assert_every_chart_complete(html)
    assert "Strongest quotes" in html and "Newest quotes" in html
    assert "Acme two: please automate" in html


def test_evidence_page__lists_filters_and_paginates(world, linked):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    url = f"/w/{world.ws_a.slug}/evidence/problem/{world.problem_a.pk}/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Bolt: we close the books" in html and "Anonymous: reconciling" in html
    html = client.get(url + "?segment=smb").content.decode()
    assert "Bolt: we close the books" in html and "Acme one" not in html
    html = client.get(url + f"?persona={linked['cfo'].pk}").content.decode()
    assert "Acme one" in html and "Bolt:" not in html.split("Linked items")[1]
    html = client.get(url + "?importance=4&sort=strongest").content.decode()
    assert "Acme two" in html and "Acme one" not in html.split("Linked items")[1]
    html = client.get(url + "?q=excel").content.decode()
    assert "Bolt: we close the books in Excel" in html
    assert client.get(f"/w/{world.ws_a.slug}/evidence/customer/{world.problem_a.pk}/").status_code == 404
    assert client.get(f"/w/{world.ws_a.slug}/evidence/problem/{world.problem_b.pk}/").status_code == 404


def test_evidence_page__paginates_fifty_a_page(world):
    acme = CustomerFactory(workspace=world.ws_a, name="Acme", arr=1000, segment="smb")
    for n in range(55):
        item = FeedbackItemFactory(workspace=world.ws_a, text=f"item number {n}", customer=acme, days_ago=n)
        Evidence.objects.create(
            workspace=world.ws_a,
            feedback=item,
            target_type="feature",
            target_id=world.feature_a.pk,
            customer=acme,
            said_at=item.received_at,
        )
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    url = f"/w/{world.ws_a.slug}/evidence/feature/{world.feature_a.pk}/"
    first = client.get(url).content.decode()
    assert "Page 1 of 2" in first and "item number 0<" in first.replace("</blockquote>", "<")
    second = client.get(url + "?page=2").content.decode()
    assert "item number 54" in second


def test_link_pages__link_with_a_quote_update_and_unlink(world):
    acme = CustomerFactory(workspace=world.ws_a, name="Acme", arr=1000, segment="smb")
    item = FeedbackItemFactory(workspace=world.ws_a, text="Line one\nWe need webhook retries badly.", customer=acme)
    client = Client()
    client.force_login(world.users[Role.PRODUCT_OWNER])
    ws = world.ws_a.slug
    text = item.text
    start = text.index("webhook retries")
    response = client.post(
        f"/w/{ws}/evidence/link/",
        {
            "feedback_id": item.pk,
            "target": f"feature:{world.feature_a.pk}",
            "importance": "3",
            "quote": "webhook retries",
            "quote_start": str(start),
            "quote_end": str(start + len("webhook retries")),
            "next": f"/w/{ws}/features/{world.feature_a.pk}/",
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/w/{ws}/features/{world.feature_a.pk}/"
    evidence = Evidence.objects.get(feedback=item)
    assert evidence.quote == "webhook retries" and evidence.importance == 3
    # an off-site "next" is ignored
    response = client.post(
        f"/w/{ws}/evidence/links/{evidence.pk}/", {"importance": "1", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and "evil" not in response["Location"]
    evidence.refresh_from_db()
    assert evidence.importance == 1
    response = client.post(
        f"/w/{ws}/evidence/link/", {"feedback_id": item.pk, "target": f"feature:{world.feature_a.pk}"}
    )
    assert response.status_code == 302  # duplicate: back with a message
    assert Evidence.objects.filter(feedback=item).count() == 1
    response = client.post(f"/w/{ws}/evidence/links/{evidence.pk}/delete/")
    assert response.status_code == 302 and not Evidence.objects.filter(feedback=item).exists()


def test_link_form__htmx_partial_and_type_ahead(world):
    item = FeedbackItemFactory(workspace=world.ws_a, text="Need a cash forecast")
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    ws = world.ws_a.slug
    options = client.get(f"/w/{ws}/evidence/targets/?q=alpha+feat&for=lf-target-{item.pk}", HTTP_HX_REQUEST="true")
    html = options.content.decode()
    assert options.status_code == 200 and f'value="feature:{world.feature_a.pk}"' in html
    assert "problem:" not in html and "Beta" not in html
    response = client.post(
        f"/w/{ws}/evidence/link/",
        {"feedback_id": item.pk, "target": f"problem:{world.problem_a.pk}", "importance": "2"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Linked to problem" in html and "Alpha problem" in html
    assert "<html" not in html
    bad = client.post(f"/w/{ws}/evidence/link/", {"feedback_id": item.pk, "target": ""}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "Choose a problem or a feature" in bad.content.decode()


def test_link_form_context__renders_for_a_feedback_item(world):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from valueloop.evidence.facade import link_form_context

    item = FeedbackItemFactory(workspace=world.ws_a, text="Quote me, please.")
    evidence_link(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, feedback_id=item.pk)
    request = RequestFactory().get("/")
    request.user = world.users[Role.ADMIN]
    request.actor = world.actor_a
    html = render_to_string("evidence/_link_form.html", link_form_context(world.actor_a, item), request=request)
    assert 'data-select-source="lf-' in html and "Quote me, please." in html and "Alpha problem" in html
    assert "<script" not in html and "<link" not in html  # a partial links no assets: its page does, in <head>
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    page = client.get(f"/w/{world.ws_a.slug}/feedback/{item.pk}/").content.decode()
    head = page[: page.index("</head>")]
    assert "valueloop/highlight.js" in head and "evidence/evidence.css" in head
    viewer = link_form_context(world.actor(Role.STAKEHOLDER), item)["link_form"]
    assert viewer["can_write"] is False


def test_stakeholders_cannot_link_from_pages(world):
    item = FeedbackItemFactory(workspace=world.ws_a, text="x")
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    response = client.post(
        f"/w/{world.ws_a.slug}/evidence/link/", {"feedback_id": item.pk, "target": f"problem:{world.problem_a.pk}"}
    )
    assert response.status_code == 403 and not Evidence.objects.exists()


def test_api__create_list_summary_update_delete(world):
    acme = CustomerFactory(workspace=world.ws_a, name="Acme", arr=2000, segment="smb")
    item = FeedbackItemFactory(workspace=world.ws_a, text="Retries for webhooks", customer=acme)
    client = token_client(world.actor(Role.PRODUCT_MANAGER))
    response = client.post(
        "/api/v1/evidence",
        json.dumps(
            {
                "target_type": "feature",
                "target_id": world.feature_a.pk,
                "feedback_id": item.pk,
                "importance": 4,
                "quote": "webhooks",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["quote"] == "webhooks" and body["customer_id"] == acme.pk
    again = client.post(
        "/api/v1/evidence",
        json.dumps({"target_type": "feature", "target_id": world.feature_a.pk, "feedback_id": item.pk}),
        content_type="application/json",
    )
    assert again.status_code == 409 and again.json()["code"] == "duplicate"
    listing = client.get(f"/api/v1/evidence?target_type=feature&target_id={world.feature_a.pk}").json()
    assert listing["count"] == 1
    summary = client.get(f"/api/v1/features/{world.feature_a.pk}/evidence-summary").json()
    assert summary["count"] == 1 and summary["accounts"] == 1
    assert summary["arr"] == {"amount": "2000.00", "currency": "USD"}
    assert summary["strongest"][0]["id"] == body["id"]
    patched = client.patch(
        f"/api/v1/evidence/{body['id']}", json.dumps({"importance": 1}), content_type="application/json"
    )
    assert patched.json()["importance"] == 1
    assert client.delete(f"/api/v1/evidence/{body['id']}").status_code == 204
    bad = client.post(
        "/api/v1/evidence",
        json.dumps(
            {"target_type": "feature", "target_id": world.feature_a.pk, "feedback_id": item.pk, "quote_start": 3}
        ),
        content_type="application/json",
    )
    assert bad.status_code == 422


def test_contributors_record_evidence_from_pages(world):
    """Support, sales and research (contributors) hold voice.write: they link what customers said."""
    item = FeedbackItemFactory(workspace=world.ws_a, text="x")
    client = Client()
    client.force_login(world.users[Role.CONTRIBUTOR])
    client.post(
        f"/w/{world.ws_a.slug}/evidence/link/", {"feedback_id": item.pk, "target": f"problem:{world.problem_a.pk}"}
    )
    assert Evidence.objects.filter(feedback=item, target_id=world.problem_a.pk).exists()
