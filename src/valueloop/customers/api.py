import json
from typing import Literal

from ninja import Field, File, Form, Query, Router, Status, UploadedFile

from valueloop.core.api_support import PageParams, PathId, StrictSchema, page_schema, paginate, requires, responses
from valueloop.core.errors import Invalid
from valueloop.core.money import money_out
from valueloop.core.permissions import Scope

from . import facade, importing, selectors, services
from .schemas import (
    ContactIn,
    ContactListParams,
    ContactOut,
    ContactPatch,
    CurrencyRateIn,
    CurrencyRateList,
    CurrencyRateOut,
    CustomerIn,
    CustomerListParams,
    CustomerOut,
    CustomerPageOut,
    CustomerPatch,
    ImportReportOut,
    PersonaIn,
    PersonaOut,
    PersonaPatch,
    SearchParams,
    TimelinePage,
    TimelineParams,
)

router = Router(tags=["customers"])
WRITE = services.WRITE_SCOPE
ContactPage = page_schema(ContactOut, "ContactPage")
PersonaPage = page_schema(PersonaOut, "PersonaPage")


def _patch(payload) -> tuple[dict, int | None]:
    data = payload.model_dump(exclude_unset=True)
    return data, data.pop("version", None)


# --- accounts ---------------------------------------------------------------------------------


@router.get("/customers", response=responses(CustomerPageOut), operation_id="customers_customer_list")
@requires(Scope.WORKSPACE_READ)
def customer_list(request, params: Query[CustomerListParams]):
    query = selectors.customer_list(
        actor=request.auth,
        search=params.search,
        segment=params.segment,
        lifecycle=params.lifecycle,
        health=params.health,
        owner_id=params.owner_id,
        arr_min=params.arr_min,
        arr_max=params.arr_max,
        include_archived=params.include_archived,
        sort=params.sort,
    )
    page = paginate(query, params)
    page["currency"] = request.auth.workspace.currency
    page["arr_total"] = money_out(selectors.arr_total(query), page["currency"])
    return page


@router.post("/customers", response=responses({201: CustomerOut}), operation_id="customers_customer_create")
@requires(WRITE)
def customer_create(request, payload: CustomerIn):
    return Status(201, services.customer_create(actor=request.auth, **payload.model_dump()))


@router.get("/customers/{customer_id}", response=responses(CustomerOut), operation_id="customers_customer_get")
@requires(Scope.WORKSPACE_READ)
def customer_get(request, customer_id: PathId):
    return selectors.access_customer(actor=request.auth, id=customer_id)


@router.patch(
    "/customers/{customer_id}", response=responses(CustomerOut, 409), operation_id="customers_customer_update"
)
@requires(WRITE)
def customer_update(request, customer_id: PathId, payload: CustomerPatch):
    data, version = _patch(payload)
    return services.customer_update(actor=request.auth, customer_id=customer_id, expected_version=version, **data)


@router.post(
    "/customers/{customer_id}/archive", response=responses(CustomerOut), operation_id="customers_customer_archive"
)
@requires(WRITE)
def customer_archive(request, customer_id: PathId):
    return services.customer_archive(actor=request.auth, customer_id=customer_id, archived=True)


@router.post(
    "/customers/{customer_id}/restore", response=responses(CustomerOut), operation_id="customers_customer_restore"
)
@requires(WRITE)
def customer_restore(request, customer_id: PathId):
    return services.customer_archive(actor=request.auth, customer_id=customer_id, archived=False)


@router.delete(
    "/customers/{customer_id}",
    response=responses({204: None}, 409),
    operation_id="customers_customer_delete",
    description="Deletes an archived account for good (409 `not_archived` otherwise). Its contacts stay.",
)
@requires(WRITE)
def customer_delete(request, customer_id: PathId):
    services.customer_delete(actor=request.auth, customer_id=customer_id)
    return Status(204, None)


