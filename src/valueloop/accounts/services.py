"""Writes for accounts: sign-in throttling, passwords, personal API tokens, admin creation.

Invariants:
- A token's secret is returned once by ``token_create`` and only its SHA-256 is stored.
- A token never acts with more power than its owner's current membership role.
- Revoking a token sets ``revoked_at`` once and writes one audit row in the token's workspace,
  whoever revokes it (its owner, the owner changing their password, or a workspace admin).
- A new password ends every other session: Django keeps the password's HMAC in each session and
  drops a session whose HMAC no longer matches; only the session that changed it is re-stamped.

Sign-in throttling (``login_attempt``). A stranger who knows an email must not be able to lock its
owner out, and one address must not be able to try passwords on many accounts. Failures are kept
for ``LOGIN_FAILURE_WINDOW_SECONDS`` (older rows are deleted as new ones are written, so the table
stays bounded) and counted per key; past a key's free failures, an attempt must wait
``LOGIN_BACKOFF_BASE_SECONDS * 2**(failures - free)`` (capped) after that key's last failure:
- (account, client address): ``LOGIN_FAILURE_LIMIT`` free, capped at ``LOGIN_BACKOFF_MAX_SECONDS``.
  An attacker at address X slows only X's attempts on that account.
- client address across accounts: ``LOGIN_ADDRESS_FAILURE_LIMIT`` free, same cap (credential stuffing).
- account across addresses: ``LOGIN_ACCOUNT_FAILURE_LIMIT`` free, capped at the much shorter
  ``LOGIN_ACCOUNT_BACKOFF_MAX_SECONDS``: a distributed attack slows new devices, never locks them out.
- An attempt that carries a valid known-device cookie for the account (``devices.py``) is counted and
  throttled only by that device's own failures; the keys above ignore it and it ignores them.
The client address comes from ``core.http.client_address`` (trusted proxies); an IPv6 address counts
as its /64, which one client usually holds whole. The answer never depends on whether the email
exists: the same keys, messages and password check run for unknown emails. A throttled attempt is
refused with the wait before its password is checked. Each attempt is written as a failure before
the password check (and removed on success), so parallel guesses see one another.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from valueloop.core.audit import audit_record
from valueloop.core.errors import Invalid, NotFound, Throttled
from valueloop.core.http import client_address
from valueloop.core.permissions import ROLE_RANK, Role, Scope
from valueloop.core.tenancy import Actor

from .devices import Device, device_from_request
from .models import ApiToken, FailedLogin, User
from .selectors import TOKEN_PREFIX, token_digest


def _digest(secret: str) -> str:
    return token_digest(secret)


def _throttle_address(address: str) -> str:
    """The address key: IPv6 addresses count per /64, the block one client usually holds."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is the IPv4 client a.b.c.d
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _backoff_seconds(failures: int, free: int, cap: int) -> int:
    if failures < free:
        return 0
    return min(cap, settings.LOGIN_BACKOFF_BASE_SECONDS * 2 ** min(failures - free, 32))


