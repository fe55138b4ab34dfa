from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AwareDatetime, BeforeValidator, Strict

from valueloop.core.api_support import BodyId, PageParams, StrictBody, choice_literal, page_schema

from .models import IMPORTANCE, SOURCES, STATUSES


def _iso_datetime(value):
    # A string in the ISO form, never a bare number (which pydantic would read as a timestamp).
    if isinstance(value, datetime) or (isinstance(value, str) and "-" in value[:8]):
        return value
    raise ValueError("Use an ISO 8601 date-time with an offset, e.g. 2026-01-31T09:00:00Z.")


# Choices come from the models: a new source, status or importance is accepted by the API without a second edit.
SourceName = choice_literal(SOURCES)
StatusName = choice_literal(STATUSES)
SettableStatus = choice_literal([(key, label) for key, label in STATUSES if key != "linked"])  # links set "linked"
ImportanceName = choice_literal(IMPORTANCE)
ArrBand = Literal["lt10k", "10k_50k", "50k_250k", "250k_1m", "1m_plus"]
Segment = Literal["enterprise", "mid_market", "smb", "startup", "public_sector", "other"]
TagName = Field(..., min_length=1, max_length=60)


def _iso_date(value):
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip())):
        return value
    raise ValueError("Use a date in the form YYYY-MM-DD, e.g. 2026-03-31.")


QueryDate = Annotated[date, BeforeValidator(_iso_date), Field(description="YYYY-MM-DD")]
# An ISO 8601 date-time with its offset, in a strict body (where pydantic would refuse any string).
BodyDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_datetime),
    Strict(False),
    Field(description="ISO 8601 with an offset, e.g. 2026-01-31T09:00:00Z"),
]


class FeedbackListParams(PageParams):
    q: str = Field("", max_length=500, description='Full-text search: words, "a phrase", -exclude, a OR b')
    status: StatusName | None = None
    source: SourceName | None = None
    tag: str = Field("", max_length=60)
    segment: Segment | None = None
    arr_band: ArrBand | None = Field(None, description="Customer ARR band (workspace currency)")
    customer_id: int | None = Field(None, ge=1, le=2**62)
    importance: ImportanceName | Literal["none"] | None = None
    persona_id: int | None = Field(None, ge=1, le=2**62)
    received_from: QueryDate | None = None
    received_to: QueryDate | None = None
    sort: Literal["relevance", "newest", "oldest"] | None = None


class FeedbackCustomerRef(Schema):
    id: int
    name: str


class FeedbackOut(Schema):
    id: int
    title: str
    text: str
    source: SourceName
    status: StatusName
    importance: ImportanceName
    received_at: datetime
    url: str
    external_id: str
    customer: FeedbackCustomerRef | None
    contact_id: int | None
    tags: list[str]
    persona_ids: list[int]
    created_at: datetime
    updated_at: datetime
    version: int

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return [t.name for t in obj.tags.all()]

    @staticmethod
    def resolve_persona_ids(obj) -> list[int]:
        return [p.pk for p in obj.personas.all()]

    @staticmethod
    def resolve_customer(obj):
        return {"id": obj.customer.pk, "name": obj.customer.name} if obj.customer_id else None


class FeedbackIn(StrictBody):
    text: str = Field(..., min_length=1, max_length=100000)
    title: str = Field("", max_length=300)
    source: SourceName = "other"
    received_at: BodyDatetime | None = Field(None, description="When the customer said it; default now")
    customer_id: BodyId | None = None
    contact_id: BodyId | None = None
    url: str = Field("", max_length=1000)
    importance: ImportanceName = ""
    tags: list[str] = Field(default_factory=list, max_length=20)
    persona_ids: list[BodyId] = Field(default_factory=list, max_length=50)
    external_id: str = Field("", max_length=120)


class FeedbackPatch(StrictBody):
    text: str | None = Field(None, min_length=1, max_length=100000)
    title: str | None = Field(None, max_length=300)
    source: SourceName | None = None
    received_at: BodyDatetime | None = None
    customer_id: BodyId | None = None
    contact_id: BodyId | None = None
    url: str | None = Field(None, max_length=1000)
    importance: ImportanceName | None = None
    status: SettableStatus | None = None
    tags: list[str] | None = Field(None, max_length=20)
    persona_ids: list[BodyId] | None = Field(None, max_length=50)
    version: int | None = Field(None, ge=1, description="The version you edited; a stale one answers 409.")


class FeedbackBulkIn(StrictBody):
    ids: list[BodyId] = Field(..., min_length=1, max_length=1000)
    action: Literal["triage", "new", "archive", "add_tag", "remove_tag", "assign_customer"]
    tag: str = Field("", max_length=60, description="For add_tag / remove_tag")
    customer_id: BodyId | None = Field(None, description="For assign_customer; omit both to clear")
    customer: str = Field("", max_length=200, description="For assign_customer: name, domain or external id")


class FeedbackBulkOut(Schema):
    changed: int


class FeedbackBatchItem(StrictBody):
    text: str = Field(..., max_length=100000)
    title: str = Field("", max_length=300)
    source: str = Field("", max_length=40, description="One of our sources (or a synonym such as zendesk)")
    received_at: str = Field("", max_length=64, description="ISO 8601; default now")
    customer_id: BodyId | None = None
    customer: str = Field("", max_length=200, description="Customer external id, name or domain")
    contact_email: str = Field("", max_length=254)
    url: str = Field("", max_length=1000)
    importance: str = Field("", max_length=40)
    tags: list[str] = Field(default_factory=list, max_length=20)
    external_id: str = Field("", max_length=200, description="Makes the item idempotent per source")


class FeedbackBatchIn(StrictBody):
    items: list[FeedbackBatchItem] = Field(..., min_length=1, max_length=1000)


class FeedbackBatchResult(Schema):
    index: int
    id: int | None
    external_id: str
    result: Literal["created", "unchanged"]


class FeedbackBatchOut(Schema):
    created: int
    unchanged: int
    replayed: bool
    items: list[FeedbackBatchResult]


class FeedbackImportProblem(Schema):
    row: int | None
    field: str | None
    message: str


class FeedbackImportOut(Schema):
    ok: bool
    summary: str
    preset: str
    format: str
    total_rows: int
    valid_rows: int
    to_create: int
    created: int
    unchanged: int
    invalid_rows: int
    error_count: int
    errors: list[FeedbackImportProblem]
    warnings: list[FeedbackImportProblem]
    columns: list[str]
    ignored_columns: list[str]
    mapping: dict[str, str | None]
    dry_run: bool
    skip_invalid: bool
    written: bool


class FeedbackTagOut(Schema):
    id: int
    name: str


class FeedbackTagIn(StrictBody):
    name: str = TagName


class FeedbackViewOut(Schema):
    id: int
    name: str
    query: str
    shared: bool
    owner_id: int


class FeedbackViewIn(StrictBody):
    name: str = Field(..., min_length=1, max_length=80)
    query: str = Field("", max_length=2000, description="Inbox filters as a query string, e.g. status=new&tag=dunning")
    shared: bool = False


class FeedbackViewPatch(StrictBody):
    name: str | None = Field(None, min_length=1, max_length=80)
    query: str | None = Field(None, max_length=2000)
    shared: bool | None = None


FeedbackPage = page_schema(FeedbackOut, "FeedbackPage")
FeedbackTagPage = page_schema(FeedbackTagOut, "FeedbackTagPage")
FeedbackViewPage = page_schema(FeedbackViewOut, "FeedbackViewPage")
