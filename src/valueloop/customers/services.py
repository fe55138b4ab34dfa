"""Writes for customer accounts, contacts, personas and currency rates.

Invariants:
- Every write runs in one transaction with its audit record, checks ``WRITE_SCOPE`` and refuses
  a stale ``expected_version`` (customers, contacts, personas carry ``version``).
- ``arr_currency`` is always set (the workspace currency when none is given), and ``arr_base`` is
  ``arr`` converted to the workspace currency with the workspace's rate, at every write of
  ``arr``/``arr_currency`` and for every account in a currency whose rate changes. A currency
  without a rate is refused (``Invalid`` on ``arr_currency``), never silently counted as 0.
- An account owner is an active member of the workspace.
- Nothing linked is lost silently: accounts are archived (reversible); only an archived account
  can be deleted, and its deletion record keeps every field. Contacts and personas are deleted
  with a full snapshot in the audit log.
- Unsubscribing is one-way for staff: no service here clears ``unsubscribed_at``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from valueloop.core.audit import audit_record, diff, snapshot
from valueloop.core.errors import Conflict, Invalid
from valueloop.core.permissions import Scope
from valueloop.core.services import create_audited, delete_audited, update_audited
from valueloop.core.tenancy import Actor

from . import selectors
from .models import HEALTH, LIFECYCLE, SEGMENTS, Contact, CurrencyRate, Customer, Persona
from .money import MAX_AMOUNT, convert, is_currency

# Customers are part of the portfolio: the roles that shape products shape the customer list.
WRITE_SCOPE = Scope.PORTFOLIO_WRITE

CUSTOMER_FIELDS = [
    "name",
    "domain",
    "segment",
    "plan",
    "arr",
    "arr_currency",
    "arr_base",
    "lifecycle",
    "region",
    "owner",
    "renewal_date",
    "health",
    "external_id",
]
CUSTOMER_EDITABLE = set(CUSTOMER_FIELDS) - {"arr_base", "owner"} | {"owner_id"}
CONTACT_FIELDS = ["customer", "name", "email", "title", "external_id"]
PERSONA_FIELDS = ["name", "description", "goals", "jobs_to_be_done"]

_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)


def no_rate_message(currency: str) -> str:
    return f"no exchange rate for {currency}; add one in Customers › Currencies"


def normalise_domain(value: str) -> str:
    """``https://www.Acme.com/about`` -> ``acme.com``; raises ValueError when it is not a host name."""
    text = (value or "").strip().lower()
    if not text:
        return ""
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    if text.startswith("www."):
        text = text[4:]
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{value!r} is not a domain name")
    if not _DOMAIN_RE.match(text):
        raise ValueError(f"{value!r} is not a domain name")
    return text


def arr_base_for(workspace, arr: Decimal, currency: str, rates: dict[str, Decimal] | None = None) -> Decimal:
    """ARR in the workspace currency; ``Invalid`` on arr_currency when there is no rate."""
    if currency == workspace.currency:
        return Decimal(arr).quantize(Decimal("0.01"))
    if rates is None:
        rates = selectors.rates_for(workspace)
    rate = rates.get(currency)
    if rate is None:
        raise Invalid(f"No exchange rate for {currency}.", fields={"arr_currency": no_rate_message(currency)})
    base = convert(Decimal(arr), rate)
    if base > MAX_AMOUNT:
        raise Invalid(
            "ARR is too large once converted.",
            fields={"arr": f"{arr} {currency} is more than {MAX_AMOUNT:,} {workspace.currency} once converted."},
        )
    return base


def _clean_arr(value) -> Decimal:
    try:
        amount = Decimal(str(value if value is not None else "0"))
    except InvalidOperation:
        raise Invalid("ARR must be a number.", fields={"arr": "Enter an amount, e.g. 12000 or 12000.50."})
    if not amount.is_finite():
        raise Invalid("ARR must be a number.", fields={"arr": "Enter an amount, e.g. 12000 or 12000.50."})
    if amount < 0:
        raise Invalid("ARR cannot be negative.", fields={"arr": "ARR cannot be negative."})
    if amount > MAX_AMOUNT:
        raise Invalid("ARR is too large.", fields={"arr": f"At most {MAX_AMOUNT:,}."})
    return amount.quantize(Decimal("0.01"))


