"""Flag pages, and the public GrowthBook SDK endpoint.

Pages post to services and redirect (post/redirect/get); a DomainError re-renders the page with the form's
errors and status 400. The kill-switch toggle on the list answers HTMX with the table row it changed.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from valueloop.collaboration.facade import thread_context
from valueloop.core.errors import DomainError, Invalid, PermissionDenied
from valueloop.core.pages import paginate_page, posted, public_page, safe_next, workspace_page
from valueloop.core.permissions import Scope

from . import selectors, services
from .diffs import summary
from .forms import (
    EnvironmentApprovalForm,
    EnvironmentApproversForm,
    EnvironmentEncryptionForm,
    FlagArchiveForm,
    FlagFilterForm,
    FlagForm,
    GroupDeleteForm,
    GroupSearchForm,
    KillSwitchForm,
    NewFlagForm,
    RevisionFilterForm,
    RevisionReviewForm,
    RollbackForm,
    SavedGroupForm,
    SdkKeyForm,
    value_text,
)
from .models import RULE_KINDS
from .selectors import ENV_STATES
from .validation import parse_form_value, parse_json_text

SDK_CACHE_SECONDS = 30


# --- the SDK endpoint ---------------------------------------------------------------------------------------------


def _sdk_headers(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response["Access-Control-Allow-Headers"] = "If-None-Match, Cache-Control, Content-Type"
    response["Access-Control-Expose-Headers"] = "ETag"
    response["Access-Control-Max-Age"] = "86400"
    return response


def _sdk_error(status: int, code: str, message: str) -> HttpResponse:
    body = json.dumps({"status": status, "code": code, "error": message, "message": message})
    response = _sdk_headers(HttpResponse(body, status=status, content_type="application/json"))
    response["Cache-Control"] = "no-store"
    return response


def _etag_matches(header: str, etag: str) -> bool:
    if not header or not etag:
        return False
    candidates = [part.strip() for part in header.split(",")]
    return "*" in candidates or any(c.removeprefix("W/") == etag for c in candidates)


@public_page
@require_http_methods(["GET", "HEAD", "OPTIONS"])
def sdk_payload_view(request, client_key: str):
    """``GET /api/features/<client key>``: the environment's features in GrowthBook's SDK format.

    The client key is the credential (a public identifier, as in GrowthBook): no session, no token. Answers
    304 to a matching If-None-Match, allows any origin (browser SDKs), and explains revoked and unknown keys.
    """
    if request.method == "OPTIONS":
        return _sdk_headers(HttpResponse(status=204))
    key = selectors.sdk_key_lookup(client_key)
    if key is None:
        return _sdk_error(
            404,
            "unknown_key",
            "Unknown SDK key. Check the client key your SDK is configured with "
            "(Valueloop → Flags → SDK keys shows each environment's key).",
        )
    if key.revoked_at is not None:
        when = timezone.localtime(key.revoked_at).strftime("%Y-%m-%d %H:%M %Z")
        return _sdk_error(
            401,
            "revoked_key",
            f"This SDK key was revoked on {when}. Ask a workspace admin for the environment's current key.",
        )
    environment = key.environment
    if _etag_matches(request.headers.get("If-None-Match", ""), environment.etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(environment.payload, content_type="application/json")
    response["ETag"] = environment.etag
    response["Cache-Control"] = f"public, max-age={SDK_CACHE_SECONDS}"
    return _sdk_headers(response)


# --- helpers ------------------------------------------------------------------------------------------------------


def form_errors(exc) -> dict[str, str]:
    """The error's summary (``form``) and each field's message (shown at the field; flags/_errors.html lists
    a field's message in the summary only when the summary does not already say it)."""
    return {"form": exc.message, **(exc.fields or {})}


def _nav(actor) -> dict[str, Any]:
    """What every flags page's header needs: the section, and how many changes await approval."""
    return {"section": "experiments", "pending_count": selectors.approval_list(actor=actor).count()}


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _env_state(state) -> str:
    if state.served_killed:
        return "killed"
    return "live" if state.served_rules else "default"


def _decorate(flags) -> None:
    """Per environment: (environment, state, label) for the list's status cells."""
    for flag in flags:
        open_by_env = {r.environment_id: r.state for r in flag.open_revisions}
        flag.cells = []
        for state in flag.env_states:
            open_change = open_by_env.get(state.environment_id)
            flag.cells.append(
                {
                    "state": state,
                    "environment": state.environment,
                    "status": _env_state(state),
                    "pending": open_change == "pending_approval",
                    "draft": open_change == "draft",
                }
            )


def _json_pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) if value not in (None, {}, []) else ""


