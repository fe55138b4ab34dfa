"""Events API: the batch endpoint SDKs post to, file upload, event names, the event source setting.

``POST /events/batch`` accepts an SDK client key (``X-Valueloop-Client-Key``, as ``valueloop.sdk`` sends it) or an
API token / session whose role has ``events.write``. An SDK key can do nothing else.
"""

from dataclasses import dataclass
from typing import Any

from ninja import File, Form, Router, Status, UploadedFile
from ninja.security import APIKeyHeader

from valueloop.core.api_support import AuthFailed, TokenAuth, WorkspaceSessionAuth, requires, responses
from valueloop.core.errors import Invalid
from valueloop.core.permissions import Scope

from . import rows, selectors, services, warehouse
from .schemas import (
    EventBatchIn,
    EventIngestOut,
    EventNameList,
    EventSourceIn,
    EventSourceOut,
    EventUploadForm,
)

router = Router(tags=["events"])

CLIENT_KEY_HEADER = "X-Valueloop-Client-Key"


class TooManyEvents(Invalid):
    status = 413
    code = "too_large"


@dataclass(frozen=True)
class SdkClient:
    """What an SDK key authenticates: one workspace, allowed to send events and nothing else."""

    workspace_id: int
    environment: str
    via: str = "sdk"

    def can(self, scope: Scope | str) -> bool:
        return scope == Scope.EVENTS_WRITE

    def require(self, scope: Scope | str) -> None:
        if not self.can(scope):
            from valueloop.core.errors import PermissionDenied

            raise PermissionDenied("An SDK key may only send events.")


class ClientKeyAuth(APIKeyHeader):
    param_name = CLIENT_KEY_HEADER

    def authenticate(self, request, key: str | None) -> SdkClient | None:
        if key is None:
            return None  # no header: try a token or the session
        if not key.strip():
            raise AuthFailed(
                f"The {CLIENT_KEY_HEADER} header is empty; send the environment's SDK key, or leave the header out "
                "and authenticate with an API token.",
                code="unknown_key",
            )
        from valueloop.flags.facade import sdk_key_environment, sdk_key_revoked

        found = sdk_key_environment(key)
        if found is None:
            if sdk_key_revoked(key):
                raise AuthFailed(
                    "This SDK key was revoked; ask a workspace admin for the environment's current key.",
                    code="revoked_key",
                )
            raise AuthFailed(
                "Unknown SDK key. Check the client key your SDK is configured with (Flags → SDK keys).",
                code="unknown_key",
            )
        return SdkClient(workspace_id=found[0], environment=found[1])


def _workspace_id(auth: Any) -> int:
    return auth.workspace_id if isinstance(auth, SdkClient) else auth.workspace.pk


@router.post(
    "/events/batch",
    response=responses({202: EventIngestOut}),
    operation_id="events_batch_create",
    auth=[ClientKeyAuth(), TokenAuth(), WorkspaceSessionAuth()],
    description=(
        f"Send up to {rows.MAX_ROWS} exposures and metric events. Authenticate with an SDK key "
        f"(`{CLIENT_KEY_HEADER}`) or a token whose role may send events. All rows are stored or none: a bad row "
        "answers 422 naming `events[i].field`; an exposure must name an experiment key of the workspace."
    ),
)
@requires(Scope.EVENTS_WRITE)
def batch_create(request, payload: EventBatchIn):
    if len(payload.events) > rows.MAX_ROWS:
        raise TooManyEvents(
            f"Too many events in one request: {len(payload.events)}; send at most {rows.MAX_ROWS} per call.",
            fields={"events": f"at most {rows.MAX_ROWS} rows per request"},
        )
    source = "sdk" if isinstance(request.auth, SdkClient) else "api"
    result = services.ingest_rows(_workspace_id(request.auth), payload.events, source=source)
    return Status(202, {"exposures": result.exposures, "events": result.events})


@router.post(
    "/events/upload",
    response=responses({202: EventIngestOut}),
    operation_id="events_upload_create",
    description=(
        "Upload a CSV or Parquet file (multipart `file`) whose columns are the batch API's field names. All rows "
        "are stored or none: a bad row answers 422 naming `rows[n].field` (CSV rows numbered as in a spreadsheet, "
        "the header is row 1; Parquet rows from 1)."
    ),
)
@requires(Scope.EVENTS_WRITE)
def upload_create(request, form: Form[EventUploadForm], file: File[UploadedFile] = None):  # type: ignore[assignment]
    if file is None:
        raise Invalid("Attach the CSV or Parquet file as the multipart field 'file'.", fields={"file": "Required."})
    from . import files

    result = services.events_upload(
        actor=request.auth, data=files.read_upload(file), filename=file.name or "", fmt=form.format or None
    )
    return Status(202, {"exposures": result.exposures, "events": result.events})


@router.get("/events/names", response=responses(EventNameList), operation_id="events_name_list")
@requires(Scope.WORKSPACE_READ)
def name_list(request):
    return {"items": [{"name": n, "count": c} for n, c in selectors.event_name_list(actor=request.auth)]}


def _source_out(source) -> dict[str, Any]:
    if source is None:
        return {
            "kind": "embedded",
            "url": "",
            "has_password": False,
            "exposures_table": "",
            "events_table": "",
            "columns": {},
            "last_tested_at": None,
            "last_test_ok": None,
            "last_test_message": "",
            "version": 1,
        }
    return {
        "kind": source.kind,
        "url": warehouse.masked(source.url, bool(source.password)),
        "has_password": bool(source.password),
        "exposures_table": source.exposures_table,
        "events_table": source.events_table,
        "columns": source.columns or {},
        "last_tested_at": source.last_tested_at,
        "last_test_ok": source.last_test_ok,
        "last_test_message": source.last_test_message,
        "version": source.version,
    }


@router.get("/events/source", response=responses(EventSourceOut), operation_id="events_source_get")
@requires(Scope.WORKSPACE_MANAGE)
def source_get(request):
    return _source_out(selectors.event_source_get(actor=request.auth))


@router.put("/events/source", response=responses(EventSourceOut, 409), operation_id="events_source_update")
@requires(Scope.WORKSPACE_MANAGE)
def source_update(request, payload: EventSourceIn):
    columns = payload.columns.model_dump() if payload.columns is not None else None
    source = services.event_source_update(
        actor=request.auth,
        kind=payload.kind,
        url=payload.url,
        password=payload.password,
        exposures_table=payload.exposures_table,
        events_table=payload.events_table,
        columns=columns,
        expected_version=payload.version,
    )
    return _source_out(source)


@router.post("/events/source/test", response=responses(EventSourceOut), operation_id="events_source_test")
@requires(Scope.WORKSPACE_MANAGE)
def source_test(request):
    return _source_out(services.event_source_test(actor=request.auth))
