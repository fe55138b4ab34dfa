from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from valueloop.core.api_support import StrictBody, choice_literal, page_schema
from valueloop.core.permissions import ROLE_CHOICES

from .models import CONTRIBUTOR_FUNCTIONS, CURRENCY_CHOICES

RoleName = choice_literal(ROLE_CHOICES)
CurrencyCode = choice_literal(CURRENCY_CHOICES)
FunctionName = choice_literal(CONTRIBUTOR_FUNCTIONS)


class WorkspaceOut(Schema):
    id: int
    name: str
    slug: str
    timezone: str
    currency: str
    locale: str = Field(..., description="How money prints on the workspace's pages: a CLDR locale, e.g. en, de_CH.")
    is_demo: bool
    version: int


class WorkspacePatch(StrictBody):
    name: str | None = Field(None, min_length=1, max_length=120)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    currency: CurrencyCode | None = None
    locale: str | None = Field(None, min_length=2, max_length=20, description="A CLDR locale identifier, e.g. de_CH.")
    version: int | None = Field(None, ge=1, description="The version you edited; a stale one answers 409.")


class UserOut(Schema):
    id: int
    email: str
    name: str
    handle: str | None


class MemberOut(Schema):
    id: int
    user: UserOut
    role: RoleName
    function: str
    joined_at: datetime


class TokensRevokedOut(Schema):
    revoked: int = Field(..., description="How many of the member's active API tokens for this workspace were revoked.")


class MemberPatch(StrictBody):
    role: RoleName
    function: FunctionName | None = None


class InvitationIn(StrictBody):
    role: RoleName
    email: str = Field("", max_length=254, description="Leave empty for a shareable link.")


class InvitationOut(Schema):
    id: int
    email: str
    role: RoleName
    created_at: datetime
    expires_at: datetime


class InvitationCreated(InvitationOut):
    url: str = Field(..., description="The accept link. Shown once: only a digest of it is stored.")


class ProductIn(StrictBody):
    name: str = Field(..., min_length=1, max_length=120)
    key: str = Field("", max_length=12, pattern=r"^[A-Za-z0-9_]*$")
    description: str = Field("", max_length=20000)


class ProductPatch(StrictBody):
    name: str | None = Field(None, min_length=1, max_length=120)
    key: str | None = Field(None, min_length=1, max_length=12, pattern=r"^[A-Za-z0-9_]+$")
    description: str | None = Field(None, max_length=20000)
    version: int | None = Field(None, ge=1, description="The version you edited; a stale one answers 409.")


class ProductOut(Schema):
    id: int
    name: str
    key: str
    description: str
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class AreaIn(StrictBody):
    name: str = Field(..., min_length=1, max_length=120)
    description: str = Field("", max_length=20000)


class AreaPatch(StrictBody):
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=20000)
    version: int | None = Field(None, ge=1)


class AreaOut(Schema):
    id: int
    product_id: int
    name: str
    description: str
    archived_at: datetime | None
    version: int


MemberPage = page_schema(MemberOut, "MemberPage")
ProductPage = page_schema(ProductOut, "ProductPage")
AreaPage = page_schema(AreaOut, "AreaPage")
InvitationPage = page_schema(InvitationOut, "InvitationPage")
