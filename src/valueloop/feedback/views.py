"""Pages of the feedback inbox: triage list, item page, manual entry, import, tags, saved views."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from valueloop.collaboration.facade import thread_context
from valueloop.core import extensions
from valueloop.core.entities import resolve_entity
from valueloop.core.errors import DomainError, Invalid
from valueloop.core.pages import form_errors, workspace_page
from valueloop.core.permissions import Scope

from . import importing, selectors, services
from .models import IMPORTANCE, SOURCES, STATUSES

PAGE_SIZE = 50
WRITE = services.WRITE_SCOPE
STATUS_TABS = [("new", "New"), ("triaged", "Triaged"), ("linked", "Linked"), ("archived", "Archived"), ("all", "All")]
BULK_NOTICES = {
    "triage": "{n} marked triaged.",
    "new": "{n} moved back to New.",
    "archive": "{n} archived.",
    "add_tag": "Tag added to {n}.",
    "remove_tag": "Tag removed from {n}.",
    "assign_customer": "Customer set on {n}.",
}


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**62 else None


def _inbox_url(actor, querystring: str = "") -> str:
    url = reverse("feedback:inbox", args=[actor.workspace.slug])
    return f"{url}?{querystring}" if querystring else url


def _inbox_context(request, filters: selectors.FeedbackFilters) -> dict:
    actor = request.actor
    status = filters.status or ("all" if filters.q else "new")
    kwargs = filters.list_kwargs()
    kwargs["status"] = status
    sort = kwargs.pop("sort")
    queryset = selectors.feedback_list(actor=actor, sort=sort, **kwargs)
    counts = selectors.feedback_status_counts(actor=actor, **kwargs)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    tabs = [
        (key, label, counts.get(key, 0), _inbox_url(actor, filters.querystring(status=key, page=None)), key == status)
        for key, label in STATUS_TABS
    ]
    return {
        "filters": filters,
        "status": status,
        "page": page,
        "tabs": tabs,
        "counts": counts,
        "querystring": filters.querystring(status=status if filters.status else None),
        "qs_without_customer": filters.querystring(customer=None),
        "customer_name": selectors.customer_label(actor=actor, customer_id=filters.customer),
        "can_write": actor.can(WRITE),
        "searching": bool(filters.q),
        "now_year": timezone.now().year,
    }


@workspace_page(Scope.WORKSPACE_READ)
@require_GET
def inbox_view(request):
    actor = request.actor
    filters = selectors.FeedbackFilters.from_query(request.GET)
    context = _inbox_context(request, filters)
    if request.htmx and request.htmx.target == "inbox-results":
        return render(request, "feedback/inbox.html#results", context)
    context.update(
        {
            "choices": selectors.filter_choices(actor=actor),
            "saved_views": list(selectors.saved_view_list(actor=actor)),
            "customer_names": selectors.customer_names(actor=actor) if context["can_write"] else [],
            "sort_choices": [("", "Best match / newest"), ("newest", "Newest first"), ("oldest", "Oldest first")],
        }
    )
    return render(request, "feedback/inbox.html", context)


@workspace_page(WRITE)
@require_POST
def bulk_view(request):
    actor = request.actor
    back = request.POST.get("back", "")[:2000]
    raw_ids = request.POST.getlist("ids")
    ids = [_int(v) for v in raw_ids]
    action = request.POST.get("action", "")
    notice, error = "", ""
    try:
        if any(i is None for i in ids):
            raise Invalid("Some selected ids are not valid.", fields={"ids": "Not an id."})
        changed = services.feedback_bulk(
            actor=actor,
            ids=[i for i in ids if i],
            action=action,
            tag=request.POST.get("tag", ""),
            customer=request.POST.get("customer", ""),
        )
        notice = BULK_NOTICES.get(action, "{n} updated.").format(n=f"{changed} item{'s' if changed != 1 else ''}")
    except DomainError as exc:
        if exc.status == 403:
            raise
        error = exc.message
    if request.htmx:
        query = QueryDict(back.lstrip("?"))
        request.GET = query  # the partial reads the page number from it
        filters = selectors.FeedbackFilters.from_query(query)
        context = _inbox_context(request, filters)
        context.update({"notice": notice, "error": error})
        return render(request, "feedback/inbox.html#results", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(_inbox_url(actor, QueryDict(back.lstrip("?")).urlencode()))


@workspace_page(Scope.WORKSPACE_READ)
@require_POST
def view_save_view(request):
    actor = request.actor
    query = request.POST.get("query", "")[:2000]
    try:
        view = services.saved_view_create(
            actor=actor,
            name=request.POST.get("name", ""),
            query=query,
            shared=request.POST.get("shared") == "1",
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        messages.error(request, exc.message)
        return redirect(_inbox_url(actor, QueryDict(query.lstrip("?")).urlencode()))
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(_inbox_url(actor, view.query))


@workspace_page(Scope.WORKSPACE_READ)
@require_POST
def view_delete_view(request, view_id: int):
    actor = request.actor
    view = selectors.access_saved_view(actor=actor, id=view_id, own=True)
    services.saved_view_delete(actor=actor, view_id=view.pk)
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect(_inbox_url(actor))


def _parse_local_datetime(value: str, actor) -> dt.datetime | None:
    """A <input type=datetime-local> value in the workspace time zone (or ISO with an offset)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise Invalid("Use a date and time such as 2025-03-31 14:05.", fields={"received_at": "Not a date."})
    if timezone.is_naive(parsed):
        import zoneinfo

        try:
            tz = zoneinfo.ZoneInfo(actor.workspace.timezone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = dt.UTC
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def _customer_id_for(actor, reference: str, field: str = "customer") -> int | None:
    reference = (reference or "").strip()
    if not reference:
        return None
    found = importing.CustomerIndex(actor.workspace).customer(reference)
    if found is None:
        raise Invalid(f"No customer named {reference[:80]!r}.", fields={field: "Unknown customer."})
    return found


def _form_choices(actor) -> dict:
    return {
        "sources": SOURCES,
        "importances": IMPORTANCE,
        "customer_names": selectors.customer_names(actor=actor),
        "persona_choices": selectors.filter_choices(actor=actor)["personas"],
        "tag_names": list(selectors.tag_list(actor=actor).values_list("name", flat=True)[:500]),
    }


@workspace_page(WRITE)
@require_http_methods(["GET", "POST"])
def item_new_view(request):
    actor = request.actor
    errors: dict[str, str] = {}
    form = {k: request.POST.get(k, "") for k in ("text", "title", "source", "received_at", "customer", "url")}
    form.update({k: request.POST.get(k, "") for k in ("importance", "tags")})
    if request.method == "POST":
        try:
            item = services.feedback_create(
                actor=actor,
                text=form["text"],
                title=form["title"],
                source=form["source"] or "other",
                received_at=_parse_local_datetime(form["received_at"], actor),
                customer_id=_customer_id_for(actor, form["customer"]),
                url=form["url"],
                importance=form["importance"],
                tags=form["tags"],
                persona_ids=[i for i in (_int(v) for v in request.POST.getlist("personas")) if i],
            )
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, "Feedback added.")
            if request.POST.get("another") == "1":
                return redirect("feedback:item_new", actor.workspace.slug)
            return redirect("feedback:item_detail", actor.workspace.slug, item.pk)
    context = {"errors": errors, "form": form, **_form_choices(actor)}
    return render(request, "feedback/item_new.html", context, status=400 if errors else 200)


