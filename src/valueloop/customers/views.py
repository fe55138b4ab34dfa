from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from valueloop.collaboration.facade import thread_context
from valueloop.core.errors import DomainError, Invalid
from valueloop.core.importing import ImportRefused, human_size
from valueloop.core.pages import form_errors, workspace_page
from valueloop.core.permissions import Scope

from . import facade, importing, selectors, services, uploads
from .models import HEALTH, LIFECYCLE, SEGMENTS
from .money import ISO_4217

WRITE = services.WRITE_SCOPE
PAGE_SIZE = 50
CUSTOMER_FORM_FIELDS = (
    "name",
    "domain",
    "segment",
    "plan",
    "arr",
    "arr_currency",
    "lifecycle",
    "region",
    "owner_id",
    "renewal_date",
    "health",
    "external_id",
)
SORTS = [
    ("name", "Name (A–Z)"),
    ("-arr", "ARR (highest first)"),
    ("arr", "ARR (lowest first)"),
    ("renewal", "Renewal (soonest first)"),
    ("-name", "Name (Z–A)"),
]


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _decimal_or_none(value) -> Decimal | None:
    text = (value or "").strip().replace(",", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _choices_context(actor) -> dict:
    rated = sorted(r.currency for r in selectors.currency_rate_list(actor=actor))
    return {
        "segments": SEGMENTS,
        "lifecycles": LIFECYCLE,
        "healths": HEALTH,
        "members": selectors.members(actor.workspace),
        "currencies": [actor.workspace.currency, *[c for c in rated if c != actor.workspace.currency]],
    }


# --- accounts ---------------------------------------------------------------------------------


def _list_filters(request) -> dict:
    get = request.GET
    owner = get.get("owner", "")
    return {
        "q": get.get("q", "").strip()[:200],
        "segment": get.get("segment", "") if get.get("segment", "") in dict(SEGMENTS) else "",
        "lifecycle": get.get("lifecycle", "") if get.get("lifecycle", "") in dict(LIFECYCLE) else "",
        "health": get.get("health", "") if get.get("health", "") in {"good", "at_risk", "poor", "unknown"} else "",
        "owner": owner if owner == "none" or _int_or_none(owner) else "",
        "arr_min": get.get("arr_min", "").strip()[:20],
        "arr_max": get.get("arr_max", "").strip()[:20],
        "sort": get.get("sort", "name") if get.get("sort") in dict(SORTS) else "name",
        "archived": get.get("archived") == "1",
    }


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET"])
def customer_list_view(request):
    actor = request.actor
    f = _list_filters(request)
    owner = 0 if f["owner"] == "none" else _int_or_none(f["owner"])
    customers = selectors.customer_list(
        actor=actor,
        search=f["q"],
        segment=f["segment"],
        lifecycle=f["lifecycle"],
        health=f["health"],
        owner_id=owner,
        arr_min=_decimal_or_none(f["arr_min"]),
        arr_max=_decimal_or_none(f["arr_max"]),
        include_archived=f["archived"],
        sort=f["sort"],
    )
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    filtered = any(f[k] for k in ("q", "segment", "lifecycle", "health", "owner", "arr_min", "arr_max"))
    context = {
        "page": page,
        "f": f,
        "filtered": filtered,
        "arr_total": selectors.arr_total(customers),
        "any_customers": filtered or page.paginator.count or selectors.customer_list(actor=actor).exists(),
        "sorts": SORTS,
        "can_write": actor.can(WRITE),
        **_choices_context(actor),
    }
    if request.htmx:
        return render(request, "customers/customer_list.html#results", context)
    return render(request, "customers/customer_list.html", context)


def _customer_form_data(post) -> dict:
    data = {k: post.get(k, "").strip() for k in CUSTOMER_FORM_FIELDS}
    data["owner_id"] = _int_or_none(data["owner_id"])
    data["renewal_date"] = data["renewal_date"] or None
    arr = data["arr"].replace(",", "").replace(" ", "")
    data["arr"] = arr or "0"
    return data


@workspace_page(WRITE)
@require_http_methods(["GET", "POST"])
def customer_new_view(request):
    actor = request.actor
    errors: dict[str, str] = {}
    form = {"lifecycle": "customer", "arr_currency": actor.workspace.currency}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in CUSTOMER_FORM_FIELDS}
        try:
            customer = services.customer_create(actor=actor, **_customer_form_data(request.POST))
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, f"Customer {customer.name} created.")
            return redirect("customers:customer_detail", actor.workspace.slug, customer.pk)
    form["owner_id"] = _int_or_none(form.get("owner_id"))
    context = {"form": form, "errors": errors, "customer": None, **_choices_context(actor)}
    return render(request, "customers/customer_form.html", context, status=400 if errors else 200)


