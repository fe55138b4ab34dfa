"""Full-text search: matches, ranking, and user text that never breaks the query
(SQLite FTS5 here; the same tests run on PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.feedback.conftest import make_item
from valueloop.feedback import search, selectors, services
from valueloop.feedback.models import FeedbackItem


def found(world, q, **filters):
    return [item.pk for item in selectors.feedback_list(actor=world.actor_a, q=q, **filters)]


@pytest.fixture
def corpus(world):
    items = {
        "dunning": make_item(world, "Dunning emails are sent twice to the same customer", title="Dunning twice"),
        "reconcile": make_item(world, "Bank reconciliation misses partial payments from Barclays"),
        "receipts": make_item(world, "The receipt scanner in the mobile app fails in low light"),
        "webhooks": make_item(world, "Webhook retries after an outage; we missed invoice.paid events"),
        "mention": make_item(world, "Reporting is fine. Oh, and dunning could be gentler.", title="Dashboard"),
    }
    services.feedback_create(actor=world.actor_b, text="Beta dunning secret")  # another workspace
    return items


def test_search__matches_words_stems_and_prefixes(world, corpus):
    assert set(found(world, "dunning")) == {corpus["dunning"].pk, corpus["mention"].pk}
    assert found(world, "reconcile") == [corpus["reconcile"].pk]  # stemmed: reconciliation
    assert found(world, "recei") == [corpus["receipts"].pk]  # the last word may be unfinished
    assert found(world, "BARCLAYS") == [corpus["reconcile"].pk]
    assert found(world, "invoice.paid") == [corpus["webhooks"].pk]


def test_search__ranks_better_matches_first(world, corpus):
    # "dunning" in the title and twice in the text beats a passing mention
    ranked = found(world, "dunning")
    assert ranked == [corpus["dunning"].pk, corpus["mention"].pk]
    items = list(selectors.feedback_list(actor=world.actor_a, q="dunning"))
    assert items[0].search_rank > items[1].search_rank


def test_search__phrases_or_and_exclusion(world, corpus):
    assert found(world, '"partial payments"') == [corpus["reconcile"].pk]
    assert found(world, '"payments partial"') == []
    assert set(found(world, "webhook OR scanner")) == {corpus["webhooks"].pk, corpus["receipts"].pk}
    assert found(world, "dunning -gentler") == [corpus["dunning"].pk]


@pytest.mark.parametrize(
    "q",
    [
        '"foo OR',
        "*",
        "NEAR(",
        "NEAR(a b",
        "dunning AND",
        "OR",
        "NOT",
        "^dunning",
        "title:dunning",
        "d*u*n",
        "'; DROP TABLE feedback_feedbackitem; --",
        '"""',
        "(((",
        "dunning\x00",
        "-",
        "a" * 2000,
        "😀 émojis",
        "{col1 col2}: x",
        "+",
    ],
)
def test_search__user_text_never_breaks_the_query(world, corpus, q):
    result = found(world, q)  # no exception is the point
    assert isinstance(result, list)
    counts = selectors.feedback_status_counts(actor=world.actor_a, q=q)
    assert counts["all"] == len(result)
    assert FeedbackItem.objects.count() == 6  # and nothing happened to the table


def test_search__special_characters_still_find_the_words(world, corpus):
    assert found(world, '"dunning OR') == found(world, "dunning")  # unbalanced quote: the words remain
    assert found(world, "NEAR(dunning") == found(world, "near dunning") == []
    assert found(world, "title:dunning") == found(world, "title dunning")


def test_search__never_returns_another_workspace(world, corpus):
    ids = found(world, "secret")
    assert ids == []
    assert found(world, "beta") == []


def test_search__combines_with_filters_and_counts(world, corpus):
    services.feedback_set_status(actor=world.actor_a, feedback_id=corpus["mention"].pk, status="archived")
    assert found(world, "dunning", status="archived") == [corpus["mention"].pk]
    counts = selectors.feedback_status_counts(actor=world.actor_a, q="dunning")
    assert (counts["new"], counts["archived"], counts["all"]) == (1, 1, 2)


def test_search__follows_edits_and_deletes(world, corpus):
    item = corpus["receipts"]
    services.feedback_update(actor=world.actor_a, feedback_id=item.pk, text="Camera freezes on Android")
    assert found(world, "scanner") == []
    assert found(world, "android") == [item.pk]
    FeedbackItem.objects.filter(pk=item.pk).delete()
    assert found(world, "android") == []


def test_fts5_query__quotes_every_term():
    assert search.fts5_query('dunning "bank feed" -mobile') == '("dunning" AND "bank feed") NOT "mobile"'
    assert search.fts5_query("a OR b") == '("a" OR "b")'
    assert search.fts5_query("webhooks") == '"webhooks"*'
    assert search.fts5_query("*") is None
    assert search.fts5_query("-only -negative") is None


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite FTS5 triggers")
def test_fts_triggers_come_back_after_a_table_rebuild(world, corpus):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER feedback_fts_ai")
    make_item(world, "Written while the trigger was missing: zeppelin")
    assert found(world, "zeppelin") == []
    assert search.ensure_sqlite_triggers() is True  # what post_migrate runs
    assert len(found(world, "zeppelin")) == 1
    assert search.ensure_sqlite_triggers() is False


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search")
def test_postgres_search_uses_the_gin_index(world, corpus):
    # the search expression is the indexed one (on a tiny table the planner prefers the
    # workspace index, so ask about the search condition alone)
    queryset = search.apply_search(FeedbackItem.objects.all(), "dunning").order_by()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "feedback_fts_gin" in plan, plan
