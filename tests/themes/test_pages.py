"""Pages and API of themes: render, act, and say what to do when empty."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from tests.conftest import token_client
from valueloop.core.permissions import Role
from valueloop.themes.models import Theme, ThemeAssignment


@pytest.fixture
def pm_client(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    return client


def test_pages__empty_workspace_says_what_to_do(world, pm_client):
    slug = world.ws_a.slug
    text = pm_client.get(f"/w/{slug}/themes/").content.decode()
    assert "No themes yet" in text and f"/w/{slug}/feedback/import/" in text
    text = pm_client.get(f"/w/{slug}/signals/").content.decode()
    assert "Emerging needs show up here" in text and "PESTEL" in text
    assert pm_client.get(f"/w/{slug}/themes/skipped/").status_code == 200
    assert "Nothing stood out" not in pm_client.get(f"/w/{slug}/themes/digest/").content.decode()


def test_pages__list_detail_and_feedback_chip_render(themed, pm_client):
    slug = themed.ws.slug
    theme = themed.themes()[0]
    listing = pm_client.get(f"/w/{slug}/themes/?sort=arr").content.decode()
    assert theme.name in listing and 'class="chart-svg chart-spark"' in listing and "Re-cluster now" in listing
    partial = pm_client.get(
        f"/w/{slug}/themes/?q={theme.keyphrases[0]}", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="theme-results"
    )
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    detail = pm_client.get(f"/w/{slug}/themes/{theme.pk}/").content.decode()
    for words in (
        "Most representative",
        "Volume over time",
        "Segments",
        "Sources",
        "Sentiment",
        "approximate",
        "Create problem from theme",
        "Merge into",
        "Split in two",
        "Recent runs",
    ):
        assert words in detail, words
    item = ThemeAssignment.objects.filter(theme=theme).select_related("item").first().item
    chip = pm_client.get(f"/w/{slug}/feedback/{item.feedback_id}/").content.decode()
    assert f"Theme: {theme.name}"[:40] in chip and f"/w/{slug}/themes/{theme.pk}/" in chip
    inbox = pm_client.get(f"/w/{slug}/feedback/").content.decode()
    assert f"/w/{slug}/themes/" in inbox


def test_pages__stakeholders_read_but_do_not_curate(themed, world):
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    slug = themed.ws.slug
    theme = themed.themes()[0]
    detail = client.get(f"/w/{slug}/themes/{theme.pk}/").content.decode()
    assert theme.name in detail and "Merge into" not in detail and "Create problem" not in detail
    assert "Re-cluster now" not in client.get(f"/w/{slug}/themes/").content.decode()
    assert client.post(f"/w/{slug}/themes/{theme.pk}/rename/", {"name": "x"}).status_code == 403


def test_pages__rename_merge_move_and_problem_from_the_theme_page(themed, pm_client):
    slug = themed.ws.slug
    a, b = themed.themes()[:2]
    response = pm_client.post(f"/w/{slug}/themes/{a.pk}/rename/", {"name": "Our name", "version": a.version})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.name == "Our name" and a.name_set_by_pm
    stale = pm_client.post(f"/w/{slug}/themes/{a.pk}/rename/", {"name": "x", "version": 1})
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    item_id = ThemeAssignment.objects.filter(theme=b).first().item_id
    response = pm_client.post(f"/w/{slug}/themes/{b.pk}/move/", {"item_ids": [item_id], "to_theme_id": a.pk})
    assert response.status_code == 302 and ThemeAssignment.objects.get(item_id=item_id).theme_id == a.pk
    response = pm_client.post(f"/w/{slug}/themes/{b.pk}/merge/", {"into_id": a.pk})
    assert response["Location"] == f"/w/{slug}/themes/{a.pk}/"
    assert Theme.objects.get(pk=b.pk).status == "merged"
    response = pm_client.post(f"/w/{slug}/themes/{a.pk}/problem/", {"title": "Customers need X"})
    a.refresh_from_db()
    assert response.status_code == 302 and a.problem.title == "Customers need X"
    missing = pm_client.post(f"/w/{slug}/themes/{a.pk}/merge/", {})
    assert missing.status_code == 400 and "Choose a theme." in missing.content.decode()


def test_pages__split_preview_then_apply(themed, pm_client):
    slug = themed.ws.slug
    theme = max(themed.themes(), key=lambda t: t.size)
    page = pm_client.get(f"/w/{slug}/themes/{theme.pk}/split/")
    text = page.content.decode()
    assert page.status_code == 200 and "Apply the split" in text and "New theme" in text
    token = text.split('name="token" value="')[1].split('"')[0]
    before = Theme.objects.filter(workspace=themed.ws).count()
    response = pm_client.post(f"/w/{slug}/themes/{theme.pk}/split/", {"token": token, "version": theme.version})
    assert response.status_code == 302
    assert Theme.objects.filter(workspace=themed.ws).count() == before + 1


def test_api__list_detail_rename_and_emerging(themed, world):
    client = token_client(themed.pm)
    listing = client.get("/api/v1/themes?sort=arr").json()
    assert listing["count"] == len(themed.themes())
    assert {t["arr"]["currency"] for t in listing["items"]} == {themed.ws.currency}
    arrs = [Decimal(t["arr"]["amount"]) for t in listing["items"]]
    assert arrs == sorted(arrs, reverse=True)
    theme = listing["items"][0]
    detail = client.get(f"/api/v1/themes/{theme['id']}").json()
    assert detail["representative_quotes"] and len(detail["volume"]) == 26 and detail["segments"]
    patched = client.patch(
        f"/api/v1/themes/{theme['id']}",
        data=json.dumps({"name": "API name", "version": theme["version"]}),
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["name"] == "API name"
    stale = client.patch(
        f"/api/v1/themes/{theme['id']}",
        data=json.dumps({"name": "Again", "version": 1}),
        content_type="application/json",
    )
    assert stale.status_code == 409
    assert client.get("/api/v1/themes/emerging").json()["count"] == 0
    items = client.get(f"/api/v1/themes/{theme['id']}/items?page_size=5").json()
    assert items["count"] == theme["items"] and len(items["items"]) == 5
    runs = client.get("/api/v1/themes/runs").json()
    assert runs["items"][0]["kind"] == "recluster"
    assert token_client(world.actor(Role.STAKEHOLDER)).post("/api/v1/themes/runs").status_code == 403


def test_api__problem_from_theme_and_split(themed):
    client = token_client(themed.pm)
    theme = max(themed.themes(), key=lambda t: t.size)
    preview = client.get(f"/api/v1/themes/{theme.pk}/split").json()
    assert len(preview["parts"]) == 2
    done = client.post(
        f"/api/v1/themes/{theme.pk}/split",
        data=json.dumps({"token": preview["token"]}),
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["new_theme"]["items"] == preview["parts"][1]["size"]
    created = client.post(f"/api/v1/themes/{theme.pk}/problem", data="{}", content_type="application/json")
    assert created.status_code == 201 and created.json()["linked"] == done.json()["theme"]["items"]
