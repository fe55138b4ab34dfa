"""Collaboration's page forms: comments, follows and marking notifications read. A refused comment keeps its text
and shows the message under the box; another workspace's entity or a malformed one is a 404 and nothing is
written."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.page_forms import audit_unchanged, error_beside  # noqa: F401  (the ``audit_unchanged`` fixture)
from valueloop.collaboration.models import Comment, Follow, Notification
from valueloop.collaboration.services import comment_create
from valueloop.core.permissions import Role


@pytest.fixture
def stakeholder(world):
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    return client


@pytest.mark.usefixtures("audit_unchanged")
def test_comment_create_view__a_blank_comment_is_refused_under_the_box_with_the_text_kept(world, stakeholder):
    url = f"/w/{world.ws_a.slug}/comments/"
    data = {"entity_type": "product", "entity_id": world.product_a.pk, "body": "   "}
    response = stakeholder.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert error_beside(response, "comment-body") == "A comment cannot be empty."
    long = stakeholder.post(url, {**data, "body": "x" * 20001}, HTTP_HX_REQUEST="true")
    assert long.status_code == 400 and "at most 20000 characters" in error_beside(long, "comment-body")
    assert "x" * 20001 + "</textarea>" in long.content.decode()  # what was typed is kept
    assert not Comment.objects.exists()


def test_comment_create_view__without_htmx_the_refusal_is_a_message_on_the_entity_page(world, stakeholder):
    url = f"/w/{world.ws_a.slug}/comments/"
    response = stakeholder.post(url, {"entity_type": "product", "entity_id": world.product_a.pk, "body": ""})
    assert response.status_code == 302 and response["Location"].endswith(f"/products/{world.product_a.pk}/")
    page = stakeholder.get(response["Location"]).content.decode()
    assert "A comment cannot be empty." in page
    saved = stakeholder.post(url, {"entity_type": "product", "entity_id": world.product_a.pk, "body": "Nice"})
    assert saved.status_code == 302 and Comment.objects.get().body == "Nice"


@pytest.mark.usefixtures("audit_unchanged")
@pytest.mark.parametrize(
    "entity",
    [
        {"entity_type": "product", "entity_id": "abc"},
        {"entity_type": "no-such-thing", "entity_id": "1"},
        {"entity_type": "product", "entity_id": "99999999999999999999"},
        {},
    ],
)
def test_comment_and_follow_views__a_malformed_entity_is_not_found(world, stakeholder, entity):
    ws = world.ws_a.slug
    assert stakeholder.post(f"/w/{ws}/comments/", {**entity, "body": "hi"}).status_code == 404
    assert stakeholder.post(f"/w/{ws}/follow/", {**entity, "following": "1"}).status_code == 404
    assert not Comment.objects.exists() and not Follow.objects.filter(user=world.users[Role.STAKEHOLDER]).exists()


def test_comment_and_follow_views__another_workspaces_entity_is_not_found(world, stakeholder):
    ws, beta = world.ws_a.slug, {"entity_type": "product", "entity_id": world.product_b.pk}
    assert stakeholder.post(f"/w/{ws}/comments/", {**beta, "body": "hi"}).status_code == 404
    assert stakeholder.post(f"/w/{ws}/follow/", {**beta, "following": "1"}).status_code == 404
    assert not Comment.objects.exists() and not Follow.objects.filter(user=world.users[Role.STAKEHOLDER]).exists()


def test_follow_view__follows_and_unfollows(world, stakeholder):
    url, product = f"/w/{world.ws_a.slug}/follow/", {"entity_type": "product", "entity_id": world.product_a.pk}
    response = stakeholder.post(url, {**product, "following": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'aria-pressed="true"' in response.content.decode()
    mine = Follow.objects.filter(user=world.users[Role.STAKEHOLDER])
    assert mine.count() == 1
    assert stakeholder.post(url, {**product, "following": "0"}).status_code == 302
    assert not mine.exists()


def test_notifications_read_view__bad_ids_change_nothing_and_good_ones_mark_read(world, stakeholder):
    comment_create(actor=world.actor_a, entity_type="product", entity_id=world.product_a.pk, body="Hi @stakeholder")
    notification = Notification.objects.get(recipient=world.users[Role.STAKEHOLDER])
    url = f"/w/{world.ws_a.slug}/notifications/read/"
    bad = stakeholder.post(url, {"id": [notification.pk, "abc"]}, follow=True)
    assert "Enter a whole number." in bad.content.decode()
    assert Notification.objects.get(pk=notification.pk).read_at is None
    away = stakeholder.post(url, {"id": notification.pk, "next": "https://evil.example/"})
    assert away.status_code == 302 and away["Location"] == f"/w/{world.ws_a.slug}/notifications/"
    assert Notification.objects.get(pk=notification.pk).read_at is not None


def test_notifications_view__the_unread_filter_never_fails(world, stakeholder):
    url = f"/w/{world.ws_a.slug}/notifications/"
    assert stakeholder.get(f"{url}?unread=maybe&page=-3").status_code == 200
    assert "Show all" in stakeholder.get(f"{url}?unread=1").content.decode()
