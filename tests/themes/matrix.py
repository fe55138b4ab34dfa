"""Ids and sample bodies of themes objects for the permission-matrix and tenant-isolation suites.

Built directly (no embedding model, no clustering) so that the matrix stays fast: two themes with a
few items each, whose vectors fall in two clear groups (so a split has something to propose)."""

from __future__ import annotations

import numpy as np
from django.utils import timezone

from valueloop.feedback.models import FeedbackItem
from valueloop.themes.models import ItemEmbedding, Theme, ThemeAssignment
from valueloop.themes.runs import to_bytes


def theme_ids(actor, label: str = "Alpha") -> dict:
    ws = actor.workspace
    slug = label.lower()
    rng = np.random.default_rng(7)
    now = timezone.now()
    themes = [
        Theme.objects.create(workspace=ws, name=f"{label} theme {slug}-secret", keyphrases=[f"{slug} words"]),
        Theme.objects.create(workspace=ws, name=f"{label} other theme", keyphrases=["other"]),
    ]
    first_item = None
    for t, theme in enumerate(themes):
        for i in range(6):
            base = np.zeros(8, dtype=np.float32)
            base[(i % 2) + 2 * t] = 1.0
            vector = base + rng.normal(0, 0.05, 8).astype(np.float32)
            vector /= np.linalg.norm(vector)
            item = FeedbackItem.objects.create(workspace=ws, text=f"{label} theme item {t}-{i}", received_at=now)
            row = ItemEmbedding.objects.create(
                workspace=ws,
                source="feedback",
                feedback=item,
                said_at=now,
                backend="matrix",
                dimension=8,
                vector=to_bytes(vector),
                text_hash=f"{slug}-{t}-{i}",
            )
            ThemeAssignment.objects.create(workspace=ws, item=row, theme=theme, similarity=0.9, assigned_at=now)
            first_item = first_item or row
        theme.size = 6
        theme.backend = "matrix"
        theme.save(update_fields=["size", "backend"])
    return {"theme_id": themes[0].pk, "other_theme_id": themes[1].pk, "item_id": first_item.pk}


def sample_bodies(ids: dict) -> dict:
    return {
        "themes_theme_create": {"name": "Matrix theme", "item_ids": [ids["item_id"]]},
        "themes_theme_update": {"name": "Renamed theme", "pinned": True},
        "themes_theme_merge": {"into_id": ids["other_theme_id"]},
        "themes_split_create": {"token": "matrix-token"},  # a token from no preview: 409 when allowed
        "themes_item_move": {"theme_id": ids["other_theme_id"]},
        "themes_problem_create": {"title": "Matrix problem from a theme"},
        "themes_run_create": None,
    }
