"""Writes for accounts: sign-in throttling, personal API tokens, admin creation.

Invariants:
- A token's secret is returned once by ``token_create`` and only its SHA-256 is stored.
- A token never acts with more power than its owner's current membership role.
- After ``LOGIN_FAILURE_LIMIT`` failures for one email (or 4x that for one address) within
  the window, sign-in is refused without checking the password.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from valueloop.core.audit import audit_record
from valueloop.core.errors import Invalid, NotFound, Throttled
from valueloop.core.http import client_address
from valueloop.core.permissions import ROLE_RANK, Role
from valueloop.core.tenancy import Actor

from .models import ApiToken, FailedLogin, User
from .selectors import TOKEN_PREFIX, token_digest


def _digest(secret: str) -> str:
    return token_digest(secret)


def login_attempt(*, request, email: str, password: str) -> User:
    """Authenticate with throttling. Raises Throttled or Invalid; returns the user on success."""
    email = (email or "").strip().lower()
    ip = client_address(request) if request is not None else ""
    since = timezone.now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = FailedLogin.objects.filter(at__gte=since)
    limit = settings.LOGIN_FAILURE_LIMIT
    if recent.filter(email=email).count() >= limit or (ip and recent.filter(ip=ip).count() >= limit * 4):
        minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
        raise Throttled(f"Too many failed sign-ins. Try again in {minutes} minutes or reset your password.")
    user = authenticate(request, username=email, password=password)
    if user is None:
        FailedLogin.objects.create(email=email, ip=ip)
        raise Invalid("Email or password is not correct.")
    FailedLogin.objects.filter(email=email).delete()
    return user


@transaction.atomic
def token_create(
    *, actor: Actor, name: str, role: str | None = None, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name:
        raise Invalid(
            "Give the token a name so you can recognise it later.", fields={"name": "This field is required."}
        )
    if len(name) > 80:
        raise Invalid("The name is too long.", fields={"name": "At most 80 characters."})
    token_role = Role(role) if role else actor.role
    if ROLE_RANK[token_role] > ROLE_RANK[actor.role]:
        raise Invalid(
            f"A token cannot have more power than your role ({actor.role.label}).",
            fields={"role": "Choose your role or a weaker one."},
        )
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise Invalid("Expiry must be between 1 and 3650 days.", fields={"expires_in_days": "1 to 3650."})
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=actor.user,
        workspace=actor.workspace,
        name=name,
        role=token_role.value,
        prefix=prefix,
        digest=_digest(secret),
        expires_at=timezone.now() + dt.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="api_token",
        entity_id=token.pk,
        entity_label=str(token),
        action="created",
        changes={"name": [None, name], "role": [None, token_role.value]},
    )
    return token, secret


@transaction.atomic
def token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=actor.user, workspace=actor.workspace).first()
    if token is None:
        raise NotFound("Token not found.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor.user,
            workspace=actor.workspace,
            via=actor.via,
            entity_type="api_token",
            entity_id=token.pk,
            entity_label=str(token),
            action="revoked",
        )
    return token


@transaction.atomic
def admin_create(*, email: str, password: str | None = None, name: str = "") -> tuple[User, str]:
    """Create a staff admin account; generates a strong password when none is given."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    email = (email or "").strip().lower()
    if User.objects.filter(email=email).exists():
        raise Invalid(f"A user with email {email} already exists.", fields={"email": "Taken."})
    generated = password is None
    password = password or secrets.token_urlsafe(18)
    user = User(email=email, name=name, is_staff=True, is_superuser=True)
    try:
        user.full_clean(exclude=["password"])
        if not generated:
            validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages)) from exc
    user.set_password(password)
    user.save()
    audit_record(
        actor=None,
        workspace=None,
        via="cli",
        entity_type="user",
        entity_id=user.pk,
        entity_label=email,
        action="created",
        changes={"email": [None, email], "is_staff": [None, True]},
    )
    return user, password


@transaction.atomic
def profile_update(*, user: User, name: str, handle: str) -> User:
    from django.core.exceptions import ValidationError

    from valueloop.core.audit import diff, snapshot
    from valueloop.core.errors import invalid_from_django

    before = snapshot(user, ["name", "handle"])
    user.name = (name or "").strip()[:120]
    user.handle = (handle or "").strip().lower() or None
    if user.handle and User.objects.filter(handle=user.handle).exclude(pk=user.pk).exists():
        raise Invalid(f"@{user.handle} is taken.", fields={"handle": "Choose another handle."})
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        raise invalid_from_django(exc) from exc
    user.save(update_fields=["name", "handle"])
    changes = diff(before, snapshot(user, ["name", "handle"]))
    if changes:
        audit_record(
            actor=user,
            workspace=None,
            entity_type="user",
            entity_id=user.pk,
            entity_label=user.email,
            action="updated",
            changes=changes,
        )
    return user
