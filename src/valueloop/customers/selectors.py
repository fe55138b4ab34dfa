"""Reads for customers, contacts, personas and currency rates. Every query starts from the actor's
workspace; an id of another workspace is NotFound (404) before a missing scope is PermissionDenied."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.urls import reverse

from valueloop.accounts.facade import User
from valueloop.core.entities import EntityRef
from valueloop.core.errors import NotFound
from valueloop.core.permissions import Scope
from valueloop.core.selectors import access_row
from valueloop.core.tenancy import Actor

from .models import Contact, CurrencyRate, Customer, Persona

CUSTOMER_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "arr": ("arr_base", "name", "id"),
    "-arr": ("-arr_base", "name", "id"),
    "renewal": ("renewal_date", "name", "id"),
    "-renewal": ("-renewal_date", "name", "id"),
}


def customer_list(
    *,
    actor: Actor,
    search: str = "",
    segment: str = "",
    lifecycle: str = "",
    health: str = "",
    owner_id: int | None = None,
    arr_min: Decimal | None = None,
    arr_max: Decimal | None = None,
    include_archived: bool = False,
    sort: str = "name",
) -> QuerySet[Customer]:
    """Accounts matching every given filter; ARR bounds are in the workspace currency (arr_base).

    ``owner_id=0`` selects accounts without an owner; ``health="unknown"`` those without a health.
    """
    actor.require(Scope.WORKSPACE_READ)
    query = Customer.objects.filter(workspace=actor.workspace).select_related("owner")
    if not include_archived:
        query = query.filter(archived_at=None)
    if search:
        query = query.filter(
            Q(name__icontains=search) | Q(domain__icontains=search) | Q(external_id=search) | Q(plan__icontains=search)
        )
    if segment:
        query = query.filter(segment=segment)
    if lifecycle:
        query = query.filter(lifecycle=lifecycle)
    if health:
        query = query.filter(health="" if health == "unknown" else health)
    if owner_id is not None:
        query = query.filter(owner=None) if owner_id == 0 else query.filter(owner_id=owner_id)
    if arr_min is not None:
        query = query.filter(arr_base__gte=arr_min)
    if arr_max is not None:
        query = query.filter(arr_base__lte=arr_max)
    return query.annotate(contact_count=Count("contacts")).order_by(*CUSTOMER_SORTS.get(sort, CUSTOMER_SORTS["name"]))


def arr_total(customers: QuerySet[Customer]) -> Decimal:
    """Sum of ARR in the workspace currency over a (filtered) customer queryset."""
    total = customers.order_by().aggregate(total=Sum("arr_base"))["total"]
    return Decimal(total or 0).quantize(Decimal("0.01"))


def access_customer(
    *, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ, for_update: bool = False
) -> Customer:
    query = Customer.objects.filter(workspace=actor.workspace, pk=id).select_related("owner")
    if for_update:
        query = query.select_for_update(of=("self",))
    customer = query.first()
    if customer is None:
        raise NotFound("Customer not found.")
    actor.require(scope)
    return customer


def contact_list(
    *, actor: Actor, search: str = "", customer_id: int | None = None, include_unsubscribed: bool = True
) -> QuerySet[Contact]:
    actor.require(Scope.WORKSPACE_READ)
    query = Contact.objects.filter(workspace=actor.workspace).select_related("customer")
    if customer_id is not None:
        query = query.filter(customer_id=customer_id)
    if search:
        query = query.filter(
            Q(name__icontains=search)
            | Q(email__icontains=search)
            | Q(title__icontains=search)
            | Q(customer__name__icontains=search)
        )
    if not include_unsubscribed:
        query = query.filter(unsubscribed_at=None)
    return query.order_by("name", "email", "id")


def access_contact(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ, for_update: bool = False) -> Contact:
    query = Contact.objects.filter(workspace=actor.workspace, pk=id).select_related("customer")
    if for_update:
        query = query.select_for_update(of=("self",))
    contact = query.first()
    if contact is None:
        raise NotFound("Contact not found.")
    actor.require(scope)
    return contact


def persona_list(*, actor: Actor, search: str = "") -> QuerySet[Persona]:
    actor.require(Scope.WORKSPACE_READ)
    query = Persona.objects.filter(workspace=actor.workspace)
    if search:
        query = query.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return query.order_by("name", "id")


def access_persona(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ, for_update: bool = False) -> Persona:
    return access_row(Persona, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Persona not found.")


def currency_rate_list(*, actor: Actor) -> QuerySet[CurrencyRate]:
    """The workspace's rates, each annotated with how many accounts are in that currency."""
    actor.require(Scope.WORKSPACE_READ)
    rates = CurrencyRate.objects.filter(workspace=actor.workspace).order_by("currency")
    return rates


def currency_usage(*, actor: Actor) -> dict[str, int]:
    """Number of (unarchived and archived) accounts per ARR currency."""
    actor.require(Scope.WORKSPACE_READ)
    rows = (
        Customer.objects.filter(workspace=actor.workspace)
        .values("arr_currency")
        .annotate(n=Count("id"))
        .order_by("arr_currency")
    )
    return {row["arr_currency"]: row["n"] for row in rows}


def access_currency_rate(
    *, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ, for_update: bool = False
) -> CurrencyRate:
    query = CurrencyRate.objects.filter(workspace=actor.workspace, pk=id)
    if for_update:
        query = query.select_for_update()
    rate = query.first()
    if rate is None:
        raise NotFound("Currency rate not found.")
    actor.require(scope)
    return rate


def rates_for(workspace) -> dict[str, Decimal]:
    """currency -> rate to the workspace currency (the workspace currency itself is 1)."""
    rates = dict(CurrencyRate.objects.filter(workspace=workspace).values_list("currency", "rate"))
    rates[workspace.currency] = Decimal(1)
    return rates


def members(workspace) -> QuerySet:
    """Active users who are members of the workspace: the possible account owners."""
    return User.objects.filter(memberships__workspace=workspace, is_active=True).order_by("name", "email")


def customer_ref(workspace, entity_id: int) -> EntityRef | None:
    customer = Customer.objects.filter(workspace=workspace, pk=entity_id).only("name").first()
    if customer is None:
        return None
    return EntityRef(
        "customer", customer.pk, customer.name, reverse("customers:customer_detail", args=[workspace.slug, customer.pk])
    )


def persona_ref(workspace, entity_id: int) -> EntityRef | None:
    persona = Persona.objects.filter(workspace=workspace, pk=entity_id).only("name").first()
    if persona is None:
        return None
    return EntityRef(
        "persona", persona.pk, persona.name, reverse("customers:persona_detail", args=[workspace.slug, persona.pk])
    )


def contact_search_describe(actor: Actor, ids: list[int]) -> dict[int, tuple[str, str]]:
    """Contacts open on their own page, with the customer they work at."""
    rows = Contact.objects.filter(workspace=actor.workspace, id__in=ids).values_list("id", "customer__name")
    slug = actor.workspace.slug
    return {
        contact_id: (reverse("customers:contact_edit", args=[slug, contact_id]), f"at {customer}" if customer else "")
        for contact_id, customer in rows
    }
