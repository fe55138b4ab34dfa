"""Reads for customers, contacts and personas. Every query starts from the actor's workspace."""

from __future__ import annotations

from django.urls import reverse

from valueloop.core.entities import EntityRef

from .models import Customer


def customer_ref(workspace, entity_id: int) -> EntityRef | None:
    customer = Customer.objects.filter(workspace=workspace, pk=entity_id).only("name").first()
    if customer is None:
        return None
    return EntityRef(
        "customer", customer.pk, customer.name, reverse("customers:customer_detail", args=[workspace.slug, customer.pk])
    )