def _percent(value: float) -> str:
    return f"{value * 100:g}"


# --- flags list ---------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def flag_list_view(request):
    """The flags, filtered, with each environment's state and kill switch, and the form creating a flag."""
    actor = request.actor
    form = NewFlagForm(posted(request), actor=actor)
    if form.is_bound and form.submit(services.flag_create):
        flag = form.result
        messages.success(request, f"Flag “{flag.key}” created. It serves its default value everywhere for now.")
        return redirect("flags:flag_detail", actor.workspace.slug, flag.pk)
    filters = FlagFilterForm(request.GET).values()
    flags = selectors.flag_list(
        actor=actor,
        search=filters["q"],
        archived=filters["archived"],
        environment_id=filters["environment"],
        state=filters["state"],
    )
    page = paginate_page(request, flags, 30)
    _decorate(page.object_list)
    context = {
        "page": page,
        "search": filters["q"],
        "env_filter": filters["environment"],
        "state_filter": filters["state"],
        "show_archived": filters["archived"],
        "states": ENV_STATES.items(),
        "environments": selectors.environment_list(actor=actor),
        "form": form,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        **_nav(actor),
    }
    return render(request, "flags/flag_list.html", context, status=400 if form.errors else 200)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def kill_switch_view(request, flag_id: int, environment_id: int):
    """The kill-switch toggle of the list (and the environment page)."""
    actor = request.actor
    form = KillSwitchForm(request.POST, actor=actor)
    saved = form.submit(services.kill_switch_set, flag_id=flag_id, environment_id=environment_id)
    back = safe_next(request, form.cleaned_data.get("next"), reverse("flags:flag_list", args=[actor.workspace.slug]))
    if request.htmx and saved:
        flag = selectors.flag_list(actor=actor, archived=False).filter(pk=flag_id).first()
        if flag is not None:
            _decorate([flag])
            return render(request, "flags/flag_list.html#flag-row", {"flag": flag, "can_write": True})
    if not saved:
        messages.error(request, " ".join(form.error_summary.values()))
    elif form.cleaned_data["killed"]:
        messages.success(request, "Kill switch on: everyone gets the default value.")
    else:
        messages.success(request, "Kill switch off.")
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = back
        return response
    return redirect(back)


# --- flag detail --------------------------------------------------------------------------------------------------


