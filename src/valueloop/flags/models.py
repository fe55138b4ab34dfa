"""Feature flags, delivered to GrowthBook-compatible SDKs.

- ``Environment``: development, staging and production of a workspace (created on first use). Each serves
  one SDK payload (``payload``, pre-serialised, with its ``etag``), rebuilt whenever something it contains is
  published. ``SdkKey``: the client keys that fetch it (public identifiers, like GrowthBook's); a revoked key
  is kept so that SDKs still using it get a clear 401 instead of a 404.
- ``Flag``: key, value type and the base default. ``FlagState`` is the flag's working configuration in one
  environment (default value, kill switch) and points at the ``FlagRevision`` currently served there;
  ``FlagRule`` rows are the working copy of its rules. What SDKs receive is always built from published
  revisions, never from the working copy, so a production change waiting for approval is not served.
- ``FlagRevision``: every change to a flag's configuration in an environment, as a full snapshot plus the diff
  against what was published before.
- ``SavedGroup``: a reusable audience (a list of attribute values, or a condition).
- A snapshot with ``"archived": true`` stops serving the flag in that environment: archiving a flag served in an
  environment that requires approval is such a revision, served once approved.
"""

from django.conf import settings
from django.db import models

VALUE_TYPES = [("boolean", "Boolean"), ("string", "String"), ("number", "Number"), ("json", "JSON")]
ENVIRONMENTS = [("development", "Development"), ("staging", "Staging"), ("production", "Production")]
RULE_KINDS = [("force", "Force a value"), ("rollout", "Percentage rollout"), ("experiment", "Experiment")]
REVISION_STATES = [
    ("draft", "Draft"),
    ("pending_approval", "Pending approval"),
    ("published", "Published"),
    ("rejected", "Rejected"),
]
GROUP_KINDS = [("list", "List of values"), ("condition", "Condition")]


class Environment(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="flag_environments")
    key = models.CharField(max_length=20, choices=ENVIRONMENTS)
    position = models.PositiveSmallIntegerField(default=0)
    requires_approval = models.BooleanField(default=False)
    # Who may approve changes here. Empty: every member whose role may change flags (admin, product manager,
    # product owner). Named: only these members (each must still be able to change flags when approving).
    approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # Base64 AES key; when set the payload is served as ``encryptedFeatures`` (SDKs decrypt with this key).
    encryption_key = models.CharField(max_length=64, blank=True)
    payload = models.TextField(blank=True)  # the JSON body SDKs receive
    etag = models.CharField(max_length=80, blank=True)
    payload_updated_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="flags_one_environment_per_key")]

    def __str__(self) -> str:
        return self.get_key_display()

    @property
    def name(self) -> str:
        return self.get_key_display()


class SdkKey(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="sdk_keys")
    key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["environment", "revoked_at"])]

    def __str__(self) -> str:
        return self.key


class SavedGroup(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="flag_groups")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    kind = models.CharField(max_length=10, choices=GROUP_KINDS, default="list")
    attribute = models.CharField(max_length=64, blank=True)  # list groups: the attribute the values are matched on
    values = models.JSONField(default=list, blank=True)
    condition = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="flags_group_key_unique")]

    def __str__(self) -> str:
        return self.name


class Flag(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="flags")
    key = models.SlugField(max_length=64)
    value_type = models.CharField(max_length=10, choices=VALUE_TYPES, default="boolean")
    default_value = models.JSONField(default=bool)
    description = models.TextField(blank=True, max_length=2000)
    feature = models.ForeignKey("planning.Feature", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["key", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="flags_flag_key_unique")]

    def __str__(self) -> str:
        return self.key


class FlagRevision(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="revisions")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=REVISION_STATES)
    snapshot = models.JSONField(default=dict)  # {"default_value", "killed", "rules": [...]}
    diff = models.JSONField(default=list, blank=True)  # [{"path", "before", "after"}] against ``base``
    base = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rollback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    contributors = models.JSONField(default=list, blank=True)  # user ids of everyone who edited this change
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-number", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["flag", "environment", "number"], name="flags_revision_number_unique")
        ]
        indexes = [models.Index(fields=["workspace", "state"])]

    def __str__(self) -> str:
        return f"{self.flag.key} #{self.number} in {self.environment}"

    @property
    def approved_by(self):
        return self.reviewed_by if self.state == "published" else None


class FlagState(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="states")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="flag_states")
    default_value = models.JSONField(default=bool)
    killed = models.BooleanField(default=False)
    published = models.ForeignKey(FlagRevision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What SDKs get, denormalised from the published snapshot for listing and filtering.
    served_killed = models.BooleanField(default=False)
    served_rules = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flag", "environment"], name="flags_one_state_per_env")]

    def __str__(self) -> str:
        return f"{self.flag_id} in {self.environment_id}"


class FlagRule(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="rules")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="flag_rules")
    position = models.PositiveIntegerField(default=0)
    uid = models.CharField(max_length=24)  # the rule id SDKs report (``ruleId``); stable across edits
    kind = models.CharField(max_length=12, choices=RULE_KINDS)
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    condition = models.JSONField(default=dict, blank=True)
    saved_groups = models.JSONField(default=list, blank=True)  # keys of SavedGroups the user must be in (all)
    prerequisites = models.JSONField(default=list, blank=True)  # [{"flag": key, "condition": {...}}]
    value = models.JSONField(null=True, blank=True)  # force and rollout
    coverage = models.FloatField(default=1.0)
    hash_attribute = models.CharField(max_length=64, default="id")
    seed = models.CharField(max_length=120, blank=True)
    variations = models.JSONField(default=list, blank=True)  # experiment
    weights = models.JSONField(default=list, blank=True)
    variation_names = models.JSONField(default=list, blank=True)
    tracking_key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["flag", "environment", "position"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} rule {self.uid}"
