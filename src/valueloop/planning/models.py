"""Features (solutions) that solve problems, and what planning by economics needs around them.

A feature carries its prioritisation inputs: Cost of Delay (four named components per week, each
with a rationale), an urgency profile, a duration range, and the WSJF / RICE / ICE inputs. Every
input is optional: a feature with missing inputs is still listed by every ranking, after the
scored ones, with the missing fields named. ``cod_per_week`` and ``cd3`` are denormalised for
ordering and are recomputed by the service on every input change (``cd3`` is null while the
Cost of Delay or the likely duration is missing). ``released_at`` marks the moment the loop with
requesters can close; ``DeliveryItem.done_at`` feeds the throughput history of forecasts.
"""

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
# Features that are still to be decided or built: the ones rankings and the backlog order.
OPEN_STATUSES = ("idea", "candidate", "planned", "in_progress")

URGENCY_PROFILES = [
    ("standard", "Standard"),
    ("long_life_peak_affected", "Long life, peak affected"),
    ("short_life_peak_affected", "Short life, peak affected"),
    ("fixed_date", "Fixed date"),
    ("intangible", "Intangible"),
    ("expedite", "Expedite"),
]
COD_COMPONENTS = [
    ("increase_revenue", "Increase revenue"),
    ("protect_revenue", "Protect revenue"),
    ("reduce_cost", "Reduce cost"),
    ("reduce_risk", "Reduce risk"),
]
RICE_IMPACTS = [
    ("3", "3 · massive"),
    ("2", "2 · high"),
    ("1", "1 · medium"),
    ("0.5", "0.5 · low"),
    ("0.25", "0.25 · minimal"),
]
RICE_CONFIDENCES = [("100", "100 % · high"), ("80", "80 % · medium"), ("50", "50 % · low")]
FRAMEWORKS = [
    ("cd3", "CD3"),
    ("cod", "Value only (Cost of Delay)"),
    ("wsjf", "WSJF"),
    ("rice", "RICE"),
    ("ice", "ICE"),
    ("opportunity", "Opportunity"),
]
ICE_METHODS = [("average", "Average of the three (1–10)"), ("product", "Product of the three (1–1000)")]
THROUGHPUT_SOURCES = [
    ("delivery_items", "Delivery items finished per week"),
    ("features", "Features released per week"),
    ("manual", "Entered by hand"),
]
DELIVERY_STATUS = [("todo", "To do"), ("doing", "Doing"), ("done", "Done")]
KANO_ANSWERS = [
    ("like", "I like it"),
    ("must_be", "I expect it"),
    ("neutral", "I am neutral"),
    ("live_with", "I can live with it"),
    ("dislike", "I dislike it"),
]


def _money(**kwargs):
    return models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True, **kwargs)


def _weeks(**kwargs):
    return models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True, **kwargs)


def _score(**kwargs):
    return models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True, **kwargs)


class Team(models.Model):
    """A delivery team for the schedule: ``capacity`` is its speed relative to the estimates
    (2 = finishes a 4-week item in 2 weeks); ``available_from`` when it can start new work."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="planning_teams")
    name = models.CharField(max_length=80)
    capacity = models.DecimalField(max_digits=4, decimal_places=2, default=1)
    available_from = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="planning_team_unique_name")]

    def __str__(self) -> str:
        return self.name


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

    # Cost of Delay, in the workspace currency per week, from named components.
    cod_increase_revenue = _money()
    cod_protect_revenue = _money()
    cod_reduce_cost = _money()
    cod_reduce_risk = _money()
    cod_increase_revenue_rationale = models.CharField(max_length=500, blank=True)
    cod_protect_revenue_rationale = models.CharField(max_length=500, blank=True)
    cod_reduce_cost_rationale = models.CharField(max_length=500, blank=True)
    cod_reduce_risk_rationale = models.CharField(max_length=500, blank=True)
    cod_per_week = _money()  # denormalised: the sum of the components given; null when none is
    urgency = models.CharField(max_length=24, choices=URGENCY_PROFILES, default="standard")
    deadline = models.DateField(null=True, blank=True)  # fixed date only
    fixed_date_penalty = _money()  # one-off cost of missing the deadline (fixed date only)
    urgency_life_weeks = _weeks()  # peak-affected profiles: weeks until the window closes
    urgency_rise_per_week = _money()  # intangible: how much the weekly Cost of Delay grows each week
    # Duration estimate in weeks.
    duration_low = _weeks()
    duration_likely = _weeks()
    duration_high = _weeks()
    cd3 = models.FloatField(null=True, blank=True)  # denormalised: cod_per_week / duration_likely
    # WSJF (SAFe), raw relative values (normalised to the Fibonacci scale when ranked).
    wsjf_business_value = _score()
    wsjf_time_criticality = _score()
    wsjf_risk_reduction = _score()
    wsjf_job_size = _score()
    # RICE (Intercom).
    rice_reach = _money()
    rice_impact = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    rice_confidence = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    rice_effort = _weeks()  # person-months
    # ICE, each 1-10.
    ice_impact = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    ice_confidence = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    ice_ease = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    # The product owner's hand order (null: follow CD3 order after the positioned items).
    backlog_position = models.PositiveIntegerField(null=True, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="features")

    class Meta:
        ordering = ["title", "id"]
        indexes = [
            models.Index(fields=["workspace", "status"]),
            models.Index(fields=["workspace", "backlog_position"], name="planning_fe_backlog_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class DeliveryItem(models.Model):
    """A piece of delivery work under a feature; ``done_at`` feeds the weekly throughput."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="delivery_items")
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=DELIVERY_STATUS, default="todo")
    estimate_weeks = _weeks()
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["workspace", "done_at"], name="planning_di_done_idx")]

    def __str__(self) -> str:
        return self.title


