from datetime import datetime

from ninja import Field, Schema

from valueloop.core.api_support import BodyId, StrictBody, choice_literal, page_schema

from .models import PROBLEM_STATUS

ProblemStatus = choice_literal(PROBLEM_STATUS)


class ProblemIn(StrictBody):
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=50000)
    status: ProblemStatus = "open"
    product_id: BodyId | None = None
    area_id: BodyId | None = None


class ProblemPatch(StrictBody):
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=50000)
    status: ProblemStatus | None = None
    product_id: BodyId | None = None
    area_id: BodyId | None = None
    version: int | None = Field(None, ge=1)


class ProblemOut(Schema):
    id: int
    title: str
    description: str
    status: ProblemStatus
    product_id: int | None
    area_id: int | None
    created_at: datetime
    updated_at: datetime
    version: int


ProblemPage = page_schema(ProblemOut, "ProblemPage")
