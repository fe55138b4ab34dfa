from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator, PlainSerializer, Strict

from valueloop.core.api_support import BodyId, MoneyOut, PageParams, StrictBody, choice_literal, page_schema
from valueloop.core.money import money_out

from .models import HEALTH, LIFECYCLE, SEGMENTS

# Choices come from the models: a new segment, stage or health is accepted by the API without a second edit.
SegmentName = choice_literal([("", "")], SEGMENTS)
LifecycleName = choice_literal(LIFECYCLE)
HealthName = choice_literal(HEALTH)

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. EUR")]


def _amount(value):
    # Money travels as a decimal string ("12500.00") or a JSON number; never a float in storage.
    if isinstance(value, bool):
        raise ValueError('Use a number or a decimal string such as "12500.00".')
    if isinstance(value, int | float | str | Decimal):
        return value
    raise ValueError('Use a number or a decimal string such as "12500.00".')


def _iso_date(value):
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        return value.strip()
    raise ValueError("Use a date in the form YYYY-MM-DD, e.g. 2026-03-31.")


IsoDate = Annotated[dt.date, Field(description="YYYY-MM-DD"), BeforeValidator(_iso_date), Strict(False)]
Amount = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("99999999999999.99"), decimal_places=2, description='An amount, e.g. "12500.00"'),
    BeforeValidator(_amount),
    Strict(False),
]
Rate = Annotated[
    Decimal,
    Field(gt=0, lt=Decimal("10000000000"), decimal_places=8, description="Units of the workspace currency per unit"),
    BeforeValidator(_amount),
    Strict(False),
]


class OwnerOut(Schema):
    id: int
    email: str
    name: str


class CustomerOut(Schema):
    id: int
    name: str
    domain: str
    segment: str
    plan: str
    arr: MoneyOut = Field(..., description="ARR in the account's own currency (arr_currency)")
    arr_currency: str
    arr_base: MoneyOut = Field(..., description="ARR in the workspace currency (used for every roll-up)")
    lifecycle: str
    region: str
    owner: OwnerOut | None
    renewal_date: dt.date | None
    health: str
    external_id: str
    archived_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_arr(obj) -> dict:
        return money_out(obj.arr, obj.arr_currency)

    @staticmethod
    def resolve_arr_base(obj, context) -> dict:
        # The workspace currency is the actor's (every customer answered is in the actor's workspace).
        return money_out(obj.arr_base, context["request"].auth.workspace.currency)


class CustomerIn(StrictBody):
    name: str = Field(..., min_length=1, max_length=200)
    domain: str = Field("", max_length=253)
    segment: SegmentName = ""
    plan: str = Field("", max_length=80)
    arr: Amount = Decimal("0")
    arr_currency: CurrencyCode | Literal[""] = Field("", description="Empty: the workspace currency")
    lifecycle: LifecycleName = "customer"
    region: str = Field("", max_length=80)
    owner_id: BodyId | None = None
    renewal_date: IsoDate | None = None
    health: HealthName = ""
    external_id: str = Field("", max_length=120)


class CustomerPatch(StrictBody):
    name: str | None = Field(None, min_length=1, max_length=200)
    domain: str | None = Field(None, max_length=253)
    segment: SegmentName | None = None
    plan: str | None = Field(None, max_length=80)
    arr: Amount | None = None
    arr_currency: CurrencyCode | None = None
    lifecycle: LifecycleName | None = None
    region: str | None = Field(None, max_length=80)
    owner_id: BodyId | None = Field(None, description="A member's user id; null clears the owner")
    renewal_date: IsoDate | None = None
    health: HealthName | None = None
    external_id: str | None = Field(None, max_length=120)
    version: int | None = Field(None, ge=1, description="The version you edited; a stale one answers 409.")


