"""Full-text search: an FTS5 table with sync triggers on SQLite, a GIN expression index on
PostgreSQL. Nothing in the model state changes, so other databases skip both."""

from django.db import migrations

SQLITE_UP = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS feedback_fts USING fts5(
         title, text, content='feedback_feedbackitem', content_rowid='id',
         tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS feedback_fts_ai AFTER INSERT ON feedback_feedbackitem BEGIN
         INSERT INTO feedback_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS feedback_fts_ad AFTER DELETE ON feedback_feedbackitem BEGIN
         INSERT INTO feedback_fts(feedback_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS feedback_fts_au AFTER UPDATE OF title, text ON feedback_feedbackitem BEGIN
         INSERT INTO feedback_fts(feedback_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
         INSERT INTO feedback_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
       END""",
    "INSERT INTO feedback_fts(feedback_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS feedback_fts_ai",
    "DROP TRIGGER IF EXISTS feedback_fts_ad",
    "DROP TRIGGER IF EXISTS feedback_fts_au",
    "DROP TABLE IF EXISTS feedback_fts",
]
POSTGRES_UP = [
    """CREATE INDEX IF NOT EXISTS feedback_fts_gin ON feedback_feedbackitem
       USING gin (to_tsvector('english'::regconfig, title || ' ' || text))""",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS feedback_fts_gin"]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_UP)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_UP)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_DOWN)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_DOWN)


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
