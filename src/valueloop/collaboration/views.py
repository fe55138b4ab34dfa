from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from valueloop.core.entities import resolve_entity
from valueloop.core.errors import DomainError
from valueloop.core.pages import workspace_page
from valueloop.core.permissions import Scope

from . import selectors, services
from .facade import thread_context


def _back(request, fallback: str):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _thread_response(request, entity_type: str, entity_id: int, errors: dict | None = None, status: int = 200):
    context = thread_context(actor=request.actor, entity_type=entity_type, entity_id=entity_id)
    context["thread_errors"] = errors or {}
    return render(request, "collaboration/thread.html#thread", context, status=status)


@workspace_page(Scope.COMMENT_WRITE)
@require_POST
def comment_create_view(request):
    entity_type, entity_id = request.POST.get("entity_type", ""), _int(request.POST.get("entity_id"))
    errors = {}
    try:
        services.comment_create(
            actor=request.actor, entity_type=entity_type, entity_id=entity_id, body=request.POST.get("body", "")
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        errors = {"body": exc.message}
    if request.htmx:
        return _thread_response(request, entity_type, entity_id, errors, 400 if errors else 200)
    if errors:
        messages.error(request, errors["body"])
    ref = resolve_entity(request.actor.workspace, entity_type, entity_id)
    return redirect(ref.url)


@workspace_page(Scope.COMMENT_WRITE)
@require_POST
def comment_delete_view(request, comment_id: int):
    comment = selectors.access_comment(actor=request.actor, id=comment_id)
    services.comment_delete(actor=request.actor, comment_id=comment_id)
    if request.htmx:
        return _thread_response(request, comment.entity_type, comment.entity_id)
    ref = resolve_entity(request.actor.workspace, comment.entity_type, comment.entity_id)
    return redirect(ref.url)


@workspace_page(Scope.COMMENT_WRITE)
@require_POST
def follow_view(request):
    entity_type, entity_id = request.POST.get("entity_type", ""), _int(request.POST.get("entity_id"))
    services.follow_set(
        actor=request.actor,
        entity_type=entity_type,
        entity_id=entity_id,
        following=request.POST.get("following") == "1",
    )
    if request.htmx:
        return _thread_response(request, entity_type, entity_id)
    ref = resolve_entity(request.actor.workspace, entity_type, entity_id)
    return redirect(ref.url)


@workspace_page(None)
@require_safe
def notifications_view(request):
    unread_only = request.GET.get("unread") == "1"
    notifications = selectors.notification_list(actor=request.actor, unread_only=unread_only).select_related("comment")
    page = Paginator(notifications, 30).get_page(request.GET.get("page"))
    return render(request, "collaboration/notifications.html", {"page": page, "unread_only": unread_only})


@workspace_page(None)
@require_POST
def notifications_read_view(request):
    ids = [_int(i) for i in request.POST.getlist("id")] or None
    services.notification_mark_read(actor=request.actor, notification_ids=ids)
    return _back(request, f"/w/{request.actor.workspace.slug}/notifications/")


@workspace_page(None)
@require_safe
def notification_open_view(request, notification_id: int):
    """Mark one notification read and go to what it is about."""
    notification = selectors.notification_list(actor=request.actor).filter(pk=notification_id).first()
    if notification is None:
        from django.http import Http404

        raise Http404("Notification not found.")
    services.notification_mark_read(actor=request.actor, notification_ids=[notification.pk])
    ref = resolve_entity(request.actor.workspace, notification.entity_type, notification.entity_id)
    if ref is None:
        messages.info(request, "What this notification was about no longer exists.")
        return redirect("collaboration:notifications", request.actor.workspace.slug)
    anchor = f"#comment-{notification.comment_id}" if notification.comment_id else ""
    return HttpResponseRedirect(ref.url + anchor)
