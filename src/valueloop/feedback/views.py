"""Pages of the feedback inbox: triage list, item page, manual entry, import, tags, saved views."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from valueloop.collaboration.facade import thread_context
from valueloop.core import extensions
from valueloop.core.entities import resolve_entity
from valueloop.core.errors import DomainError
from valueloop.core.pages import form_errors, paginate_page, posted, workspace_page
from valueloop.core.permissions import Scope

from . import importing, selectors, services
from .forms import (
    BackForm,
    BulkForm,
    ContentLengthForm,
    FeedbackForm,
    ImportReviewForm,
    ImportUploadForm,
    InboxFilterForm,
    ItemTagsForm,
    SavedViewForm,
    StatusForm,
    TagForm,
)
from .models import SOURCES, STATUSES

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


def _inbox_url(actor, querystring: str = "") -> str:
    url = reverse("feedback:inbox", args=[actor.workspace.slug])
    return f"{url}?{querystring}" if querystring else url


def _inbox_context(request, filters: selectors.FeedbackFilters, page_number=None) -> dict:
    actor = request.actor
    status = filters.status or ("all" if filters.q else "new")
    kwargs = filters.list_kwargs()
    kwargs["status"] = status
    sort = kwargs.pop("sort")
    queryset = selectors.feedback_list(actor=actor, sort=sort, **kwargs)
    counts = selectors.feedback_status_counts(actor=actor, **kwargs)
    page = paginate_page(request, queryset, PAGE_SIZE, number=page_number)
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
    filters = InboxFilterForm(request.GET).filters()
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
    form = BulkForm(request.POST, actor=actor)
    notice, error = "", ""
    if form.submit(services.feedback_bulk):
        changed = form.result
        notice = BULK_NOTICES.get(form.cleaned_data["action"], "{n} updated.").format(
            n=f"{changed} item{'s' if changed != 1 else ''}"
        )
    else:
        error = " ".join(form.error_summary.values())
    back = QueryDict(form.cleaned_data.get("back", "").lstrip("?"))
    if request.htmx:
        shown = InboxFilterForm(back)
        context = _inbox_context(request, shown.filters(), page_number=shown.values()["page"])
        context.update({"notice": notice, "error": error})
        return render(request, "feedback/inbox.html#results", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(_inbox_url(actor, back.urlencode()))


@workspace_page(Scope.WORKSPACE_READ)
@require_POST
def view_save_view(request):
    actor = request.actor
    form = SavedViewForm(request.POST, actor=actor)
    if not form.submit(services.saved_view_create):
        messages.error(request, " ".join(form.error_summary.values()))
        query = form.cleaned_data.get("query", "")
        return redirect(_inbox_url(actor, QueryDict(query.lstrip("?")).urlencode()))
    messages.success(request, f"Saved the view “{form.result.name}”.")
    return redirect(_inbox_url(actor, form.result.query))


@workspace_page(Scope.WORKSPACE_READ)
@require_POST
def view_delete_view(request, view_id: int):
    actor = request.actor
    view = selectors.access_saved_view(actor=actor, id=view_id, own=True)
    services.saved_view_delete(actor=actor, view_id=view.pk)
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect(_inbox_url(actor))


def _form_choices(actor) -> dict:
    return {
        "customer_names": selectors.customer_names(actor=actor),
        "tag_names": list(selectors.tag_list(actor=actor).values_list("name", flat=True)[:500]),
    }


@workspace_page(WRITE)
@require_http_methods(["GET", "POST"])
def item_new_view(request):
    actor = request.actor
    form = FeedbackForm(posted(request), actor=actor, auto_id="n-%s")
    if form.submit(services.feedback_create):
        messages.success(request, "Feedback added.")
        if form.cleaned_data["another"]:  # the "Add and start another" button
            return redirect("feedback:item_new", actor.workspace.slug)
        return redirect("feedback:item_detail", actor.workspace.slug, form.result.pk)
    context = {"form": form, **_form_choices(actor)}
    return render(request, "feedback/item_new.html", context, status=400 if form.errors else 200)


def _evidence_context(actor, item) -> dict:
    """What apps above feedback add to an item's page (the evidence app's "link to a problem or feature" form),
    through the ``feedback.item_page`` extension point; ``evidence_enabled`` is False when none does."""
    return {"evidence_enabled": False, **extensions.page_context("feedback.item_page", actor=actor, item=item)}


def _item_page(request, item, *, form=None, status_form=None, tags_form=None):
    """The item page; a form passed in is a failed post, re-shown with its errors (status 400)."""
    actor = request.actor
    can_write = actor.can(WRITE)
    customer_ref = _customer_ref(actor, item.customer_id)
    item_personas = list(item.personas.order_by("name"))
    tags = list(item.tags.order_by("name").values_list("name", flat=True))
    failed = any(f is not None and f.errors for f in (form, status_form, tags_form))
    if can_write:
        form = form or FeedbackForm(actor=actor, instance=item, auto_id="e-%s")
        tags_form = tags_form or ItemTagsForm(actor=actor, initial={"tags": ", ".join(tags)})
    context = {
        "item": item,
        "tags": tags,
        "item_personas": item_personas,
        "customer_url": _safe_url(customer_ref),
        "form": form,
        "tags_form": tags_form,
        "errors": status_form.error_summary if status_form is not None else {},
        "can_write": can_write,
        "back": BackForm(request.GET).values()["back"],
        "statuses": STATUSES,
        **_form_choices(actor),
        **thread_context(actor=actor, entity_type="feedback", entity_id=item.pk),
        **_evidence_context(actor, item),
    }
    return render(request, "feedback/item_detail.html", context, status=400 if failed else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def item_detail_view(request, feedback_id: int):
    """The item page; POST saves the edit form."""
    actor = request.actor
    item = selectors.access_feedback(actor=actor, id=feedback_id)
    if request.method == "GET":
        return _item_page(request, item)
    form = FeedbackForm(request.POST, actor=actor, instance=item, auto_id="e-%s")
    if form.submit(services.feedback_update, feedback_id=item.pk):
        messages.success(request, "Feedback saved.")
        return redirect("feedback:item_detail", actor.workspace.slug, item.pk)
    return _item_page(request, item, form=form)


@workspace_page(WRITE)
@require_POST
def item_status_view(request, feedback_id: int):
    actor = request.actor
    item = selectors.access_feedback(actor=actor, id=feedback_id)
    form = StatusForm(request.POST, actor=actor)
    if form.submit(services.feedback_set_status, feedback_id=item.pk):
        notices = {"new": "Moved back to New.", "triaged": "Marked triaged.", "archived": "Archived."}
        messages.success(request, notices[form.cleaned_data["status"]])
        return redirect("feedback:item_detail", actor.workspace.slug, item.pk)
    return _item_page(request, item, status_form=form)


@workspace_page(WRITE)
@require_POST
def item_tags_view(request, feedback_id: int):
    actor = request.actor
    item = selectors.access_feedback(actor=actor, id=feedback_id)
    form = ItemTagsForm(request.POST, actor=actor)
    if form.submit(services.feedback_update, feedback_id=item.pk):
        messages.success(request, "Tags saved.")
        return redirect("feedback:item_detail", actor.workspace.slug, item.pk)
    return _item_page(request, item, tags_form=form)


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
@require_http_methods(["GET", "POST"])
def import_view(request):
    """GET: the upload form. POST: upload a file (step 1), refused while arriving when it is over the limit."""
    limit = importing.ImportOptions().limit
    guard = _SizeLimitHandler(limit, request)
    try:
        request.upload_handlers.insert(0, guard)
    except AttributeError:
        # A middleware read the form already (the NUL-character check does): the upload sits in
        # Django's temporary file and is refused by its size below, still without being read.
        length = ContentLengthForm(request.META).values()["CONTENT_LENGTH"] or 0
        if length > limit + 1024 * 1024:
            guard.too_large = length
    return _import_upload(request, guard, limit)


def _import_context(limit: int, form=None, **more) -> dict:
    return {
        "presets": importing.PRESETS.values(),
        "fields": importing.FIELDS,
        "required_fields": importing.REQUIRED_FIELDS,
        "sources": SOURCES,
        "limit": importing.human_size(limit),
        "errors": form.errors_by_name if form is not None else {},
        "data": form.data if form is not None else {"preset": "generic"},
        **more,
    }


@csrf_protect
def _import_upload(request, guard: _SizeLimitHandler, limit: int):
    actor = request.actor
    if request.method == "GET":
        return render(request, "feedback/import.html", _import_context(limit))
    form = ImportUploadForm(request.POST, request.FILES, actor=actor, limit=limit)  # parses through the guard
    if guard.too_large:
        form.add_error("file", importing.size_problem(guard.too_large, limit) or "The file is too large.")
    if not form.is_valid():
        return render(request, "feedback/import.html", _import_context(limit, form), status=400)
    directory = _upload_dir(actor)
    _clean_old_uploads(directory)
    upload = form.cleaned_data["file"]
    name = Path(upload.name or "upload.csv").name
    ext = Path(name).suffix.lower()
    if ext not in _EXTENSIONS:
        ext = ".csv"
    token = secrets.token_urlsafe(32)
    path = directory / f"{token}{ext}"
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return _import_check(request, form, path, token, name[:200], limit, options=form.options(dry_run=True), new=True)


def _import_check(request, form, path: Path, token: str, filename: str, limit: int, *, options, new=False):
    """Check (``options.dry_run``) or import the kept file; show the preview, the problems or the result."""
    actor = request.actor
    try:
        report = services.feedback_import(
            actor=actor, data=path.read_bytes(), filename=filename or path.name, options=options
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        if new:  # a file refused on arrival is not kept for a second try
            path.unlink(missing_ok=True)
        context = _import_context(limit, form)
        context["errors"] = form_errors(exc)
        return render(request, "feedback/import.html", context, status=400)
    if not options.dry_run and report.written:
        path.unlink(missing_ok=True)
        messages.success(request, report.summary())
        return render(request, "feedback/import.html", _import_context(limit, form, report=report, done=True))
    mapping_rows = [
        (name, label, report.mapping.get(name) or "", name in importing.REQUIRED_FIELDS)
        for name, label in importing.FIELDS.items()
    ]
    context = _import_context(
        limit,
        form,
        report=report,
        token=token,
        filename=filename,
        mapping_rows=mapping_rows,
        columns=report.columns,
        preview_columns=["row", "received_at", "source", "title", "text", "customer", "contact_email", "tags"],
    )
    return render(request, "feedback/import.html", context, status=200)


@workspace_page(WRITE)
@require_POST
def import_review_view(request):
    """Step 2: check the kept file again with the posted options and columns, or import it."""
    actor = request.actor
    limit = importing.ImportOptions().limit
    form = ImportReviewForm(request.POST, actor=actor)
    path = _upload_path(actor, form.cleaned_data["token"]) if form.is_valid() else None
    if path is None:
        messages.error(request, "The uploaded file is gone (uploads are kept for a day). Upload it again.")
        return redirect("feedback:import", actor.workspace.slug)
    options = form.options(dry_run=not form.confirming(), mapping=form.mapping())
    if (
        form.cleaned_data["action"] == "confirm_skip"
    ):  # the button that says "skip the invalid rows": an explicit choice
        options.skip_invalid = True
    return _import_check(
        request, form, path, form.cleaned_data["token"], form.cleaned_data["filename"], limit, options=options
    )


@workspace_page(WRITE)
@require_POST
def import_cancel_view(request):
    actor = request.actor
    form = ImportReviewForm(request.POST, actor=actor)
    path = _upload_path(actor, form.cleaned_data["token"]) if form.is_valid() else None
    if path:
        path.unlink(missing_ok=True)
    messages.success(request, "Import cancelled; the uploaded file was deleted.")
    return redirect("feedback:import", actor.workspace.slug)


# --- tags -----------------------------------------------------------------------------------


def _tags_page(request, form=None, failed_tag_id=None):
    actor = request.actor
    context = {
        "tags": selectors.tag_list(actor=actor, with_counts=True),
        "form": form if form is not None and failed_tag_id is None else TagForm(actor=actor, auto_id="new-tag-%s"),
        "rename_form": form if failed_tag_id is not None else None,
        "failed_tag_id": failed_tag_id,
        "errors": form.error_summary if form is not None else {},
        "can_write": actor.can(WRITE),
    }
    return render(request, "feedback/tags.html", context, status=400 if form is not None and form.errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def tags_view(request):
    """The tags with their counts; POST creates one."""
    actor = request.actor
    if request.method == "GET":
        return _tags_page(request)
    form = TagForm(request.POST, actor=actor, auto_id="new-tag-%s")
    if form.submit(services.tag_create):
        messages.success(request, "Tag created.")
        return redirect("feedback:tags", actor.workspace.slug)
    return _tags_page(request, form)


@workspace_page(WRITE)
@require_POST
def tag_rename_view(request, tag_id: int):
    actor = request.actor
    tag = selectors.access_tag(actor=actor, id=tag_id)
    form = TagForm(request.POST, actor=actor, auto_id=f"rename-{tag.pk}-%s")
    if form.submit(services.tag_rename, tag_id=tag.pk):
        messages.success(request, "Tag renamed.")
        return redirect("feedback:tags", actor.workspace.slug)
    return _tags_page(request, form, failed_tag_id=tag.pk)


@workspace_page(WRITE)
@require_POST
def tag_delete_view(request, tag_id: int):
    actor = request.actor
    tag = selectors.access_tag(actor=actor, id=tag_id)
    services.tag_delete(actor=actor, tag_id=tag.pk)
    messages.success(request, "Tag deleted.")
    return redirect("feedback:tags", actor.workspace.slug)
