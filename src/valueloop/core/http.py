"""The client's address, read one way everywhere.

Invariants:
- With ``VALUELOOP_TRUSTED_PROXIES = 0`` (the default) the address is ``REMOTE_ADDR``; any
  ``X-Forwarded-For`` header is ignored, because without a proxy in front the client writes it.
- With ``N`` trusted proxies the address is the ``N``-th entry of ``X-Forwarded-For`` counted from
  the right: each trusted proxy appends the address it received the request from, so the entries
  further left were written by the client and prove nothing.
- A header with fewer than ``N`` entries, or whose entry is not an IP address, did not come through
  the configured chain; the answer is then ``REMOTE_ADDR`` (never an address the client chose).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _ip_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request) -> str:
    """The address of the client that sent ``request`` (an IP address as text, or "")."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    trusted = settings.VALUELOOP_TRUSTED_PROXIES
    if trusted <= 0:
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < trusted:
        return remote
    return _ip_or_none(hops[-trusted]) or remote
