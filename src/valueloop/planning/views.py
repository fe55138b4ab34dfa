"""Planning pages. One view per form: each POST view binds one form from ``forms.py``, calls one service, and on
an error re-renders its page with that form's errors in place (status 400)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from valueloop.collaboration.facade import thread_context
from valueloop.core import charts
from valueloop.core.errors import Invalid
from valueloop.core.money import format_money, format_money_compact
from valueloop.core.pages import Slices, paginate_page, posted, workspace_page
from valueloop.core.permissions import Scope
from valueloop.engines import forecasting as fc
from valueloop.evidence.facade import evidence_panel

from . import scoring, selectors, services
from .forms import (
    BacklogMoveForm,
    BacklogResetForm,
    DeliveryItemForm,
    FeatureFilterForm,
    FeatureForm,
    ForecastForm,
    FormulaForm,
    FrameworkForm,
    KanoImportForm,
    OutcomeForm,
    PrioritisationForm,
    SettingsForm,
    TeamForm,
    ThroughputForm,
    WhatIfFormSet,
    input_groups,
    urgency_label,
)
from .models import FEATURE_STATUS, FRAMEWORKS, THROUGHPUT_SOURCES
from .templatetags.planning_format import num, score

RANK_PAGE_SIZE = 50


# --------------------------------------------------------------------------------------------------
# Features (list and detail with prioritisation inputs and delivery items)
# --------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def feature_list_view(request):
    actor = request.actor
    filters = FeatureFilterForm(request.GET).values()
    form = FeatureForm(posted(request), actor=actor, initial={"problem_id": filters["problem"]})
    if form.submit(services.feature_create):
        messages.success(request, f"Feature “{form.result.title}” added.")
        return redirect("planning:feature_detail", actor.workspace.slug, form.result.pk)
    features = selectors.feature_list(actor=actor, search=filters["q"], status=filters["status"])
    context = {
        "page": paginate_page(request, features, 30),
        "search": filters["q"],
        "status": filters["status"],
        "statuses": FEATURE_STATUS,
        "form": form,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        "section": "planning",
    }
    return render(request, "planning/feature_list.html", context, status=400 if form.errors else 200)


def _record_forms(actor, form_class, records, form=None, failed_id=None):
    """Each record with its edit form, and the form for a new one; the form that failed (``form``: the new one,
    or the edit of record ``failed_id``) is shown bound, with its errors."""
    rows = [(r, form if r.pk == failed_id else form_class(actor=actor, instance=r)) for r in records]
    new = form if form is not None and failed_id is None else form_class(actor=actor)
    return rows, new


def _feature_page(request, feature, *, feature_form=None, inputs_form=None, item_form=None, failed_item_id=None):
    """The feature page; the form that failed (if any) is shown bound, with its errors, and the answer is 400."""
    actor = request.actor
    teams = selectors.team_list(actor=actor)
    feature_form = feature_form or FeatureForm(actor=actor, instance=feature)
    inputs_form = inputs_form or PrioritisationForm(actor=actor, teams=teams)
    items = selectors.delivery_item_list(actor=actor, feature_id=feature.pk)
    item_rows, new_item_form = _record_forms(actor, DeliveryItemForm, items, item_form, failed_item_id)
    context = {
        "feature": feature,
        "form": feature_form,
        "inputs_form": inputs_form,
        "new_item_form": new_item_form,
        "item_errors": item_form.error_summary if item_form is not None else {},
        "row": selectors.row_for(actor=actor, feature_id=feature.pk, framework="cd3"),
        "groups": input_groups(
            feature,
            currency=actor.workspace.currency,
            framework="cd3",
            teams=teams,
            errors=inputs_form.errors_by_name,
            data=inputs_form.data if inputs_form.is_bound else None,
        ),
        "items": items,
        "item_rows": item_rows,
        "suggestion": selectors.cod_suggestion(actor=actor, feature_id=feature.pk),
        "urgency_label": urgency_label(feature.urgency),
        "currency": actor.workspace.currency,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        "section": "planning",
        **evidence_panel(actor=actor, target_type="feature", target_id=feature.pk),
        **thread_context(actor=actor, entity_type="feature", entity_id=feature.pk),
    }
    failed = any(f is not None and f.errors for f in (feature_form, inputs_form, item_form))
    return render(request, "planning/feature_detail.html", context, status=400 if failed else 200)


def _to_feature(request, feature_id: int, note: str, anchor: str = ""):
    messages.success(request, note)
    return HttpResponseRedirect(
        reverse("planning:feature_detail", args=[request.actor.workspace.slug, feature_id]) + anchor
    )


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def feature_detail_view(request, feature_id: int):
    """The feature, its Cost of Delay and other prioritisation inputs, and its delivery items. POST: the feature's
    own fields (the inputs and the delivery items post to their own views)."""
    actor = request.actor
    feature = selectors.access_feature(actor=actor, id=feature_id)
    form = FeatureForm(posted(request), actor=actor, instance=feature)
    if form.submit(services.feature_update, feature_id=feature.pk):
        return _to_feature(request, feature.pk, "Feature saved.")
    return _feature_page(request, feature, feature_form=form)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def feature_inputs_view(request, feature_id: int):
    """Save the feature's prioritisation inputs (the feature page's inputs form)."""
    actor = request.actor
    feature = selectors.access_feature(actor=actor, id=feature_id)
    form = PrioritisationForm(request.POST, actor=actor, teams=selectors.team_list(actor=actor))
    if form.submit(services.prioritisation_update, feature_id=feature.pk):
        return _to_feature(request, feature.pk, "Prioritisation inputs saved.", "#inputs-h")
    return _feature_page(request, feature, inputs_form=form)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def delivery_item_create_view(request, feature_id: int):
    actor = request.actor
    feature = selectors.access_feature(actor=actor, id=feature_id)
    form = DeliveryItemForm(request.POST, actor=actor)
    if form.submit(services.delivery_item_create, feature_id=feature.pk):
        return _to_feature(request, feature.pk, "Delivery item added.", "#items-h")
    return _feature_page(request, feature, item_form=form)


def _feature_item(actor, feature_id: int, delivery_item_id: int):
    """The feature and its delivery item; an item of another feature is not found under this one."""
    feature = selectors.access_feature(actor=actor, id=feature_id)
    item = selectors.access_delivery_item(actor=actor, id=delivery_item_id)
    if item.feature_id != feature.pk:
        raise Http404("Delivery item not found.")
    return feature, item


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def delivery_item_update_view(request, feature_id: int, delivery_item_id: int):
    actor = request.actor
    feature, item = _feature_item(actor, feature_id, delivery_item_id)
    form = DeliveryItemForm(request.POST, actor=actor, instance=item)
    if form.is_valid():
        form.run(
            services.delivery_item_update, delivery_item_id=item.pk, expected_version=form.version, **form.values()
        )
        if form.is_valid():
            return _to_feature(request, feature.pk, "Delivery item saved.", "#items-h")
    return _feature_page(request, feature, item_form=form, failed_item_id=item.pk)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def delivery_item_delete_view(request, feature_id: int, delivery_item_id: int):
    actor = request.actor
    feature, item = _feature_item(actor, feature_id, delivery_item_id)
    services.delivery_item_delete(actor=actor, delivery_item_id=item.pk)
    return _to_feature(request, feature.pk, "Delivery item deleted.", "#items-h")


# --------------------------------------------------------------------------------------------------
# The ranked table with inline editing
# --------------------------------------------------------------------------------------------------


@dataclass
class Cell:
    label: str
    text: str
    title: str = ""
    numeric: bool = True


def _cells(row: selectors.RankRow, framework: str, currency: str) -> list[Cell]:
    f = row.feature
    if framework in ("cd3", "cod"):
        cod_title = ""
        cod_text = format_money(f.cod_per_week)
        if f.urgency == "fixed_date" and row.latest_start:
            if row.cod_now == 0:
                cod_text = f"{format_money(0)} until {row.latest_start:%d %b}"
                cod_title = (
                    f"Fixed date: no Cost of Delay until the latest start {row.latest_start:%Y-%m-%d}, "
                    f"then {format_money(f.cod_per_week)} per week"
                )
            else:
                cod_title = f"Fixed date: past the latest start {row.latest_start:%Y-%m-%d}"
        cells = [Cell("Cost of Delay per week", cod_text, cod_title)]
        if framework == "cd3":
            duration = num(f.duration_likely)
            if f.duration_low is not None or f.duration_high is not None:
                low, high = num(f.duration_low or f.duration_likely), num(f.duration_high or f.duration_likely)
                duration = f"{low}–{duration}–{high}"
            cells.append(Cell("Weeks", duration, "Duration in weeks: low–likely–high"))
        return cells
    if framework == "wsjf":
        return [
            Cell("Business value", num(f.wsjf_business_value)),
            Cell("Time criticality", num(f.wsjf_time_criticality)),
            Cell("RR | OE", num(f.wsjf_risk_reduction), "Risk reduction / opportunity enablement"),
            Cell("Job size", num(f.wsjf_job_size)),
        ]
    if framework == "rice":
        return [
            Cell("Reach", num(f.rice_reach)),
            Cell("Impact", num(f.rice_impact)),
            Cell("Confidence %", num(f.rice_confidence)),
            Cell("Effort (pm)", num(f.rice_effort), "Person-months"),
        ]
    if framework == "ice":
        return [
            Cell("Impact", num(f.ice_impact)),
            Cell("Confidence", num(f.ice_confidence)),
            Cell("Ease", num(f.ice_ease)),
        ]
    if framework == "opportunity":
        return [Cell("Problem", f.problem.title if f.problem else "—", numeric=False)]
    return [Cell("Cost of Delay", format_money(f.cod_per_week)), Cell("Duration (wk)", num(f.duration_likely))]


def _headers(framework: str, currency: str) -> list[Cell]:
    sample = selectors.RankRow(feature=_Blank(), rank=None, shared_rank=None, score=None, problems={})
    return _cells(sample, framework, currency)


class _Blank:
    """A feature with no inputs, to read the column labels from ``_cells``."""

    cod_per_week = duration_likely = duration_low = duration_high = None
    wsjf_business_value = wsjf_time_criticality = wsjf_risk_reduction = wsjf_job_size = None
    rice_reach = rice_impact = rice_confidence = rice_effort = None
    ice_impact = ice_confidence = ice_ease = None
    urgency = "standard"
    problem = None


def _tabs(view: selectors.RankingView, formulas) -> list[dict]:
    tabs = [
        {"key": k, "label": scoring.FRAMEWORK_LABELS[k], "query": f"framework={k}", "current": view.framework == k}
        for k, _ in FRAMEWORKS
    ]
    for formula in formulas:
        tabs.append(
            {
                "key": "formula",
                "label": formula.name,
                "query": f"framework=formula&formula_id={formula.pk}",
                "current": view.formula is not None and view.formula.pk == formula.pk,
            }
        )
    return tabs


_SENTINEL = 987654321


def _url_maker(slug: str):
    """Row URLs by string substitution: reversing four URLs for each of 50 rows costs more than the ranking."""
    templates = {
        name: reverse(view, args=[slug, _SENTINEL])
        for name, view in (
            ("row", "planning:row"),
            ("history", "planning:score_history"),
            ("detail", "planning:feature_detail"),
        )
    }
    ranking_url = reverse("planning:ranking", args=[slug])

    def urls(feature_id: int) -> dict:
        out = {name: url.replace(str(_SENTINEL), str(feature_id)) for name, url in templates.items()}
        out["ranking"] = ranking_url
        return out

    return urls


def _row_context(request, row, framework: str, formula_query: str = "", editing=False, form=None, urls=None):
    """A ranked row; ``editing``: with the inputs editor (showing ``form``'s posted values and errors, if any)."""
    actor = request.actor
    currency = actor.workspace.currency
    urls = urls or _url_maker(actor.workspace.slug)
    context = {
        "urls": urls(row.feature.pk),
        "row": row,
        "cells": _cells(row, framework, currency),
        "framework": framework,
        "framework_query": formula_query or f"framework={framework}",
        "currency": currency,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        "ncols": 4 + len(_headers(framework, currency)),
        "prefix": f"r{row.feature.pk}",
        "hidden": _hidden(formula_query),
    }
    if editing:
        errors = form.errors_by_name if form is not None else {}
        context["groups"] = input_groups(
            row.feature,
            currency=currency,
            framework=framework,
            teams=selectors.team_list(actor=actor),
            errors=errors,
            data=form.data if form is not None else None,
        )
        context["errors"] = errors
        context["field_labels"] = {f.name: f.label for g in context["groups"] for f in g.fields}
    return context


def _hidden(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query)


def _framework_query(args: dict, view_framework: str) -> str:
    from urllib.parse import urlencode

    query = {"framework": view_framework}
    if args.get("formula_id"):
        query["formula_id"] = args["formula_id"]
    elif args.get("expression") and view_framework == "formula":
        query["formula"] = args["expression"]
    return urlencode(query)


@workspace_page(Scope.WORKSPACE_READ)
@require_GET
def ranking_view(request):
    """Every open feature ranked under the chosen framework; rows edit inline (HTMX)."""
    return _ranking_page(request, FrameworkForm(request.GET))


def _ranking_page(request, framework_form: FrameworkForm, edit_form=None, edit_id=None, status=200):
    actor = request.actor
    args = framework_form.ranking_args()
    formula_error = ""
    view = None
    try:
        view = selectors.ranking(actor=actor, **args)
    except Invalid as exc:
        if "framework" in exc.fields:
            args = {"framework": None, "formula_id": None, "expression": ""}
            view = selectors.ranking(actor=actor)
            messages.error(request, exc.message)
        else:
            formula_error = exc.fields.get("formula", exc.message)
    formulas = list(selectors.formula_list(actor=actor))
    settings = selectors.settings_get(actor=actor)
    currency = actor.workspace.currency
    context = {
        "section": "planning",
        "formulas": formulas,
        "settings": settings,
        "settings_form": SettingsForm(actor=actor, instance=settings, auto_id="set-%s"),
        "currency": currency,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        "formula_error": formula_error,
        "expression": args["expression"],
        "fields": sorted(scoring.FORMULA_FIELDS),
    }
    if view is None:
        context.update({"tabs": _tabs(_EmptyView("formula"), formulas), "framework": "formula", "rows": []})
        template = "planning/ranking.html#panel" if request.htmx else "planning/ranking.html"
        return render(request, template, context, status=400 if not request.htmx else 200)
    page = paginate_page(request, Slices(view.count, lambda a, b: selectors.ranking_rows(view, a, b)), RANK_PAGE_SIZE)
    edit_id = edit_id or framework_form.values()["edit"]
    query = _framework_query(args, view.framework)
    row_contexts = []
    urls = _url_maker(actor.workspace.slug)
    for row in page.object_list:
        editing = edit_id == row.feature.pk and context["can_write"]
        rc = _row_context(
            request, row, view.framework, query, editing=editing, form=edit_form if editing else None, urls=urls
        )
        rc["first_unscored"] = row.rank is None and not any(not r["row"].rank for r in row_contexts)
        row_contexts.append(rc)
    context.update(
        {
            "view": view,
            "framework": view.framework,
            "tabs": _tabs(view, formulas),
            "headers": _headers(view.framework, currency),
            "rows": row_contexts,
            "page": page,
            "query": query,
            "edit_id": edit_id,
            "first_unscored_page": (view.ranked.scored // RANK_PAGE_SIZE) + 1 if view.ranked.unscored else None,
        }
    )
    template = "planning/ranking.html#panel" if request.htmx and not edit_form else "planning/ranking.html"
    return render(request, template, context, status=status)


@dataclass
class _EmptyView:
    framework: str
    formula: object = None


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def row_view(request, feature_id: int):
    """One ranked row: GET shows it (``?edit=1``: the inline editor); POST saves every input.

    HTMX gets the row back as a partial (the editor with per-field errors on a bad input, status
    422); without JavaScript a save redirects to the ranking."""
    actor = request.actor
    framework_form = FrameworkForm(request.POST if request.method == "POST" else request.GET)
    args = framework_form.ranking_args()
    form = None
    if request.method == "POST":
        form = PrioritisationForm(request.POST, actor=actor, teams=selectors.team_list(actor=actor))
        if form.submit(services.prioritisation_update, feature_id=feature_id) and not request.htmx:
            messages.success(request, "Inputs saved; the ranking is up to date.")
            url = reverse("planning:ranking", args=[actor.workspace.slug])
            query = _framework_query(args, args["framework"] or "cd3")
            return HttpResponseRedirect(f"{url}?{query}#feature-row-{feature_id}")
        if form.errors and not request.htmx:
            return _ranking_page(request, framework_form, edit_form=form, edit_id=feature_id, status=400)
    try:
        row = selectors.row_for(actor=actor, feature_id=feature_id, **args)
    except Invalid:
        row = selectors.row_for(actor=actor, feature_id=feature_id, framework="cd3")
    framework = args["framework"] or selectors.settings_get(actor=actor).default_framework
    if framework == "formula" and not (args["formula_id"] or args["expression"]):
        framework = "cd3"
    query = _framework_query(args, framework)
    failed = form is not None and bool(form.errors)
    editing = failed or (request.method == "GET" and framework_form.values()["edit"] == 1)
    if editing and not actor.can(Scope.PORTFOLIO_WRITE):
        editing = False
    context = _row_context(request, row, framework, query, editing=editing, form=form)
    context["saved"] = form is not None and not failed
    partial = "planning/ranking.html#edit_row" if editing else "planning/ranking.html#row"
    response = render(request, partial, context, status=422 if failed else 200)
    if context["saved"]:
        response["HX-Trigger"] = "planning-ranked"
    return response


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def settings_view(request):
    actor = request.actor
    form = SettingsForm(request.POST, actor=actor)
    if not form.submit(services.settings_update):
        messages.error(request, " ".join(form.error_summary.values()))
    else:
        messages.success(request, "Planning settings saved.")
    back = form.cleaned_data.get("back")
    return redirect(f"planning:{'forecast' if back == 'forecast' else 'ranking'}", actor.workspace.slug)


@workspace_page(Scope.WORKSPACE_READ)
@require_GET
def score_history_view(request, feature_id: int):
    actor = request.actor
    feature = selectors.access_feature(actor=actor, id=feature_id)
    changes = selectors.score_history(actor=actor, feature_id=feature.pk)
    return render(
        request,
        "planning/score_history.html",
        {
            "feature": feature,
            "page": paginate_page(request, changes, 40),
            "labels": scoring.FRAMEWORK_LABELS,
            "section": "planning",
        },
    )


# --------------------------------------------------------------------------------------------------
# Economics: the scatter plot and the what-if panel
# --------------------------------------------------------------------------------------------------


def _scatter_items(view: selectors.RankingView, table, before=None) -> list[dict]:
    ranked = view.ranked
    cod_now = ranked.scores.detail.get("cod_now")
    items = []
    for row in ranked.order[: ranked.scored]:
        item = {
            "id": int(table.ids[row]),
            "title": table.titles[row],
            "duration": float(table.cols["duration_likely"][row]),
            "cod": float(cod_now[row]),
            "cd3": float(ranked.scores.scores[row]),
        }
        if before is not None:
            old = before.get(item["id"])
            if old is not None and (old[0], old[1]) != (item["duration"], item["cod"]):
                item["from"] = old
        items.append(item)
    return items


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def economics_view(request):
    """Cost of Delay against duration with CD3 iso-lines, and a what-if panel: POST re-ranks with
    the changed numbers and answers the new picture; nothing is saved."""
    actor = request.actor
    currency = actor.workspace.currency
    table = selectors.load_table(actor.workspace, extra=selectors.SEQUENCE_EXTRA)
    view = selectors.ranking(actor=actor, framework="cd3", table=table)
    candidates = selectors.ranking_rows(view, 0, 10, history=False)
    formset = WhatIfFormSet(
        posted(request),
        initial=[
            {"feature_id": r.feature.pk, "cod": r.cod_now, "duration": r.feature.duration_likely} for r in candidates
        ],
        form_kwargs={"features": [(r.feature.pk, r.feature.title) for r in candidates]},
    )
    context = {"section": "planning", "currency": currency, "formset": formset, "whatif": None, "errors": {}}
    if formset.is_bound:
        context["errors"] = _whatif_errors(formset)
        if not context["errors"]:
            overrides = [o for o in (form.override() for form in formset) if o is not None]
            context["whatif"] = selectors.whatif(actor=actor, overrides=overrides, framework="cd3")
    if context["whatif"]:
        result = context["whatif"]
        before = {
            int(table.ids[r]): (float(table.cols["duration_likely"][r]), float(view.ranked.scores.detail["cod_now"][r]))
            for r in view.ranked.order[: view.ranked.scored]
        }
        shown = result["after"]
        items = _scatter_items(shown, result["changed_table"], before)
        seq_before, seq_after = result["sequence_before"], result["sequence_after"]
        context["sequence_change"] = (
            {
                "before": selectors.order_total(seq_before.costs[fc.Strategy.CD3]),
                "after": selectors.order_total(seq_after.costs[fc.Strategy.CD3]),
            }
            if seq_before and seq_after
            else None
        )
    else:
        shown = view
        items = _scatter_items(view, table)
    context["chart"] = _cd3_scatter(items, currency) if items else None
    context["unscored"] = shown.ranked.unscored
    status = 400 if context["errors"] else 200
    if request.htmx and request.method == "POST":
        return render(request, "planning/economics.html#result", context, status=status)
    return render(request, "planning/economics.html", context, status=status)


def _cd3_scatter(items: list[dict], currency: str) -> charts.Chart:
    """Cost of Delay against likely duration, best CD3 first; the rays are lines of equal CD3 (y = CD3 · x)."""
    return charts.scatter(
        "Cost of Delay against likely duration",
        [
            charts.Point(i["duration"], i["cod"], i["title"], moved_from=i.get("from"), cells=[score(i["cd3"])])
            for i in items
        ],
        x_label="Duration, likely (weeks)",
        y_label=f"Cost of Delay ({currency} per week)",
        x_format=num,
        y_format=lambda v: format_money_compact(v, currency),
        rays=charts.ray_levels([i["cod"] / i["duration"] for i in items if i["duration"]]),
        ray_label="CD3",
        extra_columns=["CD3"],
    )


def _whatif_errors(formset) -> dict[str, str]:
    """The what-if panel's errors for the summary above the chart, each named by its feature and column."""
    errors = {"form": " ".join(formset.non_form_errors())} if formset.non_form_errors() else {}
    for form in formset:
        for name, messages_ in form.errors.items():
            label = form.fields[name].label if name in form.fields else name
            errors[f"{form.title or 'A feature'}, {label}"] = " ".join(messages_)
    return errors


# --------------------------------------------------------------------------------------------------
# Sequencing, team schedule, forecasts
# --------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_GET
def sequence_view(request):
    actor = request.actor
    view = selectors.sequence_comparison(actor=actor)
    currency = actor.workspace.currency
    strategies = view.strategies
    chart = None
    if strategies:
        chart = charts.row_bars(
            "Total delay cost per order",
            [(s["label"], s["total_delay_cost"], s["strategy"] == "cd3") for s in strategies],
            value_format=lambda v: format_money(v, currency),
            label_head="Order",
            value_head="Total delay cost",
        )
    worst = max(strategies, key=lambda s: s["cd3_saving"], default=None)
    current = next((s for s in strategies if s["strategy"] == "current"), None)
    cd3 = next((s for s in strategies if s["strategy"] == "cd3"), None)
    page = paginate_page(request, view.items, 50)
    return render(
        request,
        "planning/sequence.html",
        {
            "section": "planning",
            "view": view,
            "strategies": strategies,
            "chart": chart,
            "worst": worst,
            "current": current,
            "cd3": cd3,
            "negative": [s for s in strategies if s["cd3_saving"] < 0],
            "current_gain": -current["cd3_saving"] if current else 0,
            "page": page,
            "currency": currency,
            "left_out": view.left_out[:50],
            "left_out_count": len(view.left_out),
        },
    )


def _schedule_page(request, *, form=None, failed_team_id=None):
    """The team schedule with the team forms; the one that failed (if any) is bound, and the answer is 400."""
    actor = request.actor
    view = selectors.team_schedule(actor=actor)
    chart = charts.gantt("Forecast schedule per team", view.items, today=view.today) if view.items else None
    team_rows, new_form = _record_forms(actor, TeamForm, view.teams, form, failed_team_id)
    return render(
        request,
        "planning/schedule.html",
        {
            "section": "planning",
            "view": view,
            "chart": chart,
            "page": paginate_page(request, view.items, 50),
            "team_rows": team_rows,
            "form": new_form,
            "currency": actor.workspace.currency,
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
            "left_out": view.left_out[:50],
        },
        status=400 if form is not None and form.errors else 200,
    )


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def schedule_view(request):
    """The team schedule (CD3 across team capacities). POST adds a team."""
    actor = request.actor
    form = TeamForm(posted(request), actor=actor)
    if form.submit(services.team_create):
        messages.success(request, "Team added.")
        return redirect("planning:schedule", actor.workspace.slug)
    return _schedule_page(request, form=form if form.is_bound else None)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def team_update_view(request, team_id: int):
    actor = request.actor
    team = selectors.access_team(actor=actor, id=team_id)
    form = TeamForm(request.POST, actor=actor, instance=team)
    if form.submit(services.team_update, team_id=team.pk):
        messages.success(request, "Team saved.")
        return redirect("planning:schedule", actor.workspace.slug)
    return _schedule_page(request, form=form, failed_team_id=team.pk)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def team_delete_view(request, team_id: int):
    actor = request.actor
    services.team_delete(actor=actor, team_id=team_id)
    messages.success(request, "Team deleted.")
    return redirect("planning:schedule", actor.workspace.slug)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def forecast_view(request):
    """Monte Carlo forecasts ("when will N items be done", "how many by this date") from weekly
    throughput. POST adds a week entered by hand."""
    actor = request.actor
    entry_form = ThroughputForm(posted(request), actor=actor)
    if entry_form.submit(services.throughput_create):
        messages.success(request, "Week added.")
        return redirect("planning:forecast", actor.workspace.slug)
    settings = selectors.settings_get(actor=actor)
    remaining = selectors.remaining_items(actor=actor)
    form = ForecastForm(
        request.GET,
        actor=actor,
        default_source=settings.throughput_source,
        remaining=remaining,
        today=selectors.today_for(actor.workspace),
    )
    result = chart = None
    if form.is_valid():
        asked = form.cleaned_data
        common = {"source": asked["source"], "history_weeks": asked["history_weeks"], "seed": 20260101}
        if asked["mode"] == "when":
            result = form.run(selectors.forecast_when, items=asked["items"], **common)
        else:
            result = form.run(selectors.forecast_how_many, until=asked["until"], **common)
    if result is not None:
        if result.kind == "when":
            markers = [(lv["weeks"], f"{lv['confidence']} %") for lv in result.levels]
            unit, label = "weeks", "Weeks until done"
        else:
            markers = [(lv["items"], f"{lv['confidence']} %") for lv in result.levels]
            unit, label = "items", "Items finished by the date"
        hist = result.result.histogram
        chart = charts.histogram(
            "Outcomes of the simulated trials", hist.edges, hist.counts, markers=markers, x_label=label, unit=unit
        )
    source = form.cleaned_data.get("source") or settings.throughput_source
    history = selectors.throughput_history(
        actor=actor, source=source, weeks=form.cleaned_data.get("history_weeks") or 12
    )
    return render(
        request,
        "planning/forecast.html",
        {
            "section": "planning",
            "form": form,
            "result": result,
            "chart": chart,
            "history": history,
            "entries": paginate_page(request, selectors.throughput_list(actor=actor), 26),
            "sources": THROUGHPUT_SOURCES,
            "remaining": remaining,
            "settings": settings,
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
            "entry_form": entry_form,
            "source_label": dict(THROUGHPUT_SOURCES).get(source, source).lower(),
        },
        status=400 if entry_form.errors else 200,
    )


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def throughput_delete_view(request, throughput_id: int):
    actor = request.actor
    services.throughput_delete(actor=actor, throughput_id=throughput_id)
    messages.success(request, "Throughput entry deleted.")
    return redirect("planning:forecast", actor.workspace.slug)


# --------------------------------------------------------------------------------------------------
# The product owner's backlog
# --------------------------------------------------------------------------------------------------


BACKLOG_PAGE_SIZE = 50


@workspace_page(Scope.WORKSPACE_READ)
@require_GET
def backlog_view(request):
    """The product owner's backlog: hand order first, then CD3 order; moves need a reason."""
    return _backlog_page(request)


def _backlog_page(request, *, move_form=None, reset_form=None):
    """The backlog; a failed move (its row's form open with the errors) or reset answers 400."""
    actor = request.actor
    read: dict = {}

    def fetch(start: int, stop: int) -> list:
        rows, read["count"], read["hand"] = selectors.backlog_list(actor=actor, start=start, stop=stop)
        return rows

    failed = move_form is not None and move_form.errors
    number = move_form.cleaned_data.get("page") if failed else None
    count = selectors.remaining_items(actor=actor)["features"]
    page = paginate_page(request, Slices(count, fetch), BACKLOG_PAGE_SIZE, number=number)
    return render(
        request,
        "planning/backlog.html",
        {
            "section": "backlog",
            "rows": page.object_list,
            "count": read["count"],
            "hand": read["hand"],
            "page": page,
            "moves": selectors.backlog_moves(actor=actor, limit=10),
            "move_form": move_form if failed else None,
            "failed_id": move_form.cleaned_data.get("feature_id") if failed else None,
            "reset_form": reset_form or BacklogResetForm(actor=actor),
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        },
        status=400 if failed or (reset_form is not None and reset_form.errors) else 200,
    )


def _backlog_redirect(request, page: int | None = None, feature_id: int | None = None):
    url = reverse("planning:backlog", args=[request.actor.workspace.slug])
    suffix = f"?page={page}" if page and page > 1 else ""
    return HttpResponseRedirect(f"{url}{suffix}" + (f"#backlog-{feature_id}" if feature_id else ""))


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def backlog_move_view(request):
    """Move a feature up, down or to a position; the reason is required (and kept)."""
    actor = request.actor
    form = BacklogMoveForm(request.POST, actor=actor)
    if form.submit(services.backlog_move):
        move = form.result
        messages.success(request, f"Moved from {move.from_position} to {move.to_position}: “{move.reason}”")
        return _backlog_redirect(request, form.cleaned_data["page"], move.feature_id)
    return _backlog_page(request, move_form=form)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def backlog_reset_view(request):
    actor = request.actor
    form = BacklogResetForm(request.POST, actor=actor)
    if form.submit(services.backlog_reset):
        messages.success(request, "The backlog follows CD3 order again.")
        return _backlog_redirect(request)
    return _backlog_page(request, reset_form=form)


# --------------------------------------------------------------------------------------------------
# Formulas, Kano, opportunity scores
# --------------------------------------------------------------------------------------------------


def _formulas_page(request, *, form=None, failed_id=None):
    actor = request.actor
    formula_rows, new_form = _record_forms(actor, FormulaForm, selectors.formula_list(actor=actor), form, failed_id)
    return render(
        request,
        "planning/formulas.html",
        {
            "section": "planning",
            "formula_rows": formula_rows,
            "form": new_form,
            "fields": sorted(scoring.FORMULA_FIELDS),
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        },
        status=400 if form is not None and form.errors else 200,
    )


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def formulas_view(request):
    """The saved scoring formulas. POST adds one (a new tab on the ranking)."""
    actor = request.actor
    form = FormulaForm(posted(request), actor=actor)
    if form.submit(services.formula_create):
        messages.success(request, "Formula saved; it is a tab on the ranking now.")
        return redirect("planning:formulas", actor.workspace.slug)
    return _formulas_page(request, form=form if form.is_bound else None)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def formula_update_view(request, formula_id: int):
    actor = request.actor
    formula = selectors.access_formula(actor=actor, id=formula_id)
    form = FormulaForm(request.POST, actor=actor, instance=formula)
    if form.submit(services.formula_update, formula_id=formula.pk):
        messages.success(request, "Formula saved.")
        return redirect("planning:formulas", actor.workspace.slug)
    return _formulas_page(request, form=form, failed_id=formula.pk)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def formula_delete_view(request, formula_id: int):
    actor = request.actor
    services.formula_delete(actor=actor, formula_id=formula_id)
    messages.success(request, "Formula deleted.")
    return redirect("planning:formulas", actor.workspace.slug)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def kano_view(request):
    """Kano results per feature. POST imports answers (all or nothing; a dry run only checks them)."""
    actor = request.actor
    if request.method == "POST":
        form = KanoImportForm(request.POST, request.FILES, actor=actor)
    else:
        form = KanoImportForm(actor=actor)
    if form.submit(services.kano_import):
        report = form.result
        if not report["dry_run"]:
            messages.success(
                request, f"Imported {report['rows']} answers: {report['created']} new, {report['updated']} changed."
            )
            return redirect("planning:kano", actor.workspace.slug)
    return render(
        request,
        "planning/kano.html",
        {
            "section": "planning",
            "rows": selectors.kano_results(actor=actor),
            "form": form,
            "report": form.result,
            "labels": selectors.KANO_LABELS,
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        },
        status=400 if form.errors else 200,
    )


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def opportunities_view(request):
    """Ulwick's opportunity score per problem, from survey importance and satisfaction. POST saves one
    problem's survey scores."""
    actor = request.actor
    rows = selectors.outcome_list(actor=actor)
    form = OutcomeForm(posted(request), actor=actor, problems=[(r["problem_id"], r["title"]) for r in rows])
    if form.submit(services.outcome_update):
        messages.success(request, "Survey scores saved.")
        return redirect("planning:opportunities", actor.workspace.slug)
    return render(
        request,
        "planning/opportunities.html",
        {
            "section": "planning",
            "rows": rows,
            "form": form if form.errors else None,
            "failed": str(form["problem_id"].value()) if form.errors else None,
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        },
        status=400 if form.errors else 200,
    )
