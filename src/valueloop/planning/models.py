"""Features (solutions) that solve problems. The prioritisation inputs (Cost of Delay, duration,
framework scores) grow here; ``released_at`` marks the moment the loop with requesters can close."""

from django.conf import settings
from django.db import models

FEATURE_STATUS = [
    ("idea", "Idea"),
    ("candidate", "Candidate"),
    ("planned", "Planned"),
    ("in_progress", "In progress"),
    ("released", "Released"),
    ("dropped", "Dropped"),
]


class Feature(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="features")
    product = models.ForeignKey(
        "workspaces.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="features"
    )
    area = models.ForeignKey(
        "workspaces.ProductArea", null=True, blank=True, on_delete=models.SET_NULL, related_name="features"
    )
    problem = models.ForeignKey(
        "discovery.Problem", null=True, blank=True, on_delete=models.SET_NULL, related_name="features"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=50000)
    status = models.CharField(max_length=12, choices=FEATURE_STATUS, default="idea")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return self.title
