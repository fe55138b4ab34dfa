"""Nothing changes what an approval-protected environment serves without an approved revision (issue 10, item 3).

Generated from the routing tables, like the permission matrix: every mutating operation of the flags API (every
method but GET under /api/v1/flags) and every flags page must either have scenarios here or sit in
``NOT_MUTATING`` with a reason the test checks. Each scenario runs one request against a workspace whose
production (approval required) serves flags with rules, a list group and a condition group; the SDK payload's
content (decrypted when encrypted: what SDKs evaluate) is read through the SDK endpoint before and after and must
be identical, except for the expectations named on the scenario:

- ``approval``: the request is the approval itself;
- ``brake``: the kill switch turning on (the emergency brake, published at once by design): only that flag
  changes, to its default value with no rules;
- ``new_key``: a new flag: the only difference is one new key serving only its default value.

A scenario also pins the status it must answer, so that a request refused for the wrong reason (a 404 from a
wrong id, a form error) cannot pass as "changed nothing".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import token_client
from tests.routes import api_operations, pages
from valueloop.core.errors import Conflict
from valueloop.core.permissions import Role
from valueloop.engines.flags import decrypt
from valueloop.flags import payload, services
from valueloop.flags.bootstrap import ensure_environments
from valueloop.flags.models import Environment, Flag, FlagRevision, SdkKey

# Routes proven not to change any payload, with the reason (checked in test_not_mutating__is_true).
NOT_MUTATING = {
    "page flags:sdk_payload": "the SDK endpoint itself: GET, HEAD and OPTIONS only (POST answers 405)",
    "page flags:sdk": "the SDK keys page: GET only, its buttons post to their own URLs (POST answers 405)",
}


@dataclass(frozen=True)
class Scenario:
    route: str  # "api <operation id>" or "page <url name>"
    name: str
    run: Callable[[Any], Any]  # (ctx) -> response
    status: int
    expect: str = "unchanged"  # unchanged, approval, brake, new_key


class Ctx:
    """Workspace A with production serving flags through approved revisions (built per scenario)."""

    def __init__(self, world):
        self.world = world
        self.slug = world.ws_a.slug
        self.admin, self.pm, self.po = world.actor_a, world.actor(Role.PRODUCT_MANAGER), world.actor(Role.PRODUCT_OWNER)
        envs = {e.key: e for e in ensure_environments(world.ws_a)}
        self.dev, self.prod = envs["development"], envs["production"]
        assert self.prod.requires_approval
        self.list_group = services.group_create(
            actor=self.pm, key="beta-testers", name="Beta testers", attribute="id", values=["u1", "u2"]
        )
        self.condition_group = services.group_create(
            actor=self.pm, key="germany", name="Germany", kind="condition", condition={"country": "DE"}
        )
        self.unused_group = services.group_create(actor=self.pm, key="unused", name="Unused", values=["x"])
        # checkout: two served rules in production, one per group, published through approval.
        self.checkout = services.flag_create(actor=self.pm, key="checkout")
        self.beta_rule = self.prod_rule(self.checkout, kind="force", value=True, saved_groups=["beta-testers"])
        self.rollout_rule = self.prod_rule(
            self.checkout, kind="rollout", value=True, coverage=0.5, saved_groups=["germany"]
        )
        self.approve_all(self.checkout)
        services.rule_create(
            actor=self.pm, flag_id=self.checkout.pk, environment_id=self.dev.pk, kind="force", value=False
        )
        # banner: served in production with its default only (archivable without turning anything off first).
        self.banner = services.flag_create(actor=self.pm, key="banner", value_type="string", default_value="hi")
        # legacy: archived through an approved archiving revision.
        self.legacy = services.flag_create(actor=self.pm, key="legacy")
        services.flag_update(actor=self.pm, flag_id=self.legacy.pk, archived=True)
        self.approve_all(self.legacy)
        # killed: serves a rule in production, kill switch on.
        self.killed = services.flag_create(actor=self.pm, key="killed")
        self.prod_rule(self.killed, kind="force", value=True, condition={"plan": "pro"})
        self.approve_all(self.killed)
        services.kill_switch_set(actor=self.pm, flag_id=self.killed.pk, environment_id=self.prod.pk, killed=True)
        # waiting: a change awaiting approval; drafty: an unsubmitted draft (by the product owner).
        self.waiting = services.flag_create(actor=self.pm, key="waiting")
        self.prod_rule(self.waiting, kind="force", value=True)
        self.pending = services.draft_publish(actor=self.pm, flag_id=self.waiting.pk, environment_id=self.prod.pk)
        self.drafty = services.flag_create(actor=self.pm, key="drafty")
        self.prod_rule(self.drafty, actor=self.po, kind="force", value=True)
        self.first_checkout = FlagRevision.objects.get(flag=self.checkout, environment=self.prod, number=1)
        self.sdk_key = SdkKey.objects.filter(environment=self.prod, revoked_at=None).first().key
        self.api = token_client(self.admin)
        self.api_po = token_client(self.po)
        self.page = Client()
        self.page.force_login(world.users[Role.ADMIN])
        self.page_po = Client()
        self.page_po.force_login(world.users[Role.PRODUCT_OWNER])

    def prod_rule(self, flag, actor=None, **data):
        return services.rule_create(actor=actor or self.pm, flag_id=flag.pk, environment_id=self.prod.pk, **data)

    def approve_all(self, flag):
        if FlagRevision.objects.filter(flag=flag, environment=self.prod, state="draft").exists():
            services.draft_publish(actor=self.pm, flag_id=flag.pk, environment_id=self.prod.pk)
        for revision in FlagRevision.objects.filter(flag=flag, state="pending_approval"):
            services.revision_approve(actor=self.admin, revision_id=revision.pk)

    def served(self) -> dict:
        """What production's SDKs evaluate: features and saved groups, decrypted when encrypted."""
        key = SdkKey.objects.filter(environment=self.prod, revoked_at=None).first()
        if key is None:  # every key revoked: what the next key will be served
            document = json.loads(Environment.objects.get(pk=self.prod.pk).payload)
        else:
            response = Client().get(f"/api/features/{key.key}")
            assert response.status_code == 200, response.content
            document = json.loads(response.content)
        if "encryptedFeatures" in document:
            key = Environment.objects.get(pk=self.prod.pk).encryption_key
            return {
                "features": json.loads(decrypt(document["encryptedFeatures"], key)),
                "savedGroups": json.loads(decrypt(document["encryptedSavedGroups"], key)),
            }
        return {"features": document["features"], "savedGroups": document["savedGroups"]}

    # request helpers
    def api_call(self, method: str, path: str, body: Any = None, client=None):
        client = client or self.api
        kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
        return getattr(client, method)(f"/api/v1/flags{path}", **kwargs)

    def post_page(self, path: str, data: dict, client=None):
        return (client or self.page).post(f"/w/{self.slug}/flags/{path}", data)