class CustomerListParams(PageParams):
    search: str = Field("", max_length=200)
    segment: SegmentName = ""
    lifecycle: LifecycleName | Literal[""] = ""
    health: HealthName | Literal["unknown"] = Field("", description="unknown: accounts without a health")
    owner_id: int | None = Field(None, ge=0, le=2**62, description="0: accounts without an owner")
    arr_min: Decimal | None = Field(None, ge=0, le=Decimal("99999999999999.99"), description="Workspace currency")
    arr_max: Decimal | None = Field(None, ge=0, le=Decimal("99999999999999.99"), description="Workspace currency")
    include_archived: bool = False
    sort: Literal["name", "-name", "arr", "-arr", "renewal", "-renewal"] = "name"


class CustomerPageOut(Schema):
    items: list[CustomerOut]
    count: int
    page: int
    page_size: int
    pages: int
    arr_total: MoneyOut = Field(..., description="Sum of arr_base over every matching account")
    currency: str


class TimelineEntryOut(Schema):
    at: dt.datetime | dt.date
    kind: str
    title: str
    url: str
    summary: str


class TimelineParams(PageParams):
    kind: str = Field("", max_length=40)


TimelinePage = page_schema(TimelineEntryOut, "TimelinePage")


class ContactCustomerOut(Schema):
    id: int
    name: str


class ContactOut(Schema):
    id: int
    customer: ContactCustomerOut | None
    name: str
    email: str
    title: str
    external_id: str
    unsubscribed_at: dt.datetime | None
    created_at: dt.datetime
    version: int


class ContactIn(StrictBody):
    customer_id: BodyId | None = None
    name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    title: str = Field("", max_length=120)
    external_id: str = Field("", max_length=120)


class ContactPatch(StrictBody):
    customer_id: BodyId | None = Field(None, description="null detaches the contact from its account")
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    title: str | None = Field(None, max_length=120)
    external_id: str | None = Field(None, max_length=120)
    version: int | None = Field(None, ge=1)


class ContactListParams(PageParams):
    search: str = Field("", max_length=200)
    customer_id: int | None = Field(None, ge=1, le=2**62)
    include_unsubscribed: bool = True


class PersonaOut(Schema):
    id: int
    name: str
    description: str
    goals: str
    jobs_to_be_done: str
    version: int


class PersonaIn(StrictBody):
    name: str = Field(..., min_length=1, max_length=120)
    description: str = Field("", max_length=20000)
    goals: str = Field("", max_length=20000)
    jobs_to_be_done: str = Field("", max_length=20000)


class PersonaPatch(StrictBody):
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=20000)
    goals: str | None = Field(None, max_length=20000)
    jobs_to_be_done: str | None = Field(None, max_length=20000)
    version: int | None = Field(None, ge=1)


class SearchParams(PageParams):
    search: str = Field("", max_length=200)


class CurrencyRateOut(Schema):
    id: int
    currency: str
    rate: Annotated[Decimal, PlainSerializer(lambda v: f"{v.normalize():f}", return_type=str)]
    updated_at: dt.datetime
    accounts: int = 0


class CurrencyRateIn(StrictBody):
    currency: CurrencyCode
    rate: Rate


class CurrencyRateList(Schema):
    currency: str = Field(..., description="The workspace currency every rate converts to")
    items: list[CurrencyRateOut]
    missing: list[str] = Field(..., description="Currencies used by accounts that have no rate")


class ImportProblemOut(Schema):
    row: int | None = Field(..., description="Spreadsheet row (the header is row 1); null for the file/mapping")
    field: str
    column: str
    message: str


class ImportReportOut(Schema):
    kind: str
    filename: str
    encoding: str
    delimiter: str
    preset: str
    date_order: str
    columns: list[str]
    mapping: dict[str, str]
    ignored_columns: list[str]
    rows: int
    valid_rows: int
    invalid_rows: int
    problems: list[ImportProblemOut]
    problem_count: int
    notes: list[str]
    created: int
    updated: int
    unchanged: int
    skipped: int
    dry_run: bool
    written: bool
