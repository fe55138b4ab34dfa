"""Evidence: the link from what a customer said (a feedback item, or a highlight in an interview)
to a problem or a feature, with how much it matters to that customer.

Invariants:
- Exactly one source (``feedback``, ``highlight`` or an experiment's ``learning``) and one target
  (``target_type``/``target_id``, a problem or a feature resolved inside the same workspace).
- ``customer`` and ``said_at`` (when the customer said it) are copied from the source so roll-ups
  (unique accounts, ARR, demand over time) need no extra hop.
- One source links to one target at most once.
- A learning (what an experiment taught) has no customer, so it never counts towards unique accounts or ARR;
  the customer roll-ups leave learnings out and the panel lists them apart.
- ``LoopNotification`` records every "we built what you asked for" email: who, about which feature,
  when it was queued and sent. A contact is told once per feature unless someone explicitly re-sends.
"""

from django.conf import settings
from django.db import models

EVIDENCE_IMPORTANCE = [(1, "Low"), (2, "Medium"), (3, "High"), (4, "Critical")]
TARGET_TYPES = [("problem", "Problem"), ("feature", "Feature")]


class Evidence(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    feedback = models.ForeignKey(
        "feedback.FeedbackItem", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    highlight = models.ForeignKey(
        "research.Highlight", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    learning = models.ForeignKey(
        "experiments.Learning", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    target_type = models.CharField(max_length=10, choices=TARGET_TYPES)
    target_id = models.BigIntegerField()
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    importance = models.PositiveSmallIntegerField(choices=EVIDENCE_IMPORTANCE, default=2)
    quote = models.TextField(blank=True, max_length=20000)
    quote_start = models.PositiveIntegerField(null=True, blank=True)
    quote_end = models.PositiveIntegerField(null=True, blank=True)
    said_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(feedback__isnull=False, highlight__isnull=True, learning__isnull=True)
                    | models.Q(feedback__isnull=True, highlight__isnull=False, learning__isnull=True)
                    | models.Q(feedback__isnull=True, highlight__isnull=True, learning__isnull=False)
                ),
                name="evidence_has_one_source",
            ),
            models.UniqueConstraint(
                fields=["feedback", "target_type", "target_id"],
                condition=models.Q(feedback__isnull=False),
                name="evidence_feedback_once_per_target",
            ),
            models.UniqueConstraint(
                fields=["highlight", "target_type", "target_id"],
                condition=models.Q(highlight__isnull=False),
                name="evidence_highlight_once_per_target",
            ),
            models.UniqueConstraint(
                fields=["learning", "target_type", "target_id"],
                condition=models.Q(learning__isnull=False),
                name="evidence_learning_once_per_target",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "target_type", "target_id"]),
            models.Index(fields=["workspace", "target_type", "target_id", "said_at"], name="evidence_target_said_idx"),
            models.Index(fields=["workspace", "customer"], name="evidence_customer_idx"),
        ]

    def __str__(self) -> str:
        if self.feedback_id:
            source = f"feedback {self.feedback_id}"
        elif self.highlight_id:
            source = f"highlight {self.highlight_id}"
        else:
            source = f"learning {self.learning_id}"
        return f"{self.target_type} {self.target_id} ← {source}"


LOOP_STATUS = [("queued", "Queued"), ("sent", "Sent"), ("failed", "Failed")]


class LoopNotification(models.Model):
    """One "you asked, we built it" email to one contact about one released feature."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    feature = models.ForeignKey("planning.Feature", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("customers.Contact", null=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=20000)
    status = models.CharField(max_length=8, choices=LOOP_STATUS, default="queued")
    error = models.CharField(max_length=500, blank=True)
    resend = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "feature", "contact"], name="loop_feature_contact_idx")]

    def __str__(self) -> str:
        return f"{self.email} · {self.subject}"