def api(op, name, run, status, expect="unchanged"):
    return Scenario(f"api {op}", name, run, status, expect)


def page(url_name, name, run, status, expect="unchanged"):
    return Scenario(f"page flags:{url_name}", name, run, status, expect)


def _env(c, key="prod"):
    return getattr(c, key).pk


SCENARIOS = [
    # --- environments and SDK keys (API) ---
    api(
        "flags_environment_update",
        "encrypt",
        lambda c: c.api_call("patch", f"/environments/{_env(c)}", {"encrypted": True}),
        200,
    ),
    api(
        "flags_environment_update",
        "name approvers",
        lambda c: c.api_call("patch", f"/environments/{_env(c)}", {"approver_ids": [c.po.user.pk]}),
        200,
    ),
    api(
        "flags_environment_update",
        "approval off",
        lambda c: c.api_call("patch", f"/environments/{_env(c)}", {"requires_approval": False}),
        200,
    ),
    api("flags_sdk_key_rotate", "rotate", lambda c: c.api_call("post", f"/environments/{_env(c)}/rotate-key"), 201),
    api("flags_sdk_key_revoke", "revoke", lambda c: c.api_call("post", f"/environments/{_env(c)}/revoke-key"), 200),
    # --- saved groups (API) ---
    api(
        "flags_group_create",
        "create",
        lambda c: c.api_call("post", "/saved-groups", {"key": "new-group", "name": "New", "values": ["u9"]}),
        201,
    ),
    api(
        "flags_group_update",
        "list values",
        lambda c: c.api_call("patch", f"/saved-groups/{c.list_group.pk}", {"values": ["u1", "u2", "u3"]}, c.api_po),
        409,
    ),
    api(
        "flags_group_update",
        "list attribute",
        lambda c: c.api_call("patch", f"/saved-groups/{c.list_group.pk}", {"attribute": "email"}),
        409,
    ),
    api(
        "flags_group_update",
        "condition",
        lambda c: c.api_call("patch", f"/saved-groups/{c.condition_group.pk}", {"condition": {"country": "FR"}}),
        409,
    ),
    api(
        "flags_group_update",
        "kind",
        lambda c: c.api_call(
            "patch", f"/saved-groups/{c.condition_group.pk}", {"kind": "list", "attribute": "id", "values": ["u1"]}
        ),
        409,
    ),
    api(
        "flags_group_update",
        "rename (not served)",
        lambda c: c.api_call("patch", f"/saved-groups/{c.list_group.pk}", {"name": "Beta people"}),
        200,
    ),
    api(
        "flags_group_update",
        "unused group",
        lambda c: c.api_call("patch", f"/saved-groups/{c.unused_group.pk}", {"values": ["y"]}),
        200,
    ),
    api("flags_group_delete", "in use", lambda c: c.api_call("delete", f"/saved-groups/{c.list_group.pk}"), 409),
    api("flags_group_delete", "unused", lambda c: c.api_call("delete", f"/saved-groups/{c.unused_group.pk}"), 204),
    # --- approvals and revisions (API) ---
    api(
        "flags_revision_approve",
        "approve",
        lambda c: c.api_call("post", f"/revisions/{c.pending.pk}/approve", {}),
        200,
        "approval",
    ),
    api("flags_revision_reject", "reject", lambda c: c.api_call("post", f"/revisions/{c.pending.pk}/reject", {}), 200),
    api(
        "flags_revision_rollback",
        "rollback",
        lambda c: c.api_call("post", f"/revisions/{c.first_checkout.pk}/rollback", None, c.api_po),
        201,
    ),
    api(
        "flags_flag_evaluate",
        "evaluate",
        lambda c: c.api_call("post", "/evaluate", {"environment": "production", "users": [{"id": "u1"}]}),
        200,
    ),
    # --- flags (API) ---
    api(
        "flags_flag_create",
        "create",
        lambda c: c.api_call("post", "", {"key": "brand-new", "default_value": True}),
        201,
        "new_key",
    ),
    api(
        "flags_flag_update",
        "archive",
        lambda c: c.api_call("patch", f"/{c.banner.pk}", {"archived": True}, c.api_po),
        200,
    ),
    api(
        "flags_flag_update", "archive live", lambda c: c.api_call("patch", f"/{c.checkout.pk}", {"archived": True}), 422
    ),
    api("flags_flag_update", "restore", lambda c: c.api_call("patch", f"/{c.legacy.pk}", {"archived": False}), 200),
    api(
        "flags_flag_update",
        "default value",
        lambda c: c.api_call("patch", f"/{c.banner.pk}", {"default_value": "bye"}),
        200,
    ),
    api(
        "flags_flag_update",
        "description",
        lambda c: c.api_call("patch", f"/{c.checkout.pk}", {"description": "x"}),
        200,
    ),
    api(
        "flags_rule_create",
        "add",
        lambda c: c.api_call(
            "post", f"/{c.checkout.pk}/environments/{_env(c)}/rules", {"kind": "force", "value": False}, c.api_po
        ),
        201,
    ),
    api(
        "flags_rule_update",
        "edit",
        lambda c: c.api_call(
            "patch", f"/{c.checkout.pk}/environments/{_env(c)}/rules/{c.rollout_rule.pk}", {"coverage": 1.0}
        ),
        200,
    ),
    api(
        "flags_rule_update",
        "disable",
        lambda c: c.api_call(
            "patch", f"/{c.checkout.pk}/environments/{_env(c)}/rules/{c.beta_rule.pk}", {"enabled": False}
        ),
        200,
    ),
    api(
        "flags_rule_delete",
        "delete",
        lambda c: c.api_call("delete", f"/{c.checkout.pk}/environments/{_env(c)}/rules/{c.beta_rule.pk}"),
        204,
    ),
    api(
        "flags_rule_move",
        "move",
        lambda c: c.api_call(
            "post", f"/{c.checkout.pk}/environments/{_env(c)}/rules/{c.beta_rule.pk}/move", {"direction": "down"}
        ),
        200,
    ),
    api(
        "flags_kill_switch_set",
        "kill on",
        lambda c: c.api_call("post", f"/{c.checkout.pk}/environments/{_env(c)}/kill-switch", {"killed": True}),
        200,
        "brake",
    ),
    api(
        "flags_kill_switch_set",
        "kill off",
        lambda c: c.api_call("post", f"/{c.killed.pk}/environments/{_env(c)}/kill-switch", {"killed": False}),
        200,
    ),
    api(
        "flags_draft_publish",
        "submit",
        lambda c: c.api_call("post", f"/{c.drafty.pk}/environments/{_env(c)}/publish", {}, c.api_po),
        200,
    ),
    api(
        "flags_draft_discard",
        "discard",
        lambda c: c.api_call("post", f"/{c.waiting.pk}/environments/{_env(c)}/discard"),
        200,
    ),
    # --- pages ---
    page(
        "flag_list", "create", lambda c: c.post_page("", {"key": "page-new", "value_type": "boolean"}), 302, "new_key"
    ),
    page("flag_archive", "archive", lambda c: c.post_page(f"{c.banner.pk}/archive/", {}, c.page_po), 302),
    page("flag_archive", "archive live", lambda c: c.post_page(f"{c.checkout.pk}/archive/", {}), 400),
    page("flag_restore", "restore", lambda c: c.post_page(f"{c.legacy.pk}/restore/", {}), 302),
    page("flag_detail", "default value", lambda c: c.post_page(f"{c.banner.pk}/", {"default_value": "bye"}), 302),
    page(
        "flag_environment",
        "add rule",
        lambda c: c.post_page(
            f"{c.checkout.pk}/env/{_env(c)}/",
            {"action": "add_rule", "kind": "force", "value": "false", "enabled": "on"},
        ),
        302,
    ),
    page(
        "flag_environment",
        "update rule",
        lambda c: c.post_page(
            f"{c.checkout.pk}/env/{_env(c)}/",
            {
                "action": "update_rule",
                "rule_id": c.rollout_rule.pk,
                "kind": "rollout",
                "value": "true",
                "coverage": "100",
                "enabled": "on",
            },
        ),
        302,
    ),
    page(
        "flag_environment",
        "delete rule",
        lambda c: c.post_page(f"{c.checkout.pk}/env/{_env(c)}/", {"action": "delete_rule", "rule_id": c.beta_rule.pk}),
        302,
    ),
    page(
        "flag_environment",
        "move rule",
        lambda c: c.post_page(f"{c.checkout.pk}/env/{_env(c)}/", {"action": "move_down", "rule_id": c.beta_rule.pk}),
        302,
    ),
    page(
        "flag_environment",
        "kill",
        lambda c: c.post_page(f"{c.checkout.pk}/env/{_env(c)}/", {"action": "kill"}),
        302,
        "brake",
    ),
    page(
        "flag_environment", "unkill", lambda c: c.post_page(f"{c.killed.pk}/env/{_env(c)}/", {"action": "unkill"}), 302
    ),
    page(
        "flag_environment",
        "publish",
        lambda c: c.post_page(f"{c.drafty.pk}/env/{_env(c)}/", {"action": "publish"}, c.page_po),
        302,
    ),
    page(
        "flag_environment",
        "discard",
        lambda c: c.post_page(f"{c.waiting.pk}/env/{_env(c)}/", {"action": "discard"}),
        302,
    ),
    page(
        "kill_switch", "kill off", lambda c: c.post_page(f"{c.killed.pk}/env/{_env(c)}/kill/", {"killed": "false"}), 302
    ),
    page(
        "kill_switch",
        "kill on",
        lambda c: c.post_page(f"{c.checkout.pk}/env/{_env(c)}/kill/", {"killed": "true"}),
        302,
        "brake",
    ),
    page(
        "flag_revisions",
        "rollback",
        lambda c: c.post_page(f"{c.checkout.pk}/revisions/", {"revision_id": c.first_checkout.pk}),
        302,
    ),
    page(
        "approvals",
        "approve",
        lambda c: c.post_page("approvals/", {"action": "approve", "revision_id": c.pending.pk}),
        302,
        "approval",
    ),
    page(
        "approvals",
        "reject",
        lambda c: c.post_page("approvals/", {"action": "reject", "revision_id": c.pending.pk}),
        302,
    ),
    page("sdk_key_rotate", "rotate", lambda c: c.post_page(f"environments/{_env(c)}/rotate-key/", {}), 302),
    page("sdk_key_revoke", "revoke", lambda c: c.post_page(f"environments/{_env(c)}/revoke-key/", {}), 302),
    page(
        "environment_approval",
        "approval off",
        lambda c: c.post_page(f"environments/{_env(c)}/approval/", {"requires_approval": "false"}),
        302,
    ),
    page(
        "environment_encryption",
        "encrypt",
        lambda c: c.post_page(f"environments/{_env(c)}/encryption/", {"encrypted": "true"}),
        302,
    ),
    page(
        "environment_approvers",
        "name approvers",
        lambda c: c.post_page(f"environments/{_env(c)}/approvers/", {"approver_ids": [c.po.user.pk]}),
        302,
    ),
    page(
        "group_list",
        "create",
        lambda c: c.post_page(
            "groups/", {"key": "page-group", "name": "Page group", "kind": "list", "attribute": "id", "values": "a\nb"}
        ),
        302,
    ),
    page(
        "group_detail",
        "edit values",
        lambda c: c.post_page(
            f"groups/{c.list_group.pk}/",
            {"name": "Beta testers", "kind": "list", "attribute": "id", "values": "u1\nu2\nu3"},
            c.page_po,
        ),
        400,
    ),
    page(
        "group_detail",
        "edit condition",
        lambda c: c.post_page(
            f"groups/{c.condition_group.pk}/",
            {"name": "Germany", "kind": "condition", "condition": '{"country": "FR"}'},
        ),
        400,
    ),
    page("group_delete", "delete in use", lambda c: c.post_page(f"groups/{c.list_group.pk}/delete/", {}), 400),
]