def _wait_seconds(*, email: str, address: str, device: Device | None, now: dt.datetime) -> int:
    """Seconds this attempt must still wait (0: it may check the password). One query."""
    recent = FailedLogin.objects.filter(at__gte=now - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS))
    limit, cap = settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_BACKOFF_MAX_SECONDS
    if device is not None:
        keys = {"device": (Q(email=email, device=device.id), limit, cap)}
        recent = recent.filter(email=email, device=device.id)
    else:
        keys = {
            "pair": (Q(email=email, ip=address), limit, cap),
            "address": (Q(ip=address), settings.LOGIN_ADDRESS_FAILURE_LIMIT, cap),
            "account": (
                Q(email=email),
                settings.LOGIN_ACCOUNT_FAILURE_LIMIT,
                settings.LOGIN_ACCOUNT_BACKOFF_MAX_SECONDS,
            ),
        }
        recent = recent.filter(Q(email=email) | Q(ip=address), device="")
    aggregates = {}
    for name, (where, _, _) in keys.items():
        aggregates[f"{name}_n"] = Count("id", filter=where)
        aggregates[f"{name}_last"] = Max("at", filter=where)
    counts = recent.aggregate(**aggregates)
    wait = 0.0
    for name, (_, free, key_cap) in keys.items():
        backoff = _backoff_seconds(counts[f"{name}_n"], free, key_cap)
        if backoff:
            wait = max(wait, backoff - (now - counts[f"{name}_last"]).total_seconds())
    return math.ceil(wait) if wait > 0 else 0


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def login_attempt(*, request, email: str, password: str) -> User:
    """Authenticate with throttling (see the module docstring). Raises Throttled or Invalid."""
    email = (email or "").strip().lower()[:254]
    address = _throttle_address(client_address(request)) if request is not None else ""
    device = device_from_request(request)
    if device is not None and not device.knows(User.objects.filter(email=email).values_list("pk", flat=True).first()):
        device = None  # a cookie vouches only for the accounts that signed in with it
    now = timezone.now()
    wait = _wait_seconds(email=email, address=address, device=device, now=now)
    if wait:
        raise Throttled(
            f"Too many failed sign-ins. Try again in {_wait_text(wait)}, or reset your password.", retry_after=wait
        )
    device_id = device.id if device is not None else ""
    FailedLogin.objects.create(email=email, ip=address, device=device_id, at=now)
    user = authenticate(request, username=email, password=password)
    if user is None:
        FailedLogin.objects.filter(at__lt=now - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)).delete()
        raise Invalid("Email or password is not correct.")
    # The signed-in key is forgiven; other addresses' and devices' failures keep counting.
    forgiven = FailedLogin.objects.filter(email=email, device=device_id)
    (forgiven if device is not None else forgiven.filter(ip=address)).delete()
    return user


def _tokens_revoke(tokens: QuerySet[ApiToken], *, by: User, via: str) -> int:
    """Revoke the active ones among ``tokens``, one audit row each in the token's workspace."""
    now = timezone.now()
    revoked = 0
    for token in tokens.filter(revoked_at=None).select_related("workspace").select_for_update(of=("self",)):
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=by,
            workspace=token.workspace,
            via=via,
            entity_type="api_token",
            entity_id=token.pk,
            entity_label=str(token),
            action="revoked",
        )
        revoked += 1
    return revoked


def _audit_own_account(user: User, action: str, changes: dict, *, via: str = "web") -> None:
    """A change a user made to their own account: no workspace holds it."""
    audit_record(
        actor=user,
        workspace=None,
        via=via,
        entity_type="user",
        entity_id=user.pk,
        entity_label=user.email,
        action=action,
        changes=changes,
    )


@transaction.atomic
def password_change(*, user: User, password: str, revoke_tokens: bool, via: str = "web") -> int:
    """Set ``user``'s password; with ``revoke_tokens`` revoke all their API tokens. Returns how many.

    Other sessions end because the password changes (module docstring); the caller re-stamps the
    session that made the change (``update_session_auth_hash``) if it should stay signed in.
    """
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), fields={"new_password1": " ".join(exc.messages)}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    revoked = _tokens_revoke(user.api_tokens.all(), by=user, via=via) if revoke_tokens else 0
    _audit_own_account(user, "password_changed", {"api_tokens_revoked": [None, revoked]}, via=via)
    return revoked


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
    tokens = ApiToken.objects.filter(pk=token_id, user=actor.user, workspace=actor.workspace)
    if not tokens.exists():
        raise NotFound("Token not found.")
    _tokens_revoke(tokens, by=actor.user, via=actor.via)
    return tokens.get()


@transaction.atomic
def token_revoke_all(*, actor: Actor, user_id: int) -> int:
    """A workspace admin revokes every token ``user_id`` holds for this workspace (others' stay)."""
    actor.require(Scope.WORKSPACE_MANAGE)
    return _tokens_revoke(
        ApiToken.objects.filter(user_id=user_id, workspace=actor.workspace), by=actor.user, via=actor.via
    )


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
        _audit_own_account(user, "updated", changes)
    return user
