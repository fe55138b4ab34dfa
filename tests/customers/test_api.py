"""The customers API: list filters and totals, CRUD with versions, archive/delete, contacts,
personas, currency rates, the timeline and the CSV import endpoint."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import token_client
from valueloop.core.permissions import Role
from valueloop.customers import facade, services
from valueloop.customers.facade import TimelineEntry
from valueloop.customers.models import Customer


@pytest.fixture
def api(world):
    return token_client(world.actor_a)


@pytest.fixture
def accounts(world):
    services.currency_rate_set(actor=world.actor_a, currency="EUR", rate="1.1")
    make = lambda **kw: services.customer_create(actor=world.actor_a, **kw)  # noqa: E731
    return {
        "big": make(
            name="Big Bank",
            segment="enterprise",
            arr="500000",
            health="good",
            lifecycle="customer",
            owner_id=world.users[Role.PRODUCT_MANAGER].pk,
            domain="bigbank.test",
        ),
        "mid": make(name="Mid Corp", segment="mid_market", arr="50000", arr_currency="EUR", health="at_risk"),
        "small": make(name="Small Shop", segment="smb", arr="5000", lifecycle="trial"),
        "gone": make(name="Gone Ltd", segment="smb", arr="0", lifecycle="churned", health="poor"),
    }


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


def test_customer_list__filters_sort_and_total(world, api, accounts):
    assert names(api.get("/api/v1/customers")) == ["Big Bank", "Gone Ltd", "Mid Corp", "Small Shop"]
    body = api.get("/api/v1/customers?sort=-arr").json()
    assert [i["name"] for i in body["items"]][:3] == ["Big Bank", "Mid Corp", "Small Shop"]
    assert body["arr_total"] == {"amount": "560000.00", "currency": "USD"}
    assert (body["currency"], body["count"]) == ("USD", 4)
    assert names(api.get("/api/v1/customers?segment=smb")) == ["Gone Ltd", "Small Shop"]
    assert names(api.get("/api/v1/customers?lifecycle=trial")) == ["Small Shop"]
    assert names(api.get("/api/v1/customers?health=at_risk")) == ["Mid Corp"]
    assert names(api.get("/api/v1/customers?health=unknown")) == ["Small Shop"]
    owner = world.users[Role.PRODUCT_MANAGER].pk
    assert names(api.get(f"/api/v1/customers?owner_id={owner}")) == ["Big Bank"]
    assert names(api.get("/api/v1/customers?owner_id=0")) == ["Gone Ltd", "Mid Corp", "Small Shop"]
    body = api.get("/api/v1/customers?arr_min=5000&arr_max=60000").json()
    assert [i["name"] for i in body["items"]] == ["Mid Corp", "Small Shop"]
    assert body["arr_total"] == {"amount": "60000.00", "currency": "USD"}  # Mid Corp: EUR 50,000 at 1.1
    mid = body["items"][0]
    assert mid["arr"] == {"amount": "50000.00", "currency": "EUR"} and mid["arr_currency"] == "EUR"
    assert mid["arr_base"] == {"amount": "55000.00", "currency": "USD"}
    assert names(api.get("/api/v1/customers?search=bigbank")) == ["Big Bank"]
    assert api.get("/api/v1/customers?sort=arr_base").status_code == 422
    assert api.get("/api/v1/customers?arr_min=-1").status_code == 422


def test_customer_crud__create_get_patch_with_version_archive_delete(world, api):
    response = api.post(
        "/api/v1/customers",
        data=json.dumps({"name": "Acme", "arr": "1200.50", "renewal_date": "2026-09-30", "segment": "smb"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    money = {"amount": "1200.50", "currency": "USD"}
    assert (body["arr"], body["arr_base"], body["arr_currency"], body["version"]) == (money, money, "USD", 1)
    url = f"/api/v1/customers/{body['id']}"
    patch = api.patch(url, data=json.dumps({"plan": "Growth", "version": 1}), content_type="application/json")
    assert patch.status_code == 200 and patch.json()["version"] == 2
    stale = api.patch(url, data=json.dumps({"plan": "Pro", "version": 1}), content_type="application/json")
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert api.delete(url).status_code == 409
    assert api.post(url + "/archive").json()["archived_at"]
    assert names(api.get("/api/v1/customers")) == []
    assert names(api.get("/api/v1/customers?include_archived=true")) == ["Acme"]
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "arr": -5}, "arr"),
        ({"name": "A", "arr": "1.234"}, "arr"),
        ({"name": "A", "arr": True}, "arr"),
        ({"name": "A", "arr_currency": "GBP"}, "arr_currency"),
        ({"name": "A", "renewal_date": "31/12/2026"}, "renewal_date"),
        ({"name": "A", "owner_id": 999999}, "owner_id"),
        ({"name": "A", "lifecycle": "lead"}, "lifecycle"),
        ({"name": "A", "colour": "red"}, "colour"),
    ],
)
def test_customer_create__bad_input_is_422_naming_the_field(world, api, body, field):
    response = api.post("/api/v1/customers", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["errors"]]


def test_customer_create__contributor_is_forbidden(world):
    response = token_client(world.actor(Role.CONTRIBUTOR)).post(
        "/api/v1/customers", data=json.dumps({"name": "A"}), content_type="application/json"
    )
    assert response.status_code == 403


def test_contacts_and_personas_api(world, api, accounts):
    response = api.post(
        "/api/v1/contacts",
        data=json.dumps({"customer_id": accounts["big"].pk, "name": "Ada", "email": "ada@bigbank.test"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    contact = response.json()
    assert contact["customer"] == {"id": accounts["big"].pk, "name": "Big Bank"}
    listed = api.get(f"/api/v1/contacts?customer_id={accounts['big'].pk}").json()
    assert [c["email"] for c in listed["items"]] == ["ada@bigbank.test"]
    unsubscribed = api.post(f"/api/v1/contacts/{contact['id']}/unsubscribe").json()
    assert unsubscribed["unsubscribed_at"]
    assert api.get("/api/v1/contacts?include_unsubscribed=false").json()["count"] == 0
    other = services.customer_create(actor=world.actor_b, name="Beta")
    moved = api.patch(
        f"/api/v1/contacts/{contact['id']}", data=json.dumps({"customer_id": other.pk}), content_type="application/json"
    )
    assert moved.status_code == 404  # a second id is re-checked against the workspace
    assert api.delete(f"/api/v1/contacts/{contact['id']}").status_code == 204

    persona = api.post(
        "/api/v1/personas", data=json.dumps({"name": "CFO", "goals": "Cash"}), content_type="application/json"
    )
    assert persona.status_code == 201
    dup = api.post("/api/v1/personas", data=json.dumps({"name": "cfo"}), content_type="application/json")
    assert dup.status_code == 422
    assert [p["name"] for p in api.get("/api/v1/personas").json()["items"]] == ["CFO"]


def test_currency_rates_api(world, api):
    services.customer_create(actor=world.actor_a, name="A", arr="10")
    response = api.put(
        "/api/v1/currency-rates", data=json.dumps({"currency": "GBP", "rate": "1.27"}), content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["rate"] == "1.27"
    customer = services.customer_create(actor=world.actor_a, name="B", arr="100", arr_currency="GBP")
    assert customer.arr_base == 127
    body = api.get("/api/v1/currency-rates").json()
    assert body["currency"] == "USD" and body["missing"] == []
    assert [(r["currency"], r["accounts"]) for r in body["items"]] == [("GBP", 1)]
    api.put("/api/v1/currency-rates", data=json.dumps({"currency": "GBP", "rate": 2}), content_type="application/json")
    customer.refresh_from_db()
    assert customer.arr_base == 200
    rate_id = body["items"][0]["id"]
    assert api.delete(f"/api/v1/currency-rates/{rate_id}").json()["code"] == "rate_in_use"
    bad = api.put(
        "/api/v1/currency-rates", data=json.dumps({"currency": "USD", "rate": 1}), content_type="application/json"
    )
    assert bad.status_code == 422


def test_timeline_api__entries_of_registered_sources(world, api, accounts):
    big = accounts["big"]

    def source(actor, customer):
        if customer.pk != big.pk:
            return []
        return [
            TimelineEntry(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "feedback", "Wants SSO", "/x", "Asked twice"),
            TimelineEntry(dt.datetime(2026, 4, 1, tzinfo=dt.UTC), "incident", "Outage hit them"),
        ]

    facade.register_timeline_source(source)
    try:
        body = api.get(f"/api/v1/customers/{big.pk}/timeline").json()
        assert [e["title"] for e in body["items"]] == ["Outage hit them", "Wants SSO"]
        assert body["items"][1]["summary"] == "Asked twice"
        body = api.get(f"/api/v1/customers/{big.pk}/timeline?kind=feedback").json()
        assert body["count"] == 1
    finally:
        facade.unregister_timeline_source(source)


def upload(api, content: bytes, **fields):
    data = {"file": SimpleUploadedFile("accounts.csv", content, content_type="text/csv"), **fields}
    return api.post("/api/v1/customer-imports", data=data)


def test_import_api__dry_run_report_then_all_or_nothing(world, api):
    content = b"external_id,name,arr\nA1,Acme,100\nA2,Beta,-4\nA3,Gamma,7\n"
    dry = upload(api, content, dry_run="true")
    assert dry.status_code == 200, dry.content
    report = dry.json()
    assert (report["created"], report["invalid_rows"], report["written"]) == (2, 1, False)
    assert report["problems"] == [{"row": 3, "field": "arr", "column": "arr", "message": "ARR cannot be negative (-4)"}]
    refused = upload(api, content)
    assert refused.status_code == 422
    assert refused.json()["code"] == "import_invalid"
    assert refused.json()["errors"] == [{"field": "row 3: arr", "message": "ARR cannot be negative (-4)"}]
    assert not Customer.objects.exists()
    done = upload(api, content, skip_invalid="true")
    assert done.status_code == 200 and done.json()["created"] == 2 and done.json()["skipped"] == 1
    again = upload(api, content, skip_invalid="true").json()
    assert (again["created"], again["unchanged"]) == (0, 2)


def test_import_api__mapping_preset_and_bad_requests(world, api):
    content = b"Org,Money\nAcme,100\n"
    ok = upload(api, content, mapping=json.dumps({"name": "Org", "arr": "Money"}), preset="none")
    assert ok.status_code == 200 and ok.json()["created"] == 1
    assert upload(api, content, mapping="{not json").json()["errors"][0]["field"] == "mapping"
    assert upload(api, content, kind="people").status_code == 422
    response = api.post("/api/v1/customer-imports")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "file"
    latin = upload(api, "name\nCafé\n".encode("cp1252"), encoding="utf-8")
    assert latin.status_code == 422 and "byte offset 8 (line 2)" in latin.json()["message"]
    assert upload(api, "name\nCafé\n".encode("cp1252"), dry_run="true").json()["encoding"] == "Windows-1252 (detected)"


def test_import_api__file_over_the_limit_is_refused(world, api, settings):
    settings.CUSTOMER_IMPORT_MAX_BYTES = 100
    response = upload(api, b"name\n" + b"x" * 500)
    assert response.status_code == 422
    assert response.json()["code"] == "import_refused"
    assert "the limit is 100 bytes" in response.json()["message"]


def test_import_api__stakeholder_is_forbidden(world):
    client = token_client(world.actor(Role.STAKEHOLDER))
    assert upload(client, b"name\nAcme\n").status_code == 403
