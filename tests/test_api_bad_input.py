"""Bad input gets a clear 4xx naming the problem, and nothing is half-written."""

from __future__ import annotations

import json

from tests.conftest import token_client
from valueloop.core.permissions import Role
from valueloop.workspaces.models import Product


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_unknown_field_is_named(world):
    response = post(token_client(world.actor_a), "/api/v1/products", {"name": "X", "colour": "red"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert {"field": "colour", "message": "Unknown field."} in body["errors"]


def test_wrong_type_and_overlong_strings_are_named(world):
    client = token_client(world.actor_a)
    response = post(client, "/api/v1/products", {"name": 5})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "name"
    response = post(client, "/api/v1/products", {"name": "x" * 121})
    assert response.status_code == 422 and "120" in response.json()["errors"][0]["message"]
    assert not Product.objects.filter(workspace=world.ws_a, name__startswith="xxx").exists()


def test_invalid_ids_and_malformed_json(world):
    client = token_client(world.actor_a)
    assert client.get("/api/v1/products/abc").status_code == 422
    assert client.get("/api/v1/products/999999").json()["code"] == "not_found"
    response = client.post("/api/v1/products", "{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert "message" in response.json()


def test_pagination_bounds(world):
    client = token_client(world.actor_a)
    body = client.get("/api/v1/products?page_size=1").json()
    assert body["page_size"] == 1 and body["count"] == 1 and body["pages"] == 1
    response = client.get("/api/v1/products?page_size=5000")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "page_size"


def test_session_write_without_csrf_is_refused(world, client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.users[Role.ADMIN])
    response = post(strict, "/api/v1/products", {"name": "Csrf"})
    assert response.status_code in (401, 403)
    assert not Product.objects.filter(name="Csrf").exists()


def test_audit_endpoint_filters(world):
    client = token_client(world.actor_a)
    body = client.get(f"/api/v1/audit?entity_type=product&entity_id={world.product_a.pk}").json()
    assert body["count"] == 1 and body["items"][0]["action"] == "created"
    assert client.get("/api/v1/audit?since=notadate").status_code == 422


def test_nul_characters_are_bad_input_not_server_errors(world):
    client = token_client(world.actor_a)
    refused = client.get("/api/v1/products?search=a%00b")
    assert refused.status_code == 400 and refused.json()["code"] == "bad_request"
    response = post(client, "/api/v1/products", {"name": "a\x00b"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "name"
    from django.test import Client

    page = Client()
    page.force_login(world.users[Role.ADMIN])
    assert page.post(f"/w/{world.ws_a.slug}/products/", {"name": "x\x00"}).status_code == 400
