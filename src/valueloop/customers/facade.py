"""What other apps may import from customers.

Invariants:
- Every function is scoped to the actor's (or the given) workspace: an id of another workspace is
  NotFound or simply absent from the answer, never another tenant's row.
- Revenue crosses this boundary only as ``arr_base``: ARR in the workspace currency.
- Contacts who unsubscribed are never returned by ``contacts_for_customers`` (the list used to
  email people), and unsubscribing cannot be undone through this facade.
- The account timeline is a registry: apps that hold customer-facing records (feedback,
  interviews, requests, incidents, survey answers) register a source in their
  ``AppConfig.ready``; the account page merges all sources newest first.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor

from . import selectors, services
from .models import HEALTH, LIFECYCLE, SEGMENTS, Contact, Customer, Persona

logger = logging.getLogger(__name__)

__all__ = [
    "HEALTH",
    "LIFECYCLE",
    "SEGMENTS",
    "Contact",
    "Customer",
    "Persona",
    "TimelineEntry",
    "access_contact",
    "access_customer",
    "access_persona",
    "contact_for_email",
    "contacts_by_email",
    "contacts_for_customers",
    "customer_arr_base",
    "customer_choices",
    "customer_search",
    "customer_timeline",
    "persona_choices",
    "personas_by_ids",
    "register_timeline_source",
    "unregister_timeline_source",
    "unsubscribe_contact",
    "workspace_currency_changed",
]


# --- accounts ---------------------------------------------------------------------------------


def access_customer(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ) -> Customer:
    """The account with that id in the actor's workspace (NotFound otherwise)."""
    return selectors.access_customer(actor=actor, id=id, scope=scope)


def customer_choices(*, actor: Actor, include_archived: bool = False) -> list[tuple[int, str]]:
    """(id, name) of every account, by name: for <select> elements."""
    query = selectors.customer_list(actor=actor, include_archived=include_archived)
    return list(query.order_by("name", "id").values_list("id", "name"))


def customer_search(*, actor: Actor, query: str, limit: int = 20) -> list[tuple[int, str]]:
    """(id, name) of accounts whose name, domain or external id matches: for pickers and search."""
    found = selectors.customer_list(actor=actor, search=query.strip()) if query.strip() else Customer.objects.none()
    return list(found.order_by("name", "id").values_list("id", "name")[:limit])


def customer_arr_base(*, actor: Actor, ids: Iterable[int]) -> dict[int, Decimal]:
    """id -> ARR in the workspace currency, for the given ids that exist in the actor's workspace."""
    ids = [int(i) for i in ids if i is not None]
    if not ids:
        return {}
    rows = Customer.objects.filter(workspace=actor.workspace, pk__in=ids).values_list("id", "arr_base")
    return {pk: Decimal(value) for pk, value in rows}


def workspace_currency_changed(*, actor: Actor) -> dict[str, int]:
    """Call after the workspace currency changed: re-converts every account's ARR (see services)."""
    return services.workspace_currency_reconvert(actor=actor)


# --- contacts ---------------------------------------------------------------------------------


def access_contact(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ) -> Contact:
    return selectors.access_contact(actor=actor, id=id, scope=scope)


def contact_for_email(*, actor: Actor, email: str) -> Contact | None:
    """The contact with that email (case-insensitive) in the actor's workspace, if any."""
    email = (email or "").strip()
    if not email:
        return None
    return (
        Contact.objects.filter(workspace=actor.workspace, email__iexact=email)
        .select_related("customer")
        .order_by("id")
        .first()
    )


def contacts_by_email(*, actor: Actor, emails: Iterable[str]) -> dict[str, Contact]:
    """lower-case email -> contact, for the given emails that belong to contacts of the workspace."""
    wanted = {e.strip().lower() for e in emails if e and e.strip()}
    if not wanted:
        return {}
    condition = Q()
    for email in wanted:
        condition |= Q(email__iexact=email)
    found: dict[str, Contact] = {}
    for contact in (
        Contact.objects.filter(condition, workspace=actor.workspace).select_related("customer").order_by("id")
    ):
        found.setdefault(contact.email.lower(), contact)
    return found


