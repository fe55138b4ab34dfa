"""Reads for accounts: token lookup (for API auth) and a user's own tokens."""

from __future__ import annotations

import hashlib

from django.db.models import QuerySet
from django.utils import timezone

from valueloop.core.tenancy import Actor

from .models import ApiToken

TOKEN_PREFIX = "vl_"


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_list(*, actor: Actor) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=actor.user, workspace=actor.workspace).order_by("-created_at")


def token_lookup(secret: str) -> tuple[ApiToken | None, str]:
    """(active token, "") or (None, why it was refused), so the API can say what is wrong.

    Marks the token's last use at most once a minute, to keep hot API traffic free of writes.
    """
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None, "The bearer token is not a Valueloop token (they start with 'vl_')."
    token = ApiToken.objects.select_related("user", "workspace").filter(digest=token_digest(secret)).first()
    if token is None:
        return None, "The bearer token is not known."
    if token.revoked_at is not None:
        return None, "The bearer token was revoked."
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None, "The bearer token has expired."
    if not token.user.is_active:
        return None, "The token's owner is deactivated."
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token, ""