def _clean_currency(workspace, value: str | None) -> str:
    code = (value or "").strip().upper() or workspace.currency
    if not is_currency(code):
        raise Invalid(
            f"Unknown currency {code!r}.", fields={"arr_currency": f"{code!r} is not an ISO 4217 code (e.g. EUR, USD)."}
        )
    return code


def _clean_date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise Invalid(f"{value!r} is not a date.", fields={"renewal_date": "Use the form YYYY-MM-DD, e.g. 2026-03-31."})


def _choice(field: str, value: str, choices: list[tuple[str, str]]) -> str:
    value = (value or "").strip()
    allowed = [c for c, _ in choices]
    if value not in allowed:
        shown = ", ".join(c for c in allowed if c)
        raise Invalid(f"Unknown {field} {value!r}.", fields={field: f"Choose one of: {shown}."})
    return value


def member_owner(actor: Actor, owner_id: int | None):
    """The user with that id if they are an active member of the workspace; None for no owner."""
    if owner_id in (None, "", 0):
        return None
    try:
        owner_id = int(owner_id)
    except (TypeError, ValueError):
        raise Invalid("Unknown owner.", fields={"owner_id": "Choose a member of this workspace."})
    user = selectors.members(actor.workspace).filter(pk=owner_id).first()
    if user is None:
        raise Invalid(
            "The owner must be a member of this workspace.", fields={"owner_id": "Choose a member of this workspace."}
        )
    return user


class _Collect:
    """Runs each field check and keeps every failure, so that a form shows all its errors at once."""

    def __init__(self):
        self.fields: dict[str, str] = {}
        self.messages: list[str] = []

    def check(self, fn, *args):
        try:
            return fn(*args)
        except Invalid as exc:
            self.fields.update(exc.fields)
            self.messages.append(exc.message)
            return None

    def raise_if_any(self) -> None:
        if self.fields:
            raise Invalid(" ".join(self.messages), fields=self.fields)


def _clean_name(value) -> str:
    name = (value or "").strip()
    if not name:
        raise Invalid("A customer needs a name.", fields={"name": "Enter the account's name."})
    return name


def _clean_domain(value) -> str:
    try:
        return normalise_domain(value or "")
    except ValueError as exc:
        raise Invalid(f"{exc}.", fields={"domain": f"{exc}; enter a domain such as acme.com."})


def _clean_external_id(actor: Actor, value, current) -> str:
    external_id = (value or "").strip()
    if external_id:
        clash = Customer.objects.filter(workspace=actor.workspace, external_id=external_id)
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            raise Invalid(
                f"Another account has the external id {external_id!r}.",
                fields={"external_id": f"Another account has the external id {external_id!r}."},
            )
    return external_id