@router.get(
    "/customers/{customer_id}/timeline",
    response=responses(TimelinePage),
    operation_id="customers_timeline_list",
    description="Feedback, interviews, requests, incidents and survey answers of the account, newest first.",
)
@requires(Scope.WORKSPACE_READ)
def timeline_list(request, customer_id: PathId, params: Query[TimelineParams]):
    customer = selectors.access_customer(actor=request.auth, id=customer_id)
    timeline = facade.customer_timeline(actor=request.auth, customer=customer, kind=params.kind, limit=None)
    return paginate(timeline.entries, params)


# --- contacts ---------------------------------------------------------------------------------


@router.get("/contacts", response=responses(ContactPage), operation_id="customers_contact_list")
@requires(Scope.WORKSPACE_READ)
def contact_list(request, params: Query[ContactListParams]):
    query = selectors.contact_list(
        actor=request.auth,
        search=params.search,
        customer_id=params.customer_id,
        include_unsubscribed=params.include_unsubscribed,
    )
    return paginate(query, params)


@router.post("/contacts", response=responses({201: ContactOut}), operation_id="customers_contact_create")
@requires(WRITE)
def contact_create(request, payload: ContactIn):
    return Status(201, services.contact_create(actor=request.auth, **payload.model_dump()))


@router.get("/contacts/{contact_id}", response=responses(ContactOut), operation_id="customers_contact_get")
@requires(Scope.WORKSPACE_READ)
def contact_get(request, contact_id: PathId):
    return selectors.access_contact(actor=request.auth, id=contact_id)


@router.patch("/contacts/{contact_id}", response=responses(ContactOut, 409), operation_id="customers_contact_update")
@requires(WRITE)
def contact_update(request, contact_id: PathId, payload: ContactPatch):
    data, version = _patch(payload)
    return services.contact_update(actor=request.auth, contact_id=contact_id, expected_version=version, **data)


@router.post(
    "/contacts/{contact_id}/unsubscribe",
    response=responses(ContactOut),
    operation_id="customers_contact_unsubscribe",
    description="Record that the person wants no more email. Cannot be undone through the API.",
)
@requires(WRITE)
def contact_unsubscribe(request, contact_id: PathId):
    return services.contact_unsubscribe(actor=request.auth, contact_id=contact_id)


@router.delete("/contacts/{contact_id}", response=responses({204: None}), operation_id="customers_contact_delete")
@requires(WRITE)
def contact_delete(request, contact_id: PathId):
    services.contact_delete(actor=request.auth, contact_id=contact_id)
    return Status(204, None)


# --- personas ---------------------------------------------------------------------------------


@router.get("/personas", response=responses(PersonaPage), operation_id="customers_persona_list")
@requires(Scope.WORKSPACE_READ)
def persona_list(request, params: Query[SearchParams]):
    return paginate(selectors.persona_list(actor=request.auth, search=params.search), params)


@router.post("/personas", response=responses({201: PersonaOut}), operation_id="customers_persona_create")
@requires(WRITE)
def persona_create(request, payload: PersonaIn):
    return Status(201, services.persona_create(actor=request.auth, **payload.model_dump()))


@router.get("/personas/{persona_id}", response=responses(PersonaOut), operation_id="customers_persona_get")
@requires(Scope.WORKSPACE_READ)
def persona_get(request, persona_id: PathId):
    return selectors.access_persona(actor=request.auth, id=persona_id)


@router.patch("/personas/{persona_id}", response=responses(PersonaOut, 409), operation_id="customers_persona_update")
@requires(WRITE)
def persona_update(request, persona_id: PathId, payload: PersonaPatch):
    data, version = _patch(payload)
    return services.persona_update(actor=request.auth, persona_id=persona_id, expected_version=version, **data)


@router.delete("/personas/{persona_id}", response=responses({204: None}), operation_id="customers_persona_delete")
@requires(WRITE)
def persona_delete(request, persona_id: PathId):
    services.persona_delete(actor=request.auth, persona_id=persona_id)
    return Status(204, None)


