"""The home page and the product list API after the CPU work of issue 2: same output, fewer queries, fresh counts."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import token_client
from valueloop.core import context_processors
from valueloop.core.permissions import Role
from valueloop.home import selectors as home_selectors
from valueloop.workspaces import services as ws_services
from valueloop.workspaces.models import Product


def _stat(html: str, label: str) -> int:
    match = re.search(r"<strong>(\d+)</strong> " + label, html)
    assert match, label
    return int(match.group(1))


def _home(client: Client, world) -> str:
    response = client.get(f"/w/{world.ws_a.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def test_home_counts_follow_writes_at_once(world):
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    html = _home(client, world)
    assert (_stat(html, "products"), _stat(html, "product areas"), _stat(html, "members")) == (1, 1, len(Role))

    product = ws_services.product_create(actor=world.actor_a, name="Gamma", key="GAM")
    ws_services.area_create(actor=world.actor_a, product_id=product.pk, name="Exports")
    html = _home(client, world)
    assert (_stat(html, "products"), _stat(html, "product areas")) == (2, 2)

    ws_services.product_archive(actor=world.actor_a, product_id=product.pk)
    ws_services.member_remove(actor=world.actor_a, membership_id=world.member(Role.STAKEHOLDER).pk)
    html = _home(client, world)
    assert (_stat(html, "products"), _stat(html, "members")) == (1, len(Role) - 1)


def test_home_counts_expire_for_writes_without_signals(world, monkeypatch):
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    assert _stat(_home(client, world), "products") == 1
    Product.objects.bulk_create([Product(workspace=world.ws_a, name="Bulk", key="BLK")])  # sends no signal
    assert _stat(_home(client, world), "products") == 1  # cached, for at most SUMMARY_TTL seconds
    clock = home_selectors.time.monotonic() + home_selectors.SUMMARY_TTL + 0.01
    monkeypatch.setattr(home_selectors.time, "monotonic", lambda: clock)
    assert _stat(_home(client, world), "products") == 2


def test_home_counts_are_per_workspace(world):
    home_selectors.home_summary(actor=world.actor_a)
    ws_services.product_create(actor=world.actor_b, name="Beta Two", key="BE2")
    assert home_selectors.home_summary(actor=world.actor_a)["products"] == 1
    assert home_selectors.home_summary(actor=world.actor_b)["products"] == 2


def test_home_queries_drop_once_the_counts_are_cached(world):
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    _home(client, world)  # the first visit also writes the session
    with CaptureQueriesContext(connection) as cached:
        _home(client, world)
    home_selectors.forget_summary(world.ws_a.pk)
    with CaptureQueriesContext(connection) as fresh:
        _home(client, world)

    def counts(ctx):
        return [q for q in ctx.captured_queries if q["sql"].startswith('SELECT COUNT(*) AS "__count" FROM "workspaces')]

    assert (len(counts(cached)), len(counts(fresh))) == (0, 3)  # products, areas, members
    assert len(fresh.captured_queries) - len(cached.captured_queries) == 3
    assert len(cached.captured_queries) <= 4  # user, membership, unread notifications, recent changes


def _current(html: str) -> list[str]:
    sidebar = html[html.index('<nav id="sidebar"') : html.index("</nav>", html.index('<nav id="sidebar"'))]
    return re.findall(r'<a href="([^"]+)" aria-current="page">', sidebar)


def test_shell_links_and_highlighting_are_unchanged(world):
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    slug = world.ws_a.slug
    html = client.get(f"/w/{slug}/planning/").content.decode()
    expected = {
        reverse("home:index"),
        reverse("home:workspaces"),
        reverse("accounts:profile"),
        reverse("accounts:logout"),
        reverse("home:workspace", args=[slug]),
        reverse("home:search", args=[slug]),
        reverse("workspaces:product_list", args=[slug]),
        reverse("workspaces:members", args=[slug]),
        reverse("collaboration:notifications", args=[slug]),
        reverse("home:audit", args=[slug]),
        reverse("accounts:tokens", args=[slug]),
        reverse("workspaces:settings", args=[slug]),
    }
    for key in context_processors.SECTION_URL_NAMES | {"launches": None, "operations": None}:
        expected.add(context_processors.section_href(slug, key))
    hrefs = set(re.findall(r'(?:href|action)="([^"]+)"', html))
    assert expected <= hrefs
    assert _current(html) == [reverse("planning:ranking", args=[slug])]
    # A section without a page of its own links to the empty state, which is highlighted there.
    html = client.get(f"/w/{slug}/launches/").content.decode()
    assert _current(html) == [f"/w/{slug}/launches/"]
    html = client.get(f"/w/{slug}/").content.decode()
    assert _current(html) == [f"/w/{slug}/"]
    # Signed out: the shell's global links still render.
    html = Client().get(reverse("accounts:login")).content.decode()
    assert f'href="{reverse("home:index")}"' in html and f'href="{reverse("accounts:login")}"' in html


def test_shell_links_are_per_workspace_and_script_prefix(world):
    _, links_a = context_processors._workspace_links("/", world.ws_a.slug)
    _, links_b = context_processors._workspace_links("/", world.ws_b.slug)
    assert links_a["members"] != links_b["members"] and world.ws_b.slug in links_b["members"]
    from django.urls import set_script_prefix

    try:
        set_script_prefix("/valueloop/")
        _, prefixed = context_processors._workspace_links("/valueloop/", world.ws_a.slug)
    finally:
        set_script_prefix("/")
    assert prefixed["members"] == "/valueloop" + links_a["members"]


def test_a_section_url_that_does_not_resolve_falls_back_to_the_empty_state(world, monkeypatch):
    monkeypatch.setitem(context_processors.SECTION_URL_NAMES, "launches", "nowhere:launch_list")
    monkeypatch.setattr(context_processors, "_resolved", {})
    assert context_processors.section_href(world.ws_a.slug, "launches") == f"/w/{world.ws_a.slug}/launches/"


@pytest.mark.parametrize("archived", [False, True])
def test_product_list_items_equal_the_detail_answers(world, archived):
    """The list serialises plain rows; every item must equal what the detail endpoint says about that product."""
    for i in range(3):
        ws_services.product_create(actor=world.actor_a, name=f"P{i}", key=f"P{i}", description=f"About <{i}> & more")
    if archived:
        ws_services.product_archive(actor=world.actor_a, product_id=world.product_a.pk)
    client = token_client(world.actor_a)
    page = client.get(f"/api/v1/products?page=1&page_size=50&include_archived={str(archived).lower()}").json()
    assert page["count"] == 4 and len(page["items"]) == 4
    for item in page["items"]:
        assert item == client.get(f"/api/v1/products/{item['id']}").json()
    assert {item["archived_at"] is not None for item in page["items"]} == ({False, True} if archived else {False})


def test_recent_changes_read_as_words(world):
    """Entity kinds and evidence links read as words on the home page and in the audit log (issue 12): no
    ``experiment_decision``, no ``feature 4 ← learning 1``, no Python dicts."""
    from tests.factories import FeedbackItemFactory
    from valueloop.core.audit import audit_record
    from valueloop.evidence.services import evidence_link

    item = FeedbackItemFactory(workspace=world.ws_a, title="Exports time out", text="Exports time out at 10k rows")
    evidence_link(actor=world.actor_a, feedback_id=item.pk, target_type="feature", target_id=world.feature_a.pk)
    audit_record(
        actor=world.actor_a.user,
        workspace=world.ws_a,
        via="web",
        entity_type="experiment_decision",
        entity_id=1,
        entity_label="Checkout test",
        action="created",
        changes={"rules": [[], [{"uid": "fr_1", "kind": "force", "value": True}]]},
    )
    client = Client()
    client.force_login(world.actor_a.user)
    home = _home(client, world)
    assert "created experiment decision <em>Checkout test</em>" in home
    assert "“Alpha feature” ← feedback “Exports time out”" in home
    assert "experiment_decision" not in home and f"feature {world.feature_a.pk} ←" not in home
    audit = client.get(f"/w/{world.ws_a.slug}/audit/").content.decode()
    assert "rules: 1 added" in audit and "{&#x27;uid" not in audit and "'uid'" not in audit
