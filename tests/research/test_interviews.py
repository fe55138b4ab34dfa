"""Interviews and highlights: services (re-anchoring on edit, audited), pages and API."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.conftest import token_client
from tests.factories import ContactFactory, CustomerFactory, FeedbackItemFactory
from valueloop.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.evidence.models import Evidence
from valueloop.evidence.services import evidence_link
from valueloop.research.models import Highlight, Interview
from valueloop.research.services import (
    highlight_create,
    highlight_delete,
    interview_create,
    interview_delete,
    interview_update,
)

NOTES = """## Acme, quarterly check-in

Ana (CFO) said month-end close **takes three days**.
Ben: "the bank feed breaks every Monday".

Later, Ana again: the bank feed breaks every Monday and nobody notices.
"""


@pytest.fixture
def interview(world):
    acme = CustomerFactory(workspace=world.ws_a, name="Acme", arr=90000, segment="enterprise")
    ana = ContactFactory(workspace=world.ws_a, name="Ana Ruiz", email="ana@acme.example", customer=acme)
    ben = ContactFactory(workspace=world.ws_a, name="Ben Lee", email="ben@acme.example", customer=acme)
    return interview_create(
        actor=world.actor_a,
        title="Acme check-in",
        happened_on="2026-03-02",
        notes=NOTES,
        consent=True,
        participant_ids=[ana.pk, ben.pk],
    )


def test_interview_create__participants_set_the_account_and_must_be_ours(world, interview):
    assert interview.customer.name == "Acme"
    assert interview.participants.count() == 2
    assert AuditEvent.objects.filter(
        entity_type="interview", entity_id=interview.pk, action="participants_changed"
    ).exists()
    stranger = ContactFactory(workspace=world.ws_b, name="Stranger", email="s@b.example")
    with pytest.raises(Invalid) as excinfo:
        interview_create(actor=world.actor_a, title="X", happened_on="2026-01-01", participant_ids=[stranger.pk])
    assert "participant_ids" in excinfo.value.fields
    other_account = CustomerFactory(workspace=world.ws_b, name="Beta customer")
    with pytest.raises(Invalid):
        interview_create(actor=world.actor_a, title="X", happened_on="2026-01-01", customer_id=other_account.pk)
    with pytest.raises(Invalid):
        interview_create(actor=world.actor_a, title="X", happened_on="yesterday")
    with pytest.raises(PermissionDenied):
        interview_create(actor=world.actor(Role.STAKEHOLDER), title="X", happened_on="2026-01-01")


def test_highlight_create__from_a_rendered_selection_or_exact_offsets(world, interview):
    h1 = highlight_create(actor=world.actor_a, interview_id=interview.pk, text="close takes three days")
    assert h1.text == "close **takes three days"
    assert NOTES[h1.start : h1.end] == h1.text and h1.prefix.endswith("month-end ") and h1.suffix.startswith("**")
    start = NOTES.index("nobody notices")
    h2 = highlight_create(
        actor=world.actor_a, interview_id=interview.pk, start=start, end=start + 14, text="nobody notices"
    )
    assert h2.text == "nobody notices"
    with pytest.raises(Invalid):
        highlight_create(actor=world.actor_a, interview_id=interview.pk, start=start, end=start + 14, text="somebody")
    with pytest.raises(Invalid):
        highlight_create(actor=world.actor_a, interview_id=interview.pk, start=5, end=99999)
    with pytest.raises(Invalid):
        highlight_create(actor=world.actor_a, interview_id=interview.pk, text="not in the notes at all")
    with pytest.raises(Conflict):
        highlight_create(actor=world.actor_a, interview_id=interview.pk, text="nobody notices")
    with pytest.raises(NotFound):
        highlight_create(actor=world.actor_b, interview_id=interview.pk, text="nobody notices")


def test_interview_update__re_anchors_every_highlight(world, interview):
    kept = highlight_create(actor=world.actor_a, interview_id=interview.pk, text="Ana (CFO) said")
    moved = highlight_create(actor=world.actor_a, interview_id=interview.pk, text="nobody notices")
    second_monday = NOTES.index("the bank feed breaks every Monday and")
    repeat = highlight_create(
        actor=world.actor_a,
        interview_id=interview.pk,
        start=second_monday,
        end=second_monday + len("the bank feed breaks every Monday"),
    )
    gone = highlight_create(actor=world.actor_a, interview_id=interview.pk, text="takes three days")
    edited = NOTES.replace(
        "## Acme, quarterly check-in\n\n", "## Acme, quarterly check-in\n\nAttendees: Ana, Ben.\n\n"
    ).replace("**takes three days**", "**takes two days** now")
    # "Ana (CFO) said" moves too (text inserted before it): every offset after the edit shifts.
    updated = interview_update(actor=world.actor_a, interview_id=interview.pk, notes=edited, expected_version=1)
    assert updated.reanchored == {"kept": 0, "moved": 3, "reflowed": 0, "detached": 1}
    for h in (kept, moved, repeat, gone):
        h.refresh_from_db()
    assert edited[kept.start : kept.end] == "Ana (CFO) said"
    assert edited[moved.start : moved.end] == "nobody notices"
    assert edited[repeat.start : repeat.end + 4] == "the bank feed breaks every Monday and"  # its own occurrence
    assert gone.detached and gone.text == "takes three days"
    assert set(
        AuditEvent.objects.filter(entity_type="highlight").exclude(action="created").values_list("action", flat=True)
    ) == {"reanchored", "detached"}
    # the words come back: the highlight re-attaches
    restored = interview_update(actor=world.actor_a, interview_id=interview.pk, notes=NOTES)
    gone.refresh_from_db()
    assert not gone.detached and NOTES[gone.start : gone.end] == "takes three days"
    assert restored.version == 3
    assert AuditEvent.objects.filter(entity_type="highlight", entity_id=gone.pk, action="reattached").exists()


def test_interview_update__stale_version_and_unknown_fields(world, interview):
    interview_update(actor=world.actor_a, interview_id=interview.pk, title="v2", expected_version=1)
    with pytest.raises(Conflict):
        interview_update(actor=world.actor_a, interview_id=interview.pk, title="v3", expected_version=1)
    with pytest.raises(Invalid):
        interview_update(actor=world.actor_a, interview_id=interview.pk, mood="happy")


def test_interview_delete__takes_highlights_and_their_evidence(world, interview):
    h = highlight_create(actor=world.actor_a, interview_id=interview.pk, text="nobody notices")
    evidence_link(actor=world.actor_a, target_type="problem", target_id=world.problem_a.pk, highlight_id=h.pk)
    highlight_delete(actor=world.actor_a, highlight_id=h.pk)
    assert not Evidence.objects.exists()
    interview_delete(actor=world.actor_a, interview_id=interview.pk)
    assert not Interview.objects.exists() and not Highlight.objects.exists()
    assert AuditEvent.objects.filter(entity_type="interview", action="deleted").exists()


def test_interview_pages__create_detail_with_marks_edit_and_highlight(world):
    acme = CustomerFactory(workspace=world.ws_a, name="Acme", arr=1000, segment="smb")
    ana = ContactFactory(workspace=world.ws_a, name="Ana Ruiz", email="ana@acme.example", customer=acme)
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    ws = world.ws_a.slug
    assert "No interviews yet" in client.get(f"/w/{ws}/research/interviews/").content.decode()
    bad = client.post(f"/w/{ws}/research/interviews/", {"title": "", "happened_on": "2026-03-01"})
    assert bad.status_code == 400 and "Please fix the following" in bad.content.decode()
    response = client.post(
        f"/w/{ws}/research/interviews/",
        {
            "title": "Acme call",
            "happened_on": "2026-03-01",
            "notes": NOTES,
            "consent": "1",
            "participant_ids": [ana.pk],
        },
    )
    assert response.status_code == 302
    interview = Interview.objects.get(title="Acme call")
    detail_url = f"/w/{ws}/research/interviews/{interview.pk}/"
    assert response["Location"] == detail_url
    response = client.post(f"{detail_url}highlights/", {"text": "takes three days", "rendered_offset": "40"})
    assert response.status_code == 302
    html = client.get(detail_url).content.decode()
    assert '<strong><mark class="hl">takes three days</mark></strong>' in html
    assert 'data-select-source="notes"' in html and "highlight.js" in html
    assert "Link as evidence" in html and "Ana Ruiz" in html
    highlight = Highlight.objects.get(interview=interview)
    response = client.post(
        f"/w/{ws}/evidence/link/",
        {
            "highlight_id": highlight.pk,
            "target": f"problem:{world.problem_a.pk}",
            "importance": "4",
            "next": detail_url,
        },
    )
    assert response.status_code == 302 and Evidence.objects.filter(highlight=highlight).exists()
    edit = client.post(
        f"{detail_url}edit/",
        {
            "title": "Acme call",
            "happened_on": "2026-03-01",
            "notes": NOTES.replace("three", "four"),
            "consent": "1",
            "participant_ids": [ana.pk],
            "version": interview.version,
        },
        follow=True,
    )
    html = edit.content.decode()
    assert "1 detached" in html and "Detached" in html
    stale = client.post(f"{detail_url}edit/", {"title": "Stale", "happened_on": "2026-03-01", "version": 1})
    assert stale.status_code == 400


def test_interview_pages__no_consent_means_no_evidence_form(world):
    interview = interview_create(
        actor=world.actor_a, title="Quiet call", happened_on="2026-03-01", notes="Secret plan here."
    )
    highlight_create(actor=world.actor_a, interview_id=interview.pk, text="Secret plan")
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    html = client.get(f"/w/{world.ws_a.slug}/research/interviews/{interview.pk}/").content.decode()
    assert "No consent to quote" in html and "Link as evidence" not in html
    viewer = Client()
    viewer.force_login(world.users[Role.STAKEHOLDER])
    html = viewer.get(f"/w/{world.ws_a.slug}/research/interviews/{interview.pk}/").content.decode()
    assert "Save highlight" not in html and "Secret plan" in html


def test_interview_api__crud_and_highlights(world):
    client = token_client(world.actor(Role.PRODUCT_OWNER))
    created = client.post(
        "/api/v1/interviews",
        json.dumps(
            {"title": "API call", "happened_on": "2026-02-01", "notes": "They want **replay**.", "consent": True}
        ),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    highlight = client.post(
        f"/api/v1/interviews/{pk}/highlights", json.dumps({"text": "want replay"}), content_type="application/json"
    )
    assert highlight.status_code == 201, highlight.content
    assert highlight.json()["text"] == "want **replay"
    patched = client.patch(
        f"/api/v1/interviews/{pk}",
        json.dumps({"notes": "Intro.\n\nThey want **replay**.", "version": 1}),
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["version"] == 2
    highlights = client.get(f"/api/v1/interviews/{pk}/highlights").json()
    assert highlights[0]["start"] == len("Intro.\n\nThey ") and not highlights[0]["detached"]
    stale = client.patch(
        f"/api/v1/interviews/{pk}", json.dumps({"title": "x", "version": 1}), content_type="application/json"
    )
    assert stale.status_code == 409
    bad_date = client.post(
        "/api/v1/interviews", json.dumps({"title": "x", "happened_on": "soon"}), content_type="application/json"
    )
    assert bad_date.status_code == 422
    assert client.get("/api/v1/interviews").json()["count"] == 1
    assert client.delete(f"/api/v1/highlights/{highlights[0]['id']}").status_code == 204
    assert client.delete(f"/api/v1/interviews/{pk}").status_code == 204


def test_customer_timeline__shows_interviews_survey_answers_and_requests(world):
    from valueloop.customers.facade import customer_timeline
    from valueloop.research.services import survey_response_create

    acme = CustomerFactory(workspace=world.ws_a, name="Acme", arr=1000, segment="smb")
    ana = ContactFactory(workspace=world.ws_a, name="Ana", email="ana@acme.example", customer=acme)
    interview_create(
        actor=world.actor_a,
        title="Acme deep dive",
        happened_on="2026-02-01",
        notes="x",
        consent=True,
        participant_ids=[ana.pk],
    )
    survey_response_create(actor=world.actor_a, kind="nps", score=9, customer_id=acme.pk, comment="Great")
    item = FeedbackItemFactory(workspace=world.ws_a, text="Please add replay", customer=acme, contact=ana)
    evidence_link(
        actor=world.actor_a, target_type="feature", target_id=world.feature_a.pk, feedback_id=item.pk, importance=4
    )
    timeline = customer_timeline(actor=world.actor(Role.STAKEHOLDER), customer=acme)
    kinds = {e.kind: e for e in timeline.entries}
    assert {"interview", "survey", "request"} <= set(kinds)
    assert kinds["interview"].title == "Interview: Acme deep dive"
    assert kinds["survey"].title == "NPS answer: 9/10"
    assert "Alpha feature" in kinds["request"].title and "Critical" in kinds["request"].title
    assert timeline.failed_sources == 0
