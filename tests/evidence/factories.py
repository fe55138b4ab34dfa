"""Small builders for evidence and research tests (rows written directly: these tests are about
evidence, not about the customer and feedback services)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from valueloop.customers.models import Contact, Customer, Persona
from valueloop.feedback.models import FeedbackItem


def customer(ws, name: str, arr: int | str = 0, segment: str = "", **extra) -> Customer:
    return Customer.objects.create(
        workspace=ws,
        name=name,
        arr=Decimal(arr),
        arr_base=Decimal(arr),
        arr_currency=ws.currency,
        segment=segment,
        **extra,
    )


def contact(ws, name: str, email: str, account: Customer | None = None, **extra) -> Contact:
    return Contact.objects.create(workspace=ws, name=name, email=email, customer=account, **extra)


def persona(ws, name: str) -> Persona:
    return Persona.objects.create(workspace=ws, name=name)


def feedback(
    ws, text: str, account: Customer | None = None, person: Contact | None = None, *, days_ago: int = 0, personas=()
):
    item = FeedbackItem.objects.create(
        workspace=ws,
        text=text,
        customer=account,
        contact=person,
        received_at=timezone.now() - dt.timedelta(days=days_ago),
        source="support",
    )
    if personas:
        item.personas.set(personas)
    return item
