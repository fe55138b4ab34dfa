from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from ninja import Field, Schema

from valueloop.core.api_support import BodyId, PageParams, StrictBody, StrictSchema, choice_literal, page_schema
from valueloop.core.permissions import Scope

from .diffs import summary
from .models import ENVIRONMENTS, GROUP_KINDS, REVISION_STATES, RULE_KINDS, VALUE_TYPES
from .selectors import ENV_STATES

# Choices come from the models (and the list filter's states from the selector): one place to add a value.
ValueType = choice_literal(VALUE_TYPES)
EnvironmentKey = choice_literal(ENVIRONMENTS)
RuleKind = choice_literal(RULE_KINDS)
RevisionState = choice_literal(REVISION_STATES)
EnvState = choice_literal(ENV_STATES.items())
GroupKind = choice_literal(GROUP_KINDS)
FlagKey = Field(..., min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
MAX_BATCH_USERS = 100_000


# --- environments -------------------------------------------------------------------------------------------------


class FlagEnvOut(Schema):
    id: int
    key: EnvironmentKey
    name: str
    requires_approval: bool
    encrypted: bool
    sdk_key: str | None = Field(None, description="The SDK client key (workspace admins only; null otherwise)")
    encryption_key: str | None = Field(None, description="Key SDKs decrypt the payload with (admins only)")
    sdk_url: str | None = Field(None, description="GrowthBook SDK endpoint for this environment (admins only)")
    approver_ids: list[int] = Field(
        ..., description="Members who alone may approve changes here; empty: every member who may change flags"
    )
    etag: str
    payload_updated_at: datetime | None
    version: int

    @staticmethod
    def resolve_encrypted(obj) -> bool:
        return bool(obj.encryption_key)

    @staticmethod
    def resolve_approver_ids(obj) -> list[int]:
        return sorted(user.pk for user in obj.approvers.all())

    @staticmethod
    def resolve_sdk_key(obj, context) -> str | None:
        return _active_key(obj) if _is_admin(context) else None

    @staticmethod
    def resolve_encryption_key(obj, context) -> str | None:
        return (obj.encryption_key or None) if _is_admin(context) else None

    @staticmethod
    def resolve_sdk_url(obj, context) -> str | None:
        key = _active_key(obj) if _is_admin(context) else None
        return f"{settings.VALUELOOP_PUBLIC_URL.rstrip('/')}/api/features/{key}" if key else None


def _is_admin(context) -> bool:
    actor = getattr(context.get("request"), "auth", None) if context else None
    return bool(actor and actor.can(Scope.WORKSPACE_MANAGE))


def _active_key(environment) -> str | None:
    keys = getattr(environment, "active_keys", None)
    if keys is None:
        keys = list(environment.sdk_keys.filter(revoked_at=None).order_by("-created_at")[:1])
    return keys[0].key if keys else None


class FlagEnvList(Schema):
    items: list[FlagEnvOut]


class FlagEnvPatch(StrictBody):
    requires_approval: bool | None = None
    encrypted: bool | None = Field(None, description="Serve the payload encrypted (a new key is generated)")
    approver_ids: list[BodyId] | None = Field(
        None,
        max_length=100,
        description="Name the members who alone may approve changes here (each may change flags); [] for everyone "
        "who may change flags",
    )
    version: int | None = Field(None, ge=1)


class FlagSdkKeyOut(Schema):
    environment_id: int
    key: str
    created_at: datetime


# --- flags --------------------------------------------------------------------------------------------------------


class FlagIn(StrictBody):
    key: str = FlagKey
    value_type: ValueType = "boolean"
    default_value: Any = Field(None, description="JSON value of the flag's type; the type's zero value if omitted")
    description: str = Field("", max_length=2000)
    feature_id: BodyId | None = None


class FlagPatch(StrictBody):
    description: str | None = Field(None, max_length=2000)
    default_value: Any = None
    feature_id: BodyId | None = None
    archived: bool | None = None
    version: int | None = Field(None, ge=1)


class FlagEnvironmentSummary(Schema):
    environment_id: int
    environment: EnvironmentKey
    killed: bool = Field(..., description="Kill switch (working copy)")
    served_killed: bool
    served_rules: int
    published_revision: int | None
    open_change: RevisionState | None = None

    @staticmethod
    def resolve_environment(obj) -> str:
        return obj.environment.key

    @staticmethod
    def resolve_published_revision(obj) -> int | None:
        return obj.published.number if obj.published_id else None


class FlagOut(Schema):
    id: int
    key: str
    value_type: ValueType
    default_value: Any
    description: str
    feature_id: int | None
    archived: bool
    created_at: datetime
    updated_at: datetime
    version: int
    environments: list[FlagEnvironmentSummary]

    @staticmethod
    def resolve_archived(obj) -> bool:
        return obj.archived_at is not None

    @staticmethod
    def resolve_environments(obj) -> list:
        states = getattr(obj, "env_states", None)
        if states is None:  # not prefetched (a single flag just written)
            states = list(obj.states.select_related("environment", "published").order_by("environment__position"))
            open_revisions = obj.revisions.filter(state__in=("draft", "pending_approval"))
        else:
            open_revisions = getattr(obj, "open_revisions", [])
        open_by_env = {r.environment_id: r.state for r in open_revisions}
        for state in states:
            state.open_change = open_by_env.get(state.environment_id)
        return states


FlagPage = page_schema(FlagOut, "FlagPage")


class FlagListParams(PageParams):
    search: str = Field("", max_length=200)
    archived: bool = False
    environment_id: BodyId | None = None
    state: EnvState | None = None
    feature_id: BodyId | None = None


# --- rules --------------------------------------------------------------------------------------------------------


class FlagPrerequisiteIn(StrictBody):
    flag: str = FlagKey
    condition: dict[str, Any] = Field(default_factory=dict, description='Condition on the parent\'s "value"')


class FlagRuleIn(StrictBody):
    kind: RuleKind
    description: str = Field("", max_length=200)
    enabled: bool = True
    condition: dict[str, Any] = Field(default_factory=dict, description="Targeting condition (GrowthBook syntax)")
    saved_groups: list[str] = Field(default_factory=list, max_length=10)
    prerequisites: list[FlagPrerequisiteIn] = Field(default_factory=list, max_length=10)
    value: Any = Field(None, description="Value served by force and rollout rules")
    coverage: float = Field(1.0, ge=0, le=1, description="Share of users included (0–1)")
    hash_attribute: str = Field("id", min_length=1, max_length=64)
    seed: str = Field("", max_length=120)
    variations: list[Any] = Field(default_factory=list, max_length=20)
    weights: list[float] = Field(default_factory=list, max_length=20)
    variation_names: list[str] = Field(default_factory=list, max_length=20)
    tracking_key: str = Field("", max_length=120)


class FlagRulePatch(StrictBody):
    kind: RuleKind | None = None
    description: str | None = Field(None, max_length=200)
    enabled: bool | None = None
    condition: dict[str, Any] | None = None
    saved_groups: list[str] | None = Field(None, max_length=10)
    prerequisites: list[FlagPrerequisiteIn] | None = Field(None, max_length=10)
    value: Any = None
    coverage: float | None = Field(None, ge=0, le=1)
    hash_attribute: str | None = Field(None, min_length=1, max_length=64)
    seed: str | None = Field(None, max_length=120)
    variations: list[Any] | None = Field(None, max_length=20)
    weights: list[float] | None = Field(None, max_length=20)
    variation_names: list[str] | None = Field(None, max_length=20)
    tracking_key: str | None = Field(None, max_length=120)
    version: int | None = Field(None, ge=1)


class FlagRuleOut(Schema):
    id: int
    uid: str
    position: int
    kind: RuleKind
    description: str
    enabled: bool
    condition: dict[str, Any]
    saved_groups: list[str]
    prerequisites: list[dict[str, Any]]
    value: Any
    coverage: float
    hash_attribute: str
    seed: str
    variations: list[Any]
    weights: list[float]
    variation_names: list[str]
    tracking_key: str
    version: int


class FlagRuleMoveIn(StrictBody):
    direction: Literal["up", "down"]


class FlagKillSwitchIn(StrictBody):
    killed: bool


class FlagCommentIn(StrictBody):
    comment: str = Field("", max_length=500)


class FlagRevisionOut(Schema):
    id: int
    flag_id: int
    flag_key: str
    environment_id: int
    environment: EnvironmentKey
    number: int
    state: RevisionState
    snapshot: dict[str, Any]
    diff: list[dict[str, Any]]
    changes: list[str] = Field(..., description="The diff in words")
    note: str
    author_email: str | None
    created_at: datetime
    submitted_at: datetime | None
    published_at: datetime | None
    reviewed_by_email: str | None
    reviewed_at: datetime | None
    review_comment: str
    rollback_of: int | None = Field(None, description="Number of the revision this one restores")

    @staticmethod
    def resolve_flag_key(obj) -> str:
        return obj.flag.key

    @staticmethod
    def resolve_environment(obj) -> str:
        return obj.environment.key

    @staticmethod
    def resolve_changes(obj) -> list[str]:
        return summary(obj.diff, obj.snapshot.get("rules"))

    @staticmethod
    def resolve_author_email(obj) -> str | None:
        return obj.author.email if obj.author_id else None

    @staticmethod
    def resolve_reviewed_by_email(obj) -> str | None:
        return obj.reviewed_by.email if obj.reviewed_by_id else None

    @staticmethod
    def resolve_rollback_of(obj) -> int | None:
        return obj.rollback_of.number if obj.rollback_of_id else None


FlagRevisionPage = page_schema(FlagRevisionOut, "FlagRevisionPage")


class FlagRevisionListParams(PageParams):
    environment_id: BodyId | None = None
    state: RevisionState | None = None


class FlagEnvironmentOut(Schema):
    flag_id: int
    environment_id: int
    environment: EnvironmentKey
    requires_approval: bool
    default_value: Any
    killed: bool
    rules: list[FlagRuleOut]
    published: FlagRevisionOut | None
    open_change: FlagRevisionOut | None


# --- saved groups -------------------------------------------------------------------------------------------------


class SavedGroupIn(StrictBody):
    key: str = FlagKey
    name: str = Field(..., min_length=1, max_length=120)
    description: str = Field("", max_length=500)
    kind: GroupKind = "list"
    attribute: str = Field("id", min_length=1, max_length=64)
    values: list[str | int | float] = Field(default_factory=list, max_length=10_000)
    condition: dict[str, Any] = Field(default_factory=dict)


class SavedGroupPatch(StrictBody):
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=500)
    kind: GroupKind | None = None
    attribute: str | None = Field(None, min_length=1, max_length=64)
    values: list[str | int | float] | None = Field(None, max_length=10_000)
    condition: dict[str, Any] | None = None
    version: int | None = Field(None, ge=1)


