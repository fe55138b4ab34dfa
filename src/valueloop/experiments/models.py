"""Experiments: a hypothesis about a feature or problem, tested by a flag's experiment rule, read by metrics.

- ``Metric``: a reusable definition per workspace (what to count, per unit, and whether lower is better).
- ``Experiment``: the hypothesis, its link to a feature and/or problem (at least one), the flag and environment
  whose experiment rule (tracking key = ``key``) splits the traffic, the variations (control first), weights,
  coverage and targeting condition, the plan (start, duration, design figures) and the analysis settings.
  ``status`` moves draft -> running -> stopped -> decided (or running -> decided).
- ``ExperimentMetric``: which metrics an experiment reads, in which role (one primary; secondary; guardrails).
- ``Decision``: ship, iterate or stop, with the chosen variation and, when shipping rolled the flag out, the
  flag revision that did it. One per experiment.
- ``Learning``: the learning-log entry the decision wrote; it becomes evidence on the feature/problem.

Invariants:
- ``key`` is unique per workspace and never changes once the experiment has started (SDK exposures carry it).
- An experiment names a feature or a problem (check constraint), and its flag and environment belong to its
  workspace (checked by the services).
- ``variations`` and ``weights`` have the same length (2 to 20) and the weights sum to 1 (services).
"""

from django.conf import settings
from django.db import models

STATUSES = [("draft", "Draft"), ("running", "Running"), ("stopped", "Stopped"), ("decided", "Decided")]
METHODS = [("frequentist", "Frequentist"), ("sequential", "Sequential"), ("bayesian", "Bayesian")]
CORRECTIONS = [("none", "None"), ("holm", "Holm (family-wise)"), ("bh", "Benjamini-Hochberg (false discoveries)")]
METRIC_KINDS = [("binomial", "Conversion (did it happen)"), ("mean", "Mean per user"), ("ratio", "Ratio of sums")]
AGGREGATIONS = [("count", "Count of events"), ("sum", "Sum of event values")]
ROLES = [("primary", "Primary"), ("secondary", "Secondary"), ("guardrail", "Guardrail")]
OUTCOMES = [("ship", "Ship"), ("iterate", "Iterate"), ("stop", "Stop")]


class Metric(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    kind = models.CharField(max_length=10, choices=METRIC_KINDS, default="binomial")
    event = models.CharField(max_length=120)
    aggregation = models.CharField(max_length=8, choices=AGGREGATIONS, default="count")
    denominator_event = models.CharField(max_length=120, blank=True)
    denominator_aggregation = models.CharField(max_length=8, choices=AGGREGATIONS, default="count")
    window_hours = models.PositiveIntegerField(null=True, blank=True)
    lower_is_better = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="experiments_metric_key_unique")]

    def __str__(self) -> str:
        return self.name


class Experiment(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(max_length=20000)
    feature = models.ForeignKey("planning.Feature", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    problem = models.ForeignKey("discovery.Problem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    flag = models.ForeignKey("flags.Flag", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    environment = models.ForeignKey(
        "flags.Environment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # [{"name": "Control", "value": <flag value>}, ...]: the control first.
    variations = models.JSONField(default=list)
    weights = models.JSONField(default=list)
    coverage = models.FloatField(default=1.0)
    condition = models.JSONField(default=dict, blank=True)  # GrowthBook condition on user attributes
    hash_attribute = models.CharField(max_length=64, default="id")
    status = models.CharField(max_length=10, choices=STATUSES, default="draft")
    planned_start = models.DateField(null=True, blank=True)
    planned_days = models.PositiveIntegerField(default=14)
    daily_traffic = models.PositiveIntegerField(null=True, blank=True)  # eligible units per day (the plan)
    design = models.JSONField(default=dict, blank=True)  # the saved power analysis (inputs and figures)
    method = models.CharField(max_length=12, choices=METHODS, default="frequentist")
    alpha = models.FloatField(default=0.05)
    correction = models.CharField(max_length=6, choices=CORRECTIONS, default="none")
    cuped_days = models.PositiveIntegerField(default=0)
    prior_proper = models.BooleanField(default=False)
    prior_mean = models.FloatField(default=0.0)
    prior_sd = models.FloatField(default=0.3)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="experiments_experiment_key_unique"),
            models.CheckConstraint(
                condition=models.Q(feature__isnull=False) | models.Q(problem__isnull=False),
                name="experiments_experiment_has_subject",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return self.name

    @property
    def variation_names(self) -> list[str]:
        return [v.get("name") or f"Variation {i}" for i, v in enumerate(self.variations or [])]


class ExperimentMetric(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="metric_links")
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=10, choices=ROLES)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "metric"], name="experiments_metric_once"),
            models.UniqueConstraint(
                fields=["experiment"], condition=models.Q(role="primary"), name="experiments_one_primary"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.experiment_id} {self.role} {self.metric_id}"


class Decision(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    experiment = models.OneToOneField(Experiment, on_delete=models.CASCADE, related_name="decision")
    outcome = models.CharField(max_length=8, choices=OUTCOMES)
    variation = models.PositiveSmallIntegerField(null=True, blank=True)  # the chosen variation (ship)
    summary = models.JSONField(default=dict, blank=True)  # the primary metric's read-out when it was decided
    rollout_environment = models.ForeignKey(
        "flags.Environment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rollout_revision = models.PositiveIntegerField(null=True, blank=True)  # the flag revision number
    rollout_state = models.CharField(max_length=20, blank=True)  # published, pending_approval or draft
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} · {self.experiment_id}"


class Learning(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="learnings")
    decision = models.OneToOneField(Decision, null=True, blank=True, on_delete=models.SET_NULL, related_name="learning")
    feature = models.ForeignKey("planning.Feature", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    problem = models.ForeignKey("discovery.Problem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(max_length=20000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return self.text[:80]
