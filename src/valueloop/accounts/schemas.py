from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from valueloop.core.api_support import StrictBody, page_schema
from valueloop.workspaces.facade import RoleName, WorkspaceOut


class MeOut(Schema):
    id: int
    email: str
    name: str
    handle: str | None
    workspace: WorkspaceOut
    role: RoleName
    scopes: list[str]
    via: str


class TokenIn(StrictBody):
    name: str = Field(..., min_length=1, max_length=80)
    role: RoleName | None = Field(None, description="At most your own role; defaults to it.")
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class TokenOut(Schema):
    id: int
    name: str
    role: RoleName
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(..., description="The secret. Shown once; only its digest is stored.")


TokenPage = page_schema(TokenOut, "TokenPage")
