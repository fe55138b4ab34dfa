"""The shared search index (``core.search``): the entry table, and its full-text index (an FTS5 table with
sync triggers on SQLite, a GIN expression index on PostgreSQL). The per-kind triggers that fill the entry
table are generated from the apps' declarations by ``core.search.ensure_index`` after every migrate."""

from django.db import migrations, models

from valueloop.core.search import FTS_CREATE_SQLITE, FTS_TABLE, FTS_TRIGGERS_SQLITE, GIN_CREATE_POSTGRES


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(FTS_CREATE_SQLITE, params=None)
        for statement in FTS_TRIGGERS_SQLITE.values():
            schema_editor.execute(statement, params=None)
    elif vendor == "postgresql":
        schema_editor.execute(GIN_CREATE_POSTGRES, params=None)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for name in FTS_TRIGGERS_SQLITE:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}", params=None)
        schema_editor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}", params=None)
    elif vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS core_search_gin", params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="SearchEntry",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("workspace_id", models.BigIntegerField()),
                ("kind", models.CharField(max_length=40)),
                ("object_id", models.BigIntegerField()),
                ("title", models.TextField(blank=True, default="")),
                ("body", models.TextField(blank=True, default="")),
                ("scope", models.TextField(blank=True, default="")),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("kind", "object_id"), name="core_searchentry_kind_object")
                ],
                "indexes": [models.Index(fields=["workspace_id", "kind"], name="core_search_workspace_kind")],
            },
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
