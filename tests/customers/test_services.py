"""Customer, contact, persona and currency-rate services: ARR conversion, rate changes,
versions, owners, archive/delete, unsubscribe, the timeline registry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from valueloop.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.customers import facade, services
from valueloop.customers.facade import TimelineEntry
from valueloop.customers.models import Contact, Customer, Persona


@pytest.fixture
def gbp(world):
    return services.currency_rate_set(actor=world.actor_a, currency="GBP", rate="1.25")


def test_customer_create__same_currency_keeps_the_amount(world):
    customer = services.customer_create(actor=world.actor_a, name="Acme", arr="1200.50")
    assert (customer.arr_currency, customer.arr_base) == ("USD", Decimal("1200.50"))
    event = AuditEvent.objects.get(entity_type="customer", entity_id=customer.pk)
    assert event.action == "created" and event.changes["arr_base"] == [None, "1200.50"]


def test_customer_create__converts_with_the_workspace_rate(world, gbp):
    customer = services.customer_create(actor=world.actor_a, name="Acme", arr="1000", arr_currency="gbp")
    assert (customer.arr_currency, customer.arr_base) == ("GBP", Decimal("1250.00"))


def test_customer_create__missing_rate_is_invalid_on_arr_currency(world):
    with pytest.raises(Invalid) as exc:
        services.customer_create(actor=world.actor_a, name="Acme", arr="1000", arr_currency="GBP")
    assert exc.value.fields == {"arr_currency": "no exchange rate for GBP; add one in Customers › Currencies"}
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"arr": "-1"}, "arr"),
        ({"arr": "abc"}, "arr"),
        ({"arr_currency": "XYZ"}, "arr_currency"),
        ({"domain": "not a domain"}, "domain"),
        ({"segment": "huge"}, "segment"),
        ({"renewal_date": "31/31/2026"}, "renewal_date"),
        ({"name": "  "}, "name"),
    ],
)
def test_customer_create__bad_input_names_the_field(world, changes, field):
    with pytest.raises(Invalid) as exc:
        services.customer_create(actor=world.actor_a, **{"name": "Acme", **changes})
    assert field in exc.value.fields


def test_customer_create__normalises_the_domain(world):
    customer = services.customer_create(actor=world.actor_a, name="Acme", domain="https://www.Acme.COM/about?x=1")
    assert customer.domain == "acme.com"


def test_customer_create__owner_must_be_a_member(world):
    with pytest.raises(Invalid) as exc:
        services.customer_create(actor=world.actor_a, name="Acme", owner_id=world.admin_b.pk)
    assert "owner_id" in exc.value.fields
    customer = services.customer_create(actor=world.actor_a, name="Acme", owner_id=world.users[Role.CONTRIBUTOR].pk)
    assert customer.owner == world.users[Role.CONTRIBUTOR]


def test_customer_create__external_id_is_unique_in_the_workspace(world):
    services.customer_create(actor=world.actor_a, name="Acme", external_id="X1")
    with pytest.raises(Invalid) as exc:
        services.customer_create(actor=world.actor_a, name="Other", external_id="X1")
    assert "external_id" in exc.value.fields
    services.customer_create(actor=world.actor_b, name="Beta", external_id="X1")  # another workspace is fine


def test_customer_create__needs_the_write_scope(world):
    with pytest.raises(PermissionDenied):
        services.customer_create(actor=world.actor(Role.CONTRIBUTOR), name="Acme")
    with pytest.raises(PermissionDenied):
        services.customer_create(actor=world.actor(Role.STAKEHOLDER), name="Acme")
    assert services.customer_create(actor=world.actor(Role.PRODUCT_OWNER), name="Acme").pk


def test_customer_update__stale_version_is_a_conflict(world):
    customer = services.customer_create(actor=world.actor_a, name="Acme")
    services.customer_update(actor=world.actor_a, customer_id=customer.pk, expected_version=1, plan="Growth")
    with pytest.raises(Conflict) as exc:
        services.customer_update(actor=world.actor_a, customer_id=customer.pk, expected_version=1, plan="Starter")
    assert exc.value.code == "stale_version"
    customer.refresh_from_db()
    assert (customer.plan, customer.version) == ("Growth", 2)


def test_customer_update__reconverts_when_currency_or_amount_changes(world, gbp):
    customer = services.customer_create(actor=world.actor_a, name="Acme", arr="1000")
    customer = services.customer_update(actor=world.actor_a, customer_id=customer.pk, arr_currency="GBP")
    assert customer.arr_base == Decimal("1250.00")
    customer = services.customer_update(actor=world.actor_a, customer_id=customer.pk, arr="2000")
    assert (customer.arr_currency, customer.arr_base) == ("GBP", Decimal("2500.00"))


def test_customer_update__another_workspace_is_not_found(world):
    customer = services.customer_create(actor=world.actor_b, name="Beta")
    with pytest.raises(NotFound):
        services.customer_update(actor=world.actor_a, customer_id=customer.pk, name="Mine")


def test_currency_rate_set__reconverts_every_account_in_that_currency_atomically(world, gbp):
    a = services.customer_create(actor=world.actor_a, name="A", arr="1000", arr_currency="GBP")
    b = services.customer_create(actor=world.actor_a, name="B", arr="10", arr_currency="GBP")
    c = services.customer_create(actor=world.actor_a, name="C", arr="10")
    services.currency_rate_set(actor=world.actor_a, currency="GBP", rate="1.5")
    assert [Customer.objects.get(pk=x.pk).arr_base for x in (a, b, c)] == [
        Decimal("1500.00"),
        Decimal("15.00"),
        Decimal("10.00"),
    ]
    assert Customer.objects.get(pk=a.pk).version == 1  # derived value: not an edit of the account
    event = AuditEvent.objects.filter(entity_type="currency_rate").first()
    assert event.changes == {"rate": ["1.25000000", "1.5"], "accounts_reconverted": [None, 2]}


def test_currency_rate_set__refuses_bad_rates_and_the_workspace_currency(world):
    for currency, rate, field in [
        ("USD", "1", "currency"),
        ("XYZ", "1", "currency"),
        ("GBP", "0", "rate"),
        ("GBP", "-2", "rate"),
        ("GBP", "abc", "rate"),
    ]:
        with pytest.raises(Invalid) as exc:
            services.currency_rate_set(actor=world.actor_a, currency=currency, rate=rate)
        assert field in exc.value.fields


def test_currency_rate_delete__refused_while_accounts_use_it(world, gbp):
    customer = services.customer_create(actor=world.actor_a, name="A", arr="1", arr_currency="GBP")
    with pytest.raises(Conflict):
        services.currency_rate_delete(actor=world.actor_a, rate_id=gbp.pk)
    services.customer_update(actor=world.actor_a, customer_id=customer.pk, arr_currency="USD")
    services.currency_rate_delete(actor=world.actor_a, rate_id=gbp.pk)


def test_workspace_currency_reconvert__after_the_workspace_currency_changed(world, gbp):
    a = services.customer_create(actor=world.actor_a, name="A", arr="100", arr_currency="GBP")
    b = services.customer_create(actor=world.actor_a, name="B", arr="100")  # USD
    world.ws_a.currency = "GBP"
    world.ws_a.save()
    result = facade.workspace_currency_changed(actor=world.actor_a)
    assert result == {"reconverted": 1, "without_rate": 1}  # A is now 1:1; USD has no rate yet
    assert Customer.objects.get(pk=a.pk).arr_base == Decimal("100.00")
    assert Customer.objects.get(pk=b.pk).arr_base == Decimal("100.00")


def test_customer_delete__only_archived_accounts_and_the_audit_keeps_them(world):
    customer = services.customer_create(actor=world.actor_a, name="Acme", arr="10", plan="Growth")
    contact = services.contact_create(actor=world.actor_a, customer_id=customer.pk, email="a@acme.test")
    with pytest.raises(Conflict) as exc:
        services.customer_delete(actor=world.actor_a, customer_id=customer.pk)
    assert exc.value.code == "not_archived"
    services.customer_archive(actor=world.actor_a, customer_id=customer.pk)
    services.customer_delete(actor=world.actor_a, customer_id=customer.pk)
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert Contact.objects.get(pk=contact.pk).customer is None
    event = AuditEvent.objects.get(entity_type="customer", entity_id=customer.pk, action="deleted")
    assert event.changes["plan"] == ["Growth", None] and event.changes["contacts_kept"] == [1, None]


def test_contact_create__email_unique_case_insensitive_and_customer_of_the_workspace(world):
    mine = services.customer_create(actor=world.actor_a, name="Acme")
    theirs = services.customer_create(actor=world.actor_b, name="Beta")
    services.contact_create(actor=world.actor_a, customer_id=mine.pk, email="Ada@Acme.test", name="Ada")
    with pytest.raises(Invalid) as exc:
        services.contact_create(actor=world.actor_a, email="ada@acme.TEST")
    assert "email" in exc.value.fields
    with pytest.raises(NotFound):
        services.contact_create(actor=world.actor_a, customer_id=theirs.pk, email="x@y.test")
    with pytest.raises(Invalid):
        services.contact_create(actor=world.actor_a)  # neither name nor email


def test_contacts_for_customers__excludes_unsubscribed_and_emailless(world):
    acme = services.customer_create(actor=world.actor_a, name="Acme")
    a = services.contact_create(actor=world.actor_a, customer_id=acme.pk, email="a@acme.test")
    b = services.contact_create(actor=world.actor_a, customer_id=acme.pk, email="b@acme.test")
    services.contact_create(actor=world.actor_a, customer_id=acme.pk, name="No Mail")
    assert facade.contacts_for_customers(actor=world.actor_a, customer_ids=[acme.pk]) == [a, b]
    assert facade.unsubscribe_contact(workspace=world.ws_a, email="B@ACME.test") == 1
    assert facade.contacts_for_customers(actor=world.actor_a, customer_ids=[acme.pk]) == [a]
    assert facade.unsubscribe_contact(workspace=world.ws_a, email="b@acme.test") == 0  # already
    assert facade.unsubscribe_contact(workspace=world.ws_b, contact_id=a.pk) == 0  # other workspace
    assert facade.contact_for_email(actor=world.actor_a, email="A@acme.test") == a
    assert facade.contacts_by_email(actor=world.actor_a, emails=["A@acme.test", "zz@x.test"]) == {"a@acme.test": a}
    event = AuditEvent.objects.get(entity_type="contact", entity_id=b.pk, action="unsubscribed")
    assert event.actor_label == "system"


def test_persona_crud__unique_name_and_versioned(world):
    persona = services.persona_create(actor=world.actor_a, name="CFO", goals="Cash")
    with pytest.raises(Invalid):
        services.persona_create(actor=world.actor_a, name="cfo")
    services.persona_update(actor=world.actor_a, persona_id=persona.pk, expected_version=1, goals="More cash")
    with pytest.raises(Conflict):
        services.persona_update(actor=world.actor_a, persona_id=persona.pk, expected_version=1, goals="Less")
    assert facade.persona_choices(actor=world.actor_a) == [(persona.pk, "CFO")]
    services.persona_delete(actor=world.actor_a, persona_id=persona.pk)
    assert not Persona.objects.exists()
    assert AuditEvent.objects.get(entity_type="persona", action="deleted").changes["goals"] == ["More cash", None]


def test_facade_arr_base_and_choices_are_scoped(world, gbp):
    a = services.customer_create(actor=world.actor_a, name="A", arr="100", arr_currency="GBP")
    b = services.customer_create(actor=world.actor_b, name="Beta", arr="5")
    assert facade.customer_arr_base(actor=world.actor_a, ids=[a.pk, b.pk]) == {a.pk: Decimal("125.00")}
    assert facade.customer_choices(actor=world.actor_a) == [(a.pk, "A")]
    assert facade.customer_search(actor=world.actor_a, query="bet") == []


def test_customer_timeline__merges_sources_newest_first_and_survives_a_broken_one(world):
    customer = services.customer_create(actor=world.actor_a, name="Acme")

    def feedback(actor, c):
        return [
            TimelineEntry(dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC), "feedback", "Slow export", "/f/1"),
            TimelineEntry(dt.date(2026, 2, 1), "feedback", "Needs SSO"),
        ]

    def interviews(actor, c):
        return [TimelineEntry(dt.datetime(2026, 1, 20, tzinfo=dt.UTC), "interview", "Discovery call", "javascript:x")]

    def broken(actor, c):
        raise RuntimeError("boom")

    for source in (feedback, interviews, broken):
        facade.register_timeline_source(source)
    facade.register_timeline_source(feedback)  # twice: kept once
    try:
        timeline = facade.customer_timeline(actor=world.actor_a, customer=customer)
        assert [e.title for e in timeline.entries] == ["Needs SSO", "Discovery call", "Slow export"]
        assert (timeline.failed_sources, timeline.kinds) == (1, ["feedback", "interview"])
        assert timeline.entries[1].safe_url == "" and timeline.entries[2].safe_url == "/f/1"
        only = facade.customer_timeline(actor=world.actor_a, customer=customer, kind="interview")
        assert [e.title for e in only.entries] == ["Discovery call"]
        other = services.customer_create(actor=world.actor_b, name="Beta")
        assert facade.customer_timeline(actor=world.actor_a, customer=other).entries == []
    finally:
        for source in (feedback, interviews, broken):
            facade.unregister_timeline_source(source)