class ScoreChange(models.Model):
    """Why a feature's score or rank moved: the inputs that changed, who changed them, when."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="score_changes")
    framework = models.CharField(max_length=12, choices=FRAMEWORKS)
    old_score = models.FloatField(null=True, blank=True)
    new_score = models.FloatField(null=True, blank=True)
    old_rank = models.PositiveIntegerField(null=True, blank=True)
    new_rank = models.PositiveIntegerField(null=True, blank=True)
    changed = models.JSONField(default=dict)  # field -> [before, after]
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["feature", "framework", "id"], name="planning_sc_feature_idx")]


class BacklogMove(models.Model):
    """A hand move in the product owner's backlog (or a reset to CD3 order: ``feature`` null)."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    feature = models.ForeignKey(Feature, null=True, blank=True, on_delete=models.CASCADE, related_name="backlog_moves")
    from_position = models.PositiveIntegerField(null=True, blank=True)
    to_position = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=1000)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="planning_backlogmove_reason_required")
        ]


class PlanningSettings(models.Model):
    workspace = models.OneToOneField("workspaces.Workspace", on_delete=models.CASCADE, related_name="planning_settings")
    ice_method = models.CharField(max_length=8, choices=ICE_METHODS, default="average")
    default_framework = models.CharField(max_length=12, choices=FRAMEWORKS, default="cd3")
    throughput_source = models.CharField(max_length=16, choices=THROUGHPUT_SOURCES, default="delivery_items")
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = "planning settings"
        verbose_name_plural = "planning settings"

    def __str__(self) -> str:
        return f"Planning settings of {self.workspace_id}"


class ScoringFormula(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    expression = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="planning_formula_unique_name")]

    def __str__(self) -> str:
        return self.name


class ThroughputEntry(models.Model):
    """Items finished in the week starting ``week_start`` (a Monday), entered by hand."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    finished = models.PositiveIntegerField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-week_start"]
        verbose_name_plural = "throughput entries"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "week_start"], name="planning_throughput_one_per_week")
        ]

    def __str__(self) -> str:
        return f"Week of {self.week_start}: {self.finished}"


class KanoResponse(models.Model):
    """One respondent's answers to a feature's Kano question pair (imported from a questionnaire)."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="kano_responses")
    respondent = models.CharField(max_length=120)
    functional = models.CharField(max_length=10, choices=KANO_ANSWERS)
    dysfunctional = models.CharField(max_length=10, choices=KANO_ANSWERS)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["feature", "respondent"]
        constraints = [
            models.UniqueConstraint(fields=["feature", "respondent"], name="planning_kano_one_answer_per_respondent")
        ]


class OutcomeScore(models.Model):
    """Ulwick's survey inputs for a problem (opportunity): importance and satisfaction on 0-10
    (share of respondents rating 4 or 5 out of 5, times 10)."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    problem = models.OneToOneField("discovery.Problem", on_delete=models.CASCADE, related_name="outcome_score")
    importance = models.DecimalField(max_digits=4, decimal_places=2)
    satisfaction = models.DecimalField(max_digits=4, decimal_places=2)
    respondents = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"Outcome score of problem {self.problem_id}"
