"""Event data settings. The events themselves are Parquet files (``store.py``), not rows here.

- ``EventSource``: where a workspace's experiment analysis reads exposures and metric events: the embedded store
  (default) or the team's warehouse (a SQLAlchemy URL, two tables and a column mapping). The URL is kept without
  its password; the password is encrypted with a key derived from ``SECRET_KEY`` and never shown back.
"""

from django.db import models

SOURCE_KINDS = [("embedded", "Embedded (DuckDB and Parquet in the data directory)"), ("warehouse", "Your warehouse")]


class EventSource(models.Model):
    workspace = models.OneToOneField("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=SOURCE_KINDS, default="embedded")
    url = models.CharField(max_length=500, blank=True)  # SQLAlchemy URL without the password
    password = models.TextField(blank=True)  # Fernet token (see warehouse.seal)
    exposures_table = models.CharField(max_length=130, blank=True)
    events_table = models.CharField(max_length=130, blank=True)
    # {"exposures": {"experiment_key": col, "variation": col, "unit_id": col, "ts": col},
    #  "events": {"event": col, "unit_id": col, "value": col, "ts": col}}; missing entries: the field's name.
    columns = models.JSONField(default=dict, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["embedded", "warehouse"]), name="events_source_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return self.get_kind_display()
