"""Themes' page forms: each curation of the theme page posts to its own URL; bad input (another workspace's theme,
problem or item, a missing choice, a stale version) is answered beside the field with nothing written."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import ThemeFactory
from tests.page_forms import audit_unchanged, error_beside  # noqa: F401  (the ``audit_unchanged`` fixture)
from valueloop.core.permissions import Role
from valueloop.themes.models import Theme, ThemeAssignment


@pytest.fixture
def pm_client(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    return client


@pytest.mark.usefixtures("audit_unchanged")
def test_theme_merge_view__another_workspaces_theme_is_a_field_error(themed, pm_client):
    slug, (a, b) = themed.ws.slug, themed.themes()[:2]
    beta = ThemeFactory(workspace=themed.world.ws_b, name="Beta theme")
    response = pm_client.post(f"/w/{slug}/themes/{a.pk}/merge/", {"into_id": beta.pk, "version": a.version})
    assert response.status_code == 400
    assert error_beside(response, "merge-into_id") == "No such theme in this workspace; choose one from the list."
    same = pm_client.post(f"/w/{slug}/themes/{a.pk}/merge/", {"into_id": a.pk})
    assert same.status_code == 400 and error_beside(same, "merge-into_id").startswith("No such theme")
    assert Theme.objects.get(pk=a.pk).status == "active" and Theme.objects.get(pk=beta.pk).status == "active"
    assert pm_client.post(f"/w/{slug}/themes/{beta.pk}/merge/", {"into_id": b.pk}).status_code == 404


@pytest.mark.usefixtures("audit_unchanged")
def test_theme_link_problem_view__another_workspaces_problem_is_a_field_error(themed, pm_client):
    theme = themed.themes()[0]
    url = f"/w/{themed.ws.slug}/themes/{theme.pk}/link-problem/"
    response = pm_client.post(url, {"problem_id": themed.world.problem_b.pk})
    assert response.status_code == 400 and "Beta problem" not in response.content.decode()
    assert error_beside(response, "link-problem_id") == "No such problem in this workspace; choose one from the list."
    missing = pm_client.post(url, {"problem_id": ""})
    assert missing.status_code == 400 and error_beside(missing, "link-problem_id") == "Choose a problem."
    assert Theme.objects.get(pk=theme.pk).problem_id is None


@pytest.mark.usefixtures("audit_unchanged")
def test_theme_move_view__bad_ids_and_missing_target_beside_the_fields_ticks_kept(themed, pm_client):
    slug, (a, b) = themed.ws.slug, themed.themes()[:2]
    item_id = ThemeAssignment.objects.filter(theme=b).first().item_id
    url = f"/w/{slug}/themes/{b.pk}/move/"
    no_target = pm_client.post(url, {"item_ids": [item_id], "to_theme_id": ""})
    assert no_target.status_code == 400
    assert error_beside(no_target, "move-to_theme_id") == "Choose the theme to move them to."
    assert f'value="{item_id}" id="item-{item_id}" aria-label="Select this item to move it" checked' in (
        no_target.content.decode()
    )
    bad_id = pm_client.post(url, {"item_ids": [item_id, "x"], "to_theme_id": a.pk})
    assert bad_id.status_code == 400 and "Enter a whole number." in bad_id.content.decode()
    no_name = pm_client.post(url, {"item_ids": [item_id], "to_theme_id": "new", "new_theme_name": " "})
    assert no_name.status_code == 400 and error_beside(no_name, "move-new_theme_name")
    assert ThemeAssignment.objects.get(item_id=item_id).theme_id == b.pk


def test_theme_move_view__to_a_new_theme_creates_it(themed, pm_client):
    slug, b = themed.ws.slug, themed.themes()[1]
    item_id = ThemeAssignment.objects.filter(theme=b).first().item_id
    response = pm_client.post(
        f"/w/{slug}/themes/{b.pk}/move/", {"item_ids": [item_id], "to_theme_id": "new", "new_theme_name": "Mine"}
    )
    created = Theme.objects.get(workspace=themed.ws, name="Mine")
    assert response.status_code == 302 and response["Location"] == f"/w/{slug}/themes/{created.pk}/"
    assert ThemeAssignment.objects.get(item_id=item_id).theme_id == created.pk


def test_theme_pin_views__pin_unpin_and_a_stale_version_in_place(themed, pm_client):
    slug, theme = themed.ws.slug, themed.themes()[0]
    assert pm_client.post(f"/w/{slug}/themes/{theme.pk}/pin/", {"version": theme.version}).status_code == 302
    assert Theme.objects.get(pk=theme.pk).pinned
    stale = pm_client.post(f"/w/{slug}/themes/{theme.pk}/unpin/", {"version": theme.version})
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    assert Theme.objects.get(pk=theme.pk).pinned
    current = Theme.objects.get(pk=theme.pk).version
    assert pm_client.post(f"/w/{slug}/themes/{theme.pk}/unpin/", {"version": current}).status_code == 302
    assert not Theme.objects.get(pk=theme.pk).pinned


def test_theme_list_view__filters_never_fail(themed, pm_client):
    url = f"/w/{themed.ws.slug}/themes/"
    assert pm_client.get(f"{url}?status=gone&sort=price&page=zz&q={'x' * 300}").status_code == 200
    skipped = pm_client.get(f"/w/{themed.ws.slug}/themes/skipped/?reason={'y' * 500}&page=-1")
    assert skipped.status_code == 200
