"""The feedback inbox: what customers said, where, and how it was triaged.

Invariants:
- ``external_id`` makes imports idempotent: unique per workspace and source when given.
- Status moves new -> triaged -> linked -> archived; "linked" means evidence exists for it.
"""

from django.conf import settings
from django.db import models

SOURCES = [
    ("support", "Support ticket"),
    ("sales_call", "Sales call"),
    ("interview", "Interview"),
    ("survey", "Survey"),
    ("review", "Review"),
    ("in_app", "In-app"),
    ("email", "Email"),
    ("other", "Other"),
]
STATUSES = [("new", "New"), ("triaged", "Triaged"), ("linked", "Linked"), ("archived", "Archived")]
IMPORTANCE = [
    ("", "Not stated"),
    ("nice_to_have", "Nice to have"),
    ("important", "Important"),
    ("critical", "Critical / blocker"),
]


class Tag(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique")]

    def __str__(self) -> str:
        return self.name


class FeedbackItem(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="feedback")
    title = models.CharField(max_length=300, blank=True)
    text = models.TextField(max_length=100000)
    source = models.CharField(max_length=12, choices=SOURCES, default="other")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    received_at = models.DateTimeField(db_index=True)
    url = models.URLField(max_length=1000, blank=True)
    importance = models.CharField(max_length=14, choices=IMPORTANCE, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default="new")
    tags = models.ManyToManyField(Tag, blank=True, related_name="feedback")
    personas = models.ManyToManyField("customers.Persona", blank=True, related_name="feedback")
    external_id = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source", "external_id"],
                condition=~models.Q(external_id=""),
                name="feedback_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "status", "-received_at"]),
            models.Index(fields=["workspace", "customer"]),
        ]

    def __str__(self) -> str:
        return self.title or self.text[:80]


class SavedView(models.Model):
    """A named set of inbox filters (query string), private to its owner or shared."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True)  # empty: the inbox as it opens
    shared = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IdempotencyKey(models.Model):
    """Remembers the response of a batch request so that a retry with the same key changes nothing."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="idempotency_key_unique")]
