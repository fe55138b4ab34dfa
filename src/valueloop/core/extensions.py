"""Extension points: a lower app asks, higher apps answer.

Apps follow the value flow (``docs/architecture.md``): a lower app never imports a higher one. Where a lower
app must show what a higher app owns (a problem's solutions, a feedback item's "link as evidence" form, an
interview's highlight links), it names an extension point and asks it; higher apps register a provider for
that point in their ``AppConfig.ready``. The customers timeline and ``core.entities`` are older registries of
the same kind.

Invariants:
- A point is a plain string, ``"<asking app>.<what>"``; the asking app documents what its providers receive
  and return, beside the call.
- ``page_context`` merges the dicts of every provider in registration order (a later key wins); a point with no
  provider answers ``{}``, so a page renders without the higher app. A provider answers ``None`` or ``{}``
  when it has nothing to add (a permission it does not see, say).
- ``ask`` answers the first provider's result, or ``default`` when none is registered.
- Registering the same provider twice for a point keeps one (``ready`` may run more than once in tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Provider = Callable[..., Any]
_PROVIDERS: dict[str, list[Provider]] = {}


def register(point: str, provider: Provider) -> Provider:
    """Answer ``point`` with ``provider`` (usable as a decorator)."""
    providers = _PROVIDERS.setdefault(point, [])
    if provider not in providers:
        providers.append(provider)
    return provider


def unregister(point: str, provider: Provider) -> None:
    providers = _PROVIDERS.get(point, [])
    if provider in providers:
        providers.remove(provider)


def providers(point: str) -> list[Provider]:
    return list(_PROVIDERS.get(point, []))


def page_context(point: str, /, **kwargs) -> dict:
    """Every provider's template context for ``point``, merged."""
    merged: dict = {}
    for provider in _PROVIDERS.get(point, []):
        merged.update(provider(**kwargs) or {})
    return merged


def ask(point: str, /, default: Any = None, **kwargs) -> Any:
    """The first provider's answer for ``point``, or ``default`` when no app provides it."""
    found = _PROVIDERS.get(point)
    return found[0](**kwargs) if found else default
