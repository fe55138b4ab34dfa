"""Reads for features. Every query starts from the actor's workspace."""

from __future__ import annotations

from django.urls import reverse

from valueloop.core.entities import EntityRef

from .models import Feature


def feature_ref(workspace, entity_id: int) -> EntityRef | None:
    feature = Feature.objects.filter(workspace=workspace, pk=entity_id).only("title").first()
    if feature is None:
        return None
    return EntityRef(
        "feature", feature.pk, feature.title, reverse("planning:feature_detail", args=[workspace.slug, feature.pk])
    )
