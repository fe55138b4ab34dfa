"""Experiment pages: the list, create/edit, the design (power analysis, updated live with HTMX as the PM types),
the results (effects with intervals, SRM and guardrail warnings, the cumulative effect, the decision form),
metric definitions and the learning log.

Pages post to services and redirect (post/redirect/get); a DomainError re-renders the form with the errors
(naming the field) and status 400. The design figures answer HTMX with the ``figures`` fragment.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from valueloop.collaboration.facade import thread_context
from valueloop.core import charts
from valueloop.core.pages import paginate_page, posted, workspace_page
from valueloop.core.permissions import Scope
from valueloop.flags import facade as flags
from valueloop.planning.facade import feature_choices

from . import analysis, selectors, services
from .forms import (
    ActionForm,
    DecisionForm,
    DesignForm,
    ExperimentFilterForm,
    ExperimentForm,
    ExperimentPrefillForm,
    LearningFilterForm,
    MetricFilterForm,
    MetricForm,
    StartForm,
    StopForm,
)
from .models import AGGREGATIONS, CORRECTIONS, METHODS, METRIC_KINDS, OUTCOMES, STATUSES

WRITE = Scope.PORTFOLIO_WRITE


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
    filters = ExperimentFilterForm(request.GET).values()
    status, search = filters["status"], filters["q"]
    experiments = selectors.experiment_list(actor=actor, status=status, search=search)
    page = paginate_page(request, experiments, 25)
    context = {
        "page": page,
        "status": status,
        "search": search,
        "statuses": STATUSES,
        **_nav(actor),
    }
    if request.htmx:
        return render(request, "experiments/experiment_list.html#rows", context)
    return render(request, "experiments/experiment_list.html", context)


# --- create and edit ----------------------------------------------------------------------------------------------


def _experiment_form_page(request, form: ExperimentForm, experiment=None):
    context = {
        "form": form.shown,
        "errors": form.page_errors,
        "experiment": experiment,
        "locked": form.locked,
        "features": form.features,
        "problems": form.problems,
        "flag_options": form.flag_options,
        "environments": form.environments,
        "metric_options": form.metric_options,
        "methods": METHODS,
        "corrections": CORRECTIONS,
        **_nav(request.actor),
    }
    return render(request, "experiments/experiment_form.html", context, status=400 if form.errors else 200)


@workspace_page(WRITE)
@require_http_methods(["GET", "HEAD", "POST"])
def experiment_create_view(request: HttpRequest):
    actor = request.actor
    prefill = ExperimentPrefillForm(request.GET).values()
    initial = {"feature_id": prefill["feature"], "problem_id": prefill["problem"], "flag_id": prefill["flag"]}
    form = ExperimentForm(posted(request), actor=actor, initial=initial)
    if form.save(services.experiment_create):
        experiment = form.result
        messages.success(request, f"Experiment “{experiment.name}” created as a draft. Plan its size next.")
        return redirect("experiments:experiment_design", actor.workspace.slug, experiment.pk)
    return _experiment_form_page(request, form)


@workspace_page(WRITE)
@require_http_methods(["GET", "HEAD", "POST"])
def experiment_edit_view(request: HttpRequest, experiment_id: int):
    actor = request.actor
    experiment = selectors.experiment_detail(actor=actor, id=experiment_id)
    form = ExperimentForm(posted(request), actor=actor, instance=experiment)
    if form.save(services.experiment_update, experiment_id=experiment.pk):
        messages.success(request, "Experiment saved.")
        return redirect("experiments:experiment_detail", actor.workspace.slug, experiment.pk)
    return _experiment_form_page(request, form, experiment)


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
    form = StartForm(request.POST, actor=actor)
    if not form.submit(services.experiment_start, experiment_id=experiment_id):
        messages.error(request, form.summary or " ".join(form.errors_by_name.values()))
    else:
        experiment = form.result
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
    form = StopForm(request.POST, actor=actor)
    if not form.submit(services.experiment_stop, experiment_id=experiment_id):
        messages.error(request, form.summary or " ".join(form.errors_by_name.values()))
    else:
        messages.success(request, "Experiment stopped: the analysis ends here. Record a decision on the results page.")
    return redirect("experiments:experiment_results", actor.workspace.slug, experiment_id)


# --- design -------------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def experiment_design_view(request: HttpRequest, experiment_id: int):
    """The power analysis: GET computes the figures as the PM types (HTMX answers the ``figures`` fragment), POST
    saves the plan with the experiment."""
    actor = request.actor
    experiment = selectors.experiment_detail(actor=actor, id=experiment_id)
    saving = request.method == "POST"
    if saving:
        actor.require(WRITE)
    form = DesignForm(request.POST if saving else request.GET, actor=actor, experiment=experiment)
    result = form.calculate()
    if saving and result is not None:
        form.run(
            services.experiment_update, experiment_id=experiment.pk, expected_version=form.version, **form.plan(result)
        )
        if not form.errors:
            messages.success(request, "Plan saved with the experiment.")
            return redirect("experiments:experiment_detail", actor.workspace.slug, experiment.pk)
    context = {
        "experiment": experiment,
        "form": form.shown,
        "errors": form.page_errors,
        "result": result,
        "variation_count": len(experiment.variations),
        **_nav(actor),
    }
    if request.htmx and not saving:
        return render(request, "experiments/experiment_design.html#figures", context)
    return render(request, "experiments/experiment_design.html", context, status=400 if saving and form.errors else 200)


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


def _results_context(actor, experiment, readout, *, decision_form: DecisionForm | None = None) -> dict[str, Any]:
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
        "errors": decision_form.page_errors if decision_form is not None else {},
        "decision_form": (decision_form or DecisionForm(actor=actor)).shown,
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
    form = DecisionForm(request.POST, actor=actor)
    if not form.submit(services.experiment_decide, experiment_id=experiment_id):
        experiment, readout = selectors.experiment_results(actor=actor, id=experiment_id)
        context = _results_context(actor, experiment, readout, decision_form=form)
        return render(request, "experiments/experiment_results.html", context, status=400)
    decision = form.result
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


def _metric_context(actor, form: MetricForm) -> dict[str, Any]:
    return {
        "form": form.shown,
        "errors": form.page_errors,
        "kinds": METRIC_KINDS,
        "aggregations": AGGREGATIONS,
        **_nav(actor),
    }


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def metric_list_view(request: HttpRequest):
    """The metric definitions; a POST is the new-metric form."""
    actor = request.actor
    form = MetricForm(posted(request), actor=actor)
    if form.submit(services.metric_create):
        messages.success(request, f"Metric “{form.result.name}” created.")
        return redirect("experiments:metric_list", actor.workspace.slug)
    filters = MetricFilterForm(request.GET).values()
    page = paginate_page(
        request, selectors.metric_list(actor=actor, search=filters["q"], archived=filters["archived"]), 50
    )
    context = {"page": page, "search": filters["q"], "archived": filters["archived"], **_metric_context(actor, form)}
    return render(request, "experiments/metric_list.html", context, status=400 if form.errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def metric_detail_view(request: HttpRequest, metric_id: int):
    """A metric; a POST is its edit form (archive, restore and delete have their own URLs)."""
    actor = request.actor
    metric = selectors.access_metric(actor=actor, id=metric_id)
    form = MetricForm(posted(request), actor=actor, instance=metric)
    if form.submit(services.metric_update, metric_id=metric.pk):
        messages.success(request, "Metric saved.")
        return redirect("experiments:metric_detail", actor.workspace.slug, metric.pk)
    context = {"metric": metric, **_metric_context(actor, form)}
    return render(request, "experiments/metric_detail.html", context, status=400 if form.errors else 200)


def _metric_action(request, metric_id: int, service, notice: str, **fixed):
    """Archive, restore or delete: refused (a metric in use cannot be deleted) shows the reason on its page."""
    actor = request.actor
    metric = selectors.access_metric(actor=actor, id=metric_id)
    form = ActionForm(request.POST, actor=actor)
    if form.submit(service, metric_id=metric.pk, **fixed):
        messages.success(request, notice)
        return redirect("experiments:metric_list", actor.workspace.slug)
    context = {"metric": metric, **_metric_context(actor, MetricForm(actor=actor, instance=metric))}
    context["errors"] = form.page_errors
    return render(request, "experiments/metric_detail.html", context, status=400)


@workspace_page(WRITE)
@require_POST
def metric_archive_view(request: HttpRequest, metric_id: int):
    return _metric_action(request, metric_id, services.metric_update, "Metric archived.", archived=True)


@workspace_page(WRITE)
@require_POST
def metric_restore_view(request: HttpRequest, metric_id: int):
    return _metric_action(request, metric_id, services.metric_update, "Metric restored.", archived=False)


@workspace_page(WRITE)
@require_POST
def metric_delete_view(request: HttpRequest, metric_id: int):
    return _metric_action(request, metric_id, services.metric_delete, "Metric deleted.")


# --- learning log -------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD"])
def learning_list_view(request: HttpRequest):
    actor = request.actor
    filters = LearningFilterForm(request.GET).values()
    search, outcome, feature_id = filters["q"], filters["outcome"], filters["feature"]
    learnings = selectors.learning_list(actor=actor, search=search, outcome=outcome, feature_id=feature_id)
    page = paginate_page(request, learnings, 20)
    context = {
        "page": page,
        "search": search,
        "outcome": outcome,
        "outcomes": OUTCOMES,
        "features": feature_choices(actor.workspace),
        "feature_id": feature_id,
        **_nav(actor),
    }
    if request.htmx:
        return render(request, "experiments/learning_list.html#entries", context)
    return render(request, "experiments/learning_list.html", context)
