"""POST /api/v1/events/batch and /events/upload: SDK key and token auth, all-or-nothing validation, limits."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.test import Client

from tests.conftest import token_client
from valueloop.core.permissions import Role
from valueloop.events import store
from valueloop.events.facade import MetricSpec, experiment_data
from valueloop.flags import services as flag_services
from valueloop.flags.bootstrap import ensure_environments

from .test_ingest import NOW, event, exposure, iso

URL = "/api/v1/events/batch"


def post(client: Client, body, **headers):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def sdk_key(workspace, env_key="development") -> str:
    env = {e.key: e for e in ensure_environments(workspace)}[env_key]
    return env.sdk_keys.get(revoked_at=None).key


def test_batch__sdk_key_stores_rows(world, experiment):
    key = sdk_key(world.ws_a)
    body = {"events": [exposure("u1", 1), exposure("u2", 2), event("u1", value=3.0)]}
    response = post(Client(), body, HTTP_X_VALUELOOP_CLIENT_KEY=key)
    assert response.status_code == 202, response.content
    assert response.json() == {"exposures": 2, "events": 1}
    data = experiment_data(
        world.ws_a.pk, experiment, variations=3, metrics=[MetricSpec("v", "mean", "purchase", "sum")]
    )
    assert data.units == (0, 1, 1)
    assert data.metrics["v"][1].sum_x == 3.0


def test_batch__production_key_of_workspace_b_writes_to_b_only(world, experiment):
    from tests.events.conftest import add_experiment

    add_experiment(world.actor_b, "new-checkout", "checkout-test")
    response = post(
        Client(), {"events": [exposure("b1", 0)]}, HTTP_X_VALUELOOP_CLIENT_KEY=sdk_key(world.ws_b, "production")
    )
    assert response.status_code == 202
    assert store.list_parts(world.ws_a.pk, "exposures") == []
    assert len(store.list_parts(world.ws_b.pk, "exposures")) == 1


def test_batch__revoked_sdk_key_is_401_with_a_clear_message(world, experiment):
    key = sdk_key(world.ws_a)
    env = {e.key: e for e in ensure_environments(world.ws_a)}["development"]
    flag_services.sdk_key_revoke(actor=world.actor_a, environment_id=env.pk)
    response = post(Client(), {"events": [exposure()]}, HTTP_X_VALUELOOP_CLIENT_KEY=key)
    assert response.status_code == 401
    assert response.json()["code"] == "revoked_key" and "revoked" in response.json()["message"]
    assert store.list_parts(world.ws_a.pk, "exposures") == []


def test_batch__unknown_sdk_key_is_401(world):
    response = post(Client(), {"events": [event()]}, HTTP_X_VALUELOOP_CLIENT_KEY="sdk-nope")
    assert response.status_code == 401 and response.json()["code"] == "unknown_key"


def test_batch__no_credentials_is_401(world):
    assert post(Client(), {"events": [event()]}).status_code == 401


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMIN, 202),
        (Role.PRODUCT_MANAGER, 202),
        (Role.PRODUCT_OWNER, 202),
        (Role.CONTRIBUTOR, 202),
        (Role.STAKEHOLDER, 403),
    ],
)
def test_batch__token_needs_events_write(world, role, status):
    response = post(token_client(world.actor(role)), {"events": [event()]})
    assert response.status_code == status, response.content
    assert len(store.list_parts(world.ws_a.pk, "events")) == (1 if status == 202 else 0)


def test_batch__token_issued_with_a_weaker_role_cannot_send(world):
    client = token_client(world.actor_a, role=Role.STAKEHOLDER.value)
    assert post(client, {"events": [event()]}).status_code == 403


def test_batch__unknown_experiment_is_422_naming_the_row(world, experiment):
    client = token_client(world.actor(Role.CONTRIBUTOR))
    response = post(client, {"events": [exposure("u1"), event(), exposure("u2", key="nope")]})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "events[2].experiment_key"
    assert "not an experiment" in body["errors"][0]["message"]
    assert "nothing was stored" in body["message"]
    assert store.list_parts(world.ws_a.pk, "exposures") == [] and store.list_parts(world.ws_a.pk, "events") == []


def test_batch__malformed_rows_each_named(world, experiment):
    client = token_client(world.actor(Role.CONTRIBUTOR))
    rows = [
        event() | {"timestamp": "31/01/2026"},
        event(value=float("nan")),
        exposure(variation=-2),
        exposure(unit="u" * 300),
        event() | {"surprise": 1},
        event(),
    ]
    response = client.post(URL, data=json.dumps({"events": rows}), content_type="application/json")
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {
        "events[0].timestamp",
        "events[1].value",
        "events[2].variation_id",
        "events[3].hash_value",
        "events[4].surprise",
    }
    assert response.json()["message"].startswith("5 rows are not valid")
    assert store.list_parts(world.ws_a.pk, "events") == []


def test_batch__nan_literal_in_json_is_refused(world):
    client = token_client(world.actor(Role.CONTRIBUTOR))
    row = json.dumps({"type": "purchase", "user_id": "u1", "timestamp": iso(NOW), "value": 0})
    raw = '{"events": [' + row.replace('"value": 0', '"value": NaN') + "]}"
    response = client.post(URL, data=raw, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "events[0].value"


def test_batch__more_than_10000_rows_is_413(world):
    client = token_client(world.actor(Role.CONTRIBUTOR))
    response = post(client, {"events": [event()] * 10_001})
    assert response.status_code == 413
    assert "at most 10000" in response.json()["message"]
    assert store.list_parts(world.ws_a.pk, "events") == []


def test_batch__body_shape_errors(world):
    client = token_client(world.actor(Role.CONTRIBUTOR))
    assert post(client, {"rows": []}).status_code == 422
    assert post(client, {"events": {"type": "x"}}).status_code == 422
    response = post(client, {"events": []})
    assert response.status_code == 202 and response.json() == {"exposures": 0, "events": 0}


def test_batch__sdk_key_cannot_use_other_endpoints(world):
    response = Client().get("/api/v1/events/names", HTTP_X_VALUELOOP_CLIENT_KEY=sdk_key(world.ws_a))
    assert response.status_code == 401


# --- upload -----------------------------------------------------------------------------------------------------


def upload(client, name, content, **form):
    return client.post("/api/v1/events/upload", {"file": _file(name, content), **form})


def _file(name, content):
    handle = io.BytesIO(content)
    handle.name = name
    return handle


CSV = (
    "type,experiment_key,variation_id,user_id,timestamp,value\n"
    f"experiment_viewed,checkout-test,0,u1,{iso(NOW)},\n"
    f"experiment_viewed,checkout-test,1,u2,{iso(NOW)},\n"
    f"purchase,,,u2,{iso(NOW)},19.5\n"
)


def test_upload__csv(world, experiment):
    response = upload(token_client(world.actor(Role.CONTRIBUTOR)), "events.csv", CSV.encode())
    assert response.status_code == 202, response.content
    assert response.json() == {"exposures": 2, "events": 1}
    data = experiment_data(
        world.ws_a.pk, experiment, variations=3, metrics=[MetricSpec("v", "mean", "purchase", "sum")]
    )
    assert data.units == (1, 1, 0) and data.metrics["v"][1].sum_x == 19.5


def test_upload__csv_with_excel_semicolons_and_blank_rows_keeps_the_row_numbers(world, experiment):
    client = token_client(world.actor(Role.CONTRIBUTOR))
    semicolons = CSV.replace(",", ";").replace("\n", "\n\n", 1)  # a blank line after the header
    response = upload(client, "events.csv", semicolons.encode("cp1252"))
    assert response.status_code == 202, response.content
    assert response.json() == {"exposures": 2, "events": 1}
    bad = semicolons + f"purchase;;;u3;{iso(NOW)};lots\n"
    response = upload(client, "events.csv", bad.encode())
    assert [e["field"] for e in response.json()["errors"]] == ["rows[6].value"]


def test_upload__csv_errors_name_the_spreadsheet_row(world, experiment):
    bad = CSV + f"purchase,,,u3,{iso(NOW)},lots\nexperiment_viewed,unknown-test,0,u4,{iso(NOW)},\n"
    response = upload(token_client(world.actor(Role.CONTRIBUTOR)), "events.csv", bad.encode())
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"rows[5].value", "rows[6].experiment_key"}
    assert store.list_parts(world.ws_a.pk, "events") == []


def test_upload__csv_unknown_column_and_not_utf8(world):
    client = token_client(world.actor(Role.CONTRIBUTOR))
    response = upload(client, "e.csv", b"type,user,timestamp\npurchase,u1,2026-01-01T00:00:00Z\n")
    assert response.status_code == 422 and "Unknown column" in response.json()["message"]
    # a file mixing UTF-8 and Windows-1252 cannot be read either way: refused naming the byte and its line
    mixed = "type,user_id,timestamp\npurchase,ü,x\n".encode() + "purchase,\xe9,x\n".encode("latin-1")
    response = upload(client, "e.csv", mixed)
    assert response.status_code == 422 and "mixes encodings" in response.json()["message"]
    assert "byte 0xE9 at byte offset" in response.json()["message"] and "(line 3)" in response.json()["message"]


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_upload__parquet(world, experiment):
    table = pa.table(
        {
            "type": ["experiment_viewed", "experiment_viewed", "purchase"],
            "experiment_key": ["checkout-test", "checkout-test", None],
            "variation_id": pa.array([2, 0, None], pa.int64()),
            "user_id": ["u1", "u2", "u1"],
            "timestamp": pa.array([NOW.replace(tzinfo=None)] * 3, pa.timestamp("ms")),
            "value": [None, None, 4.25],
        }
    )
    response = upload(token_client(world.actor(Role.CONTRIBUTOR)), "events.parquet", parquet_bytes(table))
    assert response.status_code == 202, response.content
    data = experiment_data(
        world.ws_a.pk, experiment, variations=3, metrics=[MetricSpec("v", "mean", "purchase", "sum")]
    )
    assert data.units == (1, 0, 1) and data.metrics["v"][2].sum_x == 4.25
    assert data.first_exposure == NOW


def test_upload__parquet_errors(world, experiment):
    client = token_client(world.actor(Role.CONTRIBUTOR))
    table = pa.table({"type": ["purchase", "purchase"], "user_id": ["u1", "u2"], "timestamp": [iso(NOW), "soon"]})
    response = upload(client, "e.parquet", parquet_bytes(table))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["rows[2].timestamp"]
    nested = pa.table({"type": ["purchase"], "user_id": [["u1"]], "timestamp": [iso(NOW)]})
    response = upload(client, "e.parquet", parquet_bytes(nested))
    assert response.status_code == 422 and "unsupported type" in json.dumps(response.json())
    response = upload(client, "e.parquet", b"PAR1 not really")
    assert response.status_code == 422 and "Parquet" in response.json()["message"]


def test_upload__too_large(world, settings):
    settings.EVENTS_UPLOAD_MAX_BYTES = 100
    response = upload(token_client(world.actor(Role.CONTRIBUTOR)), "e.csv", CSV.encode())
    assert response.status_code == 422 and "limit" in response.json()["message"]


def test_upload__no_file_and_stakeholder(world):
    assert token_client(world.actor(Role.CONTRIBUTOR)).post("/api/v1/events/upload").status_code == 422
    response = upload(token_client(world.actor(Role.STAKEHOLDER)), "events.csv", CSV.encode())
    assert response.status_code == 403


def test_batch__empty_client_key_header_is_401_even_with_a_token(world):
    client = token_client(world.actor(Role.CONTRIBUTOR))
    response = post(client, {"events": [event()]}, HTTP_X_VALUELOOP_CLIENT_KEY="")
    assert response.status_code == 401 and "empty" in response.json()["message"]
