"""Ids and sample bodies of evidence and research objects for the permission-matrix and
tenant-isolation suites (tests/routes.py, ids_for, b_ids)."""

from __future__ import annotations

from tests.factories import EvidenceFactory, FeedbackItemFactory, HighlightFactory, InterviewFactory
from valueloop.planning.models import Feature


def evidence_ids(actor, label: str = "Alpha") -> dict:
    ws = actor.workspace
    feature = Feature.objects.filter(workspace=ws).order_by("id").first()
    evidence = EvidenceFactory(workspace=ws, feedback__text=f"{label} evidence item", target=feature)
    unlinked = FeedbackItemFactory(workspace=ws, text=f"{label} item to link")
    interview = InterviewFactory(
        workspace=ws, title=f"{label} interview", notes=f"{label} call. They want replay. Retries matter."
    )
    highlight = HighlightFactory(interview=interview, quote="Retries matter", prefix="replay. ")
    return {
        "evidence_id": evidence.pk,
        "link_feedback_id": unlinked.pk,
        "interview_id": interview.pk,
        "highlight_id": highlight.pk,
        "target_type": "feature",
        "target_id": feature.pk,
    }


def sample_bodies(ids: dict) -> dict:
    return {
        "evidence_evidence_create": {
            "target_type": "feature",
            "target_id": ids["feature_id"],
            "feedback_id": ids["link_feedback_id"],
            "importance": 3,
        },
        "evidence_evidence_update": {"importance": 4},
        "evidence_notification_create": {"subject": "It is live", "body": "Hi {name}, it is live."},
        "research_interview_create": {
            "title": "Matrix interview",
            "happened_on": "2026-01-15",
            "notes": "They want it.",
        },
        "research_interview_update": {"title": "Renamed interview"},
        "research_highlight_create": {"text": "want replay"},
        "research_survey_response_create": {"kind": "nps", "score": 9, "comment": "Matrix comment"},
        "research_survey_import": {"csv": "kind,score,date\nnps,9,2026-01-05\n"},
    }
