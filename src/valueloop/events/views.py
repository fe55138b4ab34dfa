"""Pages of the events app: the event data overview with the CSV/Parquet upload, the event source setting and its
connection test (one view per form; input through ``forms.py``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from valueloop.core.errors import DomainError
from valueloop.core.pages import posted, workspace_page
from valueloop.core.permissions import Scope

from . import files, selectors, services, warehouse
from .forms import EventSourceForm, EventUploadForm


def _overview_context(request, upload_form: EventUploadForm | None = None) -> dict:
    actor = request.actor
    data = selectors.overview(actor=actor)
    source = data["source"]
    return {
        **data,
        "form": upload_form or EventUploadForm(actor=actor),
        "can_upload": actor.can(Scope.EVENTS_WRITE),
        "can_manage": actor.can(Scope.WORKSPACE_MANAGE),
        "limit": files.human_size(files.upload_limit()),
        "source_url": warehouse.masked(source.url, bool(source.password)) if source else "",
        "api_host": settings.VALUELOOP_PUBLIC_URL.rstrip("/"),
    }


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD"])
def overview_view(request):
    return render(request, "events/overview.html", _overview_context(request))


@workspace_page(Scope.EVENTS_WRITE)
@require_http_methods(["POST"])
def upload_view(request):
    actor = request.actor
    form = EventUploadForm(request.POST, request.FILES, actor=actor)
    if not form.submit(services.events_upload):
        return render(request, "events/overview.html", _overview_context(request, form), status=400)
    result = form.result
    messages.success(
        request,
        f"Stored {result.exposures} exposure{'s' if result.exposures != 1 else ''} and "
        f"{result.events} metric event{'s' if result.events != 1 else ''} from {form.cleaned_data['file'].name}.",
    )
    return redirect("events:overview", actor.workspace.slug)


def _source_context(form: EventSourceForm, source) -> dict:
    return {
        "source": source,
        "form": form,
        "dialects": sorted(warehouse.DIALECTS),
        "url_options": list(warehouse.URL_OPTIONS),
    }


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def source_view(request):
    actor = request.actor
    source = selectors.event_source_get(actor=actor)
    form = EventSourceForm(posted(request), actor=actor, instance=source)
    if form.is_bound:
        if form.submit(services.event_source_update):
            messages.success(
                request,
                "Event source saved: "
                + ("the embedded store." if form.result.kind == "embedded" else "your warehouse. Test the connection."),
            )
            return redirect("events:source", actor.workspace.slug)
        return render(request, "events/source.html", _source_context(form, source), status=400)
    return render(request, "events/source.html", _source_context(form, source))


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_POST
def source_test_view(request):
    """Connect to the configured warehouse; the outcome is shown as a message on the source page."""
    actor = request.actor
    try:
        source = services.event_source_test(actor=actor)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    else:
        (messages.success if source.last_test_ok else messages.error)(request, source.last_test_message)
    return redirect("events:source", actor.workspace.slug)
