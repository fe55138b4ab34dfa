"""Reads for the feedback inbox. Every query starts from the actor's workspace."""

from __future__ import annotations

from django.urls import reverse

from valueloop.core.entities import EntityRef

from .models import FeedbackItem


def feedback_ref(workspace, entity_id: int) -> EntityRef | None:
    item = FeedbackItem.objects.filter(workspace=workspace, pk=entity_id).only("title", "text").first()
    if item is None:
        return None
    return EntityRef("feedback", item.pk, str(item), reverse("feedback:item_detail", args=[workspace.slug, item.pk]))