def mutating_routes() -> set[str]:
    """Every flags API operation but GETs, and every flags page (a page's POST may change something)."""
    ops = {
        f"api {o.operation_id}" for o in api_operations() if o.path.startswith("/api/v1/flags") and o.method != "GET"
    }
    return ops | {f"page {p.name}" for p in pages() if p.name.startswith("flags:")}


def test_every_mutating_flags_route_has_a_scenario_or_a_reason():
    routes = mutating_routes()
    covered = {s.route for s in SCENARIOS}
    missing = routes - covered - set(NOT_MUTATING)
    assert not missing, f"Add a protected-payload scenario (or a reason in NOT_MUTATING) for: {sorted(missing)}"
    stale = (covered | set(NOT_MUTATING)) - routes
    assert not stale, f"Scenarios or reasons for routes that no longer exist: {sorted(stale)}"


def test_not_mutating__is_true(world):
    ctx = Ctx(world)
    assert ctx.page.post(f"/api/features/{ctx.sdk_key}").status_code == 405
    assert ctx.post_page("sdk/", {}).status_code == 405


def _only_difference_is_new_key(before: dict, after: dict) -> bool:
    added = set(after["features"]) - set(before["features"])
    if len(added) != 1 or set(before["features"]) - set(after["features"]):
        return False
    (key,) = added
    rest = {k: v for k, v in after["features"].items() if k != key}
    return rest == before["features"] and set(after["features"][key]) == {"defaultValue"}


