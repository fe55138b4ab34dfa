"""The demo workspace shows several themes and at least one emerging theme (the planted whisper)."""

from __future__ import annotations

import pytest

from valueloop.themes.models import Theme, ThemeAssignment, ThemeRun


@pytest.mark.slow
def test_demo__several_themes_and_an_emerging_whisper(db):
    from valueloop.demo import build_demo

    result = build_demo(scale="small", seed=7)
    ws = result.workspace
    run = ThemeRun.objects.get(workspace=ws, trigger="demo")
    assert run.status == "succeeded" and run.counts["items"] > 3000
    active = Theme.objects.filter(workspace=ws, status="active")
    assert active.count() >= 8
    assert all(t.keyphrases and t.name for t in active)
    whisper_themes = set(
        ThemeAssignment.objects.filter(item__feedback__external_id__startswith="demo-whisper-").values_list(
            "theme_id", flat=True
        )
    )
    assert len(whisper_themes) == 1
    whisper = Theme.objects.get(pk=whisper_themes.pop())
    assert whisper.emerging and "mentions from" in whisper.emerging_explanation and "€" in whisper.emerging_explanation