def _clean_customer(actor: Actor, data: dict, current: Customer | None = None) -> dict:
    """Normalise and check the given customer fields; returns model field values. Every failing
    field is reported in one ``Invalid``."""
    out: dict = {}
    errors = _Collect()
    if "name" in data:
        out["name"] = errors.check(_clean_name, data["name"])
    if "domain" in data:
        out["domain"] = errors.check(_clean_domain, data["domain"])
    if "segment" in data:
        out["segment"] = errors.check(_choice, "segment", data["segment"] or "", [("", ""), *SEGMENTS])
    if "lifecycle" in data:
        out["lifecycle"] = errors.check(_choice, "lifecycle", data["lifecycle"] or "customer", LIFECYCLE)
    if "health" in data:
        out["health"] = errors.check(_choice, "health", data["health"] or "", HEALTH)
    for field in ("plan", "region"):
        if field in data:
            out[field] = (data[field] or "").strip()
    if "external_id" in data:
        out["external_id"] = errors.check(_clean_external_id, actor, data["external_id"], current)
    if "renewal_date" in data:
        out["renewal_date"] = errors.check(_clean_date, data["renewal_date"])
    if "owner_id" in data:
        out["owner"] = errors.check(member_owner, actor, data["owner_id"])
    if "arr" in data or "arr_currency" in data or current is None:
        arr = errors.check(_clean_arr, data["arr"]) if "arr" in data else (current.arr if current else Decimal(0))
        if "arr_currency" in data:
            currency = errors.check(_clean_currency, actor.workspace, data["arr_currency"])
        else:
            currency = (current.arr_currency if current else "") or actor.workspace.currency
        if arr is not None and currency is not None:
            out["arr"], out["arr_currency"] = arr, currency
            out["arr_base"] = errors.check(arr_base_for, actor.workspace, arr, currency)
    errors.raise_if_any()
    return out


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    name: str,
    domain: str = "",
    segment: str = "",
    plan: str = "",
    arr: Decimal | int | str = 0,
    arr_currency: str = "",
    lifecycle: str = "customer",
    region: str = "",
    owner_id: int | None = None,
    renewal_date=None,
    health: str = "",
    external_id: str = "",
) -> Customer:
    actor.require(WRITE_SCOPE)
    data = {
        "name": name,
        "domain": domain,
        "segment": segment,
        "plan": plan,
        "arr": arr,
        "arr_currency": arr_currency,
        "lifecycle": lifecycle,
        "region": region,
        "owner_id": owner_id,
        "renewal_date": renewal_date,
        "health": health,
        "external_id": external_id,
    }
    values = _clean_customer(actor, data)
    customer = Customer(workspace=actor.workspace, **values)
    return create_audited(actor, customer, entity_type="customer", fields=CUSTOMER_FIELDS)


@transaction.atomic
def customer_update(*, actor: Actor, customer_id: int, expected_version: int | None = None, **changes) -> Customer:
    customer = selectors.access_customer(actor=actor, id=customer_id, scope=WRITE_SCOPE, for_update=True)
    unknown = set(changes) - CUSTOMER_EDITABLE
    if unknown:
        raise Invalid(f"Unknown customer fields: {', '.join(sorted(unknown))}")
    values = _clean_customer(actor, changes, current=customer)
    return update_audited(actor, customer, values, entity_type="customer", expected_version=expected_version)


@transaction.atomic
def customer_archive(*, actor: Actor, customer_id: int, archived: bool = True) -> Customer:
    customer = selectors.access_customer(actor=actor, id=customer_id, scope=WRITE_SCOPE, for_update=True)
    if (customer.archived_at is not None) == archived:
        return customer
    return update_audited(
        actor,
        customer,
        {"archived_at": timezone.now() if archived else None},
        entity_type="customer",
        expected_version=None,
        action="archived" if archived else "restored",
    )


@transaction.atomic
def customer_delete(*, actor: Actor, customer_id: int) -> None:
    """Delete an archived account for good. Its contacts stay (without an account); links from
    feedback, interviews and evidence are cleared by the database. The audit record keeps every field."""
    customer = selectors.access_customer(actor=actor, id=customer_id, scope=WRITE_SCOPE, for_update=True)
    if customer.archived_at is None:
        raise Conflict(
            f"Archive {customer.name} first. Deleting removes the account for good and unlinks its feedback, "
            "interviews and evidence; archiving keeps them and can be undone.",
            code="not_archived",
        )
    contacts = Contact.objects.filter(customer=customer).count()
    before = snapshot(customer, [*CUSTOMER_FIELDS, "archived_at"])
    changes = diff(before, {})
    changes["contacts_kept"] = [contacts, None]
    pk, label = customer.pk, str(customer)
    customer.delete()
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="customer",
        entity_id=pk,
        entity_label=label,
        action="deleted",
        changes=changes,
    )


# --- contacts ---------------------------------------------------------------------------------