def _only_difference_is_brake(before: dict, after: dict, flag_key: str) -> bool:
    rest_before = {k: v for k, v in before["features"].items() if k != flag_key}
    rest_after = {k: v for k, v in after["features"].items() if k != flag_key}
    return rest_before == rest_after and after["features"][flag_key] == {
        "defaultValue": before["features"][flag_key]["defaultValue"]
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s.route} {s.name}")
def test_protected_payload__changes_only_through_approval(world, scenario):
    ctx = Ctx(world)
    before = ctx.served()
    assert before["features"]["checkout"]["rules"] and before["savedGroups"] == {"beta-testers": ["u1", "u2"]}
    response = scenario.run(ctx)
    assert response.status_code == scenario.status, (scenario.name, response.status_code, response.content[:500])
    after = ctx.served()
    if scenario.expect == "unchanged":
        assert after == before, f"{scenario.route} ({scenario.name}) changed production without an approval"
    elif scenario.expect == "new_key":
        assert _only_difference_is_new_key(before, after)
    elif scenario.expect == "brake":
        assert _only_difference_is_brake(before, after, "checkout")
    else:
        assert scenario.expect == "approval"
        assert after != before and after["features"]["waiting"]["rules"]


# --- the ways through, service by service -------------------------------------------------------------------------