# --- currency rates ---------------------------------------------------------------------------


@router.get("/currency-rates", response=responses(CurrencyRateList), operation_id="customers_currency_rate_list")
@requires(Scope.WORKSPACE_READ)
def currency_rate_list(request, params: Query[PageParams]):
    usage = selectors.currency_usage(actor=request.auth)
    page = paginate(selectors.currency_rate_list(actor=request.auth), params)
    for rate in page["items"]:
        rate.accounts = usage.get(rate.currency, 0)
    page["currency"] = request.auth.workspace.currency
    known = {r.currency for r in selectors.currency_rate_list(actor=request.auth)} | {request.auth.workspace.currency}
    page["missing"] = sorted(c for c in usage if c and c not in known)
    return page


@router.put(
    "/currency-rates",
    response=responses(CurrencyRateOut),
    operation_id="customers_currency_rate_set",
    description="Create or change the rate of a currency; every account's ARR in it is re-converted at once.",
)
@requires(WRITE)
def currency_rate_set(request, payload: CurrencyRateIn):
    return services.currency_rate_set(actor=request.auth, currency=payload.currency, rate=payload.rate)


@router.delete(
    "/currency-rates/{rate_id}",
    response=responses({204: None}, 409),
    operation_id="customers_currency_rate_delete",
    description="409 `rate_in_use` while accounts have ARR in that currency.",
)
@requires(WRITE)
def currency_rate_delete(request, rate_id: PathId):
    services.currency_rate_delete(actor=request.auth, rate_id=rate_id)
    return Status(204, None)


# --- import -----------------------------------------------------------------------------------


class ImportParams(StrictSchema):
    kind: Literal["accounts", "contacts"] = "accounts"
    preset: Literal["auto", "salesforce", "hubspot", "none"] = "auto"
    mapping: str = Field("", max_length=20000, description="JSON object {our_field: their_column}")
    skip_invalid: bool = False
    dry_run: bool = False
    encoding: Literal["auto", "utf-8", "cp1252"] = "auto"
    date_order: Literal["auto", "dmy", "mdy"] = "auto"


def _mapping(text: str) -> dict[str, str]:
    if not text.strip():
        return {}
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise Invalid(
            "The mapping must be a JSON object of our field to their column.",
            fields={"mapping": 'e.g. {"name": "Account Name", "arr": "ARR (EUR)"}; "" unmaps a field.'},
        )
    return mapping


@router.post(
    "/customer-imports",
    response=responses(ImportReportOut, 409),
    operation_id="customers_import_create",
    description=(
        "Import accounts or contacts from a CSV file (multipart: `file`, plus form fields `kind` accounts|contacts, "
        "`preset` auto|salesforce|hubspot|none, `mapping` JSON {our_field: their_column}, `skip_invalid`, "
        "`dry_run`, `encoding` auto|utf-8|cp1252 (auto: UTF-8 first, else detected; the report names it), "
        "`date_order` auto|dmy|mdy). A dry run answers the report and writes "
        "nothing. Otherwise every row is validated first: any problem answers 422 `import_invalid` naming each "
        "row and field, and nothing is written, unless `skip_invalid` is set. Re-importing a file changes nothing."
    ),
)
@requires(WRITE)
def import_create(request, params: Form[ImportParams], file: File[UploadedFile] = None):
    if file is None:
        raise Invalid("Upload the CSV as the multipart field 'file'.", fields={"file": "No file was uploaded."})
    data = importing.read_limited(file)
    report = importing.import_csv(
        actor=request.auth,
        data=data,
        kind=params.kind,
        preset=params.preset,
        mapping=_mapping(params.mapping),
        skip_invalid=params.skip_invalid,
        dry_run=params.dry_run,
        encoding=params.encoding,
        date_order=params.date_order,
        filename=file.name or "",
    )
    return report.as_dict()