def _clean_contact(actor: Actor, data: dict, current: Contact | None = None) -> dict:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    out: dict = {}
    for field in ("name", "title", "external_id"):
        if field in data:
            out[field] = (data[field] or "").strip()
    if "email" in data:
        email = (data["email"] or "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise Invalid(
                    f"{email!r} is not an email address.", fields={"email": f"{email!r} is not an email address."}
                )
            clash = Contact.objects.filter(workspace=actor.workspace, email__iexact=email)
            if current is not None:
                clash = clash.exclude(pk=current.pk)
            other = clash.select_related("customer").first()
            if other is not None:
                where = f" at {other.customer.name}" if other.customer else ""
                raise Invalid(
                    f"{email} is already a contact ({other.name or other.email}{where}).",
                    fields={"email": "Another contact has this email."},
                )
        out["email"] = email
    if out.get("external_id"):
        clash = Contact.objects.filter(workspace=actor.workspace, external_id=out["external_id"])
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            raise Invalid(
                f"Another contact has the external id {out['external_id']!r}.",
                fields={"external_id": "External ids are unique in a workspace."},
            )
    if "customer_id" in data:
        customer_id = data["customer_id"]
        # A second id is re-checked against the workspace: another workspace's account is NotFound.
        out["customer"] = selectors.access_customer(actor=actor, id=customer_id) if customer_id else None
    name = out.get("name", current.name if current else "")
    email = out.get("email", current.email if current else "")
    if not name and not email:
        raise Invalid("A contact needs a name or an email.", fields={"name": "Enter a name or an email."})
    return out


@transaction.atomic
def contact_create(
    *,
    actor: Actor,
    customer_id: int | None = None,
    name: str = "",
    email: str = "",
    title: str = "",
    external_id: str = "",
) -> Contact:
    actor.require(WRITE_SCOPE)
    values = _clean_contact(
        actor,
        {"customer_id": customer_id, "name": name, "email": email, "title": title, "external_id": external_id},
    )
    contact = Contact(workspace=actor.workspace, **values)
    return create_audited(actor, contact, entity_type="contact", fields=CONTACT_FIELDS)


@transaction.atomic
def contact_update(*, actor: Actor, contact_id: int, expected_version: int | None = None, **changes) -> Contact:
    contact = selectors.access_contact(actor=actor, id=contact_id, scope=WRITE_SCOPE, for_update=True)
    unknown = set(changes) - {"customer_id", "name", "email", "title", "external_id"}
    if unknown:
        raise Invalid(f"Unknown contact fields: {', '.join(sorted(unknown))}")
    values = _clean_contact(actor, changes, current=contact)
    return update_audited(actor, contact, values, entity_type="contact", expected_version=expected_version)


@transaction.atomic
def contact_delete(*, actor: Actor, contact_id: int) -> None:
    contact = selectors.access_contact(actor=actor, id=contact_id, scope=WRITE_SCOPE, for_update=True)
    delete_audited(actor, contact, entity_type="contact", fields=[*CONTACT_FIELDS, "unsubscribed_at"])


@transaction.atomic
def contact_unsubscribe(*, actor: Actor, contact_id: int) -> Contact:
    """Record that the contact wants no more email from us (staff acting on their request)."""
    contact = selectors.access_contact(actor=actor, id=contact_id, scope=WRITE_SCOPE, for_update=True)
    if contact.unsubscribed_at is not None:
        return contact
    return update_audited(
        actor,
        contact,
        {"unsubscribed_at": timezone.now()},
        entity_type="contact",
        expected_version=None,
        action="unsubscribed",
    )


