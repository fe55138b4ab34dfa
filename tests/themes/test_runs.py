"""Background runs: embedding with skip reasons, incremental placement, re-clustering, failures."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tests.factories import FeedbackItemFactory
from tests.themes.corpus import TOPICS
from valueloop.feedback.models import FeedbackItem
from valueloop.themes import runs
from valueloop.themes.models import ItemEmbedding, Theme, ThemeAssignment, ThemeRun


class CountingBackend:
    """The lexical backend, remembering every text it was asked to embed."""

    def __init__(self):
        self.inner = runs.embedding_backend()
        self.name = self.inner.name
        self.dimension = self.inner.dimension
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return self.inner.embed(texts)


def _item(ws, text, days_ago=1.0, customer=None, title=""):
    return FeedbackItemFactory(workspace=ws, text=text, title=title, customer=customer, days_ago=days_ago)


def test_embedding_backend__is_lexical_in_tests():
    assert runs.embedding_backend().name.startswith("lexical")


def test_embed_pending__bad_input_is_skipped_with_reasons_and_never_breaks_the_run(world):
    ws = world.ws_a
    good = _item(ws, "Dunning reminder emails were sent twice to our customers this morning")
    empty = _item(ws, "   \n\t ")
    one_word = _item(ws, "Thanks!")
    symbols = _item(ws, "!!! ??? 123 456")
    german = _item(ws, "Die Mahnungen werden doppelt verschickt und unsere Kunden beschweren sich darüber sehr")
    japanese = _item(ws, "請求書のリマインダーが二回送信されました。顧客が苦情を言っています。")
    duplicate = _item(ws, good.text)
    huge = _item(ws, "Webhook retries " + "please retry failed webhook deliveries with backoff " * 1000)
    assert len(huge.text) > 50_000
    run = runs.process_new_items(ws)
    assert run.status == "succeeded", run.error
    reasons = dict(ItemEmbedding.objects.filter(workspace=ws).values_list("feedback_id", "skip_reason"))
    assert reasons[good.pk] == ""
    assert reasons[empty.pk] == "empty"
    assert reasons[one_word.pk] == "one word"
    assert reasons[symbols.pk] == "too short"
    assert reasons[german.pk] == "not English"
    assert reasons[japanese.pk] == "not English"
    assert reasons[duplicate.pk] == "duplicate"
    assert reasons[huge.pk] == ""
    row = ItemEmbedding.objects.get(feedback=huge)
    assert row.truncated and row.dimension == runs.embedding_backend().dimension
    dup = ItemEmbedding.objects.get(feedback=duplicate)
    assert dup.duplicate_of.feedback_id == good.pk and bytes(dup.vector) == bytes(dup.duplicate_of.vector)
    assert run.counts["skipped"] == {"empty": 1, "one word": 1, "too short": 1, "not English": 2}
    assert run.counts["duplicates"] == 1 and run.counts["truncated"] == 1


def test_embed_pending__embeds_each_text_once_and_again_only_when_it_changes(world):
    ws = world.ws_a
    item = _item(ws, "Receipt scanner fails in low light on the phone")
    backend = CountingBackend()
    runs.process_new_items(ws, backend=backend)
    assert len(backend.texts) == 1
    assert runs.process_new_items(ws, backend=backend) is None  # nothing new: no run recorded
    assert len(backend.texts) == 1
    FeedbackItem.objects.filter(pk=item.pk).update(text="Receipt capture crashes after the iOS update")
    runs.process_new_items(ws, feedback_ids=[item.pk], backend=backend)
    assert backend.texts[-1].startswith("Receipt capture crashes")
    assert ItemEmbedding.objects.filter(feedback=item).count() == 1


def _topic(text: str) -> str:
    return next(topic for topic, (openings, _) in TOPICS.items() if any(text.startswith(s) for s in openings))


def test_recluster__finds_themes_without_being_told_how_many(themed):
    themes = themed.themes()
    assert 2 <= len(themes) <= 24  # 48 items on 4 topics: found from the data, never asked
    majority = total = 0
    for theme in themes:
        texts = FeedbackItem.objects.filter(
            pk__in=ThemeAssignment.objects.filter(theme=theme).values("item__feedback_id")
        ).values_list("text", flat=True)
        counts = Counter(_topic(t) for t in texts)
        majority += counts.most_common(1)[0][1]
        total += sum(counts.values())
        assert theme.keyphrases and theme.name != "Untitled theme"
        assert theme.size == ThemeAssignment.objects.filter(theme=theme).count() > 0
        assert theme.representatives
    # Themes follow the topics (a label mix-up in the plumbing would give about 1/4 here).
    assert majority / total >= 0.8, majority / total
    assert total == ItemEmbedding.objects.filter(workspace=themed.ws).exclude(dimension=0).count()


def test_incremental__new_item_joins_nearest_theme_without_recomputing_the_others(themed):
    ws = themed.ws
    before = {
        a.item_id: (a.theme_id, a.similarity, a.assigned_at) for a in ThemeAssignment.objects.filter(workspace=ws)
    }
    vectors_before = dict(ItemEmbedding.objects.filter(workspace=ws).values_list("id", "updated_at"))
    receipts = themed.theme_with("receipt")
    size_before = receipts.size
    backend = CountingBackend()
    new = _item(ws, "The receipt scanner fails to read receipts in low light", customer=themed.customers[0])
    run = runs.process_new_items(ws, feedback_ids=[new.pk], backend=backend)
    assert run.kind == "incremental" and run.status == "succeeded"
    assert backend.texts == ["The receipt scanner fails to read receipts in low light"]  # only the new text
    placed = ThemeAssignment.objects.get(item__feedback=new)
    assert "receipt" in " ".join(placed.theme.keyphrases) and placed.placed_by == "engine"
    after = {
        a.item_id: (a.theme_id, a.similarity, a.assigned_at)
        for a in ThemeAssignment.objects.filter(workspace=ws).exclude(item__feedback=new)
    }
    assert after == before
    assert (
        dict(ItemEmbedding.objects.filter(workspace=ws).exclude(feedback=new).values_list("id", "updated_at"))
        == vectors_before
    )
    placed.theme.refresh_from_db()
    if placed.theme_id == receipts.pk:
        assert placed.theme.size == size_before + 1


def test_incremental__an_unrelated_item_waits_for_the_next_reclustering(themed):
    new = _item(themed.ws, "Kubernetes helm chart for on premise deployment with sso federation")
    run = runs.process_new_items(themed.ws, feedback_ids=[new.pk])
    assert run.counts["waiting"] == 1 and run.counts["assigned"] == 0
    assert not ThemeAssignment.objects.filter(item__feedback=new).exists()


def test_feedback_signal__creating_feedback_embeds_it_in_the_background(themed, django_capture_on_commit_callbacks):
    from valueloop.feedback.services import feedback_create

    with django_capture_on_commit_callbacks(execute=True):
        item = feedback_create(actor=themed.admin, text="Webhook deliveries failed and we cannot replay webhook events")
    row = ItemEmbedding.objects.get(feedback=item)
    assert row.dimension > 0
    assert ThemeAssignment.objects.filter(item=row).exists()
    assert ThemeRun.objects.filter(workspace=themed.ws, kind="incremental", trigger="arrival").exists()


def _snapshot(ws):
    return (
        sorted(Theme.objects.filter(workspace=ws).values_list("id", "name", "status", "size", "keyphrases", "version")),
        sorted(ThemeAssignment.objects.filter(workspace=ws).values_list("item_id", "theme_id", "placed_by")),
    )


def test_recluster__only_feedback_leaves_the_rest_to_the_workers_scan(world):
    from tests.themes.corpus import make_items

    ws = world.ws_a
    items = make_items(ws, 12)
    now, later = items[:30], items[30:]
    backend = CountingBackend()
    run = runs.recluster(ws, trigger="manual", backend=backend, only_feedback=[i.pk for i in now])
    assert run.status == "succeeded", run.error
    embedded = set(ItemEmbedding.objects.filter(workspace=ws, source="feedback").values_list("feedback_id", flat=True))
    assert embedded == {i.pk for i in now}
    assert backend.texts and set(backend.texts) <= {i.text for i in now}  # the others' texts were never read
    assert ThemeAssignment.objects.filter(workspace=ws).exists()
    # The scan (process_new_items without ids) embeds the others and places them in the themes just made.
    scan = runs.process_new_items(ws, trigger="schedule")
    assert scan.status == "succeeded"
    assert ItemEmbedding.objects.filter(workspace=ws, feedback__in=later).count() == len(later)


def test_recluster__a_failing_engine_leaves_the_previous_themes_untouched(themed, monkeypatch):
    from valueloop.engines import themes as engine

    before = _snapshot(themed.ws)

    def broken(*args, **kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(engine, "cluster", broken)
    run = runs.recluster(themed.ws, trigger="manual")
    assert run.status == "failed" and "engine exploded" in run.error
    assert run.finished_at is not None
    assert _snapshot(themed.ws) == before


def test_recluster__a_failure_while_swapping_rolls_back_completely(themed, monkeypatch):
    before = _snapshot(themed.ws)
    original = ThemeAssignment.objects.bulk_create

    def fail_after_delete(objs, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ThemeAssignment.objects, "bulk_create", fail_after_delete)
    run = runs.recluster(themed.ws, trigger="manual")
    monkeypatch.setattr(ThemeAssignment.objects, "bulk_create", original)
    assert run.status == "failed" and "disk full" in run.error
    assert _snapshot(themed.ws) == before


def test_recluster__computes_again_when_themes_change_meanwhile(themed, monkeypatch):
    calls = []
    real_plan = runs.plan_recluster

    def plan_then_edit(workspace, backend_name, *, seed=0):
        plan = real_plan(workspace, backend_name, seed=seed)
        calls.append(plan.revision)
        if len(calls) == 1:
            runs.bump_revision(workspace)  # a PM edit landed while the first plan was computed
        return plan

    monkeypatch.setattr(runs, "plan_recluster", plan_then_edit)
    run = runs.recluster(themed.ws, trigger="manual")
    assert run.status == "succeeded"
    assert len(calls) == 2 and calls[1] == calls[0] + 1


def test_recluster__is_stable_on_the_same_data(themed):
    before = _snapshot(themed.ws)
    run = runs.recluster(themed.ws, trigger="manual")
    assert run.status == "succeeded"
    after = _snapshot(themed.ws)
    assert [t[:2] for t in after[0]] == [t[:2] for t in before[0]]  # same ids, same names
    assert after[1] == before[1]


def test_recluster__records_the_run_with_counts_and_timings(themed):
    run = themed.run
    assert run.kind == "recluster" and run.trigger == "manual" and run.status == "succeeded"
    assert run.counts["items"] == 48 and run.counts["themes_after"] == len(themed.themes())
    assert run.duration_ms is not None and run.finished_at >= run.started_at


@pytest.mark.parametrize("n", [0, 5])
def test_recluster__too_few_items_make_no_themes(world, n):
    for i in range(n):
        _item(world.ws_a, f"Some feedback number {i} about invoices and reminders")
    run = runs.recluster(world.ws_a, trigger="manual")
    assert run.status == "succeeded"
    assert not Theme.objects.filter(workspace=world.ws_a).exists()


def test_vectors__round_trip_as_float32_bytes():
    v = np.array([0.5, -0.25, 1.0], dtype=np.float32)
    assert np.array_equal(runs.from_bytes(runs.to_bytes(v), 3), v)
    with pytest.raises(ValueError):
        runs.from_bytes(runs.to_bytes(v), 4)
