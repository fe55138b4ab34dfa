"""Pages of the events app: the event data overview with the CSV/Parquet upload, and the event source setting."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from valueloop.core.errors import DomainError
from valueloop.core.pages import form_errors, workspace_page
from valueloop.core.permissions import Scope

from . import files, selectors, services, warehouse


def _overview_context(request, errors=None) -> dict:
    actor = request.actor
    data = selectors.overview(actor=actor)
    source = data["source"]
    return {
        **data,
        "errors": errors or {},
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
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise services.Invalid("Choose a CSV or Parquet file to upload.", fields={"file": "Required."})
        fmt = request.POST.get("format") or None
        data = files.read_upload(upload)
        result = services.events_upload(actor=actor, data=data, filename=upload.name or "", fmt=fmt)
    except DomainError as exc:
        if exc.status == 404:
            raise
        # The summary once, then each row's problem (the message repeats the first one for API clients).
        errors = {"form": getattr(exc, "summary", exc.message), **exc.fields} if exc.fields else form_errors(exc)
        return render(request, "events/overview.html", _overview_context(request, errors), status=400)
    messages.success(
        request,
        f"Stored {result.exposures} exposure{'s' if result.exposures != 1 else ''} and "
        f"{result.events} metric event{'s' if result.events != 1 else ''} from {upload.name}.",
    )
    return redirect("events:overview", actor.workspace.slug)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def source_view(request):
    actor = request.actor
    source = selectors.event_source_get(actor=actor)
    errors: dict[str, str] = {}
    data = request.POST if request.method == "POST" else None
    if data is not None:
        try:
            if data.get("action") == "test":
                source = services.event_source_test(actor=actor)
                level = messages.success if source.last_test_ok else messages.error
                level(request, source.last_test_message)
                return redirect("events:source", actor.workspace.slug)
            columns = {
                kind: {field: data.get(f"col_{kind}_{field}", "").strip() for field in fields}
                for kind, fields in services.COLUMN_FIELDS.items()
            }
            version = data.get("version", "")
            password = data.get("password", "")
            source = services.event_source_update(
                actor=actor,
                kind=data.get("kind", "embedded"),
                url=data.get("url", ""),
                password=password if password else None,
                exposures_table=data.get("exposures_table", ""),
                events_table=data.get("events_table", ""),
                columns=columns,
                expected_version=int(version) if version.isdigit() else None,
            )
            messages.success(
                request,
                "Event source saved: "
                + ("the embedded store." if source.kind == "embedded" else "your warehouse. Test the connection."),
            )
            return redirect("events:source", actor.workspace.slug)
        except DomainError as exc:
            if exc.status == 404:
                raise
            errors = form_errors(exc)
    mapping = (source.columns if source else None) or {}
    column_rows = [
        (kind, field, (data.get(f"col_{kind}_{field}") if data is not None else mapping.get(kind, {}).get(field, "")))
        for kind, fields in services.COLUMN_FIELDS.items()
        for field in fields
    ]
    context = {
        "source": source,
        "errors": errors,
        "data": data,
        "kind": (data.get("kind") if data is not None else (source.kind if source else "embedded")),
        "url": (data.get("url") if data is not None else warehouse.masked(source.url, bool(source.password)))
        if (data is not None or source)
        else "",
        "column_rows": column_rows,
        "dialects": sorted(warehouse.DIALECTS),
        "url_options": list(warehouse.URL_OPTIONS),
    }
    return render(request, "events/source.html", context, status=400 if errors else 200)
