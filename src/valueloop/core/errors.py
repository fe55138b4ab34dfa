"""Domain errors that services raise; the API and the pages turn them into one error shape.

Every error carries a machine ``code``, a human ``message`` and optional per-field messages.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class Invalid(DomainError):
    status = 422
    code = "invalid"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Throttled(DomainError):
    """Too many attempts; ``retry_after`` says in how many seconds the next one may succeed."""

    status = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def invalid_from_django(exc) -> Invalid:
    """Turn a django ValidationError (from full_clean) into an Invalid naming each field."""
    fields: dict[str, str] = {}
    if hasattr(exc, "message_dict"):
        for field, messages in exc.message_dict.items():
            fields[field] = " ".join(str(m) for m in messages)
    message = "; ".join(f"{k}: {v}" for k, v in fields.items()) or " ".join(exc.messages)
    return Invalid(message or "Invalid input.", fields=fields)