@workspace_page(WRITE)
@require_http_methods(["GET", "POST"])
def customer_edit_view(request, customer_id: int):
    actor = request.actor
    customer = selectors.access_customer(actor=actor, id=customer_id, scope=WRITE)
    errors: dict[str, str] = {}
    form = {k: getattr(customer, k) for k in CUSTOMER_FORM_FIELDS}
    form["arr"] = f"{customer.arr:.2f}"
    form["renewal_date"] = customer.renewal_date.isoformat() if customer.renewal_date else ""
    version = customer.version
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in CUSTOMER_FORM_FIELDS}
        version = _int_or_none(request.POST.get("version"))
        try:
            services.customer_update(
                actor=actor, customer_id=customer.pk, expected_version=version, **_customer_form_data(request.POST)
            )
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, "Customer saved.")
            return redirect("customers:customer_detail", actor.workspace.slug, customer.pk)
    form["owner_id"] = _int_or_none(form.get("owner_id"))
    context = {"form": form, "errors": errors, "customer": customer, "version": version, **_choices_context(actor)}
    return render(request, "customers/customer_form.html", context, status=400 if errors else 200)


def _customer_action(actor, customer, action: str, data) -> tuple[str, bool]:
    """One form post on the account page -> one service call; (notice, account still exists)."""
    if action in ("archive", "restore"):
        services.customer_archive(actor=actor, customer_id=customer.pk, archived=action == "archive")
        return (
            "Customer archived. It no longer counts in lists and totals."
            if action == "archive"
            else "Customer restored."
        ), True
    if action == "delete":
        services.customer_delete(actor=actor, customer_id=customer.pk)
        return f"{customer.name} was deleted. The audit log keeps its last values.", False
    if action == "add_contact":
        contact = services.contact_create(
            actor=actor,
            customer_id=customer.pk,
            name=data.get("contact_name", ""),
            email=data.get("contact_email", ""),
            title=data.get("contact_title", ""),
        )
        return f"{contact} added.", True
    if action == "unsubscribe_contact":
        contact = services.contact_unsubscribe(actor=actor, contact_id=_int_or_none(data.get("contact_id")) or 0)
        return f"{contact} will receive no more email from this workspace.", True
    raise Invalid(f"Unknown action {action!r}.")


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def customer_detail_view(request, customer_id: int):
    actor = request.actor
    customer = selectors.access_customer(actor=actor, id=customer_id)
    errors: dict[str, str] = {}
    contact_errors: dict[str, str] = {}
    contact_form = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            notice, exists = _customer_action(actor, customer, action, request.POST)
        except DomainError as exc:
            if exc.status == 403:
                raise
            if action == "add_contact":
                contact_errors = form_errors(exc)
                contact_form = {k: request.POST.get(k, "") for k in ("contact_name", "contact_email", "contact_title")}
            else:
                errors = form_errors(exc)
        else:
            messages.success(request, notice)
            if not exists:
                return redirect("customers:customer_list", actor.workspace.slug)
            return redirect("customers:customer_detail", actor.workspace.slug, customer.pk)
        customer = selectors.access_customer(actor=actor, id=customer_id)
    kind = request.GET.get("kind", "")[:40]
    show_all = request.GET.get("timeline") == "all"
    timeline = facade.customer_timeline(actor=actor, customer=customer, kind=kind, limit=None if show_all else 30)
    context = {
        "customer": customer,
        "contacts": selectors.contact_list(actor=actor, customer_id=customer.pk),
        "timeline": timeline,
        "kind": kind,
        "errors": errors,
        "contact_errors": contact_errors,
        "contact_form": contact_form,
        "can_write": actor.can(WRITE),
        "currency": actor.workspace.currency,
        **thread_context(actor=actor, entity_type="customer", entity_id=customer.pk),
    }
    status = 400 if errors or contact_errors else 200
    return render(request, "customers/customer_detail.html", context, status=status)


