from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from valueloop.collaboration.facade import thread_context
from valueloop.core.errors import DomainError, Invalid
from valueloop.core.pages import form_errors, workspace_page
from valueloop.core.permissions import Scope
from valueloop.discovery.facade import problem_choices
from valueloop.engines import forecasting as fc
from valueloop.evidence.facade import evidence_panel
from valueloop.workspaces.facade import product_choices

from . import charts, scoring, selectors, services
from .forms import form_data, input_groups, urgency_label
from .models import (
    DELIVERY_STATUS,
    FEATURE_STATUS,
    FRAMEWORKS,
    ICE_METHODS,
    THROUGHPUT_SOURCES,
)
from .templatetags.planning_format import money, num

RANK_PAGE_SIZE = 50


def _int(value) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def _raise_forbidden(exc: DomainError) -> None:
    if exc.status in (403, 404):
        raise exc


# --------------------------------------------------------------------------------------------------
# Features (list and detail with prioritisation inputs and delivery items)
# --------------------------------------------------------------------------------------------------


def _form(data) -> dict:
    return {
        "title": data.get("title", ""),
        "description": data.get("description", ""),
        "status": data.get("status", "idea") or "idea",
        "product_id": _int(data.get("product_id")),
        "area_id": _int(data.get("area_id")),
        "problem_id": _int(data.get("problem_id")),
    }


def _choices(actor) -> dict:
    return {
        "statuses": FEATURE_STATUS,
        "products": product_choices(actor.workspace),
        "problems": problem_choices(actor.workspace),
    }


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def feature_list_view(request):
    actor = request.actor
    errors: dict = {}
    form = _form({"problem_id": request.GET.get("problem")})
    if request.method == "POST":
        form = _form(request.POST)
        try:
            feature = services.feature_create(actor=actor, **form)
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, f"Feature “{feature.title}” added.")
            return redirect("planning:feature_detail", actor.workspace.slug, feature.pk)
    search, status = request.GET.get("q", "").strip(), request.GET.get("status", "")
    features = selectors.feature_list(actor=actor, search=search, status=status)
    page = Paginator(features, 30).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "search": search,
        "status": status,
        "errors": errors,
        "form": form,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        "section": "planning",
        **_choices(actor),
    }
    return render(request, "planning/feature_list.html", context, status=400 if errors else 200)


