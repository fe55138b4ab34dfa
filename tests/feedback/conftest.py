"""Feedback fixtures: customers and contacts in workspace A (and one in B), files of each preset."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from valueloop.customers.models import Contact, Customer, Persona
from valueloop.feedback import importing, services

FIXTURES = Path(__file__).parent / "fixtures"


class Accounts:
    def __init__(self, world):
        ws = world.ws_a
        self.acme = Customer.objects.create(
            workspace=ws,
            name="Acme GmbH",
            domain="acme.example",
            external_id="CUST-1",
            segment="enterprise",
            arr=Decimal("400000"),
            arr_base=Decimal("400000"),
        )
        self.globex = Customer.objects.create(
            workspace=ws,
            name="Globex Ltd",
            domain="globex.example",
            external_id="CUST-2",
            segment="smb",
            arr=Decimal("12000"),
            arr_base=Decimal("12000"),
        )
        self.initech = Customer.objects.create(
            workspace=ws,
            name="Initech",
            domain="initech.example",
            external_id="CUST-3",
            segment="mid_market",
            arr=Decimal("60000"),
            arr_base=Decimal("60000"),
        )
        self.ada = Contact.objects.create(workspace=ws, customer=self.acme, name="Ada Admin", email="ada@acme.example")
        self.gus = Contact.objects.create(workspace=ws, customer=self.globex, name="Gus", email="gus@globex.example")
        self.persona = Persona.objects.create(workspace=ws, name="AP clerk")
        # Workspace B has an account with the same name: imports into A must never match it.
        self.beta_acme = Customer.objects.create(
            workspace=world.ws_b, name="Beta Acme", domain="beta-acme.example", external_id="CUST-1"
        )


@pytest.fixture
def accounts(world) -> Accounts:
    return Accounts(world)


def run_import(world, data: bytes | str, *, filename: str = "feedback.csv", **options):
    if isinstance(data, str):
        data = data.encode()
    return services.feedback_import(
        actor=world.actor_a, data=data, filename=filename, options=importing.ImportOptions(**options)
    )


def make_item(world, text: str = "Dunning emails go out twice", **kwargs):
    return services.feedback_create(actor=world.actor_a, text=text, **kwargs)
