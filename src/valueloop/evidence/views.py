import re

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from valueloop.core.errors import NotFound
from valueloop.core.pages import paginate_page, posted, public_page, safe_next, workspace_page
from valueloop.core.permissions import Scope

from . import facade, selectors, services
from .forms import SORT_LABELS, EvidenceFilterForm, LinkForm, LinkUpdateForm, NotifyForm, UnlinkForm
from .models import EVIDENCE_IMPORTANCE


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def target_view(request, target_type: str, target_id: int):
    """Every linked item behind a problem or feature, with the roll-up, filters and pagination."""
    actor = request.actor
    ref = selectors.access_target(actor=actor, target_type=target_type, target_id=target_id)
    filters = EvidenceFilterForm(request.GET).selector_args()
    links = selectors.evidence_list(actor=actor, target_type=target_type, target_id=target_id, **filters)
    panel = facade.evidence_panel(actor=actor, target_type=target_type, target_id=target_id)
    context = {
        "ref": ref,
        "page": paginate_page(request, links, 50),
        "filters": filters,
        "filtered": any(v for k, v in filters.items() if k != "sort"),
        "importances": EVIDENCE_IMPORTANCE,
        "sorts": SORT_LABELS,
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
    form = LinkForm(request.POST, actor=actor)
    fallback = reverse("home:workspace", args=[actor.workspace.slug])
    saved = form.submit(services.evidence_link)
    feedback_id = form.cleaned_data.get("feedback_id")
    if not saved:
        if request.htmx and feedback_id:
            context = _relink_context(request, feedback_id, errors=form.error_summary)
            return render(request, "evidence/_link_form.html#linkform", context, status=400)
        messages.error(request, " ".join(form.error_summary.values()))
        return redirect(safe_next(request, form.cleaned_data.get("next"), fallback))
    evidence = form.result
    ref = selectors.access_target(actor=actor, target_type=evidence.target_type, target_id=evidence.target_id)
    message = f"Linked to {evidence.target_type} “{ref.label}”."
    if request.htmx and feedback_id:
        return render(request, "evidence/_link_form.html#linkform", _relink_context(request, feedback_id, message))
    messages.success(request, message)
    return redirect(safe_next(request, form.cleaned_data["next"], ref.url))


@workspace_page(services.WRITE_SCOPE)
@require_POST
def link_update_view(request, evidence_id: int):
    actor = request.actor
    evidence = selectors.access_evidence(actor=actor, id=evidence_id)
    ref = selectors.access_target(actor=actor, target_type=evidence.target_type, target_id=evidence.target_id)
    form = LinkUpdateForm(request.POST, actor=actor)
    if form.submit(services.evidence_update, evidence_id=evidence.pk):
        messages.success(request, "Evidence updated.")
    else:
        messages.error(request, " ".join(form.error_summary.values()))
    return redirect(safe_next(request, form.cleaned_data.get("next"), ref.url))


@workspace_page(services.WRITE_SCOPE)
@require_POST
def link_delete_view(request, evidence_id: int):
    actor = request.actor
    evidence = selectors.access_evidence(actor=actor, id=evidence_id)
    ref = selectors.access_target(actor=actor, target_type=evidence.target_type, target_id=evidence.target_id)
    form = UnlinkForm(request.POST, actor=actor)
    form.is_valid()  # only ``next``; a bad one falls back to the target
    feedback_id = evidence.feedback_id
    services.evidence_unlink(actor=actor, evidence_id=evidence.pk)
    message = f"Unlinked from {evidence.target_type} “{ref.label}”."
    if request.htmx and feedback_id:
        return render(request, "evidence/_link_form.html#linkform", _relink_context(request, feedback_id, message))
    messages.success(request, message)
    return redirect(safe_next(request, form.cleaned_data.get("next"), ref.url))


@workspace_page(services.NOTIFY_SCOPE)
@require_http_methods(["GET", "HEAD", "POST"])
def notify_view(request, feature_id: int):
    """Close the loop: compose (editable, with a default), preview, then send to the requesters."""
    actor = request.actor
    feature = services.feature_for_loop(actor, feature_id)
    found = selectors.requesters(actor=actor, feature_id=feature.pk)
    subject, body = services.default_message(actor=actor, feature=feature)
    form = NotifyForm(posted(request), actor=actor, feature=feature, requesters=found)
    step, resend, chosen = "compose", False, None
    if form.is_bound:
        form.is_valid()
        data = form.cleaned_data
        subject, body = data.get("subject", ""), data.get("body", "")
        resend, chosen = data.get("resend", False), data.get("contact_ids")
        if form.is_valid() and data["action"] == "send":
            sent = form.run(
                services.loop_notify,
                feature_id=feature.pk,
                subject=subject,
                body=body,
                contact_ids=chosen,
                resend=resend,
            )
            if form.is_valid():
                messages.success(
                    request,
                    f"Emailing {len(sent)} requester{'s' if len(sent) != 1 else ''} about “{feature.title}”. "
                    "Each email has an unsubscribe link; who was told is recorded below.",
                )
                return redirect("evidence:notify", actor.workspace.slug, feature.pk)
        elif form.is_valid() and data["action"] == "preview":
            step = "preview"
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
        "form": form,
        "sent": selectors.notification_list(actor=actor, feature_id=feature.pk)[:200],
        "section": "planning",
    }
    return render(request, "evidence/notify.html", context, status=400 if form.errors else 200)


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
