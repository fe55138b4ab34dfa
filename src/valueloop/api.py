"""The REST API at /api/v1: one NinjaAPI, one router per app, one error shape.

Every error answers ``{"code", "message", "errors": [{"field", "message"}]}``.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from valueloop.accounts.api import router as accounts_router
from valueloop.collaboration.api import router as collaboration_router
from valueloop.core.api import router as audit_router
from valueloop.core.api_support import TokenAuth, WorkspaceSessionAuth
from valueloop.core.errors import DomainError
from valueloop.customers.api import router as customers_router
from valueloop.discovery.api import router as discovery_router
from valueloop.events.api import router as events_router
from valueloop.evidence.api import router as evidence_router
from valueloop.experiments.api import router as experiments_router
from valueloop.feedback.api import router as feedback_router
from valueloop.flags.api import router as flags_router
from valueloop.home.api import router as home_router
from valueloop.planning.api import router as planning_router
from valueloop.research.api import router as research_router
from valueloop.themes.api import router as themes_router
from valueloop.workspaces.api import router as workspaces_router

api = NinjaAPI(
    title="Valueloop API",
    version="1",
    description=(
        "Valueloop's REST API. Authenticate with a personal API token (`Authorization: Bearer vl_…`), "
        "which acts in the workspace it was issued for, or with a browser session (send `X-Workspace: <slug>` "
        "to pick the workspace). Errors share one shape: `code`, `message`, and per-field `errors`."
    ),
    urls_namespace="api",
    auth=[TokenAuth(), WorkspaceSessionAuth()],
)


def _error(request, status: int, code: str, message: str, fields: list[dict] | None = None):
    return api.create_response(request, {"code": code, "message": message, "errors": fields or []}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    fields = [{"field": k, "message": v} for k, v in exc.fields.items()]
    return _error(request, exc.status, exc.code, exc.message, fields)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    fields = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query", "params", "path")]
        field = ".".join(loc) or "body"
        message = err.get("msg", "Invalid value.")
        if err.get("type") == "extra_forbidden":
            message = "Unknown field."
        fields.append({"field": field, "message": message})
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return _error(request, 422, "invalid", f"The request is not valid: {summary}", fields)


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return _error(request, 413, "too_large", f"The request body is larger than {limit} MB; send fewer items per call.")


@api.exception_handler(OverflowError)
def on_overflow(request, exc):
    # Safety net: a number too large for the database is bad input, never a server error.
    return _error(request, 422, "invalid", "A number in the request is out of range.")


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(
        request, 401, "unauthenticated", "Sign in, or send a valid API token as 'Authorization: Bearer vl_…'."
    )


@api.exception_handler(Http404)
def on_404(request, exc):
    return _error(request, 404, "not_found", str(exc) or "Not found.")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return _error(request, exc.status_code, "error", str(exc))


api.add_router("", accounts_router)
api.add_router("", workspaces_router)
api.add_router("", collaboration_router)
api.add_router("", audit_router)
api.add_router("", customers_router)
api.add_router("", feedback_router)
api.add_router("", research_router)
api.add_router("", evidence_router)
api.add_router("", discovery_router)
api.add_router("", planning_router)
api.add_router("", flags_router)
api.add_router("", events_router)
api.add_router("", experiments_router)
api.add_router("", themes_router)
api.add_router("", home_router)