def _flag_detail_page(request, flag, form, archive_form=None):
    actor = request.actor
    _decorate([flag])
    context = {
        "flag": flag,
        "form": form,
        "archive_form": archive_form,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        **_nav(actor),
        **thread_context(actor=actor, entity_type="flag", entity_id=flag.pk),
    }
    failed = form.errors or (archive_form is not None and archive_form.errors)
    return render(request, "flags/flag_detail.html", context, status=400 if failed else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def flag_detail_view(request, flag_id: int):
    """A flag, its environments, and the form editing it (archiving posts to ``flag_archive``/``flag_restore``)."""
    actor = request.actor
    flag = selectors.flag_detail(actor=actor, flag_id=flag_id)
    form = FlagForm(posted(request), actor=actor, instance=flag)
    if form.is_bound and form.submit(services.flag_update, flag_id=flag.pk):
        messages.success(request, "Flag saved.")
        return redirect("flags:flag_detail", actor.workspace.slug, flag.pk)
    return _flag_detail_page(request, flag, form)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def flag_archive_view(request, flag_id: int):
    actor = request.actor
    flag = selectors.flag_detail(actor=actor, flag_id=flag_id)
    archive_form = FlagArchiveForm(request.POST, actor=actor)
    if not archive_form.submit(services.flag_update, flag_id=flag.pk, archived=True):
        return _flag_detail_page(request, flag, FlagForm(actor=actor, instance=flag), archive_form)
    if archive_form.result.archived_at is None:
        messages.success(
            request,
            f"Archiving {flag.key} awaits approval where approval is required; it is served there until someone "
            "approves.",
        )
    else:
        messages.success(request, f"{flag.key} archived: SDKs no longer receive it.")
    return redirect("flags:flag_detail", actor.workspace.slug, flag.pk)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def flag_restore_view(request, flag_id: int):
    actor = request.actor
    flag = selectors.flag_detail(actor=actor, flag_id=flag_id)
    archive_form = FlagArchiveForm(request.POST, actor=actor)
    if not archive_form.submit(services.flag_update, flag_id=flag.pk, archived=False):
        return _flag_detail_page(request, flag, FlagForm(actor=actor, instance=flag), archive_form)
    messages.success(request, f"{flag.key} restored; where approval is required it is served again once approved.")
    return redirect("flags:flag_detail", actor.workspace.slug, flag.pk)


# --- rules editor, per environment --------------------------------------------------------------------------------


def _rule_form(post, value_type: str, rule=None) -> dict[str, Any]:
    """Service arguments from the rule form (parsing errors raise Invalid naming the field)."""
    kind = post.get("kind") or (rule.kind if rule else "force")
    label = "The rule"
    data: dict[str, Any] = {
        "kind": kind,
        "description": post.get("description", ""),
        "enabled": post.get("enabled") == "on",
        "condition": parse_json_text(post.get("condition", ""), field="condition", label="The condition", empty={}),
        "saved_groups": [g for g in post.getlist("saved_groups") if g],
        "hash_attribute": post.get("hash_attribute", "id") or "id",
        "seed": post.get("seed", ""),
    }
    prerequisites = list(rule.prerequisites[1:]) if rule and rule.prerequisites else []
    parent = post.get("prerequisite_flag", "").strip()
    if parent:
        condition = parse_json_text(
            post.get("prerequisite_condition", ""), field="prerequisites", label="The prerequisite condition", empty={}
        )
        prerequisites.insert(0, {"flag": parent, "condition": condition or {"value": True}})
    data["prerequisites"] = prerequisites
    if kind in ("force", "rollout"):
        data["value"] = parse_form_value(post.get("value", ""), value_type, field="value", label=f"{label}'s value")
    if kind in ("rollout", "experiment"):
        data["coverage"] = _percent_input(post.get("coverage", "100"), "coverage")
    if kind == "experiment":
        lines = [line for line in post.get("variations", "").splitlines() if line.strip()]
        data["variations"] = [
            parse_form_value(line, value_type, field="variations", label=f"Variation {i + 1}")
            for i, line in enumerate(lines)
        ]
        weights = [w for w in post.get("weights", "").replace(";", ",").split(",") if w.strip()]
        data["weights"] = [_percent_input(w, "weights") for w in weights]
        data["variation_names"] = [n.strip() for n in post.get("variation_names", "").split(",") if n.strip()]
        data["tracking_key"] = post.get("tracking_key", "")
    return data


def _percent_input(text: str, field: str) -> float:
    try:
        value = float(str(text).strip().rstrip("%"))
    except ValueError:
        raise Invalid("Enter a percentage between 0 and 100.", fields={field: "A percentage, e.g. 25."})
    return value / 100


def _rule_form_values(rule, value_type: str) -> dict[str, Any]:
    """The rule as the edit form shows it."""
    if rule is None:
        return {
            "kind": "force",
            "description": "",
            "enabled": True,
            "condition": "",
            "saved_groups": [],
            "prerequisite_flag": "",
            "prerequisite_condition": "",
            "value": "true" if value_type == "boolean" else "",
            "coverage": "100",
            "hash_attribute": "id",
            "seed": "",
            "variations": "false\ntrue" if value_type == "boolean" else "",
            "weights": "",
            "variation_names": "",
            "tracking_key": "",
        }
    first = rule.prerequisites[0] if rule.prerequisites else None
    return {
        "kind": rule.kind,
        "description": rule.description,
        "enabled": rule.enabled,
        "condition": _json_pretty(rule.condition),
        "saved_groups": list(rule.saved_groups),
        "prerequisite_flag": first["flag"] if first else "",
        "prerequisite_condition": json.dumps(first["condition"]) if first else "",
        "value": value_text(rule.value, value_type) if rule.kind != "experiment" else "",
        "coverage": _percent(rule.coverage),
        "hash_attribute": rule.hash_attribute,
        "seed": rule.seed,
        "variations": "\n".join(value_text(v, value_type).replace("\n", " ") for v in rule.variations),
        "weights": ", ".join(_percent(w) for w in rule.weights),
        "variation_names": ", ".join(rule.variation_names),
        "tracking_key": rule.tracking_key,
    }


def _posted_form_values(post) -> dict[str, Any]:
    values = {name: post.get(name, "") for name in _rule_form_values(None, "string")}
    values["enabled"] = post.get("enabled") == "on"
    values["saved_groups"] = post.getlist("saved_groups")
    return values


def _rule_view(rule, value_type: str, form: dict[str, Any]) -> dict[str, Any]:
    return {
        "rule": rule,
        "form": form,
        "condition_text": _json_pretty(rule.condition),
        "variations": [
            {
                "value": v,
                "weight": _percent(w),
                "name": rule.variation_names[i] if i < len(rule.variation_names) else "",
            }
            for i, (v, w) in enumerate(zip(rule.variations, rule.weights, strict=False))
        ],
        "coverage_text": _percent(rule.coverage),
        "more_prerequisites": max(len(rule.prerequisites) - 1, 0),
    }


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def flag_environment_view(request, flag_id: int, environment_id: int):
    actor = request.actor
    detail = selectors.flag_environment(actor=actor, flag_id=flag_id, environment_id=environment_id)
    flag, environment = detail["flag"], detail["env"]
    errors: dict = {}
    error_target = ""
    posted: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        rule_id = _int(request.POST.get("rule_id"))
        error_target = f"rule-{rule_id}" if rule_id and action == "update_rule" else action
        args = {"actor": actor, "flag_id": flag.pk, "environment_id": environment.pk}
        try:
            message = _environment_action(request, action, rule_id, flag, args)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = form_errors(exc)
            posted = request.POST
        else:
            if message:
                messages.success(request, message)
            return redirect("flags:flag_environment", actor.workspace.slug, flag.pk, environment.pk)
        detail = selectors.flag_environment(actor=actor, flag_id=flag_id, environment_id=environment_id)
    groups = selectors.group_keys(actor.workspace)
    rules = []
    for rule in detail["rules"]:
        own_error = bool(errors) and error_target == f"rule-{rule.pk}"
        form = _posted_form_values(posted) if own_error else _rule_form_values(rule, flag.value_type)
        rules.append({**_rule_view(rule, flag.value_type, form), "has_error": own_error, "prefix": f"r{rule.pk}"})
    new_form = (
        _posted_form_values(posted)
        if errors and error_target == "add_rule"
        else _rule_form_values(None, flag.value_type)
    )
    tabs = selectors.flag_detail(actor=actor, flag_id=flag.pk)
    _decorate([tabs])
    open_change = detail["open_change"]
    published = detail["published"]
    context = {
        **detail,
        "flag": tabs,
        "rules": rules,
        "new_form": new_form,
        "errors": errors,
        "error_target": error_target,
        "show_errors_inline": error_target == "add_rule" or error_target.startswith("rule-"),
        "posted": posted,
        "environments": selectors.environment_list(actor=actor),
        "groups": groups,
        "flag_keys": selectors.flag_keys(actor.workspace, exclude=flag.pk),
        "rule_kinds": RULE_KINDS,
        "open_changes": summary(open_change.diff, open_change.snapshot.get("rules")) if open_change else [],
        "served": published.snapshot if published else None,
        "default_text": value_text(detail["default_value"], flag.value_type),
        "can_write": actor.can(Scope.PORTFOLIO_WRITE) and flag.archived_at is None,
        "editable": actor.can(Scope.PORTFOLIO_WRITE)
        and flag.archived_at is None
        and (open_change is None or open_change.state == "draft"),
        "can_approve": selectors.may_approve(actor, environment),
        "is_contributor": bool(open_change and actor.user.pk in (open_change.contributors or [])),
        **_nav(actor),
    }
    return render(request, "flags/flag_environment.html", context, status=400 if errors else 200)


def _environment_action(request, action: str, rule_id: int | None, flag, args: dict) -> str:
    post = request.POST
    if action == "add_rule":
        rule = services.rule_create(**args, **_rule_form(post, flag.value_type))
        return f"Rule added ({rule.get_kind_display().lower()})."
    if action == "update_rule":
        current = next(
            (
                r
                for r in selectors.flag_environment(
                    actor=args["actor"], flag_id=args["flag_id"], environment_id=args["environment_id"]
                )["rules"]
                if r.pk == rule_id
            ),
            None,
        )
        services.rule_update(
            **args,
            rule_id=rule_id or 0,
            expected_version=_int(post.get("version")),
            **_rule_form(post, flag.value_type, current),
        )
        return "Rule saved."
    if action == "delete_rule":
        services.rule_delete(**args, rule_id=rule_id or 0)
        return "Rule removed."
    if action in ("move_up", "move_down"):
        services.rule_move(**args, rule_id=rule_id or 0, direction=action.removeprefix("move_"))
        return ""
    if action in ("kill", "unkill"):
        services.kill_switch_set(**args, killed=action == "kill")
        return "Kill switch on: everyone gets the default value." if action == "kill" else "Kill switch off."
    if action == "publish":
        revision = services.draft_publish(**args, comment=post.get("comment", ""))
        if revision.state == "pending_approval":
            return f"Revision #{revision.number} submitted for approval."
        return f"Revision #{revision.number} published."
    if action == "discard":
        services.draft_discard(**args)
        return "Unpublished changes discarded."
    raise Invalid("Unknown action.")


# --- revisions ----------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def revision_list_view(request, flag_id: int):
    """A flag's revisions, per environment, and the rollback button of each older one."""
    actor = request.actor
    flag = selectors.access_flag(actor=actor, id=flag_id)
    environment_id = RevisionFilterForm(request.GET).values()["environment"]
    form = RollbackForm(posted(request), actor=actor)
    if form.is_bound:
        if form.submit(services.revision_rollback):
            revision = form.result
            if revision.state == "pending_approval":
                messages.success(request, f"Rollback submitted for approval as revision #{revision.number}.")
            else:
                messages.success(request, f"Rolled back: revision #{revision.number} is now served.")
        else:
            messages.error(request, " ".join(form.error_summary.values()))
        url = reverse("flags:flag_revisions", args=[actor.workspace.slug, flag.pk])
        return redirect(f"{url}?environment={environment_id}" if environment_id else url)
    revisions = selectors.revision_list(actor=actor, flag_id=flag.pk, environment_id=environment_id)
    page = paginate_page(request, revisions, 25)
    live = selectors.live_revision_ids(actor=actor, flag_id=flag.pk)
    open_envs = selectors.open_environment_ids(actor=actor, flag_id=flag.pk)
    for revision in page.object_list:
        revision.changes = summary(revision.diff, revision.snapshot.get("rules"))
        revision.is_live = revision.pk in live
        revision.env_open = revision.environment_id in open_envs
    context = {
        "flag": flag,
        "page": page,
        "environment_id": environment_id,
        "environments": selectors.environment_list(actor=actor),
        "can_write": actor.can(Scope.PORTFOLIO_WRITE) and flag.archived_at is None,
        **_nav(actor),
    }
    return render(request, "flags/revisions.html", context)


# --- approvals ----------------------------------------------------------------------------------------------------


def _review(request, form):
    """Approve or reject, then back to ``next`` (or the approvals page) with the outcome as a message."""
    fallback = reverse("flags:approvals", args=[request.actor.workspace.slug])
    done = False
    if form.is_valid():
        try:
            done = form.submit(form.service)
        except PermissionDenied as exc:
            # Who may review depends on the change (not the author, a named approver): the approvals page and the
            # environment page show the refusal as a message beside the change, not a 403 page.
            messages.error(request, exc.message)
            return redirect(safe_next(request, form.cleaned_data.get("next"), fallback))
    if done:
        revision = form.result
        if form.cleaned_data["action"] == "approve":
            messages.success(request, f"Approved: {revision.flag.key} #{revision.number} is now served.")
        else:
            messages.success(request, f"Rejected {revision.flag.key} #{revision.number}.")
    else:
        messages.error(request, " ".join(form.error_summary.values()))
    return redirect(safe_next(request, form.cleaned_data.get("next"), fallback))


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def approval_list_view(request):
    """The changes awaiting approval; each one's form approves or rejects it."""
    actor = request.actor
    form = RevisionReviewForm(posted(request), actor=actor)
    if form.is_bound:
        return _review(request, form)
    pending = list(selectors.approval_list(actor=actor))
    user_id = actor.user.pk
    may_approve: dict[int, bool] = {}
    for revision in pending:
        revision.changes = summary(revision.diff, revision.snapshot.get("rules"))
        revision.own = user_id == revision.author_id or user_id in (revision.contributors or [])
        if revision.environment_id not in may_approve:
            may_approve[revision.environment_id] = selectors.may_approve(actor, revision.environment)
        revision.can_review = may_approve[revision.environment_id]
    context = {"revisions": pending, **_nav(actor)}
    return render(request, "flags/approvals.html", context)


# --- SDK keys -----------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD"])
def sdk_view(request):
    """The SDK keys and setup page; its buttons post to their own URLs (below)."""
    actor = request.actor
    is_admin = actor.can(Scope.WORKSPACE_MANAGE)
    environments = selectors.environment_list(actor=actor)
    base = settings.VALUELOOP_PUBLIC_URL.rstrip("/")
    counts = selectors.counts_by_environment(actor.workspace)
    for environment in environments:
        key = selectors.active_key(environment)
        environment.client_key = key.key if (key and is_admin) else None
        environment.has_key = key is not None
        environment.live = counts.get(environment.key, {}).get("live", 0)
        environment.killed = counts.get(environment.key, {}).get("killed", 0)
    context = {
        "environments": environments,
        "is_admin": is_admin,
        "api_host": base,
        **_nav(actor),
    }
    return render(request, "flags/sdk.html", context)


def _sdk_button(request, form, service, done: str, **fixed):
    """Submit one of the SDK page's buttons and go back to the page, with ``done`` or the refusal as a message."""
    if form.submit(service, **fixed):
        messages.success(request, done)
    else:
        messages.error(request, " ".join(form.error_summary.values()))
    return redirect("flags:sdk", request.actor.workspace.slug)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_POST
def sdk_key_rotate_view(request, environment_id: int):
    form = SdkKeyForm(request.POST, actor=request.actor)
    done = "New SDK key issued; the old one now answers 401."
    return _sdk_button(request, form, services.sdk_key_rotate, done, environment_id=environment_id)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_POST
def sdk_key_revoke_view(request, environment_id: int):
    form = SdkKeyForm(request.POST, actor=request.actor)
    done = "SDK key revoked. Issue a new key to serve this environment again."
    return _sdk_button(request, form, services.sdk_key_revoke, done, environment_id=environment_id)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_POST
def environment_approval_view(request, environment_id: int):
    form = EnvironmentApprovalForm(request.POST, actor=request.actor)
    done = "Approval setting saved."
    return _sdk_button(request, form, services.environment_update, done, environment_id=environment_id)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_POST
def environment_encryption_view(request, environment_id: int):
    form = EnvironmentEncryptionForm(request.POST, actor=request.actor)
    done = "Encryption setting saved."
    return _sdk_button(request, form, services.environment_update, done, environment_id=environment_id)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def environment_approvers_view(request, environment_id: int):
    """Name the members who alone may approve changes in one environment (admins)."""
    actor = request.actor
    environment = selectors.access_environment(actor=actor, id=environment_id)
    initial = {"approver_ids": [u.pk for u in environment.approvers.all()], "version": environment.version}
    form = EnvironmentApproversForm(posted(request), actor=actor, initial=initial)
    if form.is_bound and form.submit(services.environment_update, environment_id=environment.pk):
        names = ", ".join(u.display_name for u in selectors.approver_users(form.result))
        messages.success(request, f"Approvers of {environment.name} saved: {names or 'nobody'}.")
        return redirect("flags:sdk", actor.workspace.slug)
    context = {"environment": environment, "form": form, **_nav(actor)}
    return render(request, "flags/approvers.html", context, status=400 if form.errors else 200)


# --- saved groups -------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def group_list_view(request):
    """The saved groups, searchable, and the form creating one."""
    actor = request.actor
    form = SavedGroupForm(posted(request), actor=actor)
    if form.is_bound and form.submit(services.group_create):
        messages.success(request, f"Saved group “{form.result.name}” created.")
        return redirect("flags:group_list", actor.workspace.slug)
    search = GroupSearchForm(request.GET).values()["q"]
    page = paginate_page(request, selectors.group_list(actor=actor, search=search), 30)
    context = {
        "page": page,
        "search": search,
        "form": form,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        **_nav(actor),
    }
    return render(request, "flags/group_list.html", context, status=400 if form.errors else 200)


def _group_detail_page(request, group, form, delete_form=None):
    context = {
        "group": group,
        "form": form,
        "delete_form": delete_form,
        "can_write": request.actor.can(Scope.PORTFOLIO_WRITE),
        **_nav(request.actor),
    }
    failed = form.errors or (delete_form is not None and delete_form.errors)
    return render(request, "flags/group_detail.html", context, status=400 if failed else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def group_detail_view(request, group_id: int):
    """A saved group and the form editing it (deleting it posts to ``group_delete``)."""
    actor = request.actor
    group = selectors.access_group(actor=actor, id=group_id)
    form = SavedGroupForm(posted(request), actor=actor, instance=group)
    if form.is_bound and form.submit(services.group_update, group_id=group.pk):
        messages.success(request, "Saved group saved.")
        return redirect("flags:group_detail", actor.workspace.slug, group.pk)
    return _group_detail_page(request, group, form)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def group_delete_view(request, group_id: int):
    """Delete a saved group; one that rules use is refused, shown on the group's page."""
    actor = request.actor
    group = selectors.access_group(actor=actor, id=group_id)
    delete_form = GroupDeleteForm(request.POST, actor=actor)
    if delete_form.submit(services.group_delete, group_id=group.pk):
        messages.success(request, f"Saved group “{group.name}” deleted.")
        return redirect("flags:group_list", actor.workspace.slug)
    return _group_detail_page(request, group, SavedGroupForm(actor=actor, instance=group), delete_form)
