from django.conf import settings
from django.db import models


class Comment(models.Model):
    """A comment on any registered entity. ``body_html`` is the sanitised rendering of ``body``."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="comments")
    entity_type = models.CharField(max_length=40)
    entity_id = models.BigIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(max_length=20000)
    body_html = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["workspace", "entity_type", "entity_id", "created_at"])]


class Follow(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    entity_type = models.CharField(max_length=40)
    entity_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "entity_type", "entity_id"], name="follow_once"),
        ]
        indexes = [models.Index(fields=["workspace", "entity_type", "entity_id"])]


class Notification(models.Model):
    KINDS = [
        ("mention", "Mentioned you"),
        ("comment", "Commented on something you follow"),
        ("digest", "A digest for you"),  # system notices (e.g. the weekly themes digest): no actor, no comment
        ("approval_requested", "Asked for your approval"),  # a change (a flag revision) waits for this approver
        ("approval_decided", "Decided on your change"),  # the author's change was approved or rejected
    ]

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=KINDS)
    entity_type = models.CharField(max_length=40)
    entity_id = models.BigIntegerField()
    entity_label = models.CharField(max_length=200, blank=True)
    comment = models.ForeignKey(Comment, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "workspace", "read_at"])]
