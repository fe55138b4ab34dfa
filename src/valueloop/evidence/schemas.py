from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema

from valueloop.core.api_support import BodyId, MoneyOut, StrictBody, choice_literal, page_schema

from .models import EVIDENCE_IMPORTANCE, LOOP_STATUS, TARGET_TYPES

TargetType = choice_literal(TARGET_TYPES)
LoopStatus = choice_literal(LOOP_STATUS)
_IMPORTANCES = [value for value, _ in EVIDENCE_IMPORTANCE]
Importance = Annotated[
    int,
    Field(
        ge=min(_IMPORTANCES),
        le=max(_IMPORTANCES),
        description=", ".join(f"{value} {label.lower()}" for value, label in EVIDENCE_IMPORTANCE),
    ),
]
Offset = Annotated[int, Field(ge=0, le=100000, description="Code-point offset into the feedback item's text")]


class EvidenceIn(StrictBody):
    target_type: TargetType
    target_id: BodyId
    feedback_id: BodyId | None = Field(None, description="The source: a feedback item (or give highlight_id)")
    highlight_id: BodyId | None = Field(None, description="The source: an interview highlight (or give feedback_id)")
    importance: Importance = 2
    quote_start: Offset | None = None
    quote_end: Offset | None = None
    quote: str = Field("", max_length=20000, description="The quoted words; checked against the item's text")


class EvidencePatch(StrictBody):
    importance: Importance | None = None
    quote_start: Offset | None = None
    quote_end: Offset | None = None
    quote: str | None = Field(None, max_length=20000)
    clear_quote: bool = False


class EvidenceOut(Schema):
    id: int
    target_type: TargetType
    target_id: int
    feedback_id: int | None
    highlight_id: int | None
    learning_id: int | None = None
    customer_id: int | None
    importance: int
    quote: str
    quote_start: int | None
    quote_end: int | None
    said_at: datetime | None
    created_at: datetime


EvidencePage = page_schema(EvidenceOut, "EvidencePage")


class SegmentOut(Schema):
    segment: str
    label: str
    accounts: int
    arr: MoneyOut
    items: int


class EvidencePersonaOut(Schema):
    id: int
    label: str
    accounts: int
    items: int


class MonthOut(Schema):
    start: date
    items: int
    accounts: int


class EvidenceSummaryOut(Schema):
    target_type: TargetType
    target_id: int
    count: int
    accounts: int = Field(..., description="Unique accounts (archived accounts left out)")
    arr: MoneyOut = Field(..., description="ARR of those accounts, each counted once, in the workspace currency")
    currency: str
    by_segment: list[SegmentOut]
    by_persona: list[EvidencePersonaOut]
    months: list[MonthOut]
    strongest: list[EvidenceOut]
    newest: list[EvidenceOut]


class RequesterOut(Schema):
    contact_id: int
    name: str
    email: str
    customer_id: int | None
    customer_name: str
    status: Literal["to_tell", "told", "unsubscribed"]
    told_at: datetime | None
    items: int


class NotifyIn(StrictBody):
    subject: str = Field(..., min_length=1, max_length=200)
    body: str = Field(..., min_length=1, max_length=10000, description="Plain text; {name} becomes the first name")
    contact_ids: list[BodyId] | None = Field(None, max_length=5000, description="Only these requesters (default: all)")
    resend: bool = Field(False, description="Also email people already told about this feature")


class LoopNotificationOut(Schema):
    id: int
    feature_id: int
    contact_id: int | None
    email: str
    subject: str
    status: LoopStatus
    resend: bool
    created_at: datetime
    sent_at: datetime | None


LoopNotificationPage = page_schema(LoopNotificationOut, "LoopNotificationPage")
