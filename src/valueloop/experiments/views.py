"""Experiment pages: the list, create/edit, the design (power analysis, updated live with HTMX as the PM types),
the results (effects with intervals, SRM and guardrail warnings, the cumulative effect, the decision form),
metric definitions and the learning log.

Pages post to services and redirect (post/redirect/get); a DomainError re-renders the form with the errors
(naming the field) and status 400. The design figures answer HTMX with the ``figures`` fragment.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from valueloop.collaboration.facade import thread_context
from valueloop.core import charts
from valueloop.core.errors import DomainError, Invalid
from valueloop.core.pages import workspace_page
from valueloop.core.permissions import Scope
from valueloop.discovery.facade import problem_choices
from valueloop.flags import facade as flags
from valueloop.planning.facade import feature_choices

from . import analysis, design, selectors, services
from .models import AGGREGATIONS, CORRECTIONS, METHODS, METRIC_KINDS, OUTCOMES, STATUSES

WRITE = Scope.PORTFOLIO_WRITE
MAX_FORM_VARIATIONS = 8


def form_errors(exc) -> dict[str, str]:
    """The error's summary (``form``) and each field's message."""
    return {"form": exc.message, **(exc.fields or {})}


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _number(data, name: str, label: str, *, percent: bool = False, required: bool = True) -> float | None:
    """A number typed into a form (``percent``: 4.5 means 0.045); ``Invalid`` naming the field."""
    text = (data.get(name) or "").strip().replace(",", ".").rstrip("%").strip()
    if not text:
        if required:
            raise Invalid(f"{label} is required.", fields={name: "Required."})
        return None
    try:
        value = float(text)
    except ValueError:
        raise Invalid(f"{label} must be a number.", fields={name: "A number, e.g. 4.5."}) from None
    if not math.isfinite(value):
        raise Invalid(f"{label} must be a finite number.", fields={name: "A finite number."})
    return value / 100 if percent else value


def _whole(data, name: str, label: str, *, required: bool = False) -> int | None:
    value = _number(data, name, label, required=required)
    if value is None:
        return None
    if value != int(value):
        raise Invalid(f"{label} must be a whole number.", fields={name: "A whole number."})
    return int(value)


def _nav(actor) -> dict[str, Any]:
    return {"section": "experiments", "can_write": actor.can(WRITE)}


def _events_url(actor) -> str:
    try:
        return reverse("events:overview", args=[actor.workspace.slug])
    except NoReverseMatch:
        return ""


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


# --- list ---------------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD"])
def experiment_list_view(request: HttpRequest):
    actor = request.actor
    status = request.GET.get("status", "")
    search = request.GET.get("q", "").strip()[:200]
    experiments = selectors.experiment_list(actor=actor, status=status, search=search)
    page = Paginator(experiments, 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status if status in dict(STATUSES) else "",
        "search": search,
        "statuses": STATUSES,
        **_nav(actor),
    }
    if request.htmx:
        return render(request, "experiments/experiment_list.html#rows", context)
    return render(request, "experiments/experiment_list.html", context)


# --- create and edit ----------------------------------------------------------------------------------------------


def _form_context(actor, experiment=None) -> dict[str, Any]:
    metrics = selectors.metric_choices(actor.workspace)
    flag_list = [flags.flag_summary(actor.workspace, pk) for pk, _ in flags.flag_choices(actor.workspace)]
    return {
        "features": feature_choices(actor.workspace),
        "problems": problem_choices(actor.workspace),
        "flag_options": [f for f in flag_list if f],
        "environments": flags.environment_choices(actor.workspace),
        "metric_options": metrics,
        "methods": METHODS,
        "corrections": CORRECTIONS,
    }


def _initial(experiment=None) -> dict[str, Any]:
    if experiment is None:
        return {
            "key": "",
            "name": "",
            "hypothesis": "",
            "feature_id": None,
            "problem_id": None,
            "flag_id": None,
            "environment_id": None,
            "rows": [
                {"name": "Control", "value": "", "weight": ""},
                {"name": "Treatment", "value": "", "weight": ""},
                {"name": "", "value": "", "weight": ""},
            ],
            "coverage": "100",
            "condition": "",
            "hash_attribute": "id",
            "primary": None,
            "secondary": [],
            "guardrail": [],
            "planned_start": "",
            "planned_days": "14",
            "daily_traffic": "",
            "method": "frequentist",
            "alpha": "0.05",
            "correction": "none",
            "cuped_days": "0",
            "prior_proper": False,
            "prior_mean": "0",
            "prior_sd": "0.3",
            "version": None,
        }
    links = selectors.metric_links(experiment)
    rows = [
        {"name": v.get("name", ""), "value": _value_text(v.get("value")), "weight": f"{w * 100:g}"}
        for v, w in zip(experiment.variations, experiment.weights, strict=False)
    ]
    if len(rows) < MAX_FORM_VARIATIONS:
        rows.append({"name": "", "value": "", "weight": ""})
    return {
        "key": experiment.key,
        "name": experiment.name,
        "hypothesis": experiment.hypothesis,
        "feature_id": experiment.feature_id,
        "problem_id": experiment.problem_id,
        "flag_id": experiment.flag_id,
        "environment_id": experiment.environment_id,
        "rows": rows,
        "coverage": f"{experiment.coverage * 100:g}",
        "condition": json.dumps(experiment.condition, indent=2) if experiment.condition else "",
        "hash_attribute": experiment.hash_attribute,
        "primary": next((link.metric_id for link in links if link.role == "primary"), None),
        "secondary": [link.metric_id for link in links if link.role == "secondary"],
        "guardrail": [link.metric_id for link in links if link.role == "guardrail"],
        "planned_start": experiment.planned_start.isoformat() if experiment.planned_start else "",
        "planned_days": str(experiment.planned_days),
        "daily_traffic": str(experiment.daily_traffic or ""),
        "method": experiment.method,
        "alpha": f"{experiment.alpha:g}",
        "correction": experiment.correction,
        "cuped_days": str(experiment.cuped_days),
        "prior_proper": experiment.prior_proper,
        "prior_mean": f"{experiment.prior_mean:g}",
        "prior_sd": f"{experiment.prior_sd:g}",
        "version": experiment.version,
    }


def _posted(post) -> dict[str, Any]:
    """The form as typed (to show it again after an error)."""
    rows = []
    for i in range(MAX_FORM_VARIATIONS):
        if f"var_name_{i}" not in post and f"var_value_{i}" not in post:
            continue
        rows.append(
            {
                "name": post.get(f"var_name_{i}", ""),
                "value": post.get(f"var_value_{i}", ""),
                "weight": post.get(f"var_weight_{i}", ""),
            }
        )
    if len(rows) < 2:
        rows += [{"name": "", "value": "", "weight": ""}] * (2 - len(rows))
    return {
        "key": post.get("key", "").strip(),
        "name": post.get("name", ""),
        "hypothesis": post.get("hypothesis", ""),
        "feature_id": _int(post.get("feature_id")),
        "problem_id": _int(post.get("problem_id")),
        "flag_id": _int(post.get("flag_id")),
        "environment_id": _int(post.get("environment_id")),
        "rows": rows,
        "coverage": post.get("coverage", ""),
        "condition": post.get("condition", ""),
        "hash_attribute": post.get("hash_attribute", "id"),
        "primary": _int(post.get("primary_metric")),
        "secondary": [m for m in (_int(v) for v in post.getlist("secondary_metrics")) if m],
        "guardrail": [m for m in (_int(v) for v in post.getlist("guardrail_metrics")) if m],
        "planned_start": post.get("planned_start", ""),
        "planned_days": post.get("planned_days", ""),
        "daily_traffic": post.get("daily_traffic", ""),
        "method": post.get("method", "frequentist"),
        "alpha": post.get("alpha", ""),
        "correction": post.get("correction", "none"),
        "cuped_days": post.get("cuped_days", "0"),
        "prior_proper": post.get("prior_proper") == "on",
        "prior_mean": post.get("prior_mean", "0"),
        "prior_sd": post.get("prior_sd", "0.3"),
        "version": _int(post.get("version")),
    }


def _metric_links(form: dict[str, Any]) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = []
    seen: set[int] = set()
    if form["primary"]:
        links.append({"metric_id": form["primary"], "role": "primary"})
        seen.add(form["primary"])
    for role in ("secondary", "guardrail"):
        for metric_id in form[role]:
            if metric_id in seen:
                raise Invalid(
                    "A metric plays one role per experiment: untick it in the other list.",
                    fields={f"{role}_metrics": "Already used in another role."},
                )
            seen.add(metric_id)
            links.append({"metric_id": metric_id, "role": role})
    return links


def _split_from_form(actor, form: dict[str, Any], post) -> dict[str, Any]:
    flag = flags.flag_summary(actor.workspace, form["flag_id"])
    if flag is None:
        raise Invalid("Choose the flag the experiment runs on.", fields={"flag_id": "Choose a flag."})
    variations, weights = [], []
    for i, row in enumerate(form["rows"]):
        name, value = row["name"].strip(), row["value"]
        if not name and not value.strip():
            continue
        if not name:
            raise Invalid(f"Variation {i + 1} has a value but no name.", fields={"variations": "Name each variation."})
        parsed = flags.parse_flag_value(value, flag["value_type"], field="variations", label=f"The value of “{name}”")
        variations.append({"name": name, "value": parsed})
        weights.append(row["weight"])
    given = [w for w in weights if str(w).strip()]
    if given and len(given) != len(weights):
        raise Invalid(
            "Give every variation a weight, or none (for an equal split).",
            fields={"weights": "A weight for every variation, or none."},
        )
    parsed_weights = None
    if given:
        parsed_weights = [
            _number({"weights": w}, "weights", f"The weight of variation {i + 1}", percent=True)
            for i, w in enumerate(weights)
        ]
    return {
        "flag_id": form["flag_id"],
        "environment_id": form["environment_id"],
        "variations": variations,
        "weights": parsed_weights,
        "coverage": _number(post, "coverage", "Coverage", percent=True),
        "condition": form["condition"],
        "hash_attribute": form["hash_attribute"] or "id",
    }


def _settings_from_form(form: dict[str, Any], post) -> dict[str, Any]:
    return {
        "planned_start": form["planned_start"],
        "planned_days": _whole(post, "planned_days", "The planned duration", required=True),
        "daily_traffic": _whole(post, "daily_traffic", "Daily traffic"),
        "method": form["method"],
        "alpha": _number(post, "alpha", "The significance level"),
        "correction": form["correction"],
        "cuped_days": _whole(post, "cuped_days", "CUPED days") or 0,
        "prior_proper": form["prior_proper"],
        "prior_mean": _number(post, "prior_mean", "The prior mean"),
        "prior_sd": _number(post, "prior_sd", "The prior standard deviation"),
    }


@workspace_page(WRITE)
@require_http_methods(["GET", "HEAD", "POST"])
def experiment_create_view(request: HttpRequest):
    actor = request.actor
    errors: dict[str, str] = {}
    form = _initial()
    if request.method == "GET":
        form["feature_id"] = _int(request.GET.get("feature"))
        form["problem_id"] = _int(request.GET.get("problem"))
        form["flag_id"] = _int(request.GET.get("flag"))
    if request.method == "POST":
        form = _posted(request.POST)
        try:
            experiment = services.experiment_create(
                actor=actor,
                key=form["key"],
                name=form["name"],
                hypothesis=form["hypothesis"],
                feature_id=form["feature_id"],
                problem_id=form["problem_id"],
                metrics=_metric_links(form),
                **_split_from_form(actor, form, request.POST),
                **_settings_from_form(form, request.POST),
            )
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, f"Experiment “{experiment.name}” created as a draft. Plan its size next.")
            return redirect("experiments:experiment_design", actor.workspace.slug, experiment.pk)
    context = {
        "form": form,
        "errors": errors,
        "experiment": None,
        "locked": False,
        **_form_context(actor),
        **_nav(actor),
    }
    return render(request, "experiments/experiment_form.html", context, status=400 if errors else 200)


@workspace_page(WRITE)
@require_http_methods(["GET", "HEAD", "POST"])
def experiment_edit_view(request: HttpRequest, experiment_id: int):
    actor = request.actor
    experiment = selectors.experiment_detail(actor=actor, id=experiment_id)
    locked = experiment.status != "draft"
    errors: dict[str, str] = {}
    form = _initial(experiment)
    if request.method == "POST":
        form = _posted(request.POST)
        try:
            changes: dict[str, Any] = {
                "name": form["name"],
                "hypothesis": form["hypothesis"],
                "feature_id": form["feature_id"],
                "problem_id": form["problem_id"],
                "metrics": _metric_links(form),
                **_settings_from_form(form, request.POST),
            }
            if not locked:
                changes["key"] = form["key"]
                changes.update(_split_from_form(actor, form, request.POST))
            services.experiment_update(
                actor=actor, experiment_id=experiment.pk, expected_version=form["version"], **changes
            )
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = form_errors(exc)
            if locked:  # the fixed parts are shown as they are, not as posted
                fixed = _initial(experiment)
                for name in ("key", "flag_id", "environment_id", "rows", "coverage", "condition", "hash_attribute"):
                    form[name] = fixed[name]
        else:
            messages.success(request, "Experiment saved.")
            return redirect("experiments:experiment_detail", actor.workspace.slug, experiment.pk)
    context = {
        "form": form,
        "errors": errors,
        "experiment": experiment,
        "locked": locked,
        **_form_context(actor, experiment),
        **_nav(actor),
    }
    return render(request, "experiments/experiment_form.html", context, status=400 if errors else 200)


# --- detail, start, stop ------------------------------------------------------------------------------------------


def _flag_status(actor, experiment) -> dict[str, Any]:
    return flags.experiment_rule_status(actor.workspace, experiment.flag_id, experiment.environment_id, experiment.key)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD"])
def experiment_detail_view(request: HttpRequest, experiment_id: int):
    actor = request.actor
    experiment = selectors.experiment_detail(actor=actor, id=experiment_id)
    links = selectors.metric_links(experiment)
    context = {
        "experiment": experiment,
        "links": links,
        "variations": [
            {"name": v.get("name"), "value": _value_text(v.get("value")), "weight": w}
            for v, w in zip(experiment.variations, experiment.weights, strict=False)
        ],
        "flag_status": _flag_status(actor, experiment),
        "has_primary": any(link.role == "primary" for link in links),
        "learnings": list(experiment.learnings.all()),
        **_nav(actor),
        **thread_context(actor=actor, entity_type="experiment", entity_id=experiment.pk),
    }
    return render(request, "experiments/experiment_detail.html", context)


@workspace_page(WRITE)
@require_POST
def experiment_start_view(request: HttpRequest, experiment_id: int):
    actor = request.actor
    try:
        experiment = services.experiment_start(
            actor=actor, experiment_id=experiment_id, expected_version=_int(request.POST.get("version"))
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    else:
        result = getattr(experiment, "flag_result", None) or {}
        if result.get("state") == "pending_approval":
            messages.success(
                request,
                f"Experiment started. The flag change awaits approval in {experiment.environment.name} "
                f"(revision #{result.get('revision')}): users see the variations once someone approves it.",
            )
        else:
            messages.success(request, "Experiment started: the flag serves its variations now.")
    return redirect("experiments:experiment_detail", actor.workspace.slug, experiment_id)


@workspace_page(WRITE)
@require_POST
def experiment_stop_view(request: HttpRequest, experiment_id: int):
    actor = request.actor
    try:
        services.experiment_stop(
            actor=actor,
            experiment_id=experiment_id,
            expected_version=_int(request.POST.get("version")),
            end_rule=request.POST.get("keep_rule") != "on",
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, "Experiment stopped: the analysis ends here. Record a decision on the results page.")
    return redirect("experiments:experiment_results", actor.workspace.slug, experiment_id)


# --- design -------------------------------------------------------------------------------------------------------


def _design_form(experiment, data) -> dict[str, Any]:
    saved = experiment.design or {}
    weights = "/".join(f"{w * 100:g}" for w in experiment.weights)

    def pick(name: str, default: Any) -> str:
        if name in data:
            return str(data.get(name, ""))
        value = saved.get(name, default)
        return "" if value is None else str(value)

    return {
        "kind": pick("kind", "binomial"),
        "baseline": pick("baseline", "10"),
        "variance": pick("variance", ""),
        "mde": pick("mde", "5"),
        "relative": pick("relative", "relative"),
        "alpha": pick("alpha", f"{experiment.alpha:g}"),
        "power": pick("power", "0.8"),
        "daily_traffic": pick("daily_traffic", experiment.daily_traffic or ""),
        "coverage": pick("coverage", f"{experiment.coverage * 100:g}"),
        "weights": pick("weights", weights),
        "planned_days": pick("planned_days", experiment.planned_days),
    }


def _design_input(form: dict[str, Any]) -> design.DesignInput:
    kind = form["kind"] if form["kind"] in ("binomial", "mean") else "binomial"
    relative = form["relative"] != "absolute"
    baseline = _number(form, "baseline", "Baseline", percent=kind == "binomial")
    mde = _number(form, "mde", "Minimum detectable effect", percent=relative or kind == "binomial")
    weight_parts = [p for p in str(form["weights"]).replace(",", "/").split("/") if p.strip()]
    weights = tuple(_number({"weights": p}, "weights", "Weights", percent=True) or 0.0 for p in weight_parts)
    return design.DesignInput(
        kind=kind,
        baseline=baseline or 0.0,
        variance=_number(form, "variance", "Variance", required=False) if kind == "mean" else None,
        mde=mde or 0.0,
        relative=relative,
        alpha=_number(form, "alpha", "Significance level") or 0.0,
        power=_number(form, "power", "Power") or 0.0,
        daily_traffic=_number(form, "daily_traffic", "Daily traffic", required=False),
        coverage=_number(form, "coverage", "Coverage", percent=True) or 0.0,
        weights=weights,
        planned_days=_whole(form, "planned_days", "Planned duration"),
    )


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def experiment_design_view(request: HttpRequest, experiment_id: int):
    actor = request.actor
    experiment = selectors.experiment_detail(actor=actor, id=experiment_id)
    data = request.POST if request.method == "POST" else request.GET
    form = _design_form(experiment, data)
    errors: dict[str, str] = {}
    result = None
    status = 200
    try:
        inputs = _design_input(form)
        result = design.calculate(inputs)
    except Invalid as exc:
        errors = form_errors(exc)
    if request.method == "POST" and not errors and result is not None:
        saved = {
            "kind": inputs.kind,
            "baseline": form["baseline"],
            "variance": form["variance"],
            "mde": form["mde"],
            "relative": form["relative"],
            "power": form["power"],
            "n_per_variation": result.n_per_variation,
            "n_total": result.n_total,
            "days": result.days,
        }
        changes: dict[str, Any] = {"design": saved}
        if inputs.planned_days:
            changes["planned_days"] = inputs.planned_days
        if inputs.daily_traffic:
            changes["daily_traffic"] = int(inputs.daily_traffic)
        try:
            services.experiment_update(
                actor=actor, experiment_id=experiment.pk, expected_version=_int(request.POST.get("version")), **changes
            )
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, "Plan saved with the experiment.")
            return redirect("experiments:experiment_detail", actor.workspace.slug, experiment.pk)
    if request.method == "POST" and errors:
        status = 400
    context = {
        "experiment": experiment,
        "form": form,
        "errors": errors,
        "result": result,
        "variation_count": len(experiment.variations),
        **_nav(actor),
    }
    if request.htmx and request.method == "GET":
        return render(request, "experiments/experiment_design.html#figures", context)
    return render(request, "experiments/experiment_design.html", context, status=status)


# --- results and decision -----------------------------------------------------------------------------------------


def _effects(readout) -> charts.Chart | None:
    rows = []
    for metric in readout.metrics:
        for effect in metric.effects:
            rel = effect.relative
            rows.append(
                {
                    "label": metric.definition.name,
                    "sublabel": effect.name,
                    "estimate": rel.estimate,
                    "ci_low": rel.ci_low,
                    "ci_high": rel.ci_high,
                    "verdict": effect.verdict,
                }
            )
    return charts.effects_chart("Relative effect of each variation against the control", rows) if rows else None


def _adjustment(readout) -> dict[str, str] | None:
    """What the page says about adjusted intervals: a short line and the tooltip, or None when nothing is adjusted."""
    settings = readout.settings
    if settings.method == "bayesian" or settings.correction in ("", "none") or not readout.family_size:
        return None
    m = readout.family_size
    alpha = f"{settings.alpha:g}"
    if settings.correction == "holm":
        name = "Holm"
        detail = (
            f"Holm's step-down procedure tests the {m} comparisons from the smallest p-value up, at α/{m}, "
            f"α/{m - 1}, … (α = {alpha}) until one is not significant. Each interval is drawn at the level of the "
            f"step that tested its comparison, so it excludes zero exactly when the adjusted p-value is below {alpha}."
        )
    else:
        name = "Benjamini–Hochberg"
        detail = (
            f"Benjamini–Yekutieli false-coverage-rate intervals: every interval is drawn at error rate R·α/{m} "
            f"(R = the number of significant comparisons, at least 1; α = {alpha}), so they exclude zero exactly for "
            "the comparisons Benjamini–Hochberg finds significant."
        )
    return {"short": f"intervals adjusted for {m} comparisons, {name}", "name": name, "count": str(m), "detail": detail}


def _results_context(actor, experiment, readout, *, errors=None, decision_form=None) -> dict[str, Any]:
    environments = flags.environment_choices(actor.workspace)
    rollout_choices = [e for e in environments if e["id"] == experiment.environment_id or e["key"] == "production"]
    timeline = None
    if readout is not None and readout.series:
        names = dict(enumerate(experiment.variation_names))
        timeline = charts.timeline(
            "Cumulative relative effect of the primary metric, day by day",
            [p.__dict__ for p in readout.series],
            names,
            legend_suffix=" vs control",
        )
    decision = getattr(experiment, "decision", None)  # reverse one-to-one: None when not decided yet
    names = experiment.variation_names
    return {
        "experiment": experiment,
        "readout": readout,
        "unit_rows": list(zip(names, readout.units, strict=False)) if readout is not None else [],
        "effects": _effects(readout) if readout is not None else None,
        "adjustment": _adjustment(readout) if readout is not None else None,
        "summary": analysis.plain_summary(readout) if readout is not None else "",
        "timeline": timeline,
        "decision_variation": names[decision.variation]
        if decision is not None and decision.variation is not None and decision.variation < len(names)
        else "",
        "flag_status": _flag_status(actor, experiment),
        "decision": decision,
        "learning": getattr(decision, "learning", None) if decision else None,
        "rollout_choices": rollout_choices,
        "outcomes": OUTCOMES,
        "errors": errors or {},
        "decision_form": decision_form
        or {"outcome": "", "variation": None, "learning": "", "rollout": False, "rollout_environment_id": None},
        "events_url": _events_url(actor),
        "can_decide": actor.can(WRITE) and experiment.status in ("running", "stopped") and decision is None,
        **_nav(actor),
    }


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD"])
def experiment_results_view(request: HttpRequest, experiment_id: int):
    actor = request.actor
    experiment, readout = selectors.experiment_results(actor=actor, id=experiment_id)
    return render(request, "experiments/experiment_results.html", _results_context(actor, experiment, readout))


@workspace_page(WRITE)
@require_POST
def experiment_decide_view(request: HttpRequest, experiment_id: int):
    actor = request.actor
    post = request.POST
    form = {
        "outcome": post.get("outcome", ""),
        "variation": _int(post.get("variation")),
        "learning": post.get("learning", ""),
        "rollout": post.get("rollout") == "on",
        "rollout_environment_id": _int(post.get("rollout_environment_id")),
    }
    try:
        decision = services.experiment_decide(
            actor=actor,
            experiment_id=experiment_id,
            outcome=form["outcome"],
            learning=form["learning"],
            variation=form["variation"],
            rollout=form["rollout"],
            rollout_environment_id=form["rollout_environment_id"] if form["rollout"] else None,
            expected_version=_int(post.get("version")),
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        experiment, readout = selectors.experiment_results(actor=actor, id=experiment_id)
        context = _results_context(actor, experiment, readout, errors=form_errors(exc), decision_form=form)
        return render(request, "experiments/experiment_results.html", context, status=400)
    result = getattr(decision, "flag_result", None) or {}
    text = f"Decision recorded: {decision.get_outcome_display().lower()}. The learning is in the learning log"
    text += " and on the feature's evidence." if decision.experiment.feature_id else " and on the problem's evidence."
    if result.get("state") == "pending_approval":
        text += f" The rollout awaits approval (flag revision #{result.get('revision')})."
    elif result:
        text += " The flag now serves the shipped variation."
    messages.success(request, text)
    return redirect("experiments:experiment_results", actor.workspace.slug, experiment_id)


# --- metrics ------------------------------------------------------------------------------------------------------


def _metric_form(post) -> dict[str, Any]:
    return {
        "key": post.get("key", "").strip(),
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "kind": post.get("kind", "binomial"),
        "event": post.get("event", ""),
        "aggregation": post.get("aggregation", "count"),
        "denominator_event": post.get("denominator_event", ""),
        "denominator_aggregation": post.get("denominator_aggregation", "count"),
        "window_hours": post.get("window_hours", ""),
        "lower_is_better": post.get("lower_is_better") == "on",
    }


def _metric_data(form: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in form.items() if k != "key"}
    data["window_hours"] = _whole(form, "window_hours", "The window")
    return data


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def metric_list_view(request: HttpRequest):
    actor = request.actor
    errors: dict[str, str] = {}
    form = _metric_form({})
    if request.method == "POST":
        form = _metric_form(request.POST)
        try:
            metric = services.metric_create(actor=actor, key=form["key"], **_metric_data(form))
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, f"Metric “{metric.name}” created.")
            return redirect("experiments:metric_list", actor.workspace.slug)
    search = request.GET.get("q", "").strip()[:200]
    archived = request.GET.get("archived") == "1"
    page = Paginator(selectors.metric_list(actor=actor, search=search, archived=archived), 50).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "search": search,
        "archived": archived,
        "form": form,
        "errors": errors,
        "kinds": METRIC_KINDS,
        "aggregations": AGGREGATIONS,
        **_nav(actor),
    }
    return render(request, "experiments/metric_list.html", context, status=400 if errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def metric_detail_view(request: HttpRequest, metric_id: int):
    actor = request.actor
    metric = selectors.access_metric(actor=actor, id=metric_id)
    errors: dict[str, str] = {}
    form = {
        "key": metric.key,
        "name": metric.name,
        "description": metric.description,
        "kind": metric.kind,
        "event": metric.event,
        "aggregation": metric.aggregation,
        "denominator_event": metric.denominator_event,
        "denominator_aggregation": metric.denominator_aggregation,
        "window_hours": "" if metric.window_hours is None else str(metric.window_hours),
        "lower_is_better": metric.lower_is_better,
    }
    if request.method == "POST":
        action = request.POST.get("action", "update")
        try:
            if action in ("archive", "restore"):
                services.metric_update(actor=actor, metric_id=metric.pk, archived=action == "archive")
                messages.success(request, f"Metric {'archived' if action == 'archive' else 'restored'}.")
                return redirect("experiments:metric_list", actor.workspace.slug)
            if action == "delete":
                services.metric_delete(actor=actor, metric_id=metric.pk)
                messages.success(request, "Metric deleted.")
                return redirect("experiments:metric_list", actor.workspace.slug)
            form = {**_metric_form(request.POST), "key": metric.key}
            services.metric_update(
                actor=actor,
                metric_id=metric.pk,
                expected_version=_int(request.POST.get("version")),
                **_metric_data(form),
            )
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, "Metric saved.")
            return redirect("experiments:metric_detail", actor.workspace.slug, metric.pk)
    context = {
        "metric": metric,
        "form": form,
        "errors": errors,
        "kinds": METRIC_KINDS,
        "aggregations": AGGREGATIONS,
        **_nav(actor),
    }
    return render(request, "experiments/metric_detail.html", context, status=400 if errors else 200)


# --- learning log -------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD"])
def learning_list_view(request: HttpRequest):
    actor = request.actor
    search = request.GET.get("q", "").strip()[:200]
    outcome = request.GET.get("outcome", "")
    feature_id = _int(request.GET.get("feature"))
    learnings = selectors.learning_list(actor=actor, search=search, outcome=outcome, feature_id=feature_id)
    page = Paginator(learnings, 20).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "search": search,
        "outcome": outcome if outcome in dict(OUTCOMES) else "",
        "outcomes": OUTCOMES,
        "features": feature_choices(actor.workspace),
        "feature_id": feature_id,
        **_nav(actor),
    }
    if request.htmx:
        return render(request, "experiments/learning_list.html#entries", context)
    return render(request, "experiments/learning_list.html", context)
