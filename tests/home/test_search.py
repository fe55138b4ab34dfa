"""The search page (/w/<slug>/search/) and GET /api/v1/search: one search box over every kind (issue 12)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import build_for_module
from tests.factories import CommentFactory, CustomerFactory, FeatureFactory, FeedbackItemFactory
from valueloop.core.permissions import Role


def page(world, role: Role = Role.ADMIN, **params) -> str:
    client = Client()
    client.force_login(world.users[role])
    response = client.get(reverse("home:search", args=[world.ws_a.slug]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_search_page__groups_results_by_kind_with_counts_and_links(world):
    feature = FeatureFactory(workspace=world.ws_a, title="E-invoicing for Germany (XRechnung)")
    items = [FeedbackItemFactory(workspace=world.ws_a, text=f"When will XRechnung ship? ({n})") for n in range(12)]
    customer = CustomerFactory(workspace=world.ws_a, name="XRechnung Gmbh")
    html = page(world, q="xrechnung")
    headings = re.findall(r'<h2 id="search-(\w+)-h">([^<]+) <span class="search-count">(\d+)</span>', html)
    assert headings == [("feature", "Features", "1"), ("feedback", "Feedback", "12"), ("customer", "Customers", "1")]
    assert f'href="/w/{world.ws_a.slug}/features/{feature.pk}/"' in html
    assert f'href="/w/{world.ws_a.slug}/customers/{customer.pk}/"' in html
    assert html.count('class="search-hit"') == 1 + 10 + 1  # ten per kind on the first page
    assert "<mark>XRechnung</mark>" in html
    # "All 12 feedback" narrows the page to that kind and shows them all.
    assert "kind=feedback" in html and "All 12 feedback" in html
    narrowed = page(world, q="xrechnung", kind="feedback")
    assert narrowed.count('class="search-hit"') == len(items)
    assert 'id="search-feature"' not in narrowed


def test_search_page__too_short_empty_and_idle_states(world):
    assert 'data-search-state="too-short"' in page(world, q="x")
    empty = page(world, q="nothingmatchesthis")
    assert 'data-search-state="empty"' in empty and "Nothing matches" in empty
    idle = page(world)
    assert "data-search-state" not in idle and "<kbd>/</kbd>" in idle


def test_search_page__htmx_answers_the_results_fragment(world):
    FeatureFactory(workspace=world.ws_a, title="Dunning retries")
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    response = client.get(reverse("home:search", args=[world.ws_a.slug]), {"q": "dunning"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'class="search-hit"' in html and "<html" not in html
    # Page and fragment share the URL: Back from a result must not show the cached fragment.
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("query", ['"', "*", "NEAR(a b)", "-", ":", 'title:"x', "a OR", "^", "(("])
def test_search_page__fts_syntax_characters_never_error(world, query):
    FeatureFactory(workspace=world.ws_a, title="Near the title")
    page(world, q=query)


def test_search_page__shows_markdown_as_text_and_escapes_user_html(world):
    CommentFactory(workspace=world.ws_a, body="**Please** add `zanzibar` support <script>alert(1)</script>")
    FeatureFactory(workspace=world.ws_a, title="<script>alert(2)</script> zanzibar")
    html = page(world, q="zanzibar")
    results = html.split('id="search-results"')[1]
    assert "**" not in results and "`" not in results
    assert "<script>alert" not in results and "&lt;script&gt;alert(2)" in results


def test_search_page__another_workspaces_rows_never_appear(world):
    FeatureFactory(workspace=world.ws_b, title="Secret zanzibar plan")
    CustomerFactory(workspace=world.ws_b, name="Zanzibar Secret Ltd")
    html = page(world, q="zanzibar")
    assert "Secret" not in html and 'data-search-state="empty"' in html


@pytest.mark.parametrize("role", list(Role))
def test_search_page__every_role_may_search(world, role):
    FeatureFactory(workspace=world.ws_a, title="Zanzibar export")
    assert 'class="search-hit"' in page(world, role, q="zanzibar")


# --- the API ----------------------------------------------------------------------------------------------------


def test_search_api__grouped_hits_with_plain_and_marked_text(world, api_client_for):
    feature = FeatureFactory(workspace=world.ws_a, title="Zanzibar **export**", description="Ship **zanzibar**")
    FeedbackItemFactory(workspace=world.ws_a, text="We need zanzibar")
    FeatureFactory(workspace=world.ws_b, title="Zanzibar elsewhere")
    response = api_client_for(Role.STAKEHOLDER).get("/api/v1/search", {"q": "zanzibar"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["query"] == "zanzibar" and body["total"] == 2
    assert [(g["kind"], g["count"]) for g in body["groups"]] == [("feature", 1), ("feedback", 1)]
    hit = body["groups"][0]["hits"][0]
    assert hit["id"] == feature.pk and hit["url"].endswith(f"/w/{world.ws_a.slug}/features/{feature.pk}/")
    assert hit["snippet"] == "Ship zanzibar" and hit["snippet_html"] == "Ship <mark>zanzibar</mark>"
    assert "feature" in body["kinds"] and "member" in body["kinds"]


def test_search_api__kinds_and_limit(world, api_client_for):
    for n in range(3):
        FeatureFactory(workspace=world.ws_a, title=f"Zanzibar {n}")
    FeedbackItemFactory(workspace=world.ws_a, text="zanzibar again")
    client = api_client_for(Role.CONTRIBUTOR)
    body = client.get("/api/v1/search", {"q": "zanzibar", "kinds": "feature", "limit": 2}).json()
    assert body["kinds"] == ["feature"]
    assert [(g["kind"], g["count"], len(g["hits"])) for g in body["groups"]] == [("feature", 3, 2)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "z"}, "q"),
        ({}, "q"),
        ({"q": "zanzibar", "kinds": "feature,spaceships"}, "kinds"),
        ({"q": "zanzibar", "limit": 0}, "limit"),
        ({"q": "zanzibar", "limit": 51}, "limit"),
    ],
)
def test_search_api__bad_input_names_the_field(world, api_client_for, params, field):
    response = api_client_for(Role.ADMIN).get("/api/v1/search", params)
    assert response.status_code == 422, response.content
    assert field in [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize("query", ['"', '"a', "NEAR(a b)", "a -", "x:y", "* OR *", "^^"])
def test_search_api__fts_syntax_characters_never_error(world, api_client_for, query):
    response = api_client_for(Role.ADMIN).get("/api/v1/search", {"q": query})
    assert response.status_code in (200, 422), response.content


# --- the demo: what the issue tried ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(module_transaction, django_db_blocker):
    from valueloop.demo import build_demo

    return build_for_module(django_db_blocker, lambda: build_demo(scale="small", seed=7))


def demo_page(demo, query: str) -> str:
    from valueloop.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email__startswith="victor@"))  # the demo's stakeholder
    response = client.get(reverse("home:search", args=[demo.workspace.slug]), {"q": query})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.slow
def test_demo__xrechnung_finds_the_feature_and_the_feedback(db, demo):
    from valueloop.feedback.models import FeedbackItem
    from valueloop.planning.models import Feature

    html = demo_page(demo, "XRechnung")
    feature = Feature.objects.get(workspace=demo.workspace, title__contains="XRechnung")
    assert f"/features/{feature.pk}/" in html
    mentions = FeedbackItem.objects.filter(workspace=demo.workspace, text__icontains="xrechnung").count()
    assert mentions >= 10
    count = re.search(r'<h2 id="search-feedback-h">Feedback <span class="search-count">(\d+)</span>', html)
    assert count and int(count.group(1)) >= mentions
    assert "Nothing matches" not in html


@pytest.mark.slow
def test_demo__acme_networks_finds_the_customer(db, demo):
    from valueloop.customers.models import Customer

    html = demo_page(demo, "Acme Networks")
    customer = Customer.objects.get(workspace=demo.workspace, name__startswith="Acme Networks")
    assert f"/customers/{customer.pk}/" in html and "<mark>Acme</mark> <mark>Networks</mark>" in html
