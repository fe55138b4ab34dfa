"""Problem forms: bad input (blank, the wrong type, another workspace's id) is answered with the error beside the
field and nothing written; a stale edit is refused."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.page_forms import error_beside
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.discovery.models import Problem


@pytest.fixture
def pm(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    return client


def test_problem_list_view__bad_input_beside_each_field(world, pm):
    audited = AuditEvent.objects.count()
    url = f"/w/{world.ws_a.slug}/problems/"
    response = pm.post(url, {"title": " ", "product_id": "first", "area_id": world.area_b.pk})
    assert response.status_code == 400 and "Please fix the following" in response.content.decode()
    assert error_beside(response, "np-title") == "This field is required."
    assert error_beside(response, "np-product_id") == "No such product in this workspace; choose one from the list."
    assert error_beside(response, "np-area_id") == "No such area in this workspace; choose one from the list."
    assert AuditEvent.objects.count() == audited
    created = pm.post(url, {"title": "Slow close", "area_id": world.area_a.pk})
    assert created.status_code == 302
    assert Problem.objects.get(title="Slow close").product_id == world.product_a.pk  # the area implies it
    assert pm.get(url + "?q=" + "x" * 500 + "&status=nonsense&page=-3").status_code == 200


def test_problem_detail_view__errors_in_place_and_stale_edit_refused(world, pm):
    problem = world.problem_a
    url = f"/w/{world.ws_a.slug}/problems/{problem.pk}/"
    page = pm.get(url).content.decode()
    assert f'name="version" value="{problem.version}"' in page and 'id="ep-status"' in page
    bad = pm.post(url, {"title": "Renamed", "status": "closed", "version": problem.version})
    assert bad.status_code == 400 and "Select a valid choice" in error_beside(bad, "ep-status")
    data = {"title": "Renamed", "status": "exploring", "version": problem.version}
    assert pm.post(url, data).status_code == 302
    stale = pm.post(url, {**data, "title": "Again"})
    assert stale.status_code == 400 and "was changed by someone else" in stale.content.decode()
    assert Problem.objects.get(pk=problem.pk).title == "Renamed"
    assert 'value="Again"' in stale.content.decode()  # what was typed is kept to apply again


def test_problem_views__read_only_roles_get_403_before_any_validation(world):
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    assert client.post(f"/w/{world.ws_a.slug}/problems/", {"title": ""}).status_code == 403
    assert client.post(f"/w/{world.ws_a.slug}/problems/{world.problem_a.pk}/", {"title": ""}).status_code == 403
