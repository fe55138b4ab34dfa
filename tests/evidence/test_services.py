"""Evidence links: one source, targets inside the workspace, duplicates, quotes, consent, audit."""

from __future__ import annotations

import pytest

from tests.factories import ContactFactory, CustomerFactory, FeedbackItemFactory
from valueloop.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.evidence.models import Evidence
from valueloop.evidence.services import (
    evidence_link,
    evidence_link_many,
    evidence_unlink,
    evidence_update,
    quote_span,
)
from valueloop.research.services import highlight_create, interview_create, interview_update

TEXT = "We export invoices by hand every month.\r\nPlease add automatic bank reconciliation — it takes us 3 days 📅."


@pytest.fixture
def item(world):
    acme = CustomerFactory(workspace=world.ws_a, name="Acme", arr=120000, segment="enterprise")
    person = ContactFactory(workspace=world.ws_a, name="Ana Ruiz", email="ana@acme.example", customer=acme)
    return FeedbackItemFactory(workspace=world.ws_a, text=TEXT, customer=acme, contact=person, days_ago=3)


def test_evidence_link__feedback_to_feature_copies_customer_and_marks_item_linked(world, item):
    evidence = evidence_link(
        actor=world.actor_a, target_type="feature", target_id=world.feature_a.pk, feedback_id=item.pk, importance=3
    )
    assert evidence.customer_id == item.customer_id
    assert evidence.said_at == item.received_at
    assert evidence.quote == "" and evidence.quote_start is None
    item.refresh_from_db()
    assert item.status == "linked"
    audit = AuditEvent.objects.get(entity_type="evidence", entity_id=evidence.pk)
    assert audit.action == "created" and audit.changes["importance"] == [None, 3]


def test_evidence_link_many__quotes_go_in_with_the_links_and_one_audit_record(world, item):
    plain = FeedbackItemFactory(workspace=world.ws_a, text="No quote for this one.")
    linked = evidence_link_many(
        actor=world.actor_a,
        target_type="problem",
        target_id=world.problem_a.pk,
        feedback_ids=[item.pk, plain.pk],
        importance={item.pk: 4},
        quotes={item.pk: "Please add automatic bank reconciliation"},
    )
    assert linked == 2
    quoted = Evidence.objects.get(feedback=item)
    start = TEXT.index("Please add")
    assert (quoted.quote, quoted.quote_start, quoted.quote_end) == (
        "Please add automatic bank reconciliation",
        start,
        start + len("Please add automatic bank reconciliation"),
    )
    assert quoted.importance == 4 and Evidence.objects.get(feedback=plain).quote == ""
    audit = AuditEvent.objects.get(entity_type="problem", entity_id=world.problem_a.pk, action="evidence_linked")
    assert audit.changes == {"feedback_items": [None, 2], "quoted": [None, 1]}


def test_evidence_link_many__a_quote_not_in_its_text_links_nothing(world, item):
    plain = FeedbackItemFactory(workspace=world.ws_a, text="No quote for this one.")
    with pytest.raises(Invalid) as excinfo:
        evidence_link_many(
            actor=world.actor_a,
            target_type="problem",
            target_id=world.problem_a.pk,
            feedback_ids=[plain.pk, item.pk],
            quotes={item.pk: "words nobody wrote"},
        )
    assert f"item {item.pk}" in excinfo.value.fields["quotes"]
    assert not Evidence.objects.exists()


def test_evidence_link__needs_exactly_one_source(world, item):
    interview = interview_create(
        actor=world.actor_a, title="Call", happened_on="2026-01-05", notes="Hello there", consent=True
    )
    highlight = highlight_create(actor=world.actor_a, interview_id=interview.pk, text="Hello")
    for kwargs in ({}, {"feedback_id": item.pk, "highlight_id": highlight.pk}):
        with pytest.raises(Invalid) as excinfo:
            evidence_link(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, **kwargs)
        assert "feedback_id" in excinfo.value.fields


def test_evidence_link__target_or_source_of_another_workspace_is_not_found(world, item):
    with pytest.raises(NotFound):
        evidence_link(actor=world.actor_a, target_type="feature", target_id=world.feature_b.pk, feedback_id=item.pk)
    with pytest.raises(NotFound):
        evidence_link(actor=world.actor_a, target_type="problem", target_id=world.problem_b.pk, feedback_id=item.pk)
    other = FeedbackItemFactory(workspace=world.ws_b, text="Beta says hi")
    with pytest.raises(NotFound):
        evidence_link(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, feedback_id=other.pk)
    with pytest.raises(NotFound):
        evidence_link(actor=world.actor_a, target_type="customer", target_id=world.problem_a.pk, feedback_id=item.pk)
    assert not Evidence.objects.exists()


def test_evidence_link__duplicate_link_is_a_conflict(world, item):
    evidence_link(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, feedback_id=item.pk)
    with pytest.raises(Conflict):
        evidence_link(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, feedback_id=item.pk)
    # the same item may be evidence for another target
    evidence_link(actor=world.actor_a, target_type="feature", target_id=world.feature_a.pk, feedback_id=item.pk)
    assert Evidence.objects.filter(feedback=item).count() == 2


def test_evidence_link__roles_without_voice_write_are_refused(world, item):
    with pytest.raises(PermissionDenied):
        evidence_link(
            actor=world.actor(Role.STAKEHOLDER),
            target_type="problem",
            target_id=world.problem_a.pk,
            feedback_id=item.pk,
        )


def test_evidence_link__importance_is_one_to_four(world, item):
    for bad in (0, 5, True):
        with pytest.raises(Invalid):
            evidence_link(
                actor=world.actor_a,
                target_type="problem",
                target_id=world.problem_a.pk,
                feedback_id=item.pk,
                importance=bad,
            )


