"""Services and the facade: single edits, triage, bulk actions (atomic, audited), tags, saved views."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.feedback.conftest import make_item
from valueloop.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.feedback import facade, selectors, services
from valueloop.feedback.models import FeedbackItem, SavedView, Tag


def audit(item, action=None):
    events = AuditEvent.objects.filter(entity_type="feedback", entity_id=item.pk)
    return events.filter(action=action) if action else events


def test_feedback_create__with_customer_contact_tags_personas(world, accounts):
    item = services.feedback_create(
        actor=world.actor_a,
        text="  Reminders went out twice  ",
        title="Dunning",
        source="support",
        contact_id=accounts.ada.pk,
        tags=["Dunning", " billing ", "dunning"],
        persona_ids=[accounts.persona.pk],
        importance="critical",
        url="https://support.example/t/1",
    )
    assert item.text == "Reminders went out twice"
    assert item.customer == accounts.acme  # implied by the contact
    assert sorted(item.tags.values_list("name", flat=True)) == ["billing", "dunning"]
    assert list(item.personas.all()) == [accounts.persona]
    assert item.status == "new" and item.version == 1
    assert audit(item, "created").count() == 1


def test_feedback_create__refuses_foreign_ids_and_bad_values(world, accounts):
    with pytest.raises(Invalid) as exc:
        services.feedback_create(actor=world.actor_a, text="x", customer_id=accounts.beta_acme.pk)
    assert "customer_id" in exc.value.fields
    with pytest.raises(Invalid):
        services.feedback_create(actor=world.actor_a, text="   ")
    with pytest.raises(Invalid):
        services.feedback_create(actor=world.actor_a, text="x", source="fax")
    with pytest.raises(Invalid):
        services.feedback_create(actor=world.actor_a, text="x", received_at=dt.datetime(2025, 1, 1))  # naive
    with pytest.raises(PermissionDenied):
        services.feedback_create(actor=world.actor(Role.STAKEHOLDER), text="x")
    assert services.feedback_create(actor=world.actor_a, text="a\x00b").text == "ab"


def test_feedback_create__duplicate_external_id_conflicts(world):
    services.feedback_create(actor=world.actor_a, text="x", source="support", external_id="Z-1")
    with pytest.raises(Conflict):
        services.feedback_create(actor=world.actor_a, text="y", source="support", external_id="Z-1")
    services.feedback_create(actor=world.actor_a, text="y", source="email", external_id="Z-1")  # other source: ok


def test_feedback_update__versions_and_audits(world, accounts):
    item = make_item(world)
    item = services.feedback_update(
        actor=world.actor_a, feedback_id=item.pk, expected_version=1, title="New title", customer_id=accounts.globex.pk
    )
    assert item.version == 2 and item.customer == accounts.globex
    with pytest.raises(Conflict):
        services.feedback_update(actor=world.actor_a, feedback_id=item.pk, expected_version=1, title="Stale")
    item = services.feedback_update(actor=world.actor_a, feedback_id=item.pk, tags="a, b")
    assert item.version == 3
    event = audit(item, "updated").order_by("-id").first()
    assert event.changes == {"tags": [[], ["a", "b"]]}
    with pytest.raises(Invalid):
        services.feedback_update(actor=world.actor_a, feedback_id=item.pk, votes=3)


def test_feedback_update__other_workspace_is_not_found(world):
    other = services.feedback_create(actor=world.actor_b, text="Beta")
    with pytest.raises(NotFound):
        services.feedback_update(actor=world.actor_a, feedback_id=other.pk, title="x")


def test_feedback_set_status__people_cannot_set_linked(world):
    item = make_item(world)
    item = services.feedback_set_status(actor=world.actor_a, feedback_id=item.pk, status="triaged")
    assert item.status == "triaged" and audit(item, "status_changed").get().changes == {"status": ["new", "triaged"]}
    with pytest.raises(Invalid):
        services.feedback_set_status(actor=world.actor_a, feedback_id=item.pk, status="linked")
    with pytest.raises(PermissionDenied):
        services.feedback_set_status(actor=world.actor(Role.STAKEHOLDER), feedback_id=item.pk, status="archived")


def test_facade_mark_linked_and_unlinked(world):
    new, triaged, archived = make_item(world, "a"), make_item(world, "b"), make_item(world, "c")
    services.feedback_set_status(actor=world.actor_a, feedback_id=triaged.pk, status="triaged")
    services.feedback_set_status(actor=world.actor_a, feedback_id=archived.pk, status="archived")
    other = services.feedback_create(actor=world.actor_b, text="Beta")
    changed = facade.feedback_mark_linked(world.actor_a, [new.pk, triaged.pk, archived.pk, other.pk])
    assert changed == 2
    statuses = dict(FeedbackItem.objects.values_list("pk", "status"))
    assert (statuses[new.pk], statuses[triaged.pk], statuses[archived.pk], statuses[other.pk]) == (
        "linked",
        "linked",
        "archived",
        "new",
    )
    with pytest.raises(Invalid):
        services.feedback_set_status(actor=world.actor_a, feedback_id=new.pk, status="new")
    assert services.feedback_bulk(actor=world.actor_a, ids=[new.pk, triaged.pk], action="new") == 0
    assert facade.feedback_mark_unlinked(world.actor_a, [new.pk]) == 1
    assert FeedbackItem.objects.get(pk=new.pk).status == "triaged"


def test_facade_reads_are_scoped(world, accounts):
    mine = make_item(world, customer_id=accounts.acme.pk)
    other = services.feedback_create(actor=world.actor_b, text="Beta")
    summaries = facade.feedback_get_many(world.actor_a, [mine.pk, other.pk])
    assert [s.id for s in summaries] == [mine.pk]
    assert summaries[0].customer_name == "Acme GmbH" and summaries[0].href.endswith(f"/feedback/{mine.pk}/")
    assert [s.id for s in facade.feedback_for_customer(world.actor_a, accounts.acme.pk)] == [mine.pk]
    assert facade.access_feedback(world.actor_a, mine.pk) == mine
    with pytest.raises(NotFound):
        facade.access_feedback(world.actor_a, other.pk)


def test_facade_timeline_source_is_registered(world, accounts):
    from valueloop.customers import facade as customers

    make_item(world, "Timeline entry text", customer_id=accounts.acme.pk)
    make_item(world, "Another account's entry", customer_id=accounts.globex.pk)
    timeline = customers.customer_timeline(actor=world.actor_a, customer=accounts.acme)
    feedback = [e.title for e in timeline.entries if e.kind == "feedback"]
    assert len(feedback) == 1 and "Timeline entry text" in feedback[0]


def test_feedback_bulk__status_is_atomic_and_audited_per_item(world):
    items = [make_item(world, f"item {i}") for i in range(3)]
    ids = [i.pk for i in items]
    assert services.feedback_bulk(actor=world.actor_a, ids=ids, action="triage") == 3
    assert set(FeedbackItem.objects.values_list("status", flat=True)) == {"triaged"}
    assert set(FeedbackItem.objects.values_list("version", flat=True)) == {2}
    assert all(audit(i, "status_changed").count() == 1 for i in items)
    # again: nothing changes, nothing is audited
    assert services.feedback_bulk(actor=world.actor_a, ids=ids, action="triage") == 0
    # one foreign id and nothing happens at all
    other = services.feedback_create(actor=world.actor_b, text="Beta")
    with pytest.raises(NotFound):
        services.feedback_bulk(actor=world.actor_a, ids=[*ids, other.pk], action="archive")
    assert set(FeedbackItem.objects.filter(workspace=world.ws_a).values_list("status", flat=True)) == {"triaged"}


def test_feedback_bulk__tags_and_customer(world, accounts):
    a, b = make_item(world, "a", tags=["ux"]), make_item(world, "b", contact_id=accounts.ada.pk)
    assert services.feedback_bulk(actor=world.actor_a, ids=[a.pk, b.pk], action="add_tag", tag="UX") == 1
    assert set(FeedbackItem.objects.get(pk=b.pk).tags.values_list("name", flat=True)) == {"ux"}
    assert services.feedback_bulk(actor=world.actor_a, ids=[a.pk, b.pk], action="remove_tag", tag="ux") == 2
    assert not FeedbackItem.tags.through.objects.exists()
    changed = services.feedback_bulk(
        actor=world.actor_a, ids=[a.pk, b.pk], action="assign_customer", customer="globex.example"
    )
    assert changed == 2
    b = FeedbackItem.objects.get(pk=b.pk)
    assert b.customer == accounts.globex and b.contact is None  # Ada works for Acme, not Globex
    with pytest.raises(Invalid):
        services.feedback_bulk(actor=world.actor_a, ids=[a.pk], action="assign_customer", customer="Nobody")
    with pytest.raises(NotFound):
        services.feedback_bulk(
            actor=world.actor_a, ids=[a.pk], action="assign_customer", customer_id=accounts.beta_acme.pk
        )
    assert services.feedback_bulk(actor=world.actor_a, ids=[a.pk, b.pk], action="assign_customer") == 2  # clears
    assert not FeedbackItem.objects.exclude(customer=None).exists()


def test_feedback_bulk__limits(world):
    item = make_item(world)
    with pytest.raises(Invalid):
        services.feedback_bulk(actor=world.actor_a, ids=[], action="archive")
    with pytest.raises(Invalid):
        services.feedback_bulk(actor=world.actor_a, ids=list(range(1, 1002)), action="archive")
    with pytest.raises(Invalid):
        services.feedback_bulk(actor=world.actor_a, ids=[item.pk], action="explode")
    with pytest.raises(PermissionDenied):
        services.feedback_bulk(actor=world.actor(Role.STAKEHOLDER), ids=[item.pk], action="archive")


def test_tags__create_rename_merge_delete(world):
    a = make_item(world, "a", tags=["mobile"])
    b = make_item(world, "b", tags=["mobile", "ios"])
    ios = Tag.objects.get(name="ios")
    with pytest.raises(Invalid):
        services.tag_create(actor=world.actor_a, name="Mobile")
    renamed = services.tag_rename(actor=world.actor_a, tag_id=ios.pk, name="iOS app")
    assert renamed.name == "ios app"
    merged = services.tag_rename(actor=world.actor_a, tag_id=renamed.pk, name="mobile")  # merge into "mobile"
    assert merged.name == "mobile" and not Tag.objects.filter(name="ios app").exists()
    assert list(b.tags.values_list("name", flat=True)) == ["mobile"]
    services.tag_delete(actor=world.actor_a, tag_id=merged.pk)
    assert not a.tags.exists()
    other_tag = services.tag_create(actor=world.actor_b, name="beta")
    with pytest.raises(NotFound):
        services.tag_delete(actor=world.actor_a, tag_id=other_tag.pk)


def test_saved_views__own_or_shared(world):
    pm = world.actor(Role.PRODUCT_MANAGER)
    contributor = world.actor(Role.CONTRIBUTOR)
    private = services.saved_view_create(actor=pm, name="Mine", query="?status=new&tag=dunning&evil=1&q=x")
    shared = services.saved_view_create(actor=pm, name="Team", query="segment=enterprise", shared=True)
    assert private.query == "q=x&status=new&tag=dunning"  # only known filters, normalised
    assert [v.name for v in selectors.saved_view_list(actor=contributor)] == ["Team"]
    assert [v.name for v in selectors.saved_view_list(actor=pm)] == ["Mine", "Team"]
    with pytest.raises(NotFound):
        services.saved_view_delete(actor=contributor, view_id=private.pk)
    with pytest.raises(PermissionDenied):
        services.saved_view_update(actor=contributor, view_id=shared.pk, name="Hijacked")
    services.saved_view_update(actor=world.actor_a, view_id=shared.pk, shared=False)  # an admin may
    with pytest.raises(Invalid):
        services.saved_view_create(actor=pm, name="mine", query="")
    services.saved_view_delete(actor=pm, view_id=private.pk)
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Team"]


def test_feedback_list__filters(world, accounts):
    old = make_item(
        world,
        "old",
        customer_id=accounts.acme.pk,
        source="support",
        received_at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC),
        importance="critical",
        tags=["dunning"],
    )
    small = make_item(world, "small", customer_id=accounts.globex.pk, source="email", persona_ids=[accounts.persona.pk])
    mid = make_item(world, "mid", customer_id=accounts.initech.pk)
    nobody = make_item(world, "nobody")

    def ids(**filters):
        return {i.pk for i in selectors.feedback_list(actor=world.actor_a, **filters)}

    assert ids(source="support") == {old.pk}
    assert ids(tag="Dunning") == {old.pk}
    assert ids(segment="smb") == {small.pk}
    assert ids(arr_band="250k_1m") == {old.pk}
    assert ids(arr_band="lt10k") == set()
    assert ids(arr_band="10k_50k") == {small.pk}
    assert ids(arr_band="50k_250k") == {mid.pk}
    assert ids(customer_id=accounts.acme.pk) == {old.pk}
    assert ids(importance="critical") == {old.pk}
    assert ids(importance="none") == {small.pk, mid.pk, nobody.pk}
    assert ids(persona_id=accounts.persona.pk) == {small.pk}
    assert ids(received_from=dt.date(2024, 5, 31), received_to=dt.date(2024, 6, 1)) == {old.pk}
    assert ids(received_to=dt.date(2024, 5, 31)) == set()
    assert next(i.pk for i in selectors.feedback_list(actor=world.actor_a, sort="oldest")) == old.pk


def test_filters_parse_leniently_and_round_trip():
    from django.http import QueryDict

    filters = selectors.FeedbackFilters.from_query(
        QueryDict("q=dunning&source=fax&status=triaged&customer=abc&received_from=2025-13-01&tag=UX&persona=7")
    )
    assert (filters.q, filters.source, filters.status, filters.customer, filters.received_from) == (
        "dunning",
        "",
        "triaged",
        None,
        None,
    )
    assert filters.querystring() == "q=dunning&status=triaged&tag=UX&persona=7"
    assert filters.querystring(status=None, tag="x") == "q=dunning&tag=x&persona=7"
