"""What other apps may import from flags. Every function is scoped to the workspace it is given.

Invariants: reads only; values come from what is published (what SDKs see), never from unpublished drafts.
"""

from __future__ import annotations

from typing import Any

from .bootstrap import ensure_environments
from .models import Flag


def flag_choices(workspace) -> list[tuple[int, str]]:
    return list(Flag.objects.filter(workspace=workspace, archived_at=None).order_by("key").values_list("pk", "key"))


def flags_for_features(workspace, feature_ids) -> dict[int, list[Flag]]:
    """Live flags grouped by the planning feature they are linked to."""
    grouped: dict[int, list[Flag]] = {}
    query = Flag.objects.filter(workspace=workspace, archived_at=None, feature_id__in=list(feature_ids))
    for flag in query.order_by("key"):
        grouped.setdefault(flag.feature_id, []).append(flag)
    return grouped


def published_payload(workspace, environment_key: str) -> dict[str, Any] | None:
    """The environment's SDK payload as served (JSON text and ETag), e.g. for experiment analysis."""
    for environment in ensure_environments(workspace):
        if environment.key == environment_key:
            return {
                "payload": environment.payload,
                "etag": environment.etag,
                "encrypted": bool(environment.encryption_key),
            }
    return None
