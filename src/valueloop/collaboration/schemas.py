from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from valueloop.core.api_support import BodyId, StrictBody, StrictSchema, page_schema

ENTITY_TYPE = Field(..., min_length=1, max_length=40, pattern=r"^[a-z_]+$", description="e.g. product, area")
ENTITY_ID = Field(..., ge=1, le=2**62)


class EntityParams(StrictSchema):
    entity_type: str = ENTITY_TYPE
    entity_id: int = ENTITY_ID


class CommentIn(StrictBody):
    entity_type: str = ENTITY_TYPE
    entity_id: int = ENTITY_ID
    body: str = Field(..., min_length=1, max_length=20000, description="Markdown; @handle or @email mentions")


class CommentPatch(StrictBody):
    body: str = Field(..., min_length=1, max_length=20000)
    version: int | None = Field(None, ge=1)


class CommentOut(Schema):
    id: int
    entity_type: str
    entity_id: int
    author_email: str | None = Field(None, alias="author.email")
    body: str
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    version: int


class FollowIn(StrictBody):
    entity_type: str = ENTITY_TYPE
    entity_id: int = ENTITY_ID
    following: bool


class FollowOut(Schema):
    entity_type: str
    entity_id: int
    following: bool
    followers: int


class NotificationOut(Schema):
    id: int
    kind: str
    entity_type: str
    entity_id: int
    entity_label: str
    actor_email: str | None = Field(None, alias="actor.email")
    comment_id: int | None
    created_at: datetime
    read_at: datetime | None


class MarkReadIn(StrictBody):
    ids: list[BodyId] | None = Field(None, max_length=1000, description="Leave out to mark all read.")


class MarkReadOut(Schema):
    marked: int


class ActivityOut(Schema):
    at: datetime
    kind: str
    who: str
    action: str
    changes: dict
    comment_id: int | None = None


CommentPage = page_schema(CommentOut, "CommentPage")
NotificationPage = page_schema(NotificationOut, "NotificationPage")
ActivityPage = page_schema(ActivityOut, "ActivityPage")
