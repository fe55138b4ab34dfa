from typing import Literal

from django.http import HttpResponse
from ninja import Field, File, Form, Header, Query, Router, Status, UploadedFile

from valueloop.core.api_support import PageParams, PathId, StrictSchema, paginate, requires, responses
from valueloop.core.errors import Invalid
from valueloop.core.importing import reading
from valueloop.core.permissions import Scope

from . import importing, selectors, services
from .schemas import (
    FeedbackBatchIn,
    FeedbackBatchOut,
    FeedbackBulkIn,
    FeedbackBulkOut,
    FeedbackImportOut,
    FeedbackIn,
    FeedbackListParams,
    FeedbackOut,
    FeedbackPage,
    FeedbackPatch,
    FeedbackTagIn,
    FeedbackTagOut,
    FeedbackTagPage,
    FeedbackViewIn,
    FeedbackViewOut,
    FeedbackViewPage,
    FeedbackViewPatch,
)

router = Router(tags=["feedback"])
WRITE = services.WRITE_SCOPE


@router.get("/feedback/items", response=responses(FeedbackPage), operation_id="feedback_item_list")
@requires(Scope.WORKSPACE_READ)
def item_list(request, params: Query[FeedbackListParams]):
    data = params.model_dump(exclude={"page", "page_size"})
    filters = {k: v for k, v in data.items() if v not in (None, "")}
    sort = filters.pop("sort", "")
    queryset = selectors.feedback_list(actor=request.auth, sort=sort, **filters).prefetch_related("personas")
    return paginate(queryset, params)


@router.post("/feedback/items", response=responses({201: FeedbackOut}, 409), operation_id="feedback_item_create")
@requires(WRITE)
def item_create(request, payload: FeedbackIn):
    return Status(201, services.feedback_create(actor=request.auth, **payload.model_dump()))


@router.get("/feedback/items/{feedback_id}", response=responses(FeedbackOut), operation_id="feedback_item_get")
@requires(Scope.WORKSPACE_READ)
def item_get(request, feedback_id: PathId):
    return selectors.access_feedback(actor=request.auth, id=feedback_id)


@router.patch(
    "/feedback/items/{feedback_id}", response=responses(FeedbackOut, 409), operation_id="feedback_item_update"
)
@requires(WRITE)
def item_update(request, feedback_id: PathId, payload: FeedbackPatch):
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return services.feedback_update(actor=request.auth, feedback_id=feedback_id, expected_version=version, **data)


@router.post("/feedback/bulk", response=responses(FeedbackBulkOut), operation_id="feedback_item_bulk")
@requires(WRITE)
def item_bulk(request, payload: FeedbackBulkIn):
    changed = services.feedback_bulk(actor=request.auth, **payload.model_dump())
    return {"changed": changed}


@router.post(
    "/feedback/batch",
    response=responses({200: FeedbackBatchOut, 201: FeedbackBatchOut}, 409),
    operation_id="feedback_batch_create",
    description=(
        "Create up to 1,000 feedback items at once, all or nothing (per-item errors name "
        "`items[i].field`). Idempotent twice over: by (source, external_id), and by the "
        "`Idempotency-Key` header: the same key with the same body answers the stored response "
        "without writing (`replayed: true`); the same key with another body answers 409. The whole "
        "request body is bounded by the server's upload limit (Django's DATA_UPLOAD_MAX_MEMORY_SIZE)."
    ),
)
@requires(WRITE)
def batch_create(
    request,
    payload: FeedbackBatchIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", max_length=200),
):
    items = [item.model_dump() for item in payload.items]
    for item in items:
        if item.get("customer_id") is None:
            item.pop("customer_id", None)
    result = services.feedback_batch_create(
        actor=request.auth, items=items, idempotency_key=idempotency_key, body_for_hash=payload.model_dump()
    )
    if result.get("replayed"):
        response["Idempotent-Replayed"] = "true"
    return Status(201 if result["created"] else 200, result)


class FeedbackImportForm(StrictSchema):
    preset: Literal["generic", "zendesk", "intercom", "canny"] = "generic"
    format: Literal["", "csv", "json", "jsonl"] = ""
    mapping: str = Field("", max_length=10000, description='JSON: {"text": "Body", "received_at": "Date", ...}')
    skip_invalid: bool = False
    dry_run: bool = False
    unknown_customer: Literal["error", "skip_link"] = "error"
    date_format: str = Field("", max_length=40, description="strptime format for non-ISO dates, e.g. %d/%m/%Y")
    default_source: Literal[
        "", "support", "sales_call", "interview", "survey", "review", "in_app", "email", "other"
    ] = ""


