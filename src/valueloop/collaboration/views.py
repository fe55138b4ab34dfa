"""Discussion pages: comments and follows (posted from the discussion panel of any registered entity, answered
with the panel for htmx or a redirect back to the entity), and the notifications list.

Input comes through ``forms``: a malformed entity (an unknown type, an id that is no number) is a 404 like a missing
row; a refused comment is shown under the comment box (htmx) or as a message on the entity's page.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from valueloop.core.entities import resolve_entity
from valueloop.core.pages import paginate_page, safe_next, workspace_page
from valueloop.core.permissions import Scope

from . import selectors, services
from .facade import thread_context
from .forms import CommentForm, FollowForm, NotificationFilterForm, NotificationsReadForm


def _thread_response(request, entity_type: str, entity_id: int, form: CommentForm | None = None):
    context = thread_context(actor=request.actor, entity_type=entity_type, entity_id=entity_id)
    context["comment_form"] = form
    status = 400 if form is not None and form.errors else 200
    return render(request, "collaboration/thread.html#thread", context, status=status)


def _entity_page(request, entity_type: str, entity_id: int):
    ref = resolve_entity(request.actor.workspace, entity_type, entity_id)
    if ref is None:
        raise Http404("Not found.")
    return redirect(ref.url)


@workspace_page(Scope.COMMENT_WRITE)
@require_POST
def comment_create_view(request):
    form = CommentForm(request.POST, actor=request.actor)
    if form.names_no_entity:
        raise Http404("Not found.")
    saved = form.submit(services.comment_create)
    entity_type, entity_id = form.cleaned_data["entity_type"], form.cleaned_data["entity_id"]
    if request.htmx:
        return _thread_response(request, entity_type, entity_id, None if saved else form)
    if not saved:
        messages.error(request, " ".join(form.error_summary.values()))
    return _entity_page(request, entity_type, entity_id)


@workspace_page(Scope.COMMENT_WRITE)
@require_POST
def comment_delete_view(request, comment_id: int):
    comment = selectors.access_comment(actor=request.actor, id=comment_id)
    services.comment_delete(actor=request.actor, comment_id=comment_id)
    if request.htmx:
        return _thread_response(request, comment.entity_type, comment.entity_id)
    return _entity_page(request, comment.entity_type, comment.entity_id)


@workspace_page(Scope.COMMENT_WRITE)
@require_POST
def follow_view(request):
    form = FollowForm(request.POST, actor=request.actor)
    if form.names_no_entity or not form.submit(services.follow_set):
        raise Http404("Not found.")  # following has no other way to fail
    entity_type, entity_id = form.cleaned_data["entity_type"], form.cleaned_data["entity_id"]
    if request.htmx:
        return _thread_response(request, entity_type, entity_id)
    return _entity_page(request, entity_type, entity_id)


@workspace_page(None)
@require_safe
def notifications_view(request):
    unread_only = NotificationFilterForm(request.GET).values()["unread"]
    notifications = selectors.notification_list(actor=request.actor, unread_only=unread_only).select_related("comment")
    page = paginate_page(request, notifications, 30)
    return render(request, "collaboration/notifications.html", {"page": page, "unread_only": unread_only})


@workspace_page(None)
@require_POST
def notifications_read_view(request):
    actor = request.actor
    form = NotificationsReadForm(request.POST, actor=actor)
    fallback = f"/w/{actor.workspace.slug}/notifications/"
    if not form.submit(services.notification_mark_read):
        messages.error(request, " ".join(form.error_summary.values()))
        return HttpResponseRedirect(fallback)
    return HttpResponseRedirect(safe_next(request, form.cleaned_data["next"], fallback))


@workspace_page(None)
@require_safe
def notification_open_view(request, notification_id: int):
    """Mark one notification read and go to what it is about."""
    notification = selectors.notification_list(actor=request.actor).filter(pk=notification_id).first()
    if notification is None:
        raise Http404("Notification not found.")
    services.notification_mark_read(actor=request.actor, notification_ids=[notification.pk])
    ref = resolve_entity(request.actor.workspace, notification.entity_type, notification.entity_id)
    if ref is None:
        messages.info(request, "What this notification was about no longer exists.")
        return redirect("collaboration:notifications", request.actor.workspace.slug)
    anchor = f"#comment-{notification.comment_id}" if notification.comment_id else ""
    return HttpResponseRedirect(ref.url + anchor)
