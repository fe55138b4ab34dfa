from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from valueloop.core.api_support import (
    BodyId,
    MoneyOut,
    PageParams,
    StrictBody,
    choice_literal,
    page_schema,
    workspace_money,
)

from .models import PLACED_BY, RUN_KINDS, RUN_STATUS, SOURCE_KINDS, THEME_STATUS

ThemeStatus = choice_literal(THEME_STATUS)
SourceKind = choice_literal(SOURCE_KINDS)
PlacedBy = choice_literal(PLACED_BY)
RunKind = choice_literal(RUN_KINDS)
RunStatus = choice_literal(RUN_STATUS)


class ThemeListParams(PageParams):
    q: str = Field("", max_length=200, description="Words in the name or keyphrases")
    status: ThemeStatus = "active"
    sort: Literal["volume", "arr", "growth", "accounts", "name"] = "volume"


class ThemeItemParams(PageParams):
    q: str = Field("", max_length=200, description="Words in the item's text or its account's name")


class ThemeOut(Schema):
    id: int
    name: str
    name_set_by_pm: bool
    keyphrases: list[str]
    pinned: bool
    status: ThemeStatus
    merged_into_id: int | None
    problem_id: int | None
    items: int
    accounts: int
    arr: MoneyOut = Field(..., description="ARR of the accounts behind it, each once, in the workspace currency")
    recent_items: int = Field(..., description="Items in the last 28 days")
    growth: float | None = Field(
        None, description="Last 28 days over the 28 days before, minus one (null: nothing before)"
    )
    emerging: bool
    emerging_explanation: str
    weekly: list[int] = Field(..., description="Items per week, oldest first (the last 12 weeks)")
    created_at: datetime
    updated_at: datetime
    version: int

    @staticmethod
    def resolve_arr(obj, context) -> dict | None:
        return workspace_money(obj, "arr", context)


ThemePage = page_schema(ThemeOut, "ThemePage")


class QuoteOut(Schema):
    item_id: int
    text: str
    source: str
    customer_name: str
    said_at: datetime


class WeekOut(Schema):
    week: date
    items: int
    accounts: int


class BreakdownOut(Schema):
    label: str
    items: int
    accounts: int | None = None
    arr: MoneyOut | None = None

    @staticmethod
    def resolve_arr(obj, context) -> dict | None:
        return workspace_money(obj, "arr", context)


class SentimentOut(Schema):
    negative: int
    neutral: int
    positive: int
    note: str = "Approximate: counted from two short word lists on up to 400 of the newest items."


class ThemeDetailOut(ThemeOut):
    representative_quotes: list[QuoteOut]
    volume: list[WeekOut]
    segments: list[BreakdownOut]
    personas: list[BreakdownOut]
    sources: list[BreakdownOut]
    sentiment: SentimentOut


class ThemePatch(StrictBody):
    name: str | None = Field(None, max_length=120, description="Empty: back to the automatic name")
    pinned: bool | None = None
    version: int | None = Field(None, ge=1, description="The version you edited (stale edits answer 409)")


class ThemeMergeIn(StrictBody):
    into_id: BodyId
    version: int | None = Field(None, ge=1)


class SplitPartOut(Schema):
    size: int
    name: str
    keyphrases: list[str]
    item_ids: list[int]


class SplitPreviewOut(Schema):
    theme_id: int
    token: str
    parts: list[SplitPartOut]


class ThemeSplitIn(StrictBody):
    token: str = Field(..., min_length=1, max_length=64, description="From the split preview")
    version: int | None = Field(None, ge=1)


class ThemeSplitOut(Schema):
    theme: ThemeOut
    new_theme: ThemeOut


class ItemOut(Schema):
    id: int
    source: SourceKind
    feedback_id: int | None
    highlight_id: int | None
    theme_id: int | None
    placed_by: PlacedBy | None
    similarity: float | None
    said_at: datetime
    customer_id: int | None
    text: str


ItemPage = page_schema(ItemOut, "ThemeItemPage")


class ThemeCreateIn(StrictBody):
    name: str = Field(..., min_length=1, max_length=120)
    item_ids: list[BodyId] = Field(..., min_length=1, max_length=500, description="Items moved into the new theme")


class ItemMoveIn(StrictBody):
    theme_id: BodyId


class ThemeProblemIn(StrictBody):
    title: str = Field("", max_length=200, description="Default: the theme's name")
    problem_id: BodyId | None = Field(None, description="Link to this existing problem instead of creating one")


class ProblemLinkOut(Schema):
    problem_id: int
    created: bool
    linked: int = Field(..., description="Evidence links created")
    already: int = Field(..., description="Items that were evidence for the problem already")
    not_linked: int = Field(..., description="Interview highlights that can no longer be evidence")


class RunOut(Schema):
    id: int
    kind: RunKind
    trigger: str
    status: RunStatus
    backend: str
    error: str
    counts: dict
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None


RunPage = page_schema(RunOut, "ThemeRunPage")


class RunQueuedOut(Schema):
    queued: bool
    message: str


class EmergingOut(Schema):
    theme_id: int
    name: str
    explanation: str
    mentions: int
    accounts: int
    arr: MoneyOut
    expected_mentions: float
    growth: float | None
    q_value: float
    window_days: int

    @staticmethod
    def resolve_arr(obj, context) -> dict | None:
        return workspace_money(obj, "arr", context)


EmergingPage = page_schema(EmergingOut, "EmergingPage")


class DigestEntryOut(Schema):
    id: int
    name: str
    text: str
    url: str


class DigestOut(Schema):
    week: str
    sent: bool = Field(..., description="This week's digest was already recorded (and emailed if it had news)")
    emerging: list[DigestEntryOut]
    grew: list[DigestEntryOut]