def test_group_update__refusal_names_the_flags_and_the_revision_flow(world):
    ctx = Ctx(world)
    with pytest.raises(Conflict) as exc:
        services.group_update(actor=ctx.po, group_id=ctx.list_group.pk, values=["u1"])
    assert exc.value.code == "served_under_approval"
    assert "checkout" in exc.value.message and "submit them for approval" in exc.value.message
    ctx.list_group.refresh_from_db()
    assert ctx.list_group.values == ["u1", "u2"]  # nothing half-written


def test_group_update__used_only_outside_approval_environments_changes_at_once(world):
    ctx = Ctx(world)
    dev_only = services.group_create(actor=ctx.pm, key="dev-only", name="Dev only", values=["d1"])
    services.rule_create(
        actor=ctx.pm,
        flag_id=ctx.banner.pk,
        environment_id=ctx.dev.pk,
        kind="force",
        value="x",
        saved_groups=["dev-only"],
    )
    services.group_update(actor=ctx.po, group_id=dev_only.pk, values=["d1", "d2"])
    ctx.dev.refresh_from_db()
    assert json.loads(ctx.dev.payload)["savedGroups"]["dev-only"] == ["d1", "d2"]


def test_archive__rejected_keeps_the_flag_active_and_served(world):
    ctx = Ctx(world)
    services.flag_update(actor=ctx.po, flag_id=ctx.banner.pk, archived=True)
    archiving = FlagRevision.objects.get(flag=ctx.banner, environment=ctx.prod, state="pending_approval")
    assert archiving.author == ctx.po.user
    services.revision_reject(actor=ctx.pm, revision_id=archiving.pk)
    ctx.banner.refresh_from_db()
    assert ctx.banner.archived_at is None and "banner" in ctx.served()["features"]


def test_restore__of_a_flag_archived_before_archiving_needed_approval(world):
    ctx = Ctx(world)
    # Archived the old way: the flag's archived_at set while production's published snapshot still serves it.
    Flag.objects.filter(pk=ctx.banner.pk).update(archived_at=timezone.now())
    payload.rebuild(ctx.prod)
    before = ctx.served()
    assert "banner" not in before["features"]
    services.flag_update(actor=ctx.po, flag_id=ctx.banner.pk, archived=False)
    assert ctx.served() == before
    restoring = FlagRevision.objects.get(flag=ctx.banner, environment=ctx.prod, state="pending_approval")
    services.revision_approve(actor=ctx.pm, revision_id=restoring.pk)
    assert ctx.served()["features"]["banner"] == {"defaultValue": "hi"}