def _delivery_form(post) -> dict:
    data = {
        "title": post.get("title", ""),
        "status": post.get("status", "todo"),
        "estimate_weeks": post.get("estimate_weeks", ""),
    }
    if post.get("done_on"):
        try:
            data["done_at"] = services.parse_date(post.get("done_on"))
        except ValueError as exc:
            raise Invalid(str(exc), fields={"done_at": str(exc)}) from None
    return data


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def feature_detail_view(request, feature_id: int):
    """The feature, its Cost of Delay and other prioritisation inputs, and its delivery items.
    Forms say which part they change with ``form`` = feature | inputs | item_create | item_update
    | item_delete; each calls one service."""
    actor = request.actor
    feature = selectors.access_feature(actor=actor, id=feature_id)
    errors: dict = {}
    input_errors: dict = {}
    item_errors: dict = {}
    posted_inputs = None
    if request.method == "POST":
        which = request.POST.get("form", "feature")
        version = _int(request.POST.get("version"))
        try:
            if which == "inputs":
                posted_inputs = form_data(request.POST)
                services.prioritisation_update(
                    actor=actor, feature_id=feature.pk, expected_version=version, **posted_inputs
                )
                note = "Prioritisation inputs saved."
            elif which == "item_create":
                services.delivery_item_create(actor=actor, feature_id=feature.pk, **_delivery_form(request.POST))
                note = "Delivery item added."
            elif which == "item_update":
                services.delivery_item_update(
                    actor=actor,
                    delivery_item_id=_int(request.POST.get("item_id")) or 0,
                    expected_version=version,
                    **_delivery_form(request.POST),
                )
                note = "Delivery item saved."
            elif which == "item_delete":
                services.delivery_item_delete(actor=actor, delivery_item_id=_int(request.POST.get("item_id")) or 0)
                note = "Delivery item deleted."
            else:
                services.feature_update(
                    actor=actor, feature_id=feature.pk, expected_version=version, **_form(request.POST)
                )
                note = "Feature saved."
        except DomainError as exc:
            if exc.status == 403:
                raise
            target = {"inputs": input_errors}.get(which, item_errors if which.startswith("item") else errors)
            target.update(form_errors(exc))
        else:
            messages.success(request, note)
            anchor = {"inputs": "#inputs-h"}.get(which, "#items-h" if which.startswith("item") else "")
            return HttpResponseRedirect(
                reverse("planning:feature_detail", args=[actor.workspace.slug, feature.pk]) + anchor
            )
        feature = selectors.access_feature(actor=actor, id=feature_id)
    row = selectors.row_for(actor=actor, feature_id=feature.pk, framework="cd3")
    context = {
        "feature": feature,
        "errors": errors,
        "input_errors": input_errors,
        "item_errors": item_errors,
        "row": row,
        "groups": input_groups(
            feature,
            currency=actor.workspace.currency,
            framework="cd3",
            teams=selectors.team_list(actor=actor),
            errors=input_errors,
            data=posted_inputs,
        ),
        "items": selectors.delivery_item_list(actor=actor, feature_id=feature.pk),
        "delivery_statuses": DELIVERY_STATUS,
        "suggestion": selectors.cod_suggestion(actor=actor, feature_id=feature.pk),
        "urgency_label": urgency_label(feature.urgency),
        "currency": actor.workspace.currency,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        "section": "planning",
        **_choices(actor),
        **evidence_panel(actor=actor, target_type="feature", target_id=feature.pk),
        **thread_context(actor=actor, entity_type="feature", entity_id=feature.pk),
    }
    status = 400 if (errors or input_errors or item_errors) else 200
    return render(request, "planning/feature_detail.html", context, status=status)


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
        cod_text = money(f.cod_per_week)
        if f.urgency == "fixed_date" and row.latest_start:
            if row.cod_now == 0:
                cod_text = f"0 until {row.latest_start:%d %b}"
                cod_title = (
                    f"Fixed date: no Cost of Delay until the latest start {row.latest_start:%Y-%m-%d}, "
                    f"then {money(f.cod_per_week, currency)} per week"
                )
            else:
                cod_title = f"Fixed date: past the latest start {row.latest_start:%Y-%m-%d}"
        cells = [Cell(f"Cost of Delay ({currency}/wk)", cod_text, cod_title)]
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
    return [Cell("Cost of Delay", money(f.cod_per_week)), Cell("Duration (wk)", num(f.duration_likely))]


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


def _row_context(
    request, row, framework: str, formula_query: str = "", editing=False, errors=None, data=None, urls=None
):
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
        context["groups"] = input_groups(
            row.feature,
            currency=currency,
            framework=framework,
            teams=selectors.team_list(actor=actor),
            errors=errors,
            data=data,
        )
        context["errors"] = errors or {}
        context["field_labels"] = {f.name: f.label for g in context["groups"] for f in g.fields}
    return context


def _hidden(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query)


def _framework_args(source) -> dict:
    return {
        "framework": source.get("framework") or None,
        "formula_id": _int(source.get("formula_id")),
        "expression": (source.get("formula") or "").strip()[:2000],
    }


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
    return _ranking_page(request)