class SavedGroupOut(Schema):
    id: int
    key: str
    name: str
    description: str
    kind: GroupKind
    attribute: str
    values: list[Any]
    condition: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int


SavedGroupPage = page_schema(SavedGroupOut, "SavedGroupPage")


class SavedGroupListParams(PageParams):
    search: str = Field("", max_length=200)


class FlagApprovalListParams(PageParams):
    pass


# --- batch evaluation ---------------------------------------------------------------------------------------------


class FlagEvaluateIn(StrictBody):
    environment: EnvironmentKey = "production"
    flags: list[str] = Field(default_factory=list, max_length=100, description="Flag keys; all served flags if empty")
    users: list[dict[str, Any]] = Field(
        ...,
        max_length=MAX_BATCH_USERS,
        description=(
            'Each user\'s attributes, e.g. {"id": "u1", "country": "DE"}. At most 100,000, within the server\'s '
            "request size limit (DATA_UPLOAD_MAX_MEMORY_SIZE)."
        ),
    )


class FlagValuesOut(Schema):
    values: list[Any] = Field(..., description="One value per user, in the order given")
    variation_ids: list[int | None] = Field(..., description="Experiment variation index per user, or null")


class FlagEvaluateOut(Schema):
    environment: EnvironmentKey
    users: int
    etag: str = Field(..., description="Version of the published payload the values come from")
    flags: dict[str, FlagValuesOut]


__all__ = ["StrictSchema"]
