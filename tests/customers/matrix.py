"""Rows of the customers app for the generated permission-matrix and tenant-isolation suites:
one account, contact, persona and currency rate per workspace, named with ``label`` so that a
leak of workspace B's rows shows up in A's listings ("Beta" is one of the markers)."""

from __future__ import annotations

from valueloop.customers import services
from valueloop.customers.models import Contact, CurrencyRate, Customer, Persona


def customer_ids(actor, label: str = "Matrix") -> dict[str, int]:
    workspace = actor.workspace
    slug = label.lower()
    customer = Customer.objects.filter(workspace=workspace, external_id=f"{slug}-1").first() or (
        services.customer_create(actor=actor, name=f"{label} customer", external_id=f"{slug}-1", arr="1000")
    )
    contact = Contact.objects.filter(workspace=workspace, external_id=f"{slug}-c1").first() or (
        services.contact_create(
            actor=actor,
            customer_id=customer.pk,
            name=f"{label} contact",
            email=f"{slug}-contact@{slug}.test",
            external_id=f"{slug}-c1",
        )
    )
    persona = Persona.objects.filter(workspace=workspace, name=f"{label} persona").first() or (
        services.persona_create(actor=actor, name=f"{label} persona")
    )
    rate = CurrencyRate.objects.filter(workspace=workspace, currency="CHF").first() or (
        services.currency_rate_set(actor=actor, currency="CHF", rate="1.1")
    )
    return {"customer_id": customer.pk, "contact_id": contact.pk, "persona_id": persona.pk, "rate_id": rate.pk}
