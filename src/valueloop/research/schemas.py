import datetime as dt
from typing import Annotated

from ninja import Field, Schema
from pydantic import BeforeValidator, Strict

from valueloop.core.api_support import BodyId, StrictBody, choice_literal, page_schema

from .models import SURVEY_KINDS

SurveyKind = choice_literal(SURVEY_KINDS)


def _iso_date(value):
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        return value.strip()
    raise ValueError("Use a date in the form YYYY-MM-DD, e.g. 2026-03-31.")


def _iso_datetime(value):
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and len(value.strip()) >= 16 and not value.strip().isdigit():
        return value.strip()
    raise ValueError("Use an ISO 8601 date-time with a time zone, e.g. 2026-03-31T14:05:00Z.")


IsoDate = Annotated[dt.date, Field(description="YYYY-MM-DD"), BeforeValidator(_iso_date), Strict(False)]
IsoDatetime = Annotated[dt.datetime, BeforeValidator(_iso_datetime), Strict(False)]


class InterviewIn(StrictBody):
    title: str = Field(..., min_length=1, max_length=200)
    happened_on: IsoDate
    notes: str = Field("", max_length=200000, description="Markdown")
    consent: bool = Field(False, description="The participants agreed to be recorded and quoted")
    customer_id: BodyId | None = None
    participant_ids: list[BodyId] = Field(default_factory=list, max_length=100)


class InterviewPatch(StrictBody):
    title: str | None = Field(None, min_length=1, max_length=200)
    happened_on: IsoDate | None = None
    notes: str | None = Field(None, max_length=200000)
    consent: bool | None = None
    customer_id: BodyId | None = None
    participant_ids: list[BodyId] | None = Field(None, max_length=100)
    version: int | None = Field(None, ge=1, description="The version you edited; a stale one answers 409.")


class InterviewOut(Schema):
    id: int
    title: str
    happened_on: dt.date
    customer_id: int | None
    notes: str
    consent: bool
    participant_ids: list[int]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_participant_ids(obj):
        return sorted(obj.participants.values_list("pk", flat=True))


class InterviewListOut(Schema):
    id: int
    title: str
    happened_on: dt.date
    customer_id: int | None
    consent: bool
    highlight_count: int = 0
    participant_count: int = 0
    version: int


InterviewPage = page_schema(InterviewListOut, "InterviewPage")


class HighlightIn(StrictBody):
    text: str = Field("", max_length=20000, description="The words (checked against, or found in, the notes)")
    start: int | None = Field(None, ge=0, le=200000, description="Offset into the markdown source")
    end: int | None = Field(None, ge=1, le=200000)
    rendered_offset: int | None = Field(
        None, ge=0, le=200000, description="Characters of rendered text before a selection (picks among repeats)"
    )


class HighlightOut(Schema):
    id: int
    interview_id: int
    start: int
    end: int
    text: str
    prefix: str
    suffix: str
    detached: bool
    created_at: dt.datetime


class SurveyResponseIn(StrictBody):
    kind: SurveyKind
    score: int = Field(..., ge=0, le=10)
    responded_at: IsoDatetime | None = None
    comment: str = Field("", max_length=20000)
    customer_id: BodyId | None = None
    contact_id: BodyId | None = None
    external_id: str = Field("", max_length=120)


class SurveyResponseOut(Schema):
    id: int
    kind: SurveyKind
    score: int
    comment: str
    customer_id: int | None
    contact_id: int | None
    responded_at: dt.datetime
    feedback_id: int | None
    external_id: str


SurveyResponsePage = page_schema(SurveyResponseOut, "SurveyResponsePage")


class SurveyImportIn(StrictBody):
    csv: str = Field(..., min_length=1, max_length=5 * 1024 * 1024, description="The CSV file's text")
    kind: SurveyKind | None = Field(None, description="Kind of every row (else the file's kind column)")
    allow_unknown_accounts: bool = False
    dry_run: bool = False


class SurveyImportProblemOut(Schema):
    row: int
    field: str
    message: str


class SurveyImportOut(Schema):
    total_rows: int
    created: int
    unchanged: int
    feedback_created: int
    unmatched_emails: int
    unknown_accounts: int
    written: bool
    dry_run: bool
    problems: list[SurveyImportProblemOut]


class ScoreOut(Schema):
    n: int
    score: float = Field(..., description="NPS (-100..100) or CSAT share in percent")
    margin_of_error: float = Field(..., description="Half-width of the 95% confidence interval, in points")
    low: float
    high: float


class SurveyRowOut(Schema):
    key: str
    label: str
    n: int
    result: ScoreOut | None


class SurveySummaryOut(Schema):
    kind: SurveyKind
    since: dt.datetime | None
    total: int
    overall: ScoreOut | None
    months: list[SurveyRowOut]
    segments: list[SurveyRowOut]
