"""Demo flags for the Ledgerly demo (see valueloop.demo): idempotent by flag and group key.

Builds saved groups, flags with rules in every environment (a rollout tied to the "Smart dunning retries"
feature, an experiment, a flag for internal users, a prerequisite), a production history of approved changes
and one production change still awaiting approval.
"""

from __future__ import annotations

from valueloop.planning.facade import feature_choices

from . import services
from .bootstrap import ensure_environments
from .models import Flag, SavedGroup

DOMAIN = "demo.valueloop.example"

GROUPS = [
    {
        "key": "internal-users",
        "name": "Internal users",
        "description": "Ledgerly staff: they see new work first.",
        "kind": "list",
        "attribute": "email",
        "values": [f"{h}@{DOMAIN}" for h in ("ada", "priya", "tom", "lena", "marco", "hana", "jamal", "sofia")],
    },
    {
        "key": "beta-customers",
        "name": "Beta customers",
        "description": "Accounts that signed up for early access.",
        "kind": "list",
        "attribute": "company",
        "values": ["northwind", "globex", "initech", "umbrella", "hooli"],
    },
    {
        "key": "enterprise-eu",
        "name": "Enterprise in the EU",
        "description": "Enterprise plan, billing country in the EU.",
        "kind": "condition",
        "condition": {"plan": "enterprise", "country": {"$in": ["DE", "FR", "NL", "AT", "IT", "ES", "IE"]}},
    },
]


def _feature_id(workspace, title: str) -> int | None:
    return next((pk for pk, t in feature_choices(workspace) if t == title), None)


def build(context) -> None:
    workspace = context.workspace
    pm, po, admin = (context.actor_for(h) for h in ("priya", "tom", "ada"))
    environments = {e.key: e for e in ensure_environments(workspace)}
    dev, staging, prod = environments["development"], environments["staging"], environments["production"]

    for group in GROUPS:
        if not SavedGroup.objects.filter(workspace=workspace, key=group["key"]).exists():
            services.group_create(actor=pm, **group)

    def create(key: str, **fields) -> Flag | None:
        if Flag.objects.filter(workspace=workspace, key=key).exists():
            return None
        return services.flag_create(actor=pm, key=key, **fields)

    def rule(flag: Flag, environment, **data):
        return services.rule_create(actor=pm, flag_id=flag.pk, environment_id=environment.pk, **data)

    def submit(flag: Flag, environment, comment: str, approver=None):
        revision = services.draft_publish(actor=pm, flag_id=flag.pk, environment_id=environment.pk, comment=comment)
        if approver is not None and revision.state == "pending_approval":
            services.revision_approve(actor=approver, revision_id=revision.pk, comment="Looks good.")
        return revision

    # 1. A gradual rollout tied to a planned feature, with an approved history and one change awaiting approval.
    flag = create(
        "smart-dunning",
        description="Retry failed card payments on a smart schedule instead of once.",
        feature_id=_feature_id(workspace, "Smart dunning retries"),
    )
    if flag is not None:
        rule(flag, dev, kind="force", value=True, description="Everyone in development")
        rule(
            flag,
            staging,
            kind="rollout",
            value=True,
            coverage=0.5,
            description="Half of staging accounts",
            hash_attribute="company",
        )
        rollout = rule(flag, prod, kind="force", value=True, saved_groups=["internal-users"], description="Staff")
        submit(flag, prod, "Staff first", approver=admin)
        rollout = rule(
            flag,
            prod,
            kind="rollout",
            value=True,
            coverage=0.1,
            hash_attribute="company",
            description="Gradual rollout by account",
        )
        submit(flag, prod, "10 % of accounts", approver=admin)
        services.rule_update(actor=pm, flag_id=flag.pk, environment_id=prod.pk, rule_id=rollout.pk, coverage=0.2)
        submit(flag, prod, "No rise in failed retries: 20 %", approver=po)
        services.rule_update(actor=pm, flag_id=flag.pk, environment_id=prod.pk, rule_id=rollout.pk, coverage=0.35)
        submit(flag, prod, "Support tickets down 12 %: widen to 35 %")  # left awaiting approval

    # 2. A prerequisite: reminder emails only where smart dunning is on.
    flag = create("smart-dunning-emails", description="Reminder emails before each smart retry.")
    if flag is not None:
        for environment in (dev, staging):
            rule(
                flag,
                environment,
                kind="force",
                value=True,
                prerequisites=[{"flag": "smart-dunning", "condition": {"value": True}}],
            )

    # 3. An experiment on approvers' workflow.
    flag = create(
        "new-approval-flow",
        value_type="string",
        default_value="classic",
        description="Streamlined approval screen: one tap approve with inline receipt preview.",
        feature_id=_feature_id(workspace, "Show base currency on approvals"),
    )
    if flag is not None:
        rule(flag, dev, kind="force", value="streamlined")
        for environment in (staging, prod):
            rule(
                flag,
                environment,
                kind="experiment",
                description="Approval flow A/B test",
                condition={"plan": {"$in": ["business", "enterprise"]}},
                variations=["classic", "streamlined"],
                variation_names=["Classic", "Streamlined"],
                weights=[0.5, 0.5],
                coverage=0.8,
                tracking_key="approval-flow-2026q3",
            )
        submit(flag, prod, "Start the A/B test on business and enterprise plans", approver=admin)

    # 4. Staff first, then a careful rollout on recent app versions.
    flag = create(
        "receipt-capture-v2",
        description="New camera pipeline for receipt capture in poor light.",
        feature_id=_feature_id(workspace, "Low-light receipt capture"),
    )
    if flag is not None:
        for environment in (dev, staging, prod):
            rule(
                flag,
                environment,
                kind="force",
                value=True,
                saved_groups=["internal-users"],
                description="Internal users",
            )
        rule(
            flag,
            staging,
            kind="rollout",
            value=True,
            coverage=0.25,
            condition={"appVersion": {"$vgte": "4.2.0"}},
            description="App 4.2+",
        )
        submit(flag, prod, "Internal users only", approver=po)
        services.kill_switch_set(actor=po, flag_id=flag.pk, environment_id=staging.pk, killed=True)

    # 5. A number and a JSON flag.
    flag = create(
        "cash-forecast-weeks",
        value_type="number",
        default_value=4,
        description="Weeks in the cash forecast.",
        feature_id=_feature_id(workspace, "13-week cash forecast"),
    )
    if flag is not None:
        rule(flag, dev, kind="force", value=13)
        rule(flag, staging, kind="force", value=13, saved_groups=["enterprise-eu"])
    flag = create(
        "webhook-retry-policy",
        value_type="json",
        default_value={"max_attempts": 3, "backoff": "exponential", "max_delay_s": 600},
        description="How partner webhooks are retried.",
        feature_id=_feature_id(workspace, "Webhook retries and replay"),
    )
    if flag is not None:
        rule(
            flag,
            staging,
            kind="force",
            saved_groups=["beta-customers"],
            value={"max_attempts": 8, "backoff": "exponential", "max_delay_s": 3600, "replay": True},
        )
