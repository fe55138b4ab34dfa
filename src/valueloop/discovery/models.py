"""Problems (opportunities): the customer needs that features solve. The root of the
opportunity-solution tree; evidence from customers attaches here and to features."""

from django.conf import settings
from django.db import models

PROBLEM_STATUS = [
    ("open", "Open"),
    ("exploring", "Exploring"),
    ("validated", "Validated"),
    ("solved", "Solved"),
    ("parked", "Parked"),
]


class Problem(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="problems")
    product = models.ForeignKey(
        "workspaces.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="problems"
    )
    area = models.ForeignKey(
        "workspaces.ProductArea", null=True, blank=True, on_delete=models.SET_NULL, related_name="problems"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=50000)
    status = models.CharField(max_length=12, choices=PROBLEM_STATUS, default="open")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return self.title
