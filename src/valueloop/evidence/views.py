import re

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from valueloop.core.errors import DomainError, Invalid, NotFound
from valueloop.core.pages import form_errors, public_page, workspace_page
from valueloop.core.permissions import Scope

from . import facade, selectors, services
from .models import EVIDENCE_IMPORTANCE


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _target_from(data) -> tuple[str, int | None]:
    """A picker value "feature:12" (or separate target_type/target_id fields)."""
    raw = (data.get("target") or "").strip()
    if ":" in raw:
        kind, _, pk = raw.partition(":")
        return kind, _int(pk)
    return (data.get("target_type") or "").strip(), _int(data.get("target_id"))


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def target_view(request, target_type: str, target_id: int):
    """Every linked item behind a problem or feature, with the roll-up, filters and pagination."""
    actor = request.actor
    ref = selectors.access_target(actor=actor, target_type=target_type, target_id=target_id)
    filters = {
        "search": request.GET.get("q", "").strip()[:200],
        "segment": request.GET.get("segment", "")[:20],
        "persona_id": _int(request.GET.get("persona")),
        "importance": _int(request.GET.get("importance")),
        "source": request.GET.get("source", "")
        if request.GET.get("source") in ("feedback", "interview", "experiment")
        else "",
        "sort": request.GET.get("sort", "newest") if request.GET.get("sort") in selectors.SORTS else "newest",
    }
    links = selectors.evidence_list(actor=actor, target_type=target_type, target_id=target_id, **filters)
    page = Paginator(links, 50).get_page(request.GET.get("page"))
    panel = facade.evidence_panel(actor=actor, target_type=target_type, target_id=target_id)
    context = {
        "ref": ref,
        "page": page,
        "filters": filters,
        "filtered": any(v for k, v in filters.items() if k != "sort"),
        "importances": EVIDENCE_IMPORTANCE,
        "sorts": [("newest", "Newest"), ("strongest", "Strongest"), ("arr", "Highest ARR"), ("oldest", "Oldest")],
        "can_write": actor.can(services.WRITE_SCOPE),
        "section": "discovery" if target_type == "problem" else "planning",
        "full_page": True,
        **panel,
    }
    if request.htmx:
        return render(request, "evidence/target.html#links", context)
    return render(request, "evidence/target.html", context)


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def target_search_view(request):
    """Type-ahead for the target picker: the matching problems and features as <option>s."""
    search = request.GET.get("q", "").strip()[:100]
    field_id = request.GET.get("for", "")
    context = {
        "link_form": {**facade.target_choices(request.actor, search), "search": search},
        "field_id": field_id if re.fullmatch(r"[A-Za-z0-9_-]{1,60}", field_id) else "link-target",
    }
    return render(request, "evidence/_link_form.html#targets", context)


def _relink_context(request, item_id: int, message: str = "", errors=None) -> dict:
    item = services.feedback_source(request.actor, item_id)
    return facade.link_form_context(request.actor, item, message=message, errors=errors)


@workspace_page(services.WRITE_SCOPE)
@require_POST
def link_create_view(request):
    actor = request.actor
    data = request.POST
    target_type, target_id = _target_from(data)
    feedback_id, highlight_id = _int(data.get("feedback_id")), _int(data.get("highlight_id"))
    fallback = reverse("home:workspace", args=[actor.workspace.slug])
    try:
        if not target_type or not target_id:
            raise Invalid("Choose a problem or a feature.", fields={"target": "Choose a problem or a feature."})
        evidence = services.evidence_link(
            actor=actor,
            target_type=target_type,
            target_id=target_id,
            feedback_id=feedback_id,
            highlight_id=highlight_id,
            importance=_int(data.get("importance")) or 2,
            quote_start=_int(data.get("quote_start")),
            quote_end=_int(data.get("quote_end")),
            quote=data.get("quote", "") if data.get("quote_start") or data.get("quote") else "",
        )
    except NotFound:
        raise
    except DomainError as exc:
        if exc.status == 403:
            raise
        errors = form_errors(exc)
        if request.htmx and feedback_id:
            context = _relink_context(request, feedback_id, errors=errors)
            return render(request, "evidence/_link_form.html#linkform", context, status=400)
        messages.error(request, " ".join(errors.values()))
        return redirect(_next(request, fallback))
    ref = selectors.access_target(actor=actor, target_type=evidence.target_type, target_id=evidence.target_id)
    message = f"Linked to {evidence.target_type} “{ref.label}”."
    if request.htmx and feedback_id:
        return render(request, "evidence/_link_form.html#linkform", _relink_context(request, feedback_id, message))
    messages.success(request, message)
    return redirect(_next(request, ref.url))


