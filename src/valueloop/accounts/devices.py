"""Known devices: a signed, long-lived cookie set after a successful sign-in.

Invariants:
- The cookie holds a random device id and the ids of the accounts that signed in from this
  browser, signed with the secret key (``django.core.signing``, its own salt) and dated; a cookie
  that was altered, signed with another key, or is older than ``LOGIN_DEVICE_COOKIE_DAYS`` is ignored.
- Nothing is stored on the server: the signature is the proof, so the device id alone (kept in
  ``FailedLogin.device`` to count a device's own failures) grants nothing.
- A cookie vouches only for the accounts it names; it is re-issued (re-dated) at every sign-in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

COOKIE_NAME = "vl_device"
_SALT = "valueloop.accounts.device"
_MAX_ACCOUNTS = 10  # a shared computer remembers the most recent accounts only


@dataclass(frozen=True)
class Device:
    id: str
    user_ids: tuple[int, ...]

    def knows(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.user_ids


def _max_age() -> int:
    return settings.LOGIN_DEVICE_COOKIE_DAYS * 24 * 3600


def device_from_request(request) -> Device | None:
    """The device the request's cookie proves, or None (no cookie, forged, or expired)."""
    value = request.COOKIES.get(COOKIE_NAME) if request is not None else None
    if not value:
        return None
    try:
        data = signing.TimestampSigner(salt=_SALT).unsign_object(value, max_age=_max_age())
        return Device(id=str(data["d"])[:32], user_ids=tuple(int(u) for u in data["u"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def device_remember(request, response, user_id: int) -> None:
    """Set (or renew) the cookie on ``response`` so this browser is known for ``user_id``."""
    device = device_from_request(request)
    device_id = device.id if device else secrets.token_hex(16)
    user_ids = [u for u in (device.user_ids if device else ()) if u != user_id] + [user_id]
    value = signing.TimestampSigner(salt=_SALT).sign_object({"d": device_id, "u": user_ids[-_MAX_ACCOUNTS:]})
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=_max_age(),
        path=reverse("accounts:login"),  # only the sign-in form needs it
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
