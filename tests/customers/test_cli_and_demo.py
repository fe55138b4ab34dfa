"""`valueloop import customers` (management command import_customers) and the demo data."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from valueloop.accounts.models import User
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.customers import demo
from valueloop.customers.models import Contact, CurrencyRate, Customer, Persona
from valueloop.demo import DemoContext
from valueloop.workspaces import services as ws_services
from valueloop.workspaces.models import Membership

FIXTURES = Path(__file__).parent / "fixtures"


def test_import_customers_command__prints_the_report_and_writes_nothing_on_problems(world, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("external_id,name,arr\nA1,Acme,10\nA2,Beta,-1\nA2,Gamma,x\n")
    with pytest.raises(CommandError) as exc:
        call_command("import_customers", str(bad), "--workspace", world.ws_a.slug)
    message = str(exc.value)
    assert "nothing was imported" in message
    assert "row 3, arr (column 'arr'): ARR cannot be negative (-1)" in message
    assert "row 4, external_id (column 'external_id'): duplicate external id 'A2'" in message
    assert not Customer.objects.exists()
    call_command("import_customers", str(bad), "--workspace", world.ws_a.slug, "--skip-invalid")
    assert list(Customer.objects.values_list("name", flat=True)) == ["Acme"]
    assert "1 new" in capsys.readouterr().out


def test_import_customers_command__presets_contacts_dry_run_and_bad_arguments(world, capsys):
    accounts = str(FIXTURES / "hubspot_companies.csv")
    call_command("import_customers", accounts, "--workspace", world.ws_a.slug, "--preset", "hubspot", "--dry-run")
    assert "Would import accounts: 4 new" in capsys.readouterr().out
    assert not Customer.objects.exists()
    call_command("import_customers", accounts, "--workspace", world.ws_a.slug, "--as", "admin@a.test")
    contacts = str(FIXTURES / "hubspot_contacts.csv")
    call_command("import_customers", contacts, "--workspace", world.ws_a.slug, "--contacts")
    assert Contact.objects.filter(workspace=world.ws_a).count() == 3
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_customers", "/does/not/exist.csv", "--workspace", world.ws_a.slug)
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_customers", accounts, "--workspace", world.ws_a.slug, "--mapping", "{x")
    with pytest.raises(CommandError, match="not a member"):
        call_command("import_customers", accounts, "--workspace", world.ws_b.slug, "--as", "admin@a.test")
    with pytest.raises(CommandError, match="does not allow"):  # a contributor cannot import
        call_command("import_customers", accounts, "--workspace", world.ws_a.slug, "--as", "contributor@a.test")


@pytest.fixture
def demo_context(db):
    users = {
        h: User.objects.create_user(
            f"{h}@demo.valueloop.example", "pw-demo-123456", name=h.title(), handle=h, is_staff=h == "ada"
        )
        for h in ("ada", "priya", "tom", "jamal", "sofia")
    }
    workspace = ws_services.workspace_create(user=users["ada"], name="Demo", currency="EUR", slug="demo-test")
    roles = {"priya": Role.PRODUCT_MANAGER, "tom": Role.PRODUCT_OWNER, "jamal": Role.CONTRIBUTOR}
    for handle, role in {**roles, "sofia": Role.CONTRIBUTOR}.items():
        Membership.objects.create(workspace=workspace, user=users[handle], role=role.value)

    def make(scale="small"):
        def actor_for(handle):
            role = Membership.objects.get(workspace=workspace, user=users[handle]).role
            return Actor(user=users[handle], workspace=workspace, role=Role(role), via="system")

        return DemoContext(workspace=workspace, users=users, scale=scale, rng=random.Random(7), actor_for=actor_for)

    return make


def test_demo_build__realistic_spread_and_idempotent(demo_context):
    context = demo_context()
    demo.build(context)
    workspace = context.workspace
    customers = Customer.objects.filter(workspace=workspace)
    assert customers.count() == 300
    assert Persona.objects.filter(workspace=workspace).count() == 5
    assert set(CurrencyRate.objects.filter(workspace=workspace).values_list("currency", flat=True)) == {
        "GBP",
        "USD",
        "CHF",
    }
    paying = customers.filter(lifecycle="customer")
    enterprise = [c.arr_base for c in paying.filter(segment="enterprise")]
    smb = [c.arr_base for c in paying.filter(segment="smb")]
    assert enterprise and min(enterprise) >= Decimal("150000") and max(enterprise) <= Decimal("1800000")
    assert len(smb) > 80 and max(smb) <= Decimal("40000") and min(smb) >= Decimal("2000")
    assert customers.exclude(arr_currency="EUR").count() > 50
    contacts = Contact.objects.filter(workspace=workspace)
    assert 300 <= contacts.count() <= 1200 and contacts.exclude(unsubscribed_at=None).exists()
    state = (customers.count(), contacts.count(), list(customers.values_list("version", flat=True)))
    second = demo_context()
    demo.build(second)
    assert (customers.count(), contacts.count(), list(customers.values_list("version", flat=True))) == state
    assert second.rng.random() == context.rng.random()  # the next app's demo sees the same RNG state
