from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from valueloop.collaboration.facade import thread_context
from valueloop.core.errors import DomainError
from valueloop.core.pages import form_errors, workspace_page
from valueloop.core.permissions import Scope
from valueloop.discovery.facade import problem_choices
from valueloop.evidence.facade import evidence_panel
from valueloop.workspaces.facade import product_choices

from . import selectors, services
from .models import FEATURE_STATUS


def _int(value) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


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
        **_choices(actor),
    }
    return render(request, "planning/feature_list.html", context, status=400 if errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def feature_detail_view(request, feature_id: int):
    actor = request.actor
    feature = selectors.access_feature(actor=actor, id=feature_id)
    errors: dict = {}
    if request.method == "POST":
        try:
            feature = services.feature_update(
                actor=actor,
                feature_id=feature.pk,
                expected_version=_int(request.POST.get("version")),
                **_form(request.POST),
            )
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, "Feature saved.")
            return redirect("planning:feature_detail", actor.workspace.slug, feature.pk)
    context = {
        "feature": feature,
        "errors": errors,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        **_choices(actor),
        **evidence_panel(actor=actor, target_type="feature", target_id=feature.pk),
        **thread_context(actor=actor, entity_type="feature", entity_id=feature.pk),
    }
    return render(request, "planning/feature_detail.html", context, status=400 if errors else 200)