# --- contacts ---------------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def contact_list_view(request):
    actor = request.actor
    errors: dict[str, str] = {}
    form = {"name": "", "email": "", "title": "", "customer_id": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        try:
            contact = services.contact_create(
                actor=actor,
                customer_id=_int_or_none(form["customer_id"]),
                name=form["name"],
                email=form["email"],
                title=form["title"],
            )
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, f"{contact} added.")
            return redirect("customers:contact_list", actor.workspace.slug)
    search = request.GET.get("q", "").strip()[:200]
    contacts = selectors.contact_list(actor=actor, search=search)
    context = {
        "page": Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page")),
        "search": search,
        "form": form,
        "errors": errors,
        "can_write": actor.can(WRITE),
        "customer_choices": facade.customer_choices(actor=actor) if actor.can(WRITE) else [],
    }
    if request.htmx and request.method == "GET":
        return render(request, "customers/contact_list.html#results", context)
    return render(request, "customers/contact_list.html", context, status=400 if errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def contact_edit_view(request, contact_id: int):
    actor = request.actor
    contact = selectors.access_contact(actor=actor, id=contact_id)
    errors: dict[str, str] = {}
    form = {
        "name": contact.name,
        "email": contact.email,
        "title": contact.title,
        "external_id": contact.external_id,
        "customer_id": contact.customer_id or "",
    }
    if request.method == "POST":
        action = request.POST.get("action", "update")
        try:
            actor.require(WRITE)
            if action == "delete":
                services.contact_delete(actor=actor, contact_id=contact.pk)
                messages.success(request, f"{contact} deleted.")
                if contact.customer_id:
                    return redirect("customers:customer_detail", actor.workspace.slug, contact.customer_id)
                return redirect("customers:contact_list", actor.workspace.slug)
            if action == "unsubscribe":
                services.contact_unsubscribe(actor=actor, contact_id=contact.pk)
                messages.success(request, f"{contact} will receive no more email from this workspace.")
            else:
                form = {k: request.POST.get(k, "") for k in form}
                contact = services.contact_update(
                    actor=actor,
                    contact_id=contact.pk,
                    expected_version=_int_or_none(request.POST.get("version")),
                    name=form["name"],
                    email=form["email"],
                    title=form["title"],
                    external_id=form["external_id"],
                    customer_id=_int_or_none(form["customer_id"]),
                )
                messages.success(request, "Contact saved.")
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            return redirect("customers:contact_edit", actor.workspace.slug, contact.pk)
    form["customer_id"] = _int_or_none(form["customer_id"])
    context = {
        "contact": contact,
        "form": form,
        "errors": errors,
        "can_write": actor.can(WRITE),
        "customer_choices": facade.customer_choices(actor=actor, include_archived=True),
    }
    return render(request, "customers/contact_edit.html", context, status=400 if errors else 200)


# --- personas ---------------------------------------------------------------------------------

PERSONA_FORM = ("name", "description", "goals", "jobs_to_be_done")


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def persona_list_view(request):
    actor = request.actor
    errors: dict[str, str] = {}
    form = dict.fromkeys(PERSONA_FORM, "")
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in PERSONA_FORM}
        try:
            persona = services.persona_create(actor=actor, **form)
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, f"Persona {persona.name} created.")
            return redirect("customers:persona_detail", actor.workspace.slug, persona.pk)
    context = {
        "personas": selectors.persona_list(actor=actor),
        "form": form,
        "errors": errors,
        "can_write": actor.can(WRITE),
    }
    return render(request, "customers/persona_list.html", context, status=400 if errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def persona_detail_view(request, persona_id: int):
    actor = request.actor
    persona = selectors.access_persona(actor=actor, id=persona_id)
    errors: dict[str, str] = {}
    form = {k: getattr(persona, k) for k in PERSONA_FORM}
    if request.method == "POST":
        action = request.POST.get("action", "update")
        try:
            if action == "delete":
                services.persona_delete(actor=actor, persona_id=persona.pk)
                messages.success(request, f"Persona {persona.name} deleted.")
                return redirect("customers:persona_list", actor.workspace.slug)
            form = {k: request.POST.get(k, "") for k in PERSONA_FORM}
            services.persona_update(
                actor=actor, persona_id=persona.pk, expected_version=_int_or_none(request.POST.get("version")), **form
            )
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            messages.success(request, "Persona saved.")
            return redirect("customers:persona_detail", actor.workspace.slug, persona.pk)
    context = {
        "persona": persona,
        "form": form,
        "errors": errors,
        "can_write": actor.can(WRITE),
        **thread_context(actor=actor, entity_type="persona", entity_id=persona.pk),
    }
    return render(request, "customers/persona_detail.html", context, status=400 if errors else 200)


# --- currency rates ---------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "POST"])
def currency_list_view(request):
    actor = request.actor
    errors: dict[str, str] = {}
    form = {"currency": request.GET.get("currency", "").upper()[:3], "rate": ""}
    if request.method == "POST":
        action = request.POST.get("action", "set")
        form = {"currency": request.POST.get("currency", "").strip().upper(), "rate": request.POST.get("rate", "")}
        try:
            if action == "delete":
                services.currency_rate_delete(actor=actor, rate_id=_int_or_none(request.POST.get("rate_id")) or 0)
                messages.success(request, "Rate deleted.")
            else:
                actor.require(WRITE)
                rate = services.currency_rate_set(actor=actor, currency=form["currency"], rate=form["rate"])
                messages.success(
                    request,
                    f"1 {rate.currency} = {rate.rate.normalize():f} {actor.workspace.currency}; "
                    f"ARR of accounts in {rate.currency} re-converted.",
                )
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            return redirect("customers:currency_list", actor.workspace.slug)
    usage = selectors.currency_usage(actor=actor)
    rates = list(selectors.currency_rate_list(actor=actor))
    for rate in rates:
        rate.accounts = usage.get(rate.currency, 0)
    known = {r.currency for r in rates} | {actor.workspace.currency}
    missing = sorted(c for c in usage if c and c not in known)
    if not form["currency"]:
        common = [c for c in ("USD", "EUR", "GBP", "CHF", "CAD", "AUD", "JPY") if c not in known]
        form["currency"] = (missing or common or [""])[0]
    context = {
        "rates": rates,
        "missing": missing,
        "workspace_accounts": usage.get(actor.workspace.currency, 0),
        "form": form,
        "errors": errors,
        "can_write": actor.can(WRITE),
        "codes": sorted(c for c in ISO_4217 if c != actor.workspace.currency),
    }
    return render(request, "customers/currency_list.html", context, status=400 if errors else 200)


# --- import -----------------------------------------------------------------------------------

IMPORT_OPTIONS = {
    "kind": ("accounts", importing.KINDS),
    "preset": ("auto", importing.PRESETS_OFFERED),
    "encoding": ("auto", importing.ENCODINGS),
    "date_order": ("auto", importing.DATE_ORDERS),
}


def _session_key(actor) -> str:
    return f"customer_import:{actor.workspace.pk}"


def _options(data) -> dict:
    return {k: (data.get(k) if data.get(k) in allowed else default) for k, (default, allowed) in IMPORT_OPTIONS.items()}


def _mapping_from(post, kind: str) -> dict[str, str]:
    return {f.name: post.get(f"map_{f.name}", "") for f in importing.FIELDS[kind]}


def _import_context(actor, pending: dict | None, report=None, errors=None, skip_invalid=False) -> dict:
    kind = (pending or {}).get("kind", "accounts")
    return {
        "pending": pending,
        "report": report,
        "errors": errors or {},
        "fields": importing.FIELDS[kind],
        "kinds": [("accounts", "Accounts"), ("contacts", "Contacts")],
        "presets": [
            ("auto", "Detect from the columns"),
            ("salesforce", "Salesforce export"),
            ("hubspot", "HubSpot export"),
            ("none", "None: match column names"),
        ],
        "encodings": [
            ("auto", "Detect (UTF-8 first)"),
            ("utf-8", "UTF-8 (recommended; “CSV UTF-8” in Excel)"),
            ("cp1252", "Windows-1252 (Excel “CSV”)"),
        ],
        "date_orders": [
            ("auto", "Detect"),
            ("dmy", "Day/month/year (31/03/2026)"),
            ("mdy", "Month/day/year (03/31/2026)"),
        ],
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


@csrf_exempt  # checked by csrf_protect below, once the size-limited upload handler is in place
@workspace_page(WRITE)
@require_http_methods(["GET", "POST"])
def customer_import_view(request):
    actor = request.actor
    if request.method == "POST":
        try:
            request.upload_handlers.insert(0, uploads.SizeLimitUploadHandler(request, importing.max_import_bytes()))
        except AttributeError:
            # A middleware read the body first (the NUL-character check): the file was spooled to a
            # temporary file, which Django deletes after the request; its size is checked below.
            pass
        return _customer_import_post(request)
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
                uploads.discard(pending.get("token"))
                request.session.pop(_session_key(actor), None)
                errors = {"file": exc.message} if isinstance(exc, ImportRefused) else form_errors(exc)
                return render(request, "customers/import.html", _import_context(actor, None, errors=errors), status=400)
            return render(request, "customers/import.html", _import_context(actor, pending, report))
    return render(request, "customers/import.html", _import_context(actor, None))


@csrf_protect
def _customer_import_post(request):
    actor = request.actor
    key = _session_key(actor)
    step = request.POST.get("step", "upload")
    pending = request.session.get(key)
    if step == "cancel" or (step != "upload" and not pending):
        if pending:
            uploads.discard(pending.get("token"))
            request.session.pop(key, None)
        if step != "cancel":
            messages.error(request, "That upload has expired; upload the file again.")
        return redirect("customers:customer_import", actor.workspace.slug)
    if step == "upload":
        options = _options(request.POST)
        limit = importing.max_import_bytes()
        uploaded = request.FILES.get("file")
        if getattr(request, "upload_too_large", False) or (uploaded is not None and uploaded.size > limit):
            size = request.META.get("CONTENT_LENGTH") or "?"
            message = (
                f"The file is larger than {human_size(limit)} (the upload was {size} bytes) and was not "
                "stored. Split it into smaller files and import them one after another: re-importing is safe."
            )
            context = _import_context(actor, None, errors={"file": message})
            return render(request, "customers/import.html", context, status=400)
        if uploaded is None:
            context = _import_context(actor, None, errors={"file": "Choose a CSV file to upload."})
            return render(request, "customers/import.html", context, status=400)
        if pending:
            uploads.discard(pending.get("token"))
        token = uploads.keep(uploaded)
        pending = {**options, "token": token, "filename": (uploaded.name or "")[:200], "mapping": {}}
    else:
        before = pending
        pending = {**pending, **_options({**pending, **request.POST.dict()})}
        # A new kind or preset starts from its automatic mapping; otherwise the edited mapping counts.
        same = before["kind"] == pending["kind"] and before["preset"] == pending["preset"]
        pending["mapping"] = _mapping_from(request.POST, pending["kind"]) if same else {}
    data = uploads.read(pending["token"], importing.max_import_bytes())
    if data is None:
        request.session.pop(key, None)
        messages.error(request, "That upload has expired; upload the file again.")
        return redirect("customers:customer_import", actor.workspace.slug)
    skip_invalid = request.POST.get("skip_invalid") == "1"
    try:
        report = _analyse(actor, pending, data, dry_run=step != "confirm", skip_invalid=skip_invalid)
    except importing.ImportInvalid as exc:
        request.session[key] = pending
        context = _import_context(actor, pending, exc.report, skip_invalid=skip_invalid)
        return render(request, "customers/import.html", context, status=400)
    except DomainError as exc:
        if exc.status == 403:
            raise
        if exc.status == 409:  # someone changed the same records meanwhile: keep the file, check again
            request.session[key] = pending
            messages.error(request, exc.message)
            return redirect("customers:customer_import", actor.workspace.slug)
        uploads.discard(pending["token"])
        request.session.pop(key, None)
        errors = {"file": exc.message} if isinstance(exc, ImportRefused) else form_errors(exc)
        return render(request, "customers/import.html", _import_context(actor, None, errors=errors), status=400)
    if report.written:
        uploads.discard(pending["token"])
        request.session.pop(key, None)
        messages.success(request, report.summary())
        target = "customers:customer_list" if pending["kind"] == "accounts" else "customers:contact_list"
        return redirect(target, actor.workspace.slug)
    request.session[key] = pending
    return render(request, "customers/import.html", _import_context(actor, pending, report, skip_invalid=skip_invalid))
