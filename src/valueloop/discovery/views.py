from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from valueloop.collaboration.facade import thread_context
from valueloop.core.errors import DomainError
from valueloop.core.pages import form_errors, workspace_page
from valueloop.core.permissions import Scope
from valueloop.evidence.facade import evidence_panel
from valueloop.planning.facade import features_for_problems
from valueloop.workspaces.facade import product_choices

from . import selectors, services
from .models import PROBLEM_STATUS


def _int(value) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def _form(data) -> dict:
    return {
        "title": data.get("title", ""),
        "description": data.get("description", ""),
        "status": data.get("status", "open") or "open",
        "product_id": _int(data.get("product_id")),
        "area_id": _int(data.get("area_id")),
    }


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def problem_list_view(request):
    actor = request.actor
    errors: dict = {}
    form = _form({})
    if request.method == "POST":
        form = _form(request.POST)
        try:
            problem = services.problem_create(actor=actor, **form)
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, f"Problem “{problem.title}” added.")
            return redirect("discovery:problem_detail", actor.workspace.slug, problem.pk)
    search, status = request.GET.get("q", "").strip(), request.GET.get("status", "")
    problems = selectors.problem_list(actor=actor, search=search, status=status)
    page = Paginator(problems, 30).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "search": search,
        "status": status,
        "statuses": PROBLEM_STATUS,
        "errors": errors,
        "form": form,
        "products": product_choices(actor.workspace),
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        "section": "discovery",
    }
    return render(request, "discovery/problem_list.html", context, status=400 if errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def tree_view(request):
    """The opportunity-solution tree: problems with the features that solve them, per product."""
    actor = request.actor
    problems = list(selectors.problem_list(actor=actor).exclude(status="parked"))
    features = features_for_problems(actor.workspace, [p.pk for p in problems])
    for problem in problems:
        problem.solutions = features.get(problem.pk, [])
    unlinked = features.get(None, [])
    return render(request, "discovery/tree.html", {"problems": problems, "unlinked": unlinked, "section": "discovery"})


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def problem_detail_view(request, problem_id: int):
    actor = request.actor
    problem = selectors.access_problem(actor=actor, id=problem_id)
    errors: dict = {}
    if request.method == "POST":
        try:
            problem = services.problem_update(
                actor=actor,
                problem_id=problem.pk,
                expected_version=_int(request.POST.get("version")),
                **_form(request.POST),
            )
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, "Problem saved.")
            return redirect("discovery:problem_detail", actor.workspace.slug, problem.pk)
    context = {
        "problem": problem,
        "errors": errors,
        "statuses": PROBLEM_STATUS,
        "products": product_choices(actor.workspace),
        "solutions": features_for_problems(actor.workspace, [problem.pk]).get(problem.pk, []),
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        "section": "discovery",
        **evidence_panel(actor=actor, target_type="problem", target_id=problem.pk),
        **thread_context(actor=actor, entity_type="problem", entity_id=problem.pk),
    }
    return render(request, "discovery/problem_detail.html", context, status=400 if errors else 200)
