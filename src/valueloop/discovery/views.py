from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from valueloop.collaboration.facade import thread_context
from valueloop.core import extensions
from valueloop.core.pages import paginate_page, posted, workspace_page
from valueloop.core.permissions import Scope
from valueloop.evidence.facade import evidence_panel

from . import selectors, services
from .forms import ProblemFilterForm, ProblemForm
from .models import PROBLEM_STATUS

# Extension point: the features that solve problems, grouped by problem id (None: features not yet tied to a
# problem). Planning answers it; discovery sits below planning in the value flow and does not import it.
SOLUTIONS = "discovery.solutions"


def _solutions(workspace, problem_ids: list[int]) -> dict:
    return extensions.ask(SOLUTIONS, default={}, workspace=workspace, problem_ids=problem_ids)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def problem_list_view(request):
    actor = request.actor
    form = ProblemForm(posted(request), actor=actor)
    if form.submit(services.problem_create):
        messages.success(request, f"Problem “{form.result.title}” added.")
        return redirect("discovery:problem_detail", actor.workspace.slug, form.result.pk)
    filters = ProblemFilterForm(request.GET).values()
    problems = selectors.problem_list(actor=actor, search=filters["q"], status=filters["status"])
    context = {
        "page": paginate_page(request, problems, 30),
        "search": filters["q"],
        "status": filters["status"],
        "statuses": PROBLEM_STATUS,
        "form": form,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        "section": "discovery",
    }
    return render(request, "discovery/problem_list.html", context, status=400 if form.errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def tree_view(request):
    """The opportunity-solution tree: problems with the features that solve them, per product."""
    actor = request.actor
    problems = list(selectors.problem_list(actor=actor).exclude(status="parked"))
    features = _solutions(actor.workspace, [p.pk for p in problems])
    for problem in problems:
        problem.solutions = features.get(problem.pk, [])
    unlinked = features.get(None, [])
    return render(request, "discovery/tree.html", {"problems": problems, "unlinked": unlinked, "section": "discovery"})


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def problem_detail_view(request, problem_id: int):
    actor = request.actor
    problem = selectors.access_problem(actor=actor, id=problem_id)
    form = ProblemForm(posted(request), actor=actor, instance=problem)
    if form.submit(services.problem_update, problem_id=problem.pk):
        messages.success(request, "Problem saved.")
        return redirect("discovery:problem_detail", actor.workspace.slug, problem.pk)
    context = {
        "problem": problem,
        "form": form,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        "solutions": _solutions(actor.workspace, [problem.pk]).get(problem.pk, []),
        "section": "discovery",
        **evidence_panel(actor=actor, target_type="problem", target_id=problem.pk),
        **thread_context(actor=actor, entity_type="problem", entity_id=problem.pk),
    }
    return render(request, "discovery/problem_detail.html", context, status=400 if form.errors else 200)