def test_evidence_link__quote_offsets_are_checked_against_the_text(world, item):
    start = TEXT.index("automatic")
    end = start + len("automatic bank reconciliation")
    evidence = evidence_link(
        actor=world.actor_a,
        target_type="problem",
        target_id=world.problem_a.pk,
        feedback_id=item.pk,
        quote_start=start - 1,  # includes a space: trimmed
        quote_end=end,
    )
    assert (evidence.quote, evidence.quote_start, evidence.quote_end) == ("automatic bank reconciliation", start, end)
    with pytest.raises(Invalid):
        evidence_link(
            actor=world.actor_a,
            target_type="feature",
            target_id=world.feature_a.pk,
            feedback_id=item.pk,
            quote_start=10,
            quote_end=len(TEXT) + 1,
        )
    with pytest.raises(Invalid):
        evidence_link(
            actor=world.actor_a, target_type="feature", target_id=world.feature_a.pk, feedback_id=item.pk, quote_start=5
        )
    with pytest.raises(Invalid) as excinfo:
        evidence_link(
            actor=world.actor_a,
            target_type="feature",
            target_id=world.feature_a.pk,
            feedback_id=item.pk,
            quote_start=0,
            quote_end=5,
            quote="words that are not there",
        )
    assert "quote" in excinfo.value.fields


def test_quote_span__browser_offsets_after_a_crlf_find_the_quote_nearby():
    # The browser turns \r\n into \n, so offsets after it are one short; the quote's words decide.
    browser_text = TEXT.replace("\r\n", "\n")
    start = browser_text.index("3 days")
    assert quote_span(TEXT, start, start + 6, "3 days") == (TEXT.index("3 days"), TEXT.index("3 days") + 6, "3 days")


def test_quote_span__offsets_are_code_points():
    start = TEXT.index("📅")
    assert quote_span(TEXT, start, start + 1, "📅") == (start, start + 1, "📅")
    assert quote_span(TEXT, None, None, "bank reconciliation")[2] == "bank reconciliation"
    assert quote_span(TEXT, None, None, "") == (None, None, "")
    with pytest.raises(Invalid):
        quote_span(TEXT, 3, 3, "")
    with pytest.raises(Invalid):
        quote_span(TEXT, 39, 41, "")  # only the line break


def test_evidence_link__highlight_without_consent_is_refused_with_a_clear_message(world):
    acme = CustomerFactory(workspace=world.ws_a, name="Acme", arr=50000, segment="smb")
    interview = interview_create(
        actor=world.actor_a,
        title="Acme call",
        happened_on="2026-02-10",
        notes="They **hate** exporting CSVs.",
        customer_id=acme.pk,
    )
    highlight = highlight_create(actor=world.actor_a, interview_id=interview.pk, text="hate exporting CSVs")
    with pytest.raises(Invalid) as excinfo:
        evidence_link(
            actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, highlight_id=highlight.pk
        )
    assert excinfo.value.code == "no_consent" and "consent" in excinfo.value.message
    interview_update(actor=world.actor_a, interview_id=interview.pk, consent=True)
    evidence = evidence_link(
        actor=world.actor_a,
        target_type="problem",
        target_id=world.problem_a.pk,
        highlight_id=highlight.pk,
        importance=4,
    )
    assert evidence.quote == "hate exporting CSVs"  # plain text, no markdown
    assert evidence.customer_id == acme.pk
    assert evidence.said_at.date().isoformat() == "2026-02-10"


def test_evidence_link__detached_highlight_is_refused(world):
    interview = interview_create(
        actor=world.actor_a, title="Call", happened_on="2026-02-10", notes="Alpha beta gamma.", consent=True
    )
    highlight = highlight_create(actor=world.actor_a, interview_id=interview.pk, text="beta")
    interview_update(actor=world.actor_a, interview_id=interview.pk, notes="Alpha delta gamma.")
    with pytest.raises(Invalid):
        evidence_link(
            actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, highlight_id=highlight.pk
        )


def test_evidence_update_and_unlink__audited_and_item_goes_back_to_triaged(world, item):
    first = evidence_link(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, feedback_id=item.pk)
    second = evidence_link(
        actor=world.actor_a, target_type="feature", target_id=world.feature_a.pk, feedback_id=item.pk
    )
    updated = evidence_update(actor=world.actor_a, evidence_id=first.pk, importance=4, quote="bank reconciliation")
    assert updated.importance == 4 and updated.quote == "bank reconciliation"
    assert TEXT[updated.quote_start : updated.quote_end] == "bank reconciliation"
    assert AuditEvent.objects.filter(entity_type="evidence", entity_id=first.pk, action="updated").exists()
    cleared = evidence_update(actor=world.actor_a, evidence_id=first.pk, clear_quote=True)
    assert cleared.quote == "" and cleared.quote_start is None
    evidence_unlink(actor=world.actor_a, evidence_id=first.pk)
    item.refresh_from_db()
    assert item.status == "linked"  # still evidence for the feature
    evidence_unlink(actor=world.actor_a, evidence_id=second.pk)
    item.refresh_from_db()
    assert item.status == "triaged"
    deleted = AuditEvent.objects.get(entity_type="evidence", entity_id=second.pk, action="deleted")
    assert deleted.changes["target_type"] == ["feature", None]


def test_evidence_update__other_workspace_is_not_found(world, item):
    evidence = evidence_link(
        actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, feedback_id=item.pk
    )
    with pytest.raises(NotFound):
        evidence_update(actor=world.actor_b, evidence_id=evidence.pk, importance=1)
    with pytest.raises(NotFound):
        evidence_unlink(actor=world.actor_b, evidence_id=evidence.pk)