@workspace_page(services.WRITE_SCOPE)
@require_POST
def link_update_view(request, evidence_id: int):
    actor = request.actor
    evidence = selectors.access_evidence(actor=actor, id=evidence_id)
    ref = selectors.access_target(actor=actor, target_type=evidence.target_type, target_id=evidence.target_id)
    try:
        services.evidence_update(
            actor=actor,
            evidence_id=evidence.pk,
            importance=_int(request.POST.get("importance")),
            clear_quote=request.POST.get("clear_quote") == "1",
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        messages.error(request, " ".join(form_errors(exc).values()))
    else:
        messages.success(request, "Evidence updated.")
    return redirect(_next(request, ref.url))


@workspace_page(services.WRITE_SCOPE)
@require_POST
def link_delete_view(request, evidence_id: int):
    actor = request.actor
    evidence = selectors.access_evidence(actor=actor, id=evidence_id)
    ref = selectors.access_target(actor=actor, target_type=evidence.target_type, target_id=evidence.target_id)
    feedback_id = evidence.feedback_id
    services.evidence_unlink(actor=actor, evidence_id=evidence.pk)
    message = f"Unlinked from {evidence.target_type} “{ref.label}”."
    if request.htmx and feedback_id:
        return render(request, "evidence/_link_form.html#linkform", _relink_context(request, feedback_id, message))
    messages.success(request, message)
    return redirect(_next(request, ref.url))


class _BackToEditing(Exception):
    pass


@workspace_page(services.NOTIFY_SCOPE)
@require_http_methods(["GET", "HEAD", "POST"])
def notify_view(request, feature_id: int):
    """Close the loop: compose (editable, with a default), preview, then send to the requesters."""
    actor = request.actor
    feature = services.feature_for_loop(actor, feature_id)
    found = selectors.requesters(actor=actor, feature_id=feature.pk)
    subject, body = services.default_message(actor=actor, feature=feature)
    errors: dict = {}
    step = "compose"
    resend = request.POST.get("resend") == "1"
    chosen = None
    if request.method == "POST":
        subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
        chosen = [i for i in (_int(v) for v in request.POST.getlist("contact_ids")) if i]
        action = request.POST.get("action", "preview")
        try:
            if action == "edit":
                raise _BackToEditing
            if feature.status != "released":
                raise Invalid("Tell requesters once the feature is released.", fields={"feature": "Not released yet."})
            subject, body = services.check_message(subject, body)
            if not chosen:
                raise Invalid("Choose at least one person to tell.", fields={"contact_ids": "No recipients chosen."})
            if action == "send":
                sent = services.loop_notify(
                    actor=actor, feature_id=feature.pk, subject=subject, body=body, contact_ids=chosen, resend=resend
                )
                messages.success(
                    request,
                    f"Emailing {len(sent)} requester{'s' if len(sent) != 1 else ''} about “{feature.title}”. "
                    "Each email has an unsubscribe link; who was told is recorded below.",
                )
                return redirect("evidence:notify", actor.workspace.slug, feature.pk)
            step = "preview"
        except _BackToEditing:
            step = "compose"
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
    candidates = list(found.reachable) + (list(found.already_told) if resend else [])
    recipients = [r for r in candidates if chosen is None or r.contact_id in chosen]
    sample = recipients[0] if recipients else None
    preview = (
        services.personalise(
            body,
            name=sample.name,
            unsubscribe="(each person's own unsubscribe link)",
            workspace_name=actor.workspace.name,
        )
        if sample and step == "preview"
        else ""
    )
    context = {
        "feature": feature,
        "requesters": found,
        "recipients": recipients,
        "chosen": set(chosen) if chosen is not None else {r.contact_id for r in found.reachable},
        "subject": subject,
        "body": body,
        "resend": resend,
        "step": step,
        "preview": preview,
        "sample": sample,
        "errors": errors,
        "sent": selectors.notification_list(actor=actor, feature_id=feature.pk)[:200],
        "section": "planning",
    }
    return render(request, "evidence/notify.html", context, status=400 if errors else 200)


@public_page
# The signed token is the credential; mail clients' one-click unsubscribe (RFC 8058) posts without
# a CSRF token.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_view(request, token: str):
    try:
        if request.method == "POST":
            changed, email = services.unsubscribe(token=token)
            return render(request, "evidence/unsubscribe.html", {"done": True, "email": email, "changed": changed})
        return render(
            request, "evidence/unsubscribe.html", {"done": False, **services.unsubscribe_preview(token=token)}
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
