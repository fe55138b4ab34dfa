"""Customer research: interviews with their notes and highlights, and survey responses.

Invariants:
- A ``Highlight`` keeps the quoted text with its offsets and the text around it (prefix/suffix),
  so it can be re-anchored when the interview notes are edited, and is marked ``detached`` when
  its text no longer occurs; it is never silently moved onto different words.
- A survey response's comment lands in the feedback inbox as a feedback item (``feedback``).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

SURVEY_KINDS = [("nps", "NPS"), ("csat", "CSAT")]


class Interview(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="interviews")
    title = models.CharField(max_length=200)
    happened_on = models.DateField()
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="interviews"
    )
    participants = models.ManyToManyField("customers.Contact", blank=True, related_name="interviews")
    interviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(blank=True, max_length=200000)
    consent = models.BooleanField(default=False, help_text="The participants agreed to be recorded and quoted.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-happened_on", "-id"]

    def __str__(self) -> str:
        return self.title


class Highlight(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="highlights")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField(max_length=20000)
    prefix = models.CharField(max_length=64, blank=True)
    suffix = models.CharField(max_length=64, blank=True)
    detached = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["interview", "start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="highlight_non_empty")
        ]

    def __str__(self) -> str:
        return self.text[:80]


class SurveyResponse(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=4, choices=SURVEY_KINDS)
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(0), MaxValueValidator(10)])
    comment = models.TextField(blank=True, max_length=20000)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    contact = models.ForeignKey("customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    responded_at = models.DateTimeField(db_index=True)
    feedback = models.OneToOneField(
        "feedback.FeedbackItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_response"
    )
    external_id = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-responded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "external_id"],
                condition=~models.Q(external_id=""),
                name="survey_external_id_unique",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "kind", "responded_at"], name="survey_kind_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.score}"
