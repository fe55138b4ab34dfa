"""API plumbing shared by every router: authentication to an ``Actor``, the one error shape,
scope declarations and pagination.

Invariants:
- Every operation declares the scope it needs with ``@requires``; the permission-matrix test
  reads that declaration, so an undeclared operation fails the suite.
- Auth yields an Actor whose workspace comes from the token (token auth) or from the
  ``X-Workspace`` header / the session's current workspace (session auth), never from a body.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from ninja import Field, Path, Schema
from ninja.security import HttpBearer, SessionAuth
from pydantic import BeforeValidator, ConfigDict, create_model, field_validator

from .errors import DomainError
from .permissions import Role, Scope, effective_role
from .tenancy import Actor


class AuthFailed(DomainError):
    status = 401
    code = "unauthenticated"


def _no_nul(value: Any) -> Any:
    # PostgreSQL cannot store or compare NUL characters; refuse them as bad input on every database.
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


class StrictSchema(Schema):
    """Input schemas refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul_characters(cls, value: Any) -> Any:
        return _no_nul(value)


class StrictBody(StrictSchema):
    """Request bodies: no type coercion either (``true`` is not an id, ``"5"`` is not a number)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


def _iso_datetime_only(value: Any) -> Any:
    if isinstance(value, str) and value.strip() and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        return value
    if isinstance(value, datetime):
        return value
    raise ValueError("Use an ISO 8601 date-time, e.g. 2026-01-31T09:00:00Z.")


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_datetime_only)]

# Database ids are 63-bit; a bigger number cannot name a row, so it is refused before any query.
MAX_ID = 2**62
PathId = Annotated[int, Path(..., ge=1, le=MAX_ID, description="Object id")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


def choice_literal(*choices: Iterable[tuple[Any, Any]], extra: tuple = ()) -> Any:
    """A ``Literal`` of the values of Django model ``choices`` (and ``extra``): a schema takes its choices from the
    model, so a new value cannot be forgotten in one place. The OpenAPI schema shows them as an ``enum``."""
    values = tuple(value for pairs in choices for value, _ in pairs) + tuple(extra)
    return Literal[values]  # type: ignore[valid-type]


class MoneyOut(Schema):
    """Money in the API, in every app: the exact amount as a decimal string (never a float) and its ISO 4217
    currency. Build it with ``core.money.money_out(amount, currency)``."""

    amount: str = Field(..., pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["12500.00"])
    currency: str = Field(..., pattern=r"^[A-Z]{3}$", examples=["EUR"])


def workspace_money(obj: Any, name: str, context: dict) -> dict[str, str] | None:
    """``MoneyOut`` data for ``obj``'s amount ``name`` (a dict key or an attribute), in the workspace currency of the
    request's actor: for a schema resolver, ``resolve_arr(obj, context)``, of an amount a selector rolled up."""
    from .money import money_out

    value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name)
    return money_out(value, context["request"].auth.workspace.currency)


class FieldError(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    code: str = Field(..., examples=["not_found"])
    message: str
    errors: list[FieldError] = []


ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


def responses(ok: dict[int, Any] | Any, *extra_codes: int) -> dict[int, Any]:
    """Response map with the declared 4xx error shapes every operation can answer."""
    mapping = dict(ok) if isinstance(ok, dict) else {200: ok}
    for code in (400, 401, 403, 404, 413, 422, *extra_codes):
        mapping[code] = ERRORS[code]
    return mapping


def requires(scope: Scope | None):
    """Declare (and enforce) the scope an operation needs; ``None`` means any member."""

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(request, *args, **kwargs):
            actor: Actor = request.auth
            if scope is not None:
                actor.require(scope)
            return func(request, *args, **kwargs)

        wrapper.required_scope = scope  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _actor_for(
    user, workspace_hint: str | None, session, via: str, token_role: str | None = None, workspace_id: int | None = None
) -> Actor:
    from valueloop.workspaces.facade import membership_for

    membership = membership_for(user=user, workspace_slug=workspace_hint, workspace_id=workspace_id)
    if membership is None:
        raise AuthFailed("You are not a member of that workspace (or it does not exist).", code="no_workspace")
    return Actor(user=user, workspace=membership.workspace, role=effective_role(membership.role, token_role), via=via)


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request, token: str) -> Actor | None:
        from valueloop.accounts.facade import token_lookup

        api_token, problem = token_lookup(token)
        if api_token is None:
            raise AuthFailed(problem, code="invalid_token")
        actor = _actor_for(
            api_token.user, None, None, "api", token_role=api_token.role, workspace_id=api_token.workspace_id
        )
        return actor


class WorkspaceSessionAuth(SessionAuth):
    """Session cookie auth (CSRF-checked by ninja for unsafe methods)."""

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        hint = request.headers.get("X-Workspace") or None
        workspace_id = None if hint else request.session.get("workspace_id")
        return _actor_for(user, hint, request.session, "web", workspace_id=workspace_id)


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    return create_model(  # type: ignore[call-overload]
        name,
        __base__=Schema,
        items=(list[item], ...),
        count=(int, ...),
        page=(int, ...),
        page_size=(int, ...),
        pages=(int, ...),
    )


class PageParams(StrictSchema):
    page: int = Field(1, ge=1, le=100000, description="1-based page number")
    page_size: int = Field(50, ge=1, le=200, description="Items per page (at most 200)")


def paginate(queryset: QuerySet | list, params: PageParams) -> dict[str, Any]:
    count = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
    start = (params.page - 1) * params.page_size
    items = list(queryset[start : start + params.page_size])
    return {"items": items, **page_counts(count, params)}


def page_counts(count: int, params: PageParams) -> dict[str, int]:
    """The paging fields of a ``page_schema`` answer, also for pages whose items were read slice-first."""
    pages = max(1, -(-count // params.page_size))
    return {"count": count, "page": params.page, "page_size": params.page_size, "pages": pages}


__all__ = [
    "ErrorOut",
    "IsoDatetime",
    "PageParams",
    "Role",
    "StrictBody",
    "StrictSchema",
    "page_counts",
    "page_schema",
    "paginate",
    "requires",
    "responses",
]
