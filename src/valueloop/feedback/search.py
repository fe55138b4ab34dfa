"""Full-text search over feedback: SQLite FTS5 or PostgreSQL full-text search.

Invariants:
- User text never reaches the search engine's query syntax: the query language (``fts5_query``,
  ``postgres_query``, ``parse_terms``) is ``core.search``'s, shared with the workspace-wide search, which
  also indexes feedback (in its own index, ``core_searchentry``); this module keeps the inbox's index.
- SQLite: ``feedback_fts`` is an external-content FTS5 table over ``feedback_feedbackitem``
  (rowid = id), kept in sync by three triggers. A Django table rebuild (an ``AlterField`` on
  SQLite) drops triggers, so ``ensure_sqlite_triggers`` re-creates them after every migrate and
  rebuilds the index when they were missing.
- PostgreSQL: a GIN index over ``to_tsvector('english', title || ' ' || text)``; the query uses the
  very same expression, so the planner uses the index.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import FloatField, QuerySet
from django.db.models.expressions import RawSQL

from valueloop.core.search import bulk_indexing, fts5_query, parse_terms, postgres_query

FTS_TABLE = "feedback_fts"
CONTENT_TABLE = "feedback_feedbackitem"
PG_CONFIG = "english"
PG_VECTOR_SQL = f"to_tsvector('{PG_CONFIG}'::regconfig, {CONTENT_TABLE}.title || ' ' || {CONTENT_TABLE}.text)"

SQLITE_TRIGGERS = {
    "feedback_fts_ai": """
        CREATE TRIGGER IF NOT EXISTS feedback_fts_ai AFTER INSERT ON feedback_feedbackitem BEGIN
          INSERT INTO feedback_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
        END""",
    "feedback_fts_ad": """
        CREATE TRIGGER IF NOT EXISTS feedback_fts_ad AFTER DELETE ON feedback_feedbackitem BEGIN
          INSERT INTO feedback_fts(feedback_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
        END""",
    "feedback_fts_au": """
        CREATE TRIGGER IF NOT EXISTS feedback_fts_au AFTER UPDATE OF title, text ON feedback_feedbackitem BEGIN
          INSERT INTO feedback_fts(feedback_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
          INSERT INTO feedback_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
        END""",
}


def is_sqlite() -> bool:
    return connection.vendor == "sqlite"


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _nothing(queryset: QuerySet) -> QuerySet:
    from django.db.models import Value

    return queryset.none().annotate(search_rank=Value(0.0, output_field=FloatField()))


def apply_search(queryset: QuerySet, text: str) -> QuerySet:
    """Filter ``queryset`` (FeedbackItem) to matches of ``text``, annotated with ``search_rank``
    (higher is better). Text with nothing searchable in it matches nothing."""
    if is_sqlite():
        expression = fts5_query(text)
        if expression is None:
            return _nothing(queryset)
        # The FTS table drives the query: one MATCH, its bm25 rank carried by a join on rowid.
        # The unary + keeps the join condition away from FTS5's rowid lookup, so SQLite cannot
        # pick "every item of the workspace, then one MATCH per item" (minutes on 100,000 items,
        # the plan it chose for COUNT(*)); it must start from the MATCH (milliseconds).
        return queryset.extra(  # noqa: S610 - the MATCH expression is a bound parameter
            tables=[FTS_TABLE],
            where=[f"+{FTS_TABLE}.rowid = {CONTENT_TABLE}.id", f"{FTS_TABLE} MATCH %s"],
            params=[expression],
            select={"search_rank": f"-bm25({FTS_TABLE}, 2.0, 1.0)"},
            select_params=(),
        )
    if is_postgres():
        from django.contrib.postgres.search import SearchRank, SearchVectorField

        query = postgres_query(text)
        if query is None:
            return _nothing(queryset)
        vector = RawSQL(PG_VECTOR_SQL, [], output_field=SearchVectorField())  # noqa: S611 - constant SQL
        return (
            queryset.annotate(_search_vector=vector)
            .filter(_search_vector=query)
            .annotate(search_rank=SearchRank(vector, query))
        )
    # Other databases: a plain substring match on every term, unranked.
    from django.db.models import Q, Value

    terms = [term for kind, term in parse_terms(text) if kind != "not"]
    if not terms:
        return _nothing(queryset)
    for term in terms:
        queryset = queryset.filter(Q(title__icontains=term) | Q(text__icontains=term))
    return queryset.annotate(search_rank=Value(0.0, output_field=FloatField()))


def order_by_rank(queryset: QuerySet) -> QuerySet:
    return queryset.order_by("-search_rank", "-received_at", "-id")


# --- index maintenance ----------------------------------------------------------------------


def ensure_sqlite_triggers(conn=None) -> bool:
    """Re-create missing FTS triggers (a table rebuild drops them) and rebuild the index if any
    were missing. Returns True when something was repaired. No-op elsewhere or before 0002."""
    conn = conn or connection
    if conn.vendor != "sqlite":
        return False
    with conn.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = %s", [FTS_TABLE])
        if cursor.fetchone() is None:
            return False
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [CONTENT_TABLE])
        present = {row[0] for row in cursor.fetchall()}
        missing = [name for name in SQLITE_TRIGGERS if name not in present]
        for name in missing:
            cursor.execute(SQLITE_TRIGGERS[name])
        if missing:
            cursor.execute("INSERT INTO feedback_fts(feedback_fts) VALUES ('rebuild')")
    return bool(missing)


BULK_THRESHOLD = 1000


class bulk_insert:
    """Around a large insert into the content table: on SQLite the per-row insert trigger is
    dropped and the new rows are indexed with one INSERT ... SELECT afterwards (about 3x faster
    for 100,000 rows than the trigger). Must run inside the writing transaction, which holds
    SQLite's write lock: no other connection can insert while the trigger is away, and a
    rollback restores it. ``after_id``: every row inserted inside has a larger id."""

    def __init__(self, *, rows: int, after_id: int, conn=None):
        self.conn = conn or connection
        self.after_id = after_id
        self.rows = rows
        self.active = self.conn.vendor == "sqlite" and rows >= BULK_THRESHOLD and self._has_fts()

    def _has_fts(self) -> bool:
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'feedback_fts_ai'")
            return cursor.fetchone() is not None

    def __enter__(self):
        # The workspace-wide index (core.search) follows the same rows: index them in one go too.
        self.shared = bulk_indexing(
            table=CONTENT_TABLE, after_id=self.after_id, enabled=self.rows >= BULK_THRESHOLD, conn=self.conn
        )
        self.shared.__enter__()
        if self.active:
            with self.conn.cursor() as cursor:
                cursor.execute("DROP TRIGGER IF EXISTS feedback_fts_ai")
        return self

    def __exit__(self, exc_type, exc, tb):
        self.shared.__exit__(exc_type, exc, tb)
        if not self.active:
            return False
        with self.conn.cursor() as cursor:
            if exc_type is None:
                cursor.execute(
                    "INSERT INTO feedback_fts(rowid, title, text) "
                    "SELECT id, title, text FROM feedback_feedbackitem WHERE id > %s ORDER BY id",
                    [self.after_id],
                )
            cursor.execute(SQLITE_TRIGGERS["feedback_fts_ai"])
        return False


def optimize_index(conn=None) -> None:
    """Merge FTS5 segments after a large import (cheap insurance for query speed)."""
    conn = conn or connection
    if conn.vendor == "sqlite":
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO feedback_fts(feedback_fts) VALUES ('optimize')")
