"""Reads for interviews, highlights and survey responses. Every query starts from the actor's workspace."""

from __future__ import annotations

from django.urls import reverse

from valueloop.core.entities import EntityRef

from .models import Interview


def interview_ref(workspace, entity_id: int) -> EntityRef | None:
    interview = Interview.objects.filter(workspace=workspace, pk=entity_id).only("title").first()
    if interview is None:
        return None
    return EntityRef(
        "interview",
        interview.pk,
        interview.title,
        reverse("research:interview_detail", args=[workspace.slug, interview.pk]),
    )
