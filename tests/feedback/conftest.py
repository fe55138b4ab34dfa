"""Feedback fixtures: customers and contacts in workspace A (and one in B), files of each preset."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import ContactFactory, CustomerFactory, PersonaFactory
from valueloop.feedback import importing, services

FIXTURES = Path(__file__).parent / "fixtures"


class Accounts:
    def __init__(self, world):
        ws = world.ws_a
        self.acme = CustomerFactory(
            workspace=ws,
            name="Acme GmbH",
            domain="acme.example",
            external_id="CUST-1",
            segment="enterprise",
            arr=400000,
        )
        self.globex = CustomerFactory(
            workspace=ws, name="Globex Ltd", domain="globex.example", external_id="CUST-2", segment="smb", arr=12000
        )
        self.initech = CustomerFactory(
            workspace=ws,
            name="Initech",
            domain="initech.example",
            external_id="CUST-3",
            segment="mid_market",
            arr=60000,
        )
        self.ada = ContactFactory(customer=self.acme, name="Ada Admin", email="ada@acme.example")
        self.gus = ContactFactory(customer=self.globex, name="Gus", email="gus@globex.example")
        self.persona = PersonaFactory(workspace=ws, name="AP clerk")
        # Workspace B has an account with the same name: imports into A must never match it.
        self.beta_acme = CustomerFactory(
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
