"""Themes: what thousands of feedback items (and interview highlights) are about, grouped by meaning.

Invariants:
- ``ItemEmbedding`` has exactly one source (a feedback item or an interview highlight), at most one row
  per source; its ``vector`` is float32 bytes of ``dimension`` values from ``backend`` (empty when the
  text was skipped, with ``skip_reason`` saying why). ``customer`` and ``said_at`` are copied from the
  source (refreshed by every run) so roll-ups need no extra hop.
- An item belongs to at most one theme (``ThemeAssignment`` is one-to-one with the item). Items placed by
  a person (``placed_by="pm"``: moved, merged, split) keep their theme through every re-clustering.
- A theme's id and PM-given name survive re-clusterings; ``merged`` themes point at the theme they were
  merged into and never come back by themselves; ``archived`` themes were dissolved by a re-clustering
  (their links, e.g. to a problem, stay readable).
- ``ThemeState.revision`` grows with every change to a workspace's themes or assignments; a re-clustering
  computes from one revision and swaps its result in only if the revision is still the same.
- One ``ThemeDigest`` per workspace and ISO week.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

SOURCE_KINDS = [("feedback", "Feedback"), ("highlight", "Interview highlight")]
THEME_STATUS = [("active", "Active"), ("merged", "Merged"), ("archived", "Archived")]
PLACED_BY = [("engine", "Found by Valueloop"), ("pm", "Placed by a person")]
RUN_KINDS = [("incremental", "New items"), ("recluster", "Re-clustering")]
RUN_STATUS = [("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed")]
RUN_TRIGGERS = [
    ("arrival", "New feedback"),
    ("schedule", "Schedule"),
    ("manual", "By hand"),
    ("demo", "Demo data"),
]


class ThemeState(models.Model):
    """Per-workspace bookkeeping for themes: the revision and the schedule."""

    workspace = models.OneToOneField("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    revision = models.PositiveBigIntegerField(default=0)
    next_recluster_at = models.DateTimeField(null=True, blank=True)
    last_recluster_at = models.DateTimeField(null=True, blank=True)
    next_scan_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"themes of workspace {self.workspace_id} (revision {self.revision})"


class ItemEmbedding(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=10, choices=SOURCE_KINDS)
    feedback = models.ForeignKey(
        "feedback.FeedbackItem", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    highlight = models.ForeignKey(
        "research.Highlight", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    said_at = models.DateTimeField()
    backend = models.CharField(max_length=80, blank=True)
    dimension = models.PositiveIntegerField(default=0)
    vector = models.BinaryField(blank=True, default=b"")
    text_hash = models.CharField(max_length=64)
    skip_reason = models.CharField(max_length=120, blank=True)
    truncated = models.BooleanField(default=False)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(source="feedback", feedback__isnull=False, highlight__isnull=True)
                    | models.Q(source="highlight", feedback__isnull=True, highlight__isnull=False)
                ),
                name="item_embedding_one_source",
            ),
            models.UniqueConstraint(
                fields=["feedback"], condition=models.Q(feedback__isnull=False), name="item_embedding_feedback_once"
            ),
            models.UniqueConstraint(
                fields=["highlight"],
                condition=models.Q(highlight__isnull=False),
                name="item_embedding_highlight_once",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "said_at"], name="item_embedding_said_idx"),
            models.Index(fields=["workspace", "text_hash"], name="item_embedding_hash_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.feedback_id or self.highlight_id}"

    @property
    def source_id(self) -> int:
        return self.feedback_id or self.highlight_id  # type: ignore[return-value]


class Theme(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    name_set_by_pm = models.BooleanField(default=False)
    keyphrases = models.JSONField(default=list, blank=True)
    representatives = models.JSONField(default=list, blank=True)  # ItemEmbedding ids, most typical first
    pinned = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=THEME_STATUS, default="active")
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    problem = models.ForeignKey("discovery.Problem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    backend = models.CharField(max_length=80, blank=True)
    centroid = models.BinaryField(blank=True, default=b"")
    size = models.PositiveIntegerField(default=0)  # items assigned (kept by every write)
    emerging = models.BooleanField(default=False)
    emerging_explanation = models.CharField(max_length=300, blank=True)
    emerging_stats = models.JSONField(default=dict, blank=True)
    emerging_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-size", "id"]
        indexes = [models.Index(fields=["workspace", "status"], name="theme_status_idx")]

    def __str__(self) -> str:
        return self.name


class ThemeAssignment(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    item = models.OneToOneField(ItemEmbedding, on_delete=models.CASCADE, related_name="assignment")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="assignments")
    similarity = models.FloatField(default=0.0)
    placed_by = models.CharField(max_length=6, choices=PLACED_BY, default="engine")
    assigned_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["workspace", "theme"], name="theme_assignment_theme_idx")]

    def __str__(self) -> str:
        return f"{self.item} → theme {self.theme_id}"


class ThemeRun(models.Model):
    """One background run: embedding + assignment of new items, or a full re-clustering."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=RUN_KINDS)
    trigger = models.CharField(max_length=10, choices=RUN_TRIGGERS, default="schedule")
    status = models.CharField(max_length=10, choices=RUN_STATUS, default="running")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    backend = models.CharField(max_length=80, blank=True)
    error = models.TextField(blank=True, max_length=4000)
    counts = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["workspace", "kind", "-started_at"], name="theme_run_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.status} at {self.started_at:%Y-%m-%d %H:%M}"


class ThemeDigest(models.Model):
    """The weekly digest of a workspace: emerging themes and themes whose revenue weight grew."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    week = models.CharField(max_length=8)  # ISO week, e.g. 2026-W07
    content = models.JSONField(default=dict)
    recipients = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-week"]
        constraints = [models.UniqueConstraint(fields=["workspace", "week"], name="theme_digest_once_per_week")]

    def __str__(self) -> str:
        return f"digest {self.week}"