def contacts_for_customers(*, actor: Actor, customer_ids: Iterable[int]) -> list[Contact]:
    """Contacts of those accounts who can be emailed: with an email, and not unsubscribed."""
    ids = [int(i) for i in customer_ids if i is not None]
    if not ids:
        return []
    return list(
        Contact.objects.filter(workspace=actor.workspace, customer_id__in=ids, unsubscribed_at=None)
        .exclude(email="")
        .select_related("customer")
        .order_by("customer_id", "name", "email", "id")
    )


def unsubscribe_contact(
    *, workspace, email: str = "", contact_id: int | None = None, actor: Actor | None = None
) -> int:
    """Stop all mail to a person: every contact of ``workspace`` with that email (or with the email
    of contact ``contact_id``) is marked unsubscribed, with an audit record. Returns how many changed."""
    return services.contacts_unsubscribe(workspace=workspace, email=email, contact_id=contact_id, actor=actor)


# --- personas ---------------------------------------------------------------------------------


def access_persona(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ) -> Persona:
    return selectors.access_persona(actor=actor, id=id, scope=scope)


def persona_choices(*, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of every persona of the workspace, by name: for tag pickers."""
    return list(selectors.persona_list(actor=actor).values_list("id", "name"))


def personas_by_ids(*, actor: Actor, ids: Iterable[int]) -> list[Persona]:
    """The personas of the actor's workspace among ``ids`` (others are silently absent: re-check
    ``len`` against the input to refuse foreign ids)."""
    ids = [int(i) for i in ids if i is not None]
    return list(Persona.objects.filter(workspace=actor.workspace, pk__in=ids).order_by("name"))


# --- the account timeline ---------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime | dt.date
    kind: str  # e.g. "feedback", "interview", "request", "incident", "survey"
    title: str
    url: str = ""
    summary: str = ""

    @property
    def safe_url(self) -> str:
        """The link if it stays on this site or is plain http(s); "" otherwise (no javascript: links)."""
        url = (self.url or "").strip()
        if (url.startswith("/") and not url.startswith("//")) or url.lower().startswith(("https://", "http://")):
            return url
        return ""

    @property
    def moment(self) -> dt.datetime:
        """``at`` as an aware datetime (a date counts as its start, UTC) so that sources sort together."""
        at = self.at
        if not isinstance(at, dt.datetime):
            at = dt.datetime(at.year, at.month, at.day, tzinfo=dt.UTC)
        elif timezone.is_naive(at):
            at = at.replace(tzinfo=dt.UTC)
        return at


TimelineSource = Callable[[Actor, Customer], Iterable[TimelineEntry]]
_SOURCES: dict[str, TimelineSource] = {}


def _source_key(fn: TimelineSource) -> str:
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"


def register_timeline_source(fn: TimelineSource) -> TimelineSource:
    """Add a source of timeline entries for an account: ``fn(actor, customer) -> [TimelineEntry]``.

    The source must return only entries of ``actor.workspace`` that the actor may see. Registering
    the same function twice (e.g. ``ready()`` running again) keeps one. Usable as a decorator.
    """
    _SOURCES[_source_key(fn)] = fn
    return fn


def unregister_timeline_source(fn: TimelineSource) -> None:
    _SOURCES.pop(_source_key(fn), None)


@dataclass
class Timeline:
    entries: list[TimelineEntry]
    total: int
    failed_sources: int
    kinds: list[str]


def customer_timeline(*, actor: Actor, customer: Customer, kind: str = "", limit: int | None = 200) -> Timeline:
    """Entries of every registered source for the account, newest first. A source that fails is
    logged and counted in ``failed_sources`` so that one broken app does not hide the page."""
    if customer.workspace_id != actor.workspace.pk:
        return Timeline([], 0, 0, [])
    entries: list[TimelineEntry] = []
    failed = 0
    for fn in list(_SOURCES.values()):
        try:
            entries.extend(fn(actor, customer) or [])
        except Exception:
            failed += 1
            logger.exception("Timeline source %s failed for customer %s", _source_key(fn), customer.pk)
    kinds = sorted({e.kind for e in entries})
    if kind:
        entries = [e for e in entries if e.kind == kind]
    entries.sort(key=lambda e: e.moment, reverse=True)
    total = len(entries)
    return Timeline(entries[:limit] if limit else entries, total, failed, kinds)
