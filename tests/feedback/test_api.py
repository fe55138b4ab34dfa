"""The feedback API: list/search/filter, single edits, bulk, the idempotent batch endpoint, file import."""

from __future__ import annotations

import json

from tests.conftest import token_client
from tests.factories import FeedbackItemFactory
from tests.feedback.conftest import FIXTURES, make_item
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.feedback.models import FeedbackItem, IdempotencyKey


def post(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def test_list__search_filters_and_pagination(world, accounts):
    make_item(world, "Dunning emails twice", customer_id=accounts.acme.pk, tags=["dunning"])
    make_item(world, "Bank feed broken", customer_id=accounts.globex.pk, source="support")
    client = token_client(world.actor(Role.STAKEHOLDER))
    data = client.get("/api/v1/feedback/items?q=dunning").json()
    assert data["count"] == 1 and data["items"][0]["customer"] == {"id": accounts.acme.pk, "name": "Acme GmbH"}
    assert data["items"][0]["tags"] == ["dunning"]
    assert client.get("/api/v1/feedback/items?source=support").json()["count"] == 1
    assert client.get("/api/v1/feedback/items?segment=enterprise").json()["count"] == 1
    assert client.get("/api/v1/feedback/items?arr_band=10k_50k").json()["count"] == 1
    assert client.get("/api/v1/feedback/items?page_size=1&page=2").json()["items"][0]["text"] == "Dunning emails twice"
    assert client.get("/api/v1/feedback/items?q=%22foo%20OR").status_code == 200
    bad = client.get("/api/v1/feedback/items?source=fax")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "source"


def test_create_get_patch_with_version(world, accounts):
    client = token_client(world.actor(Role.PRODUCT_OWNER))
    created = post(
        client,
        "/api/v1/feedback/items",
        {
            "text": "Slack approvals",
            "customer_id": accounts.acme.pk,
            "tags": ["approvals"],
            "received_at": "2025-03-01T10:00:00Z",
        },
    )
    assert created.status_code == 201, created.content
    item = created.json()
    assert client.get(f"/api/v1/feedback/items/{item['id']}").json()["text"] == "Slack approvals"
    patched = client.patch(
        f"/api/v1/feedback/items/{item['id']}",
        data=json.dumps({"status": "triaged", "version": 1}),
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["version"] == 2
    stale = client.patch(
        f"/api/v1/feedback/items/{item['id']}",
        data=json.dumps({"title": "x", "version": 1}),
        content_type="application/json",
    )
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    linked = client.patch(
        f"/api/v1/feedback/items/{item['id']}", data=json.dumps({"status": "linked"}), content_type="application/json"
    )
    assert linked.status_code == 422
    foreign = post(client, "/api/v1/feedback/items", {"text": "x", "customer_id": accounts.beta_acme.pk})
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "customer_id"


def test_bulk__changes_all_or_nothing(world):
    items = [make_item(world, f"i{n}") for n in range(3)]
    client = token_client(world.actor_a)
    response = post(client, "/api/v1/feedback/bulk", {"ids": [i.pk for i in items], "action": "archive"})
    assert response.status_code == 200 and response.json() == {"changed": 3}
    other = make_item(world, "x")
    b_item = FeedbackItemFactory(workspace=world.ws_b, text="Beta", received_at=other.received_at)
    response = post(client, "/api/v1/feedback/bulk", {"ids": [other.pk, b_item.pk], "action": "triage"})
    assert response.status_code == 404
    assert FeedbackItem.objects.get(pk=other.pk).status == "new"


def batch_body(n, **extra):
    return {"items": [{"text": f"Item {i}", "external_id": f"ext-{i}", "source": "in_app", **extra} for i in range(n)]}


def test_batch__creates_and_replays_with_the_same_key(world, accounts):
    client = token_client(world.actor_a)
    body = batch_body(3, customer="Acme GmbH")
    first = post(client, "/api/v1/feedback/batch", body, HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["created"] == 3 and data["replayed"] is False
    assert [r["result"] for r in data["items"]] == ["created"] * 3
    assert FeedbackItem.objects.filter(customer=accounts.acme).count() == 3
    audits = AuditEvent.objects.filter(entity_type="feedback_import").count()
    replay = post(client, "/api/v1/feedback/batch", body, HTTP_IDEMPOTENCY_KEY="key-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == {**data, "replayed": True}
    assert (
        FeedbackItem.objects.count() == 3 and AuditEvent.objects.filter(entity_type="feedback_import").count() == audits
    )
    conflict = post(client, "/api/v1/feedback/batch", batch_body(4), HTTP_IDEMPOTENCY_KEY="key-1")
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_key_reused"
    # without a key (or with a new one) the external ids still make it idempotent
    again = post(client, "/api/v1/feedback/batch", body, HTTP_IDEMPOTENCY_KEY="key-2")
    assert again.status_code == 200 and again.json()["created"] == 0 and again.json()["unchanged"] == 3
    assert {r["id"] for r in again.json()["items"]} == {r["id"] for r in data["items"]}


def test_batch__keys_are_per_workspace(world):
    post(token_client(world.actor_a), "/api/v1/feedback/batch", batch_body(1), HTTP_IDEMPOTENCY_KEY="shared")
    response = post(token_client(world.actor_b), "/api/v1/feedback/batch", batch_body(2), HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201 and response.json()["created"] == 2
    assert IdempotencyKey.objects.count() == 2


def test_batch__refuses_1001_items(world):
    response = post(token_client(world.actor_a), "/api/v1/feedback/batch", batch_body(1001))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "items"
    assert not FeedbackItem.objects.exists()


def test_batch__1000_items_is_fine(world):
    response = post(token_client(world.actor_a), "/api/v1/feedback/batch", batch_body(1000))
    assert response.status_code == 201 and response.json()["created"] == 1000


def test_batch__per_item_errors_and_nothing_written(world, accounts):
    body = batch_body(5)
    body["items"][1]["customer"] = "Nobody Inc"
    body["items"][3]["received_at"] = "31/31/2025"
    body["items"][4]["external_id"] = "ext-0"
    response = post(token_client(world.actor_a), "/api/v1/feedback/batch", body, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422, response.content
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(fields) == {"items[1].customer", "items[3].received_at", "items[4].external_id"}
    assert "31/31/2025" in fields["items[3].received_at"]
    assert not FeedbackItem.objects.exists() and not IdempotencyKey.objects.exists()
    # the same key can be used again once the batch is fixed
    fixed = post(token_client(world.actor_a), "/api/v1/feedback/batch", batch_body(5), HTTP_IDEMPOTENCY_KEY="k")
    assert fixed.status_code == 201


def test_batch__stakeholder_cannot_write(world):
    response = post(token_client(world.actor(Role.STAKEHOLDER)), "/api/v1/feedback/batch", batch_body(1))
    assert response.status_code == 403


def test_import_endpoint__dry_run_then_import(world, accounts):
    client = token_client(world.actor_a)
    csv_bytes = (FIXTURES / "zendesk_tickets.csv").read_bytes()
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload(**form):
        return client.post(
            "/api/v1/feedback/import",
            {
                "file": SimpleUploadedFile("tickets.csv", csv_bytes, content_type="text/csv"),
                "preset": "zendesk",
                **form,
            },
        )

    dry = upload(dry_run="true")
    assert dry.status_code == 200, dry.content
    assert dry.json()["to_create"] == 3 and dry.json()["written"] is False
    assert not FeedbackItem.objects.exists()
    done = upload()
    assert done.status_code == 200 and done.json()["created"] == 3
    again = upload()
    assert again.json()["created"] == 0 and again.json()["unchanged"] == 3


def test_import_endpoint__errors_name_rows(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = token_client(world.actor_a)
    data = b"text,date\nGood,2025-01-01\nBad,someday\n"
    response = client.post("/api/v1/feedback/import", {"file": SimpleUploadedFile("f.csv", data)})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "rows[3].received_at"
    assert not FeedbackItem.objects.exists()
    response = client.post(
        "/api/v1/feedback/import", {"file": SimpleUploadedFile("f.csv", data), "skip_invalid": "true"}
    )
    assert response.status_code == 200 and response.json()["created"] == 1
    response = client.post("/api/v1/feedback/import", {"file": SimpleUploadedFile("f.csv", data), "mapping": "{oops"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "mapping"
    assert client.post("/api/v1/feedback/import", {}).status_code == 422


def test_tags_and_views_api(world):
    client = token_client(world.actor_a)
    tag = post(client, "/api/v1/feedback/tags", {"name": "Mobile"}).json()
    assert tag["name"] == "mobile"
    assert client.get("/api/v1/feedback/tags").json()["items"] == [tag]
    view = post(client, "/api/v1/feedback/views", {"name": "Mobile", "query": "tag=mobile&status=new"})
    assert view.status_code == 201 and view.json()["query"] == "status=new&tag=mobile"
    stakeholder = token_client(world.actor(Role.STAKEHOLDER))
    assert stakeholder.get("/api/v1/feedback/views").json()["count"] == 0  # private to its owner
    assert stakeholder.delete(f"/api/v1/feedback/views/{view.json()['id']}").status_code == 404
    assert client.delete(f"/api/v1/feedback/views/{view.json()['id']}").status_code == 204