@transaction.atomic
def contacts_unsubscribe(
    *, workspace, email: str = "", contact_id: int | None = None, actor: Actor | None = None
) -> int:
    """The person unsubscribed (e.g. through a link in our mail): every contact of ``workspace``
    with that email address, or the one contact with ``contact_id`` when it has no email, stops
    receiving mail. No scope check: the person themselves acts. Returns how many contacts changed."""
    query = Contact.objects.select_for_update().filter(workspace=workspace, unsubscribed_at=None)
    email = (email or "").strip()
    if email:
        query = query.filter(email__iexact=email)
    elif contact_id is not None:
        contact = Contact.objects.filter(workspace=workspace, pk=contact_id).only("email").first()
        if contact is None:
            return 0
        query = query.filter(email__iexact=contact.email) if contact.email else query.filter(pk=contact_id)
    else:
        return 0
    now = timezone.now()
    changed = 0
    for contact in query:
        contact.unsubscribed_at = now
        contact.version += 1
        contact.save(update_fields=["unsubscribed_at", "version"])
        audit_record(
            actor=actor.user if actor else None,
            workspace=workspace,
            via=actor.via if actor else "system",
            entity_type="contact",
            entity_id=contact.pk,
            entity_label=str(contact),
            action="unsubscribed",
            changes={"unsubscribed_at": [None, now.isoformat()]},
        )
        changed += 1
    return changed


# --- personas ---------------------------------------------------------------------------------


def _clean_persona(actor: Actor, data: dict, current: Persona | None = None) -> dict:
    out = {k: (data[k] or "").strip() for k in PERSONA_FIELDS if k in data}
    if "name" in out:
        if not out["name"]:
            raise Invalid("A persona needs a name.", fields={"name": "Enter a name, e.g. Finance controller."})
        clash = Persona.objects.filter(workspace=actor.workspace, name__iexact=out["name"])
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            raise Invalid(f"A persona named {out['name']!r} already exists.", fields={"name": "Choose another name."})
    return out


@transaction.atomic
def persona_create(
    *, actor: Actor, name: str, description: str = "", goals: str = "", jobs_to_be_done: str = ""
) -> Persona:
    actor.require(WRITE_SCOPE)
    values = _clean_persona(
        actor, {"name": name, "description": description, "goals": goals, "jobs_to_be_done": jobs_to_be_done}
    )
    persona = Persona(workspace=actor.workspace, **values)
    return create_audited(actor, persona, entity_type="persona", fields=PERSONA_FIELDS)


@transaction.atomic
def persona_update(*, actor: Actor, persona_id: int, expected_version: int | None = None, **changes) -> Persona:
    persona = selectors.access_persona(actor=actor, id=persona_id, scope=WRITE_SCOPE, for_update=True)
    unknown = set(changes) - set(PERSONA_FIELDS)
    if unknown:
        raise Invalid(f"Unknown persona fields: {', '.join(sorted(unknown))}")
    values = _clean_persona(actor, changes, current=persona)
    return update_audited(actor, persona, values, entity_type="persona", expected_version=expected_version)


@transaction.atomic
def persona_delete(*, actor: Actor, persona_id: int) -> None:
    """Delete a persona; feedback and features tagged with it lose that tag (the audit record keeps it)."""
    persona = selectors.access_persona(actor=actor, id=persona_id, scope=WRITE_SCOPE, for_update=True)
    delete_audited(actor, persona, entity_type="persona", fields=PERSONA_FIELDS)


# --- currency rates ---------------------------------------------------------------------------


def _reconvert(workspace, currency: str, rate: Decimal | None) -> int:
    """Recompute arr_base of every account in ``currency``; returns how many changed.

    arr_base is derived, so this neither bumps ``version`` nor counts as an edit of the account.
    """
    changed = []
    for customer in Customer.objects.filter(workspace=workspace, arr_currency=currency).only("id", "arr", "arr_base"):
        base = customer.arr if currency == workspace.currency else convert(customer.arr, rate) if rate else None
        if base is not None and base > MAX_AMOUNT:
            raise Invalid(
                f"With this rate the ARR of {customer.pk} would exceed {MAX_AMOUNT:,}.",
                fields={"rate": "The rate is too large for the accounts in this currency."},
            )
        if base is not None and base != customer.arr_base:
            customer.arr_base = base
            changed.append(customer)
    Customer.objects.bulk_update(changed, ["arr_base"], batch_size=1000)
    return len(changed)


