"""Customer pages: accounts, contacts, personas, exchange rates and the CSV import.

Every input comes through a form of ``forms.py`` (one view and URL per form) and every write through the same
services as the API; a form with errors re-renders with status 400 and the messages beside the fields.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from valueloop.collaboration.facade import thread_context
from valueloop.core.errors import DomainError
from valueloop.core.importing import ImportRefused
from valueloop.core.pages import form_errors, paginate_page, posted, safe_next, workspace_page
from valueloop.core.permissions import Scope

from . import facade, importing, selectors, services, uploads
from .forms import (
    DATE_ORDERS,
    ENCODINGS,
    KINDS,
    PRESETS,
    SORTS,
    ContactFilterForm,
    ContactForm,
    CurrencyPickForm,
    CurrencyRateForm,
    CustomerFilterForm,
    CustomerForm,
    ImportReviewForm,
    ImportUploadForm,
    PersonaForm,
    ReturnToForm,
    TimelineFilterForm,
)
from .models import HEALTH, LIFECYCLE, SEGMENTS
from .money import ISO_4217

WRITE = services.WRITE_SCOPE
PAGE_SIZE = 50


# --- accounts ---------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET"])
def customer_list_view(request):
    actor = request.actor
    filters = CustomerFilterForm(request.GET)
    f = filters.values()
    customers = selectors.customer_list(actor=actor, **filters.selector_arguments())
    page = paginate_page(request, customers, PAGE_SIZE)
    filtered = any(f[k] not in (None, "") for k in CustomerFilterForm.FILTERS)
    context = {
        "page": page,
        "f": f,
        "filtered": filtered,
        "arr_total": selectors.arr_total(customers),
        "any_customers": filtered or page.paginator.count or selectors.customer_list(actor=actor).exists(),
        "sorts": SORTS,
        "can_write": actor.can(WRITE),
        "segments": SEGMENTS,
        "lifecycles": LIFECYCLE,
        "healths": HEALTH,
        "members": selectors.members(actor.workspace),
    }
    if request.htmx:
        return render(request, "customers/customer_list.html#results", context)
    return render(request, "customers/customer_list.html", context)


def _customer_form_page(request, form, customer=None):
    context = {"form": form, "customer": customer}
    return render(request, "customers/customer_form.html", context, status=400 if form.errors else 200)


@workspace_page(WRITE)
@require_http_methods(["GET", "POST"])
def customer_new_view(request):
    actor = request.actor
    form = CustomerForm(posted(request), actor=actor)
    if form.submit(services.customer_create):
        messages.success(request, f"Customer {form.result.name} created.")
        return redirect("customers:customer_detail", actor.workspace.slug, form.result.pk)
    return _customer_form_page(request, form)


@workspace_page(WRITE)
@require_http_methods(["GET", "POST"])
def customer_edit_view(request, customer_id: int):
    actor = request.actor
    customer = selectors.access_customer(actor=actor, id=customer_id, scope=WRITE)
    form = CustomerForm(posted(request), actor=actor, instance=customer)
    if form.submit(services.customer_update, customer_id=customer.pk):
        messages.success(request, "Customer saved.")
        return redirect("customers:customer_detail", actor.workspace.slug, customer.pk)
    return _customer_form_page(request, form, customer)


def _customer_page(request, customer, *, errors=None, contact_form=None):
    """The account page; ``errors``/``contact_form``: a failed post re-shown (status 400)."""
    actor = request.actor
    shown = TimelineFilterForm(request.GET).values()
    kind, show_all = shown["kind"], shown["timeline"] == "all"
    timeline = facade.customer_timeline(actor=actor, customer=customer, kind=kind, limit=None if show_all else 30)
    can_write = actor.can(WRITE)
    if contact_form is None and can_write:
        contact_form = ContactForm(actor=actor, fixed_customer=True, prefix="contact")
    context = {
        "customer": customer,
        "contacts": selectors.contact_list(actor=actor, customer_id=customer.pk),
        "timeline": timeline,
        "kind": kind,
        "errors": errors or {},
        "contact_form": contact_form,
        "can_write": can_write,
        "currency": actor.workspace.currency,
        **thread_context(actor=actor, entity_type="customer", entity_id=customer.pk),
    }
    failed = bool(errors) or bool(contact_form is not None and contact_form.errors)
    return render(request, "customers/customer_detail.html", context, status=400 if failed else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET"])
def customer_detail_view(request, customer_id: int):
    return _customer_page(request, selectors.access_customer(actor=request.actor, id=customer_id))


def _archive(request, customer_id: int, *, archived: bool):
    actor = request.actor
    customer = selectors.access_customer(actor=actor, id=customer_id)
    services.customer_archive(actor=actor, customer_id=customer.pk, archived=archived)
    notice = "Customer archived. It no longer counts in lists and totals." if archived else "Customer restored."
    messages.success(request, notice)
    return redirect("customers:customer_detail", actor.workspace.slug, customer.pk)


@workspace_page(WRITE)
@require_POST
def customer_archive_view(request, customer_id: int):
    return _archive(request, customer_id, archived=True)


@workspace_page(WRITE)
@require_POST
def customer_restore_view(request, customer_id: int):
    return _archive(request, customer_id, archived=False)


@workspace_page(WRITE)
@require_POST
def customer_delete_view(request, customer_id: int):
    actor = request.actor
    customer = selectors.access_customer(actor=actor, id=customer_id)
    try:
        services.customer_delete(actor=actor, customer_id=customer.pk)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        return _customer_page(request, customer, errors=form_errors(exc))
    messages.success(request, f"{customer.name} was deleted. The audit log keeps its last values.")
    return redirect("customers:customer_list", actor.workspace.slug)


@workspace_page(WRITE)
@require_POST
def customer_contact_create_view(request, customer_id: int):
    """The account page's "Add a contact" form."""
    actor = request.actor
    customer = selectors.access_customer(actor=actor, id=customer_id)
    form = ContactForm(request.POST, actor=actor, fixed_customer=True, prefix="contact")
    if form.submit(services.contact_create, customer_id=customer.pk):
        messages.success(request, f"{form.result} added.")
        return redirect("customers:customer_detail", actor.workspace.slug, customer.pk)
    return _customer_page(request, customer, contact_form=form)