@router.post(
    "/feedback/import",
    response=responses(FeedbackImportOut),
    operation_id="feedback_import_create",
    description=(
        "Import a CSV or JSON file (multipart `file`). Answers the report; with `dry_run` nothing is "
        "written. Any invalid row means nothing is written (422 naming `rows[n].field`) unless "
        "`skip_invalid` is set. Re-importing the same file creates nothing (idempotent by external id)."
    ),
)
@requires(WRITE)
def import_create(request, form: Form[FeedbackImportForm], file: File[UploadedFile] = None):  # type: ignore[assignment]
    if file is None:
        raise Invalid("Attach the file to import as the multipart field 'file'.", fields={"file": "Required."})
    try:
        mapping = importing.parse_mapping(form.mapping)
    except ValueError as exc:
        raise Invalid(str(exc), fields={"mapping": str(exc)}) from None
    options = importing.ImportOptions(
        preset=form.preset,
        fmt=form.format or None,
        mapping=mapping,
        default_source=form.default_source or None,
        unknown_customer=form.unknown_customer,
        date_format=form.date_format or None,
        skip_invalid=form.skip_invalid,
        dry_run=form.dry_run,
    )
    data = reading.read_upload(file, options.limits)  # refused from its size before more is read
    report = services.feedback_import(actor=request.auth, data=data, filename=file.name or "", options=options)
    if not report.ok and not form.dry_run and not report.written:
        unit = "rows" if report.row_unit == "row" else "items"
        fields = {}
        for p in report.errors:
            key = f"{unit}[{p.row}].{p.field or 'row'}" if p.row is not None else (p.field or "file")
            fields.setdefault(key, p.message)
        raise Invalid(report.summary(), fields=fields)
    return report.as_dict()


@router.get("/feedback/tags", response=responses(FeedbackTagPage), operation_id="feedback_tag_list")
@requires(Scope.WORKSPACE_READ)
def tag_list(request, params: Query[PageParams]):
    return paginate(selectors.tag_list(actor=request.auth), params)


@router.post("/feedback/tags", response=responses({201: FeedbackTagOut}), operation_id="feedback_tag_create")
@requires(WRITE)
def tag_create(request, payload: FeedbackTagIn):
    return Status(201, services.tag_create(actor=request.auth, name=payload.name))


@router.patch("/feedback/tags/{tag_id}", response=responses(FeedbackTagOut), operation_id="feedback_tag_update")
@requires(WRITE)
def tag_update(request, tag_id: PathId, payload: FeedbackTagIn):
    return services.tag_rename(actor=request.auth, tag_id=tag_id, name=payload.name)


@router.delete("/feedback/tags/{tag_id}", response=responses({204: None}), operation_id="feedback_tag_delete")
@requires(WRITE)
def tag_delete(request, tag_id: PathId):
    services.tag_delete(actor=request.auth, tag_id=tag_id)
    return Status(204, None)


@router.get("/feedback/views", response=responses(FeedbackViewPage), operation_id="feedback_view_list")
@requires(Scope.WORKSPACE_READ)
def view_list(request, params: Query[PageParams]):
    return paginate(selectors.saved_view_list(actor=request.auth), params)


@router.post("/feedback/views", response=responses({201: FeedbackViewOut}), operation_id="feedback_view_create")
@requires(Scope.WORKSPACE_READ)
def view_create(request, payload: FeedbackViewIn):
    return Status(201, services.saved_view_create(actor=request.auth, **payload.model_dump()))


@router.patch("/feedback/views/{view_id}", response=responses(FeedbackViewOut), operation_id="feedback_view_update")
@requires(Scope.WORKSPACE_READ)
def view_update(request, view_id: PathId, payload: FeedbackViewPatch):
    return services.saved_view_update(actor=request.auth, view_id=view_id, **payload.model_dump(exclude_unset=True))


@router.delete("/feedback/views/{view_id}", response=responses({204: None}), operation_id="feedback_view_delete")
@requires(Scope.WORKSPACE_READ)
def view_delete(request, view_id: PathId):
    services.saved_view_delete(actor=request.auth, view_id=view_id)
    return Status(204, None)
