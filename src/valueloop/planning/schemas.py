from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from valueloop.core.api_support import BodyId, StrictBody, page_schema

FeatureStatus = Literal["idea", "candidate", "planned", "in_progress", "released", "dropped"]


class FeatureIn(StrictBody):
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=50000)
    status: FeatureStatus = "idea"
    product_id: BodyId | None = None
    area_id: BodyId | None = None
    problem_id: BodyId | None = None


class FeaturePatch(StrictBody):
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=50000)
    status: FeatureStatus | None = None
    product_id: BodyId | None = None
    area_id: BodyId | None = None
    problem_id: BodyId | None = None
    version: int | None = Field(None, ge=1)


class FeatureOut(Schema):
    id: int
    title: str
    description: str
    status: FeatureStatus
    product_id: int | None
    area_id: int | None
    problem_id: int | None
    released_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


FeaturePage = page_schema(FeatureOut, "FeaturePage")