# --- contacts ---------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def contact_list_view(request):
    actor = request.actor
    form = ContactForm(posted(request), actor=actor) if actor.can(WRITE) or request.method == "POST" else None
    if form is not None and form.submit(services.contact_create):
        messages.success(request, f"{form.result} added.")
        return redirect("customers:contact_list", actor.workspace.slug)
    search = ContactFilterForm(request.GET).values()["q"]
    contacts = selectors.contact_list(actor=actor, search=search)
    context = {
        "page": paginate_page(request, contacts, PAGE_SIZE),
        "search": search,
        "form": form,
        "can_write": actor.can(WRITE),
    }
    if request.htmx and request.method == "GET":
        return render(request, "customers/contact_list.html#results", context)
    return render(request, "customers/contact_list.html", context, status=400 if form and form.errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def contact_edit_view(request, contact_id: int):
    actor = request.actor
    contact = selectors.access_contact(actor=actor, id=contact_id)
    form = ContactForm(posted(request), actor=actor, instance=contact, auto_id="e-%s")
    if form.submit(services.contact_update, contact_id=contact.pk):
        messages.success(request, "Contact saved.")
        return redirect("customers:contact_edit", actor.workspace.slug, contact.pk)
    context = {"contact": contact, "form": form, "can_write": actor.can(WRITE)}
    return render(request, "customers/contact_edit.html", context, status=400 if form.errors else 200)


@workspace_page(WRITE)
@require_POST
def contact_delete_view(request, contact_id: int):
    actor = request.actor
    contact = selectors.access_contact(actor=actor, id=contact_id)
    services.contact_delete(actor=actor, contact_id=contact.pk)
    messages.success(request, f"{contact} deleted.")
    if contact.customer_id:
        return redirect("customers:customer_detail", actor.workspace.slug, contact.customer_id)
    return redirect("customers:contact_list", actor.workspace.slug)


@workspace_page(WRITE)
@require_POST
def contact_unsubscribe_view(request, contact_id: int):
    """Stop all email to a contact; back to the page the button was on (the account's or the contact's)."""
    actor = request.actor
    contact = selectors.access_contact(actor=actor, id=contact_id)
    form = ReturnToForm(request.POST, actor=actor)
    form.is_valid()  # never invalid: a missing or foreign "next" goes back to the contact's page
    contact = services.contact_unsubscribe(actor=actor, contact_id=contact.pk)
    messages.success(request, f"{contact} will receive no more email from this workspace.")
    fallback = reverse("customers:contact_edit", args=[actor.workspace.slug, contact.pk])
    return redirect(safe_next(request, form.cleaned_data.get("next"), fallback))


# --- personas ---------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def persona_list_view(request):
    actor = request.actor
    form = PersonaForm(posted(request), actor=actor, auto_id="p-%s")
    if form.submit(services.persona_create):
        messages.success(request, f"Persona {form.result.name} created.")
        return redirect("customers:persona_detail", actor.workspace.slug, form.result.pk)
    context = {"personas": selectors.persona_list(actor=actor), "form": form, "can_write": actor.can(WRITE)}
    return render(request, "customers/persona_list.html", context, status=400 if form.errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def persona_detail_view(request, persona_id: int):
    actor = request.actor
    persona = selectors.access_persona(actor=actor, id=persona_id)
    form = PersonaForm(posted(request), actor=actor, instance=persona, auto_id="e-%s")
    if form.submit(services.persona_update, persona_id=persona.pk):
        messages.success(request, "Persona saved.")
        return redirect("customers:persona_detail", actor.workspace.slug, persona.pk)
    context = {
        "persona": persona,
        "form": form,
        "can_write": actor.can(WRITE),
        **thread_context(actor=actor, entity_type="persona", entity_id=persona.pk),
    }
    return render(request, "customers/persona_detail.html", context, status=400 if form.errors else 200)


@workspace_page(WRITE)
@require_POST
def persona_delete_view(request, persona_id: int):
    actor = request.actor
    persona = selectors.access_persona(actor=actor, id=persona_id)
    services.persona_delete(actor=actor, persona_id=persona.pk)
    messages.success(request, f"Persona {persona.name} deleted.")
    return redirect("customers:persona_list", actor.workspace.slug)


# --- currency rates ---------------------------------------------------------------------------


def _currency_page(request, form, errors=None):
    actor = request.actor
    usage = selectors.currency_usage(actor=actor)
    rates = list(selectors.currency_rate_list(actor=actor))
    for rate in rates:
        rate.accounts = usage.get(rate.currency, 0)
    known = {r.currency for r in rates} | {actor.workspace.currency}
    missing = sorted(c for c in usage if c and c not in known)
    if not form.is_bound:
        picked = CurrencyPickForm(request.GET).values()["currency"].upper()
        common = [c for c in ("USD", "EUR", "GBP", "CHF", "CAD", "AUD", "JPY") if c not in known]
        form.initial["currency"] = picked or (missing or common or [""])[0]
    context = {
        "rates": rates,
        "missing": missing,
        "workspace_accounts": usage.get(actor.workspace.currency, 0),
        "form": form,
        "errors": errors or form.error_summary,
        "can_write": actor.can(WRITE),
    }
    failed = bool(errors) or bool(form.errors)
    return render(request, "customers/currency_list.html", context, status=400 if failed else 200)


def _rate_form(request, data=None):
    codes = sorted(c for c in ISO_4217 if c != request.actor.workspace.currency)
    return CurrencyRateForm(data, actor=request.actor, codes=codes)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def currency_list_view(request):
    actor = request.actor
    form = _rate_form(request, posted(request))
    if form.submit(services.currency_rate_set):
        rate = form.result
        messages.success(
            request,
            f"1 {rate.currency} = {rate.rate.normalize():f} {actor.workspace.currency}; "
            f"ARR of accounts in {rate.currency} re-converted.",
        )
        return redirect("customers:currency_list", actor.workspace.slug)
    return _currency_page(request, form)


@workspace_page(WRITE)
@require_POST
def currency_rate_delete_view(request, rate_id: int):
    actor = request.actor
    try:
        services.currency_rate_delete(actor=actor, rate_id=rate_id)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        return _currency_page(request, _rate_form(request), errors=form_errors(exc))
    messages.success(request, "Rate deleted.")
    return redirect("customers:currency_list", actor.workspace.slug)


# --- import -----------------------------------------------------------------------------------
# Three forms, three URLs: upload (the file and options), review (preview again or confirm, with the column
# mapping) and cancel. The pending upload (a token for the kept file, the options, the mapping) lives in the session.


def _session_key(actor) -> str:
    return f"customer_import:{actor.workspace.pk}"


def _import_context(actor, pending: dict | None, report=None, errors=None, skip_invalid=False) -> dict:
    kind = (pending or {}).get("kind", "accounts")
    return {
        "pending": pending,
        "report": report,
        "errors": errors or {},
        "fields": importing.FIELDS[kind],
        "kinds": KINDS,
        "presets": PRESETS,
        "encodings": ENCODINGS,
        "date_orders": DATE_ORDERS,
        "max_mb": importing.max_import_bytes() // (1024 * 1024),
        "skip_invalid": skip_invalid,
        "problems_shown": report.problems[:200] if report else [],
        "preset_label": {"salesforce": "Salesforce", "hubspot": "HubSpot"}.get(report.preset, "") if report else "",
        "delimiter_label": {"\t": "tab", ",": ",", ";": ";", "|": "|"}.get(report.delimiter, "") if report else "",
    }


def _analyse(actor, pending: dict, data: bytes, *, dry_run=True, skip_invalid=False):
    return importing.import_csv(
        actor=actor,
        data=data,
        kind=pending["kind"],
        preset=pending["preset"],
        mapping=pending.get("mapping") or None,
        encoding=pending["encoding"],
        date_order=pending["date_order"],
        filename=pending.get("filename", ""),
        dry_run=dry_run,
        skip_invalid=skip_invalid,
    )


def _import_refused(request, pending: dict | None, exc: DomainError):
    """The file cannot be imported as it is: forget it and say why beside the file field."""
    if pending:
        uploads.discard(pending.get("token"))
    request.session.pop(_session_key(request.actor), None)
    errors = {"file": exc.message} if isinstance(exc, ImportRefused) else form_errors(exc)
    return render(request, "customers/import.html", _import_context(request.actor, None, errors=errors), status=400)


def _expired(request):
    request.session.pop(_session_key(request.actor), None)
    messages.error(request, "That upload has expired; upload the file again.")
    return redirect("customers:customer_import", request.actor.workspace.slug)


@csrf_exempt  # checked by csrf_protect below, once the size-limited upload handler is in place
@workspace_page(WRITE)
@require_http_methods(["GET", "POST"])
def customer_import_view(request):
    """GET: the upload form, or the pending upload's preview. POST: upload a file (step 1)."""
    actor = request.actor
    if request.method == "POST":
        try:
            request.upload_handlers.insert(0, uploads.SizeLimitUploadHandler(request, importing.max_import_bytes()))
        except AttributeError:
            # A middleware read the body first (the NUL-character check): the file was spooled to a
            # temporary file, which Django deletes after the request; its size is checked by the form.
            pass
        return _customer_import_upload(request)
    pending = request.session.get(_session_key(actor))
    if pending:
        data = uploads.read(pending.get("token", ""), importing.max_import_bytes())
        if data is None:
            request.session.pop(_session_key(actor), None)
            pending = None
        else:
            try:
                report = _analyse(actor, pending, data)
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                return _import_refused(request, pending, exc)
            return render(request, "customers/import.html", _import_context(actor, pending, report))
    return render(request, "customers/import.html", _import_context(actor, None))


@csrf_protect
def _customer_import_upload(request):
    actor = request.actor
    key = _session_key(actor)
    limit = importing.max_import_bytes()
    form = ImportUploadForm(
        request.POST,
        request.FILES,
        actor=actor,
        limit=limit,
        too_large=getattr(request, "upload_too_large", False),
        upload_size=request.META.get("CONTENT_LENGTH") or "?",
    )
    if not form.is_valid():
        context = _import_context(actor, None, errors=form.errors_by_name)
        return render(request, "customers/import.html", context, status=400)
    pending = request.session.get(key)
    if pending:
        uploads.discard(pending.get("token"))
    uploaded = form.cleaned_data["file"]
    token = uploads.keep(uploaded)
    pending = {**form.options(), "token": token, "filename": (uploaded.name or "")[:200], "mapping": {}}
    return _import_step(request, pending, dry_run=True, skip_invalid=False)


def _import_step(request, pending: dict, *, dry_run: bool, skip_invalid: bool):
    """Check (``dry_run``) or import the pending upload; keep it in the session until it is imported."""
    actor = request.actor
    key = _session_key(actor)
    data = uploads.read(pending["token"], importing.max_import_bytes())
    if data is None:
        return _expired(request)
    try:
        report = _analyse(actor, pending, data, dry_run=dry_run, skip_invalid=skip_invalid)
    except importing.ImportInvalid as exc:
        request.session[key] = pending
        context = _import_context(actor, pending, exc.report, skip_invalid=skip_invalid)
        return render(request, "customers/import.html", context, status=400)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        if exc.status == 409:  # someone changed the same records meanwhile: keep the file, check again
            request.session[key] = pending
            messages.error(request, exc.message)
            return redirect("customers:customer_import", actor.workspace.slug)
        return _import_refused(request, pending, exc)
    if report.written:
        uploads.discard(pending["token"])
        request.session.pop(key, None)
        messages.success(request, report.summary())
        target = "customers:customer_list" if pending["kind"] == "accounts" else "customers:contact_list"
        return redirect(target, actor.workspace.slug)
    request.session[key] = pending
    return render(request, "customers/import.html", _import_context(actor, pending, report, skip_invalid=skip_invalid))


@workspace_page(WRITE)
@require_POST
def customer_import_review_view(request):
    """Step 2: check the pending upload again with the posted options and columns, or import it."""
    actor = request.actor
    pending = request.session.get(_session_key(actor))
    if not pending:
        return _expired(request)
    form = ImportReviewForm(request.POST, actor=actor, kind=pending["kind"], initial=pending)
    form.is_valid()  # never invalid: an unknown option keeps the pending one
    before, pending = pending, {**pending, **form.options()}
    # A new kind or preset starts from its automatic mapping; otherwise the edited mapping counts.
    same = before["kind"] == pending["kind"] and before["preset"] == pending["preset"]
    pending["mapping"] = form.mapping() if same else {}
    return _import_step(request, pending, dry_run=not form.confirming(), skip_invalid=form.cleaned_data["skip_invalid"])


@workspace_page(WRITE)
@require_POST
def customer_import_cancel_view(request):
    """Forget the pending upload and its file."""
    actor = request.actor
    pending = request.session.pop(_session_key(actor), None)
    if pending:
        uploads.discard(pending.get("token"))
    return redirect("customers:customer_import", actor.workspace.slug)
