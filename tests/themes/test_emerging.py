"""Emerging themes on a planted whisper, the weekly digest, and the periodic due-check."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.factories import FeedbackItemFactory
from tests.themes.corpus import WHISPER
from valueloop.feedback.models import FeedbackItem
from valueloop.themes import runs, scheduler, selectors, services
from valueloop.themes.models import ItemEmbedding, Theme, ThemeAssignment, ThemeDigest, ThemeRun, ThemeState


@pytest.fixture
def whisper(themed):
    """Five recent mentions of a new need (SOC 2 audit trail) from five accounts, then a re-clustering."""
    now = timezone.now()
    items = [
        FeedbackItemFactory(
            workspace=themed.ws,
            text=text,
            customer=themed.customers[i],
            received_at=now - dt.timedelta(days=1 + 2 * i),
            source="sales_call",
        )
        for i, text in enumerate(WHISPER)
    ]
    run = runs.recluster(themed.ws, trigger="manual")
    assert run.status == "succeeded"
    # Grouped by hand, as a PM would if the engine had mixed them into another theme: this test is
    # about detecting and explaining the rise, not about the clustering (the engine has its own tests).
    ids = list(ItemEmbedding.objects.filter(feedback__in=items).values_list("id", flat=True))
    theme = services.theme_create(actor=themed.pm, name="SOC 2 audit trail", item_ids=ids)
    runs.refresh_emerging(themed.ws)
    theme.refresh_from_db()
    return theme, items


def test_emerging__a_planted_whisper_is_flagged_with_its_explanation(themed, whisper):
    theme, items = whisper
    theme.refresh_from_db()
    in_theme = ThemeAssignment.objects.filter(theme=theme, item__feedback__in=items)
    assert in_theme.count() == len(items) == theme.size
    assert theme.emerging, (theme.name, theme.emerging_explanation, theme.emerging_stats)
    mentions = ThemeAssignment.objects.filter(
        theme=theme, item__said_at__gte=timezone.now() - dt.timedelta(days=14)
    ).count()
    accounts = {a.item.customer_id for a in in_theme.select_related("item")}
    arr = sum(c.arr_base for c in themed.customers if c.pk in accounts)
    pattern = (
        rf"^{mentions} mentions from {len(accounts)} accounts \(\$([\d.]+)K ARR\) in the last 14 days; [\d.]+ expected$"
    )
    match = re.match(pattern, theme.emerging_explanation)
    assert match, theme.emerging_explanation
    # Compact money (CLDR's "$23.4K" in English), to a tenth of a thousand.
    assert abs(float(match.group(1)) * 1000 - float(arr)) <= 50, (match.group(1), arr)
    assert theme.emerging_stats["q_value"] <= 0.1
    # The old topics (nothing in the last two weeks) are not emerging.
    assert not Theme.objects.filter(workspace=themed.ws, emerging=True).exclude(pk=theme.pk).exists()


def test_emerging__money_is_in_the_workspace_currency(themed, whisper):
    themed.ws.currency = "EUR"
    themed.ws.save(update_fields=["currency"])
    runs.refresh_emerging(themed.ws)
    theme = Theme.objects.get(pk=whisper[0].pk)
    assert "€" in theme.emerging_explanation and "$" not in theme.emerging_explanation


def test_emerging__future_dated_items_do_not_break_detection(themed, whisper):
    theme, items = whisper
    FeedbackItem.objects.filter(pk=items[0].pk).update(received_at=timezone.now() + dt.timedelta(days=3))
    runs.refresh_facts(themed.ws)
    checked = timezone.now()
    flagged = runs.refresh_emerging(themed.ws)
    theme.refresh_from_db()
    # The theme was checked again, and the future mention (and its account) left out, the other four counted.
    assert theme.emerging_checked_at >= checked
    assert theme.emerging_stats["mentions"] == len(items) - 1
    assert theme.emerging_stats["accounts"] == len(items) - 1
    assert theme.emerging_explanation.startswith(f"{len(items) - 1} mentions from {len(items) - 1} accounts")
    assert flagged == Theme.objects.filter(workspace=themed.ws, emerging=True).count() >= 1


def test_digest__once_per_iso_week_with_emerging_and_links(themed, whisper, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.digest_send(themed.ws)
    assert first is not None and first.recipients == 2  # the admin and the product manager
    assert len(mail.outbox) == 2
    body = mail.outbox[0].body
    assert whisper[0].name in body and f"/w/{themed.ws.slug}/themes/{whisper[0].pk}/" in body
    assert {m.to[0] for m in mail.outbox} == {"admin@a.test", "product-manager@a.test"}
    # In-app too: one notification per reader, opening the digest page.
    from valueloop.collaboration.models import Notification

    notes = Notification.objects.filter(workspace=themed.ws, kind="digest")
    assert sorted(n.recipient.email for n in notes) == ["admin@a.test", "product-manager@a.test"]
    assert {(n.entity_type, n.entity_id) for n in notes} == {("theme_digest", first.pk)}
    client = Client()
    client.force_login(notes[0].recipient)
    opened = client.get(f"/w/{themed.ws.slug}/notifications/{notes[0].pk}/")
    assert opened.status_code == 302 and opened["Location"] == f"/w/{themed.ws.slug}/themes/digest/"
    with django_capture_on_commit_callbacks(execute=True):
        again = services.digest_send(themed.ws)
    assert again is None and len(mail.outbox) == 2
    assert Notification.objects.filter(workspace=themed.ws, kind="digest").count() == 2
    assert ThemeDigest.objects.filter(workspace=themed.ws).count() == 1
    next_week = timezone.now().date() + dt.timedelta(days=7)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.digest_send(themed.ws, today=next_week) is not None
    assert ThemeDigest.objects.filter(workspace=themed.ws).count() == 2


def test_digest__a_quiet_week_is_recorded_but_not_emailed(themed, django_capture_on_commit_callbacks):
    FeedbackItem.objects.filter(workspace=themed.ws).update(received_at=timezone.now() - dt.timedelta(days=90))
    runs.refresh_facts(themed.ws)
    runs.refresh_emerging(themed.ws)
    with django_capture_on_commit_callbacks(execute=True):
        digest = services.digest_send(themed.ws)
    assert digest.recipients == 0 and not mail.outbox
    assert digest.content["emerging"] == []


def test_digest__themes_whose_revenue_weight_grew(themed):
    theme = themed.themes()[0]
    now = timezone.now()
    # Everything said so far is older than both windows; then three accounts speak up this week.
    FeedbackItem.objects.filter(workspace=themed.ws).update(received_at=now - dt.timedelta(days=90))
    runs.refresh_facts(themed.ws)
    for i, customer in enumerate(themed.customers[3:]):
        item = FeedbackItemFactory(
            workspace=themed.ws, text=f"more about {i}", customer=customer, received_at=now - dt.timedelta(days=2)
        )
        runs.process_new_items(themed.ws, feedback_ids=[item.pk])
        from valueloop.themes.models import ItemEmbedding

        row = ItemEmbedding.objects.get(feedback=item)
        ThemeAssignment.objects.update_or_create(
            item=row, defaults={"workspace": themed.ws, "theme": theme, "assigned_at": now, "placed_by": "pm"}
        )
    content = selectors.digest_content(themed.ws)
    grew = {g["id"]: g for g in content["grew"]}
    assert set(grew) == {theme.pk}
    recent_arr = sum(c.arr_base for c in themed.customers[3:])
    assert grew[theme.pk]["recent_arr"] == float(recent_arr) and grew[theme.pk]["previous_arr"] == 0
    assert "ARR behind its mentions in the last 28 days, up from $0" in grew[theme.pk]["text"]


def test_scheduler__claims_each_due_job_once(themed, django_capture_on_commit_callbacks, monkeypatch):
    from valueloop.themes import tasks

    queued = []

    class Fake:
        def __init__(self, kind):
            self.kind = kind

        def enqueue(self, *args, **kwargs):
            queued.append((self.kind, args, kwargs))

    monkeypatch.setattr(tasks, "recluster_task", Fake("recluster"))
    monkeypatch.setattr(tasks, "embed_items_task", Fake("scan"))
    monkeypatch.setattr(tasks, "digest_task", Fake("digest"))
    ThemeState.objects.filter(workspace=themed.ws).update(next_recluster_at=timezone.now() - dt.timedelta(minutes=1))
    FeedbackItemFactory(workspace=themed.ws, text="A survey comment nobody embedded")
    monday_9 = timezone.now().replace(hour=9)
    monday_9 -= dt.timedelta(days=monday_9.weekday())
    first = scheduler.tick(now=max(monday_9, timezone.now()))
    second = scheduler.tick(now=max(monday_9, timezone.now()))
    assert first["recluster"] == 1 and first["scan"] == 1 and first["digest"] == 1
    assert second["recluster"] == 0 and second["scan"] == 0
    assert ("recluster", (themed.ws.pk,), {"trigger": "schedule"}) in queued


def test_scheduler__runs_the_tasks_it_queues(themed):
    ThemeState.objects.filter(workspace=themed.ws).update(next_recluster_at=timezone.now() - dt.timedelta(minutes=1))
    now = timezone.now()
    scheduler.tick(now=now)  # the immediate backend runs the queued tasks inline in tests
    assert ThemeRun.objects.filter(workspace=themed.ws, trigger="schedule", kind="recluster").exists()
    monday_morning = now.weekday() == 0 and now.hour < scheduler.DIGEST_HOUR  # the workspace is in UTC
    assert ThemeDigest.objects.filter(workspace=themed.ws).exists() != monday_morning
