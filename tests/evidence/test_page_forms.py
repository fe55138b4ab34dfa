"""Evidence forms: bad input (blank, the wrong type, another workspace's id) is an error shown in place, never a
500, and nothing is linked or sent."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import FeedbackItemFactory
from tests.page_forms import error_beside
from valueloop.core.permissions import Role
from valueloop.evidence.models import Evidence
from valueloop.evidence.services import evidence_link


@pytest.fixture
def po(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_OWNER])
    return client


def test_link_create_view__another_workspaces_target_is_an_error_not_a_link(world, po):
    item = FeedbackItemFactory(workspace=world.ws_a, text="We need retries")
    url = f"/w/{world.ws_a.slug}/evidence/link/"
    for target in (f"feature:{world.feature_b.pk}", "feature:abc", "theme:1", f"feature:{'9' * 30}", ""):
        response = po.post(url, {"feedback_id": item.pk, "target": target}, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert response.status_code == 400, target
        assert "Choose a problem or a feature" in html or "No such problem or feature in this workspace" in html
        assert "Beta" not in html
    wrong = po.post(url, {"feedback_id": item.pk, "target": f"problem:{world.problem_a.pk}", "importance": "9"})
    assert wrong.status_code == 302  # without JavaScript: back with the message
    message = po.get(wrong["Location"]).content.decode()
    assert "Select a valid choice" in message
    assert not Evidence.objects.exists()


def test_link_update_view__a_bad_importance_changes_nothing(world, po):
    item = FeedbackItemFactory(workspace=world.ws_a, text="We need retries")
    evidence = evidence_link(
        actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, feedback_id=item.pk
    )
    response = po.post(f"/w/{world.ws_a.slug}/evidence/links/{evidence.pk}/", {"importance": "urgent"}, follow=True)
    assert "Select a valid choice" in response.content.decode()
    evidence.refresh_from_db()
    assert evidence.importance == 2


def test_target_view__bad_filters_read_as_no_filter(world, po):
    url = f"/w/{world.ws_a.slug}/evidence/feature/{world.feature_a.pk}/"
    response = po.get(url + "?persona=abc&importance=9&source=mail&sort=random&page=x&q=" + "y" * 400)
    assert response.status_code == 200 and b"Linked items" in response.content


def test_notify_view__bad_recipients_and_blank_message_are_errors_in_place(world):
    from valueloop.planning.services import feature_update

    feature_update(actor=world.actor_a, feature_id=world.feature_a.pk, status="released")
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    url = f"/w/{world.ws_a.slug}/evidence/feature/{world.feature_a.pk}/notify/"
    response = client.post(url, {"subject": " ", "body": "", "contact_ids": ["abc"], "action": "preview"})
    assert response.status_code == 400
    assert error_beside(response, "nm-subject") == "Write a subject."
    assert error_beside(response, "nm-body") == "Write the message."
    assert "Not a requester of this feature." in response.content.decode()
    nobody = client.post(url, {"subject": "Live", "body": "Hi", "action": "send"})
    assert nobody.status_code == 400 and "No recipients chosen." in nobody.content.decode()
