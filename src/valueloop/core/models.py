from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One write: who, when, what entity, which action, and the before/after of changed fields.

    Written in the same transaction as the change it records, and never updated afterwards.
    """

    workspace = models.ForeignKey("workspaces.Workspace", null=True, blank=True, on_delete=models.CASCADE)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=254, blank=True)
    via = models.CharField(max_length=16, default="web")  # web, api, cli, system
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    entity_type = models.CharField(max_length=40)
    entity_id = models.BigIntegerField(null=True)
    entity_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=40)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-at"]),
            models.Index(fields=["workspace", "entity_type", "entity_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.entity_type}#{self.entity_id}"


class SearchEntry(models.Model):
    """One searchable row of any kind (``core.search``): written only by database triggers and
    ``core.search.rebuild_index``, never by the ORM. No foreign key to the workspace: rows leave with the
    rows they index (the delete triggers), and a workspace delete need not load them."""

    # kind_code(kind) << 40 | object_id: a kind's rows are one id range (core.search.kind_code).
    id = models.BigIntegerField(primary_key=True)
    workspace_id = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    object_id = models.BigIntegerField()
    title = models.TextField(blank=True, default="")
    body = models.TextField(blank=True, default="")
    scope = models.TextField(blank=True, default="")  # "w<workspace id>": the FTS5 filter for the workspace

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="core_searchentry_kind_object")]
        indexes = [models.Index(fields=["workspace_id", "kind"], name="core_search_workspace_kind")]

    def __str__(self) -> str:
        return f"{self.kind}#{self.object_id}"
