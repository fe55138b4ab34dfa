"""Schemas of the events API.

The batch body is deliberately thin (a list of objects): 10,000 rows validated field by field by pydantic cost
more than the whole rest of the request, so ``rows.parse_rows`` validates them in one pass and names
``events[i].field`` itself. The row shape is still documented in the OpenAPI schema.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, WithJsonSchema

from valueloop.core.api_support import StrictBody, choice_literal

from . import rows
from .models import SOURCE_KINDS

SourceKind = choice_literal(SOURCE_KINDS)

ROW_JSON_SCHEMA = {
    "type": "object",
    "description": (
        "An exposure (type experiment_viewed: experiment_key, variation_id, hash_value or user_id, timestamp; the "
        "SDK's client_key, sdk, variation_key, feature_key, rule_id, hash_attribute are accepted and ignored) or a "
        "metric event (type: the event name; user_id, timestamp, optional value, default 1)."
    ),
    "properties": {
        "type": {"type": "string", "maxLength": rows.MAX_EVENT_LENGTH, "examples": ["experiment_viewed", "purchase"]},
        "experiment_key": {"type": "string", "maxLength": rows.MAX_KEY_LENGTH},
        "variation_id": {"type": "integer", "minimum": 0, "maximum": rows.MAX_VARIATION},
        "hash_value": {"type": ["string", "integer"]},
        "user_id": {"type": ["string", "integer"]},
        "timestamp": {"type": "string", "format": "date-time", "examples": ["2026-01-31T09:00:00Z"]},
        "value": {"type": "number"},
        "client_key": {"type": "string"},
        "sdk": {"type": "string"},
        "variation_key": {"type": "string"},
        "feature_key": {"type": "string"},
        "rule_id": {"type": ["string", "null"]},
        "hash_attribute": {"type": "string"},
    },
    "required": ["type", "timestamp"],
}

EventRow = Annotated[Any, WithJsonSchema(ROW_JSON_SCHEMA)]


class EventBatchIn(Schema):
    # StrictBody's settings without its NUL-character walk over every value: ``rows.parse_rows`` refuses NUL and
    # other control characters in every string it keeps, naming the row, and the walk cost a tenth of a request.
    model_config = ConfigDict(extra="forbid", strict=True)

    events: list[EventRow] = Field(
        ..., description=f"At most {rows.MAX_ROWS} rows; all are stored, or none (422 naming events[i].field)."
    )


class EventIngestOut(Schema):
    exposures: int
    events: int


class EventUploadForm(Schema):
    format: Literal["", "csv", "parquet"] = Field("", description="csv or parquet; detected from the file if empty")


class EventNameOut(Schema):
    name: str
    count: int


class EventNameList(Schema):
    items: list[EventNameOut]


class EventColumnsIn(StrictBody):
    exposures: dict[str, Annotated[str, Field(max_length=63)]] = Field(
        default_factory=dict, description="experiment_key, variation, unit_id, ts -> your column names"
    )
    events: dict[str, Annotated[str, Field(max_length=63)]] = Field(
        default_factory=dict, description="event, unit_id, value, ts -> your column names"
    )


class EventSourceIn(StrictBody):
    kind: SourceKind  # type: ignore[valid-type]
    url: str = Field("", max_length=500, description="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db")
    password: str | None = Field(None, max_length=500, description="Replaces the stored password when given")
    exposures_table: str = Field("", max_length=130)
    events_table: str = Field("", max_length=130)
    columns: EventColumnsIn | None = None
    version: int | None = Field(None, ge=1)


class EventSourceOut(Schema):
    kind: str
    url: str = Field(..., description="The URL with the password shown as ***")
    has_password: bool
    exposures_table: str
    events_table: str
    columns: dict[str, dict[str, str]]
    last_tested_at: datetime | None
    last_test_ok: bool | None
    last_test_message: str
    version: int