def _ranking_page(request, edit_errors=None, edit_data=None, edit_id=None, status=200):
    actor = request.actor
    args = _framework_args(request.GET)
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
        "ice_methods": ICE_METHODS,
        "framework_choices": FRAMEWORKS,
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
    paginator = Paginator(range(view.count), RANK_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    start = (page.number - 1) * RANK_PAGE_SIZE
    rows = selectors.ranking_rows(view, start, start + RANK_PAGE_SIZE)
    edit_id = edit_id or _int(request.GET.get("edit"))
    query = _framework_query(args, view.framework)
    row_contexts = []
    urls = _url_maker(actor.workspace.slug)
    for row in rows:
        editing = edit_id == row.feature.pk and context["can_write"]
        rc = _row_context(
            request,
            row,
            view.framework,
            query,
            editing=editing,
            errors=edit_errors if editing else None,
            data=edit_data if editing else None,
            urls=urls,
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
    template = "planning/ranking.html#panel" if request.htmx and not edit_errors else "planning/ranking.html"
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
    source = request.POST if request.method == "POST" else request.GET
    args = _framework_args(source)
    errors: dict = {}
    data = None
    if request.method == "POST":
        data = form_data(request.POST)
        try:
            services.prioritisation_update(
                actor=actor, feature_id=feature_id, expected_version=_int(request.POST.get("version")), **data
            )
        except DomainError as exc:
            _raise_forbidden(exc)
            errors = form_errors(exc)
        else:
            if not request.htmx:
                messages.success(request, "Inputs saved; the ranking is up to date.")
                url = reverse("planning:ranking", args=[actor.workspace.slug])
                query = _framework_query(args, args["framework"] or "cd3")
                return HttpResponseRedirect(f"{url}?{query}#feature-row-{feature_id}")
        if errors and not request.htmx:
            request.GET = request.GET.copy()
            for key in ("framework", "formula_id", "formula"):
                if source.get(key):
                    request.GET[key] = source.get(key)
            return _ranking_page(request, edit_errors=errors, edit_data=data, edit_id=feature_id, status=400)
    try:
        row = selectors.row_for(actor=actor, feature_id=feature_id, **args)
    except Invalid:
        row = selectors.row_for(actor=actor, feature_id=feature_id, framework="cd3")
    framework = args["framework"] or selectors.settings_get(actor=actor).default_framework
    if framework == "formula" and not (args["formula_id"] or args["expression"]):
        framework = "cd3"
    query = _framework_query(args, framework)
    editing = bool(errors) or (request.method == "GET" and source.get("edit") == "1")
    if editing and not actor.can(Scope.PORTFOLIO_WRITE):
        editing = False
    context = _row_context(request, row, framework, query, editing=editing, errors=errors, data=data)
    context["saved"] = request.method == "POST" and not errors
    partial = "planning/ranking.html#edit_row" if editing else "planning/ranking.html#row"
    response = render(request, partial, context, status=422 if errors else 200)
    if context["saved"]:
        response["HX-Trigger"] = "planning-ranked"
    return response


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def settings_view(request):
    actor = request.actor
    try:
        services.settings_update(
            actor=actor,
            **{
                k: request.POST[k]
                for k in ("ice_method", "default_framework", "throughput_source")
                if request.POST.get(k)
            },
        )
    except DomainError as exc:
        _raise_forbidden(exc)
        messages.error(request, exc.message)
    else:
        messages.success(request, "Planning settings saved.")
    back = request.POST.get("back", "ranking")
    return redirect(f"planning:{'forecast' if back == 'forecast' else 'ranking'}", actor.workspace.slug)


@workspace_page(Scope.WORKSPACE_READ)
@require_GET
def score_history_view(request, feature_id: int):
    actor = request.actor
    feature = selectors.access_feature(actor=actor, id=feature_id)
    changes = selectors.score_history(actor=actor, feature_id=feature.pk)
    page = Paginator(changes, 40).get_page(request.GET.get("page"))
    return render(
        request,
        "planning/score_history.html",
        {"feature": feature, "page": page, "labels": scoring.FRAMEWORK_LABELS, "section": "planning"},
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


def _whatif_overrides(post, titles: dict[int, str]) -> tuple[list[selectors.Override], dict]:
    overrides, errors = [], {}
    ids = post.getlist("feature_id")
    for k, raw_id in enumerate(ids):
        feature_id = _int(raw_id)
        if feature_id is None:
            continue
        values = {}
        for field_name, column in (("cod", "cod_per_week"), ("duration", "duration_likely")):
            raw = post.getlist(field_name)[k] if k < len(post.getlist(field_name)) else ""
            try:
                number = services.parse_decimal(raw)
            except ValueError as exc:
                errors[f"{titles.get(feature_id, feature_id)}, {field_name}"] = str(exc)
                continue
            if number is None:
                continue
            if column == "duration_likely" and number <= 0:
                errors[f"{titles.get(feature_id, feature_id)}, weeks"] = "Duration must be more than 0 weeks."
                continue
            if number < 0:
                errors[f"{titles.get(feature_id, feature_id)}, {field_name}"] = "Cost of Delay must not be negative."
                continue
            values[column] = float(number)
        if values:
            overrides.append(selectors.Override(feature_id, values))
    return overrides, errors


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
    context = {
        "section": "planning",
        "currency": currency,
        "candidates": candidates,
        "whatif": None,
        "errors": {},
        "posted": {},
    }
    if request.method == "POST":
        overrides, errors = _whatif_overrides(request.POST, {r.feature.pk: r.feature.title for r in candidates})
        context["errors"] = errors
        ids = request.POST.getlist("feature_id")
        context["posted"] = {
            _int(i): {
                "cod": request.POST.getlist("cod")[k] if k < len(request.POST.getlist("cod")) else "",
                "duration": request.POST.getlist("duration")[k] if k < len(request.POST.getlist("duration")) else "",
            }
            for k, i in enumerate(ids)
            if _int(i)
        }
        if not errors:
            try:
                context["whatif"] = selectors.whatif(actor=actor, overrides=overrides, framework="cd3")
            except DomainError as exc:
                _raise_forbidden(exc)
                context["errors"] = form_errors(exc)
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
                "before": seq_before.costs[fc.Strategy.CD3].total_delay_cost,
                "after": seq_after.costs[fc.Strategy.CD3].total_delay_cost,
            }
            if seq_before and seq_after
            else None
        )
    else:
        shown = view
        items = _scatter_items(view, table)
    context["chart"] = charts.scatter(
        items, currency=currency, cd3_levels=charts.cd3_levels([i["cod"] / i["duration"] for i in items])
    )
    context["points"] = items[:200]
    context["unscored"] = shown.ranked.unscored
    status = 400 if context["errors"] else 200
    if request.htmx and request.method == "POST":
        return render(request, "planning/economics.html#result", context, status=status)
    return render(request, "planning/economics.html", context, status=status)


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
        chart = charts.bars(
            [(s["label"], s["total_delay_cost"], s["strategy"] == "cd3") for s in strategies],
            value_format=lambda v: money(v, currency),
        )
    worst = max(strategies, key=lambda s: s["cd3_saving"], default=None)
    current = next((s for s in strategies if s["strategy"] == "current"), None)
    cd3 = next((s for s in strategies if s["strategy"] == "cd3"), None)
    page = Paginator(view.items, 50).get_page(request.GET.get("page"))
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


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def schedule_view(request):
    """The team schedule (CD3 across team capacities); the forms manage the teams."""
    actor = request.actor
    errors: dict = {}
    team_error_for = ""
    if request.method == "POST":
        action = request.POST.get("action", "create")
        team_id = _int(request.POST.get("team_id")) or 0
        data = {
            "name": request.POST.get("name", ""),
            "capacity": request.POST.get("capacity", ""),
            "available_from": request.POST.get("available_from", ""),
        }
        try:
            if action == "delete":
                services.team_delete(actor=actor, team_id=team_id)
            elif action == "update":
                services.team_update(
                    actor=actor, team_id=team_id, expected_version=_int(request.POST.get("version")), **data
                )
            else:
                services.team_create(actor=actor, **data)
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
            team_error_for = str(team_id) if action == "update" else "new"
        else:
            messages.success(request, {"delete": "Team deleted.", "update": "Team saved."}.get(action, "Team added."))
            return redirect("planning:schedule", actor.workspace.slug)
    view = selectors.team_schedule(actor=actor)
    chart = charts.gantt(view.items, today=view.today) if view.items else None
    page = Paginator(view.items, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "planning/schedule.html",
        {
            "section": "planning",
            "view": view,
            "chart": chart,
            "page": page,
            "errors": errors,
            "form": request.POST if errors else {},
            "currency": actor.workspace.currency,
            "team_error_for": team_error_for,
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
            "left_out": view.left_out[:50],
        },
        status=400 if errors else 200,
    )


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def forecast_view(request):
    """Monte Carlo forecasts ("when will N items be done", "how many by this date") from weekly
    throughput; the forms below manage the weeks entered by hand."""
    actor = request.actor
    settings = selectors.settings_get(actor=actor)
    errors: dict = {}
    entry_errors: dict = {}
    if request.method == "POST":
        action = request.POST.get("action", "create")
        entry_id = _int(request.POST.get("entry_id")) or 0
        try:
            if action == "delete":
                services.throughput_delete(actor=actor, throughput_id=entry_id)
            else:
                services.throughput_create(
                    actor=actor,
                    week_start=request.POST.get("week_start", ""),
                    finished=request.POST.get("finished", ""),
                    note=request.POST.get("note", ""),
                )
        except DomainError as exc:
            if exc.status == 403:
                raise
            entry_errors = form_errors(exc)
        else:
            messages.success(request, "Throughput entry deleted." if action == "delete" else "Week added.")
            return redirect("planning:forecast", actor.workspace.slug)
    remaining = selectors.remaining_items(actor=actor)
    mode = request.GET.get("mode", "when")
    source = request.GET.get("source") or settings.throughput_source
    today = selectors.today_for(actor.workspace)
    default_items = remaining["delivery_items"] if source == "delivery_items" else remaining["features"]
    form = {
        "mode": mode if mode in ("when", "how_many") else "when",
        "source": source,
        "items": request.GET.get("items", str(default_items or 10)),
        "until": request.GET.get("until", (today + dt.timedelta(weeks=12)).isoformat()),
        "history_weeks": request.GET.get("history_weeks", "12"),
    }
    result = chart = None
    try:
        weeks_back = min(104, max(1, _int(form["history_weeks"]) or 12))
        if form["mode"] == "when":
            items = _int(form["items"])
            if items is None or not 0 <= items <= 100_000:
                raise Invalid("How many items?", fields={"items": "Enter a whole number of items (0 to 100,000)."})
            result = selectors.forecast_when(
                actor=actor, items=items, source=source, history_weeks=weeks_back, seed=20260101
            )
            markers = [(lv["weeks"], f"{lv['confidence']} %") for lv in result.levels]
            unit, label = "weeks", "Weeks until done"
        else:
            try:
                until = services.parse_date(form["until"])
            except ValueError as exc:
                raise Invalid(str(exc), fields={"until": str(exc)}) from None
            if until is None:
                raise Invalid("Which date?", fields={"until": "Enter a date."})
            result = selectors.forecast_how_many(
                actor=actor, until=until, source=source, history_weeks=weeks_back, seed=20260101
            )
            markers = [(lv["items"], f"{lv['confidence']} %") for lv in result.levels]
            unit, label = "items", "Items finished by the date"
        hist = result.result.histogram
        chart = charts.histogram(hist.edges, hist.counts, markers=markers, x_label=label, unit=unit)
    except DomainError as exc:
        if exc.status == 403:
            raise
        errors = form_errors(exc)
    history = (
        selectors.throughput_history(actor=actor, source=source, weeks=weeks_back)
        if source in ("delivery_items", "features", "manual")
        else []
    )
    entries = Paginator(selectors.throughput_list(actor=actor), 26).get_page(request.GET.get("page"))
    return render(
        request,
        "planning/forecast.html",
        {
            "section": "planning",
            "form": form,
            "result": result,
            "chart": chart,
            "errors": errors,
            "entry_errors": entry_errors,
            "history": history,
            "entries": entries,
            "sources": THROUGHPUT_SOURCES,
            "remaining": remaining,
            "settings": settings,
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
            "entry_form": request.POST if entry_errors else {},
            "source_label": dict(THROUGHPUT_SOURCES).get(source, source).lower(),
        },
        status=400 if entry_errors else 200,
    )


# --------------------------------------------------------------------------------------------------
# The product owner's backlog
# --------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_GET
def backlog_view(request):
    """The product owner's backlog: hand order first, then CD3 order; moves need a reason."""
    return _backlog_page(request)


def _backlog_page(request, errors=None, failed_id=None, status=200):
    actor = request.actor
    size = 50
    rows_all_count = None
    page_number = _int(request.GET.get("page")) or 1
    rows, count, hand = selectors.backlog_list(actor=actor, start=(page_number - 1) * size, stop=page_number * size)
    if not rows and count and page_number > 1:
        page_number = max(1, -(-count // size))
        rows, count, hand = selectors.backlog_list(actor=actor, start=(page_number - 1) * size, stop=page_number * size)
    rows_all_count = count
    page = Paginator(range(rows_all_count), size).get_page(page_number)
    return render(
        request,
        "planning/backlog.html",
        {
            "section": "backlog",
            "rows": rows,
            "count": count,
            "hand": hand,
            "page": page,
            "moves": selectors.backlog_moves(actor=actor, limit=10),
            "errors": errors or {},
            "failed_id": failed_id,
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
            "posted": request.POST if errors else {},
        },
        status=status,
    )


def _backlog_redirect(request, feature_id=None):
    url = reverse("planning:backlog", args=[request.actor.workspace.slug])
    page = _int(request.POST.get("page"))
    suffix = f"?page={page}" if page and page > 1 else ""
    return HttpResponseRedirect(f"{url}{suffix}" + (f"#backlog-{feature_id}" if feature_id else ""))


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def backlog_move_view(request):
    """Move a feature up, down or to a position; the reason is required (and kept)."""
    actor = request.actor
    feature_id = _int(request.POST.get("feature_id")) or 0
    direction = request.POST.get("direction", "")
    current = _int(request.POST.get("current")) or 0
    if direction == "up":
        target = max(1, current - 1)
    elif direction == "down":
        target = current + 1
    else:
        target = _int(request.POST.get("to_position")) or 0
    try:
        move = services.backlog_move(
            actor=actor, feature_id=feature_id, to_position=target, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        errors = form_errors(exc)
        if "to_position" in errors and not request.POST.get("to_position"):
            errors = {"form": exc.message}
        request.GET = request.GET.copy()
        request.GET["page"] = request.POST.get("page", "1")
        return _backlog_page(request, errors=errors, failed_id=feature_id, status=400)
    messages.success(request, f"Moved from {move.from_position} to {move.to_position}: “{move.reason}”")
    return _backlog_redirect(request, feature_id)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def backlog_reset_view(request):
    actor = request.actor
    try:
        services.backlog_reset(actor=actor, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        if exc.status == 403:
            raise
        request.GET = request.GET.copy()
        return _backlog_page(request, errors={"reset_reason": exc.fields.get("reason", exc.message)}, status=400)
    messages.success(request, "The backlog follows CD3 order again.")
    return _backlog_redirect(request)


# --------------------------------------------------------------------------------------------------
# Formulas, Kano, opportunity scores
# --------------------------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def formulas_view(request):
    actor = request.actor
    errors: dict = {}
    form = {"name": "", "expression": "", "formula_id": ""}
    if request.method == "POST":
        action = request.POST.get("action", "create")
        formula_id = _int(request.POST.get("formula_id")) or 0
        form = {
            "name": request.POST.get("name", ""),
            "expression": request.POST.get("expression", ""),
            "formula_id": str(formula_id or ""),
        }
        try:
            if action == "delete":
                services.formula_delete(actor=actor, formula_id=formula_id)
            elif action == "update":
                services.formula_update(
                    actor=actor,
                    formula_id=formula_id,
                    expected_version=_int(request.POST.get("version")),
                    name=form["name"],
                    expression=form["expression"],
                )
            else:
                services.formula_create(actor=actor, name=form["name"], expression=form["expression"])
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(
                request,
                {"delete": "Formula deleted.", "update": "Formula saved."}.get(
                    action, "Formula saved; it is a tab on the ranking now."
                ),
            )
            return redirect("planning:formulas", actor.workspace.slug)
    return render(
        request,
        "planning/formulas.html",
        {
            "section": "planning",
            "formulas": selectors.formula_list(actor=actor),
            "errors": errors,
            "form": form,
            "fields": sorted(scoring.FORMULA_FIELDS),
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        },
        status=400 if errors else 200,
    )


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def kano_view(request):
    actor = request.actor
    errors: dict = {}
    report = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        text = request.POST.get("csv", "")
        try:
            if upload is not None:
                if upload.size > 2 * 1024 * 1024:
                    raise Invalid("The file is too large.", fields={"file": "The limit is 2 MB."})
                data = upload.read()
            elif text.strip():
                data = text
            else:
                raise Invalid("Choose a CSV file.", fields={"file": "Choose a CSV file or paste the rows."})
            report = services.kano_import(actor=actor, data=data, dry_run=request.POST.get("dry_run") == "1")
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            if not report["dry_run"]:
                messages.success(
                    request, f"Imported {report['rows']} answers: {report['created']} new, {report['updated']} changed."
                )
                return redirect("planning:kano", actor.workspace.slug)
    rows = selectors.kano_results(actor=actor)
    return render(
        request,
        "planning/kano.html",
        {
            "section": "planning",
            "rows": rows,
            "errors": errors,
            "report": report,
            "labels": selectors.KANO_LABELS,
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        },
        status=400 if errors else 200,
    )


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def opportunities_view(request):
    """Ulwick's opportunity score per problem, from survey importance and satisfaction."""
    actor = request.actor
    errors: dict = {}
    failed = None
    if request.method == "POST":
        failed = _int(request.POST.get("problem_id")) or 0
        try:
            services.outcome_update(
                actor=actor,
                problem_id=failed,
                importance=request.POST.get("importance", ""),
                satisfaction=request.POST.get("satisfaction", ""),
                respondents=request.POST.get("respondents", ""),
                expected_version=_int(request.POST.get("version")),
            )
        except DomainError as exc:
            _raise_forbidden(exc)
            errors = form_errors(exc)
        else:
            messages.success(request, "Survey scores saved.")
            return redirect("planning:opportunities", actor.workspace.slug)
    return render(
        request,
        "planning/opportunities.html",
        {
            "section": "planning",
            "rows": selectors.outcome_list(actor=actor),
            "errors": errors,
            "failed": failed,
            "posted": request.POST if errors else {},
            "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        },
        status=400 if errors else 200,
    )