def _evidence_context(actor, item) -> dict:
    """What apps above feedback add to an item's page (the evidence app's "link to a problem or feature" form),
    through the ``feedback.item_page`` extension point; ``evidence_enabled`` is False when none does."""
    return {"evidence_enabled": False, **extensions.page_context("feedback.item_page", actor=actor, item=item)}


def _apply_item_action(actor, item, action: str, data) -> str:
    version = _int(data.get("version"))
    if action in ("new", "triaged", "archived"):
        services.feedback_set_status(actor=actor, feedback_id=item.pk, status=action, expected_version=version)
        return {"new": "Moved back to New.", "triaged": "Marked triaged.", "archived": "Archived."}[action]
    if action == "tags":
        services.feedback_update(actor=actor, feedback_id=item.pk, tags=data.get("tags", ""))
        return "Tags saved."
    if action == "update":
        services.feedback_update(
            actor=actor,
            feedback_id=item.pk,
            expected_version=version,
            title=data.get("title", ""),
            text=data.get("text", ""),
            source=data.get("source", item.source),
            importance=data.get("importance", ""),
            url=data.get("url", ""),
            received_at=_parse_local_datetime(data.get("received_at", ""), actor) or item.received_at,
            customer_id=_customer_id_for(actor, data.get("customer", "")),
            persona_ids=[i for i in (_int(v) for v in data.getlist("personas")) if i],
        )
        return "Feedback saved."
    raise Invalid(f"Unknown action {action!r}.")


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def item_detail_view(request, feedback_id: int):
    actor = request.actor
    item = selectors.access_feedback(actor=actor, id=feedback_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            notice = _apply_item_action(actor, item, action, request.POST)
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
            item = selectors.access_feedback(actor=actor, id=feedback_id)
        else:
            messages.success(request, notice)
            return redirect("feedback:item_detail", actor.workspace.slug, item.pk)
    customer_ref = _customer_ref(actor, item.customer_id)
    item_personas = list(item.personas.order_by("name"))
    context = {
        "item": item,
        "tags": list(item.tags.order_by("name").values_list("name", flat=True)),
        "item_personas": item_personas,
        "persona_ids": {p.pk for p in item_personas},
        "customer_url": _safe_url(customer_ref),
        "errors": errors,
        "can_write": actor.can(WRITE),
        "back": request.GET.get("back", "")[:2000],
        "statuses": STATUSES,
        **_form_choices(actor),
        **thread_context(actor=actor, entity_type="feedback", entity_id=item.pk),
        **_evidence_context(actor, item),
    }
    return render(request, "feedback/item_detail.html", context, status=400 if errors else 200)


def _customer_ref(actor, customer_id: int | None):
    from django.urls import NoReverseMatch

    if not customer_id:
        return None
    try:
        return resolve_entity(actor.workspace, "customer", customer_id)
    except NoReverseMatch:  # the customers pages are not there (yet)
        return None


def _safe_url(ref) -> str:
    return getattr(ref, "url", "") if ref is not None else ""


# --- import ---------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_EXTENSIONS = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson")
UPLOAD_TTL_SECONDS = 24 * 3600


def _upload_dir(actor) -> Path:
    path = Path(settings.UPLOADS_DIR) / "feedback-imports" / str(actor.workspace.pk)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _clean_old_uploads(directory: Path) -> None:
    cutoff = time.time() - UPLOAD_TTL_SECONDS
    for entry in directory.iterdir():
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()
        except OSError:
            pass


def _upload_path(actor, token: str) -> Path | None:
    if not _TOKEN_RE.match(token or ""):
        return None
    for ext in _EXTENSIONS:
        candidate = _upload_dir(actor) / f"{token}{ext}"
        if candidate.is_file():
            return candidate
    return None


def _options_from(data, mapping: dict | None, *, dry_run: bool) -> importing.ImportOptions:
    preset = data.get("preset", "generic")
    return importing.ImportOptions(
        preset=preset if preset in importing.PRESETS else "generic",
        fmt=data.get("format") or None,
        mapping=mapping,
        default_source=data.get("default_source") or None,
        unknown_customer="skip_link" if data.get("unknown_customer") == "skip_link" else "error",
        date_format=(data.get("date_format") or "").strip()[:40] or None,
        skip_invalid=data.get("skip_invalid") == "1",
        dry_run=dry_run,
    )


def _mapping_from(data) -> dict | None:
    if data.get("mapping_edited") != "1":
        return None
    return {name: data.get(f"map_{name}", "") for name in importing.FIELDS}


class _SizeLimitHandler(FileUploadHandler):
    """Stops reading an upload as soon as it is larger than the import limit: a 200 MB file is
    refused without ever being written to disk (Django drains the request, storing nothing)."""

    def __init__(self, limit: int, request=None):
        super().__init__(request)
        self.limit = limit
        self.too_large = 0
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + 1024 * 1024:
            self.too_large = content_length

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        if self.too_large:
            raise StopUpload(connection_reset=False)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = self.received
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


@workspace_page(WRITE)
@csrf_exempt  # CSRF is checked by csrf_protect below, after the size guard is in place
def import_view(request):
    limit = importing.ImportOptions().limit
    guard = _SizeLimitHandler(limit, request)
    try:
        request.upload_handlers.insert(0, guard)
    except AttributeError:
        # A middleware read the form already (the NUL-character check does): the upload sits in
        # Django's temporary file and is refused by its size below, still without being read.
        length = _int(request.META.get("CONTENT_LENGTH")) or 0
        if length > limit + 1024 * 1024:
            guard.too_large = length
    return _import_view(request, guard, limit)


@csrf_protect
@require_http_methods(["GET", "POST"])
def _import_view(request, guard: _SizeLimitHandler, limit: int):
    actor = request.actor
    directory = _upload_dir(actor)
    _clean_old_uploads(directory)
    context: dict = {
        "presets": importing.PRESETS.values(),
        "fields": importing.FIELDS,
        "required_fields": importing.REQUIRED_FIELDS,
        "sources": SOURCES,
        "limit": importing.human_size(limit),
        "errors": {},
        "data": {"preset": "generic"},
    }
    if request.method == "GET":
        return render(request, "feedback/import.html", context)
    data = request.POST  # parses the body, through the size guard
    if guard.too_large:
        context["errors"] = {"file": importing.size_problem(guard.too_large, limit) or "The file is too large."}
        return render(request, "feedback/import.html", context, status=400)
    action = data.get("action", "upload")
    context["data"] = data
    token = data.get("token", "")
    if action == "cancel":
        path = _upload_path(actor, token)
        if path:
            path.unlink(missing_ok=True)
        messages.success(request, "Import cancelled; the uploaded file was deleted.")
        return redirect("feedback:import", actor.workspace.slug)
    if action == "upload":
        upload = request.FILES.get("file")
        if upload is None:
            context["errors"] = {"file": "Choose a CSV or JSON file to upload."}
            return render(request, "feedback/import.html", context, status=400)
        problem = importing.size_problem(upload.size or 0, limit)
        if problem:
            context["errors"] = {"file": problem}
            return render(request, "feedback/import.html", context, status=400)
        name = Path(upload.name or "upload.csv").name
        ext = Path(name).suffix.lower()
        if ext not in _EXTENSIONS:
            ext = ".csv"
        token = secrets.token_urlsafe(32)
        path = directory / f"{token}{ext}"
        with path.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        filename = name[:200]
    else:
        path = _upload_path(actor, token)
        filename = data.get("filename", "")[:200]
        if path is None:
            messages.error(request, "The uploaded file is gone (uploads are kept for a day). Upload it again.")
            return redirect("feedback:import", actor.workspace.slug)
    confirm = action in ("confirm", "confirm_skip")
    options = _options_from(data, _mapping_from(data), dry_run=not confirm)
    if action == "confirm_skip":  # the button that says "skip the invalid rows": an explicit choice
        options.skip_invalid = True
    try:
        report = services.feedback_import(
            actor=actor, data=path.read_bytes(), filename=filename or path.name, options=options
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        if action == "upload":  # a file refused on arrival is not kept for a second try
            path.unlink(missing_ok=True)
        context["errors"] = form_errors(exc)
        return render(request, "feedback/import.html", context, status=400)
    if confirm and report.written:
        path.unlink(missing_ok=True)
        messages.success(request, report.summary())
        context.update({"report": report, "done": True})
        return render(request, "feedback/import.html", context)
    mapping_rows = [
        (name, label, report.mapping.get(name) or "", name in importing.REQUIRED_FIELDS)
        for name, label in importing.FIELDS.items()
    ]
    context.update(
        {
            "report": report,
            "token": token,
            "filename": filename,
            "mapping_rows": mapping_rows,
            "columns": report.columns,
            "preview_columns": ["row", "received_at", "source", "title", "text", "customer", "contact_email", "tags"],
        }
    )
    return render(request, "feedback/import.html", context, status=200)


# --- tags -----------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def tags_view(request):
    actor = request.actor
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "create":
                services.tag_create(actor=actor, name=request.POST.get("name", ""))
                notice = "Tag created."
            elif action == "rename":
                services.tag_rename(
                    actor=actor, tag_id=_int(request.POST.get("tag_id")) or 0, name=request.POST.get("name", "")
                )
                notice = "Tag renamed."
            elif action == "delete":
                services.tag_delete(actor=actor, tag_id=_int(request.POST.get("tag_id")) or 0)
                notice = "Tag deleted."
            else:
                raise Invalid("Unknown action.")
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, notice)
            return redirect("feedback:tags", actor.workspace.slug)
    context = {
        "tags": selectors.tag_list(actor=actor, with_counts=True),
        "errors": errors,
        "can_write": actor.can(WRITE),
    }
    return render(request, "feedback/tags.html", context, status=400 if errors else 200)