@transaction.atomic
def currency_rate_set(*, actor: Actor, currency: str, rate: Decimal | str | float) -> CurrencyRate:
    """Set how many units of the workspace currency one ``currency`` is worth, and re-convert the
    ARR of every account in that currency, all in one transaction."""
    actor.require(WRITE_SCOPE)
    code = (currency or "").strip().upper()
    if not is_currency(code):
        raise Invalid(f"Unknown currency {code!r}.", fields={"currency": "Use an ISO 4217 code such as GBP."})
    if code == actor.workspace.currency:
        raise Invalid(
            f"{code} is the workspace currency; its rate is always 1.",
            fields={"currency": "Choose another currency."},
        )
    try:
        value = Decimal(str(rate).strip().replace(",", "."))
    except InvalidOperation:
        raise Invalid("The rate must be a number.", fields={"rate": "Enter a number such as 1.17."})
    if not value.is_finite() or value <= 0:
        raise Invalid("The rate must be greater than 0.", fields={"rate": "Enter a number greater than 0."})
    if value >= Decimal("1e10") or value != value.quantize(Decimal("0.00000001")):
        value = value.quantize(Decimal("0.00000001"))
        if value <= 0 or value >= Decimal("1e10"):
            raise Invalid("The rate is out of range.", fields={"rate": "Enter a rate between 0.00000001 and 1e10."})
    existing = CurrencyRate.objects.select_for_update().filter(workspace=actor.workspace, currency=code).first()
    before = existing.rate if existing else None
    if existing is None:
        existing = CurrencyRate(workspace=actor.workspace, currency=code, rate=value)
    elif existing.rate == value:
        return existing
    existing.rate = value
    existing.save()
    reconverted = _reconvert(actor.workspace, code, value)
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="currency_rate",
        entity_id=existing.pk,
        entity_label=f"{code} → {actor.workspace.currency}",
        action="created" if before is None else "updated",
        changes={
            "rate": [None if before is None else str(before), str(value)],
            "accounts_reconverted": [None, reconverted],
        },
    )
    return existing


@transaction.atomic
def currency_rate_delete(*, actor: Actor, rate_id: int) -> None:
    rate = selectors.access_currency_rate(actor=actor, id=rate_id, scope=WRITE_SCOPE, for_update=True)
    used = Customer.objects.filter(workspace=actor.workspace, arr_currency=rate.currency).count()
    if used:
        raise Conflict(
            f"{used} account{'s' if used != 1 else ''} {'have' if used != 1 else 'has'} ARR in {rate.currency}; "
            "their roll-ups need this rate. Change their currency first, or update the rate instead.",
            code="rate_in_use",
        )
    pk, code, value = rate.pk, rate.currency, str(rate.rate)
    rate.delete()
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="currency_rate",
        entity_id=pk,
        entity_label=f"{code} → {actor.workspace.currency}",
        action="deleted",
        changes={"rate": [value, None]},
    )


@transaction.atomic
def workspace_currency_reconvert(*, actor: Actor) -> dict[str, int]:
    """After the workspace currency changed: recompute every account's arr_base. Rates are
    relative to the workspace currency, so a rate for the new workspace currency is dropped
    (it is 1 by definition). Returns {"reconverted": n, "without_rate": m}; accounts in a
    currency without a rate keep their old arr_base and are counted in ``without_rate``."""
    workspace = actor.workspace
    CurrencyRate.objects.filter(workspace=workspace, currency=workspace.currency).delete()
    rates = selectors.rates_for(workspace)
    reconverted = without = 0
    currencies = Customer.objects.filter(workspace=workspace).values_list("arr_currency", flat=True).distinct()
    for currency in list(currencies):
        if currency in rates:
            reconverted += _reconvert(workspace, currency, rates[currency])
        else:
            without += Customer.objects.filter(workspace=workspace, arr_currency=currency).count()
    return {"reconverted": reconverted, "without_rate": without}
