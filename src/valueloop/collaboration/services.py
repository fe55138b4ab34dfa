"""Writes for comments, mentions, followers and notifications.

Invariants:
- A comment attaches only to an entity that resolves inside the actor's workspace.
- ``body_html`` is always the sanitised rendering of ``body`` (never user HTML).
- Mentions notify members of the same workspace only, once per comment, never the author.
- Commenting makes the author a follower; followers hear of new comments.
- Deleting a comment is soft (``deleted_at``) and audited with the text it had.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from valueloop.core.audit import audit_record
from valueloop.core.errors import Invalid, PermissionDenied
from valueloop.core.markdown import find_mentions, render_markdown
from valueloop.core.permissions import Role, Scope
from valueloop.core.services import check_version
from valueloop.core.tenancy import Actor
from valueloop.workspaces.facade import members_matching_handles

from . import selectors
from .models import Comment, Follow, Notification

MAX_COMMENT_LENGTH = 20000


def _validate_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise Invalid("A comment cannot be empty.", fields={"body": "Write something."})
    if len(body) > MAX_COMMENT_LENGTH:
        raise Invalid(f"A comment is at most {MAX_COMMENT_LENGTH} characters.", fields={"body": "Too long."})
    return body


def _notify_mentions(actor: Actor, comment: Comment, label: str, already: set[int]) -> set[int]:
    notified: set[int] = set()
    for user in members_matching_handles(actor.workspace, find_mentions(comment.body)):
        if user.pk == getattr(actor.user, "pk", None) or user.pk in already:
            continue
        Notification.objects.create(
            workspace=actor.workspace,
            recipient=user,
            actor=actor.user,
            kind="mention",
            entity_type=comment.entity_type,
            entity_id=comment.entity_id,
            entity_label=label,
            comment=comment,
        )
        notified.add(user.pk)
    return notified


@transaction.atomic
def comment_create(*, actor: Actor, entity_type: str, entity_id: int, body: str) -> Comment:
    ref = selectors.access_entity(actor=actor, entity_type=entity_type, entity_id=entity_id, scope=Scope.COMMENT_WRITE)
    body = _validate_body(body)
    comment = Comment.objects.create(
        workspace=actor.workspace,
        entity_type=entity_type,
        entity_id=entity_id,
        author=actor.user,
        body=body,
        body_html=render_markdown(body),
    )
    mentioned = _notify_mentions(actor, comment, ref.label, set())
    followers = Follow.objects.filter(workspace=actor.workspace, entity_type=entity_type, entity_id=entity_id).exclude(
        Q(user=actor.user) | Q(user_id__in=mentioned)
    )
    Notification.objects.bulk_create(
        Notification(
            workspace=actor.workspace,
            recipient_id=f.user_id,
            actor=actor.user,
            kind="comment",
            entity_type=entity_type,
            entity_id=entity_id,
            entity_label=ref.label,
            comment=comment,
        )
        for f in followers
    )
    Follow.objects.get_or_create(
        workspace=actor.workspace, user=actor.user, entity_type=entity_type, entity_id=entity_id
    )
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="comment",
        entity_id=comment.pk,
        entity_label=f"on {entity_type} {ref.label}",
        action="created",
        changes={"body": [None, body], "entity": [None, f"{entity_type}:{entity_id}"]},
    )
    return comment


def _require_author_or_admin(actor: Actor, comment: Comment) -> None:
    if comment.author_id != getattr(actor.user, "pk", None) and actor.role != Role.ADMIN:
        raise PermissionDenied("Only the author (or an admin) can change this comment.")


@transaction.atomic
def comment_update(*, actor: Actor, comment_id: int, body: str, expected_version: int | None = None) -> Comment:
    comment = selectors.access_comment(actor=actor, id=comment_id, scope=Scope.COMMENT_WRITE, for_update=True)
    _require_author_or_admin(actor, comment)
    check_version(comment, expected_version)
    body = _validate_body(body)
    if body == comment.body:
        return comment
    before = comment.body
    already = set(Notification.objects.filter(comment=comment, kind="mention").values_list("recipient_id", flat=True))
    comment.body, comment.body_html = body, render_markdown(body)
    comment.edited_at = timezone.now()
    comment.version += 1
    comment.save(update_fields=["body", "body_html", "edited_at", "version"])
    ref = selectors.access_entity(actor=actor, entity_type=comment.entity_type, entity_id=comment.entity_id)
    _notify_mentions(actor, comment, ref.label, already)
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="comment",
        entity_id=comment.pk,
        action="updated",
        changes={"body": [before, body]},
    )
    return comment


@transaction.atomic
def comment_delete(*, actor: Actor, comment_id: int) -> None:
    comment = selectors.access_comment(actor=actor, id=comment_id, scope=Scope.COMMENT_WRITE, for_update=True)
    _require_author_or_admin(actor, comment)
    comment.deleted_at = timezone.now()
    comment.save(update_fields=["deleted_at"])
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="comment",
        entity_id=comment.pk,
        action="deleted",
        changes={"body": [comment.body, None]},
    )


@transaction.atomic
def follow_set(*, actor: Actor, entity_type: str, entity_id: int, following: bool) -> bool:
    selectors.access_entity(actor=actor, entity_type=entity_type, entity_id=entity_id, scope=Scope.COMMENT_WRITE)
    if following:
        Follow.objects.get_or_create(
            workspace=actor.workspace, user=actor.user, entity_type=entity_type, entity_id=entity_id
        )
    else:
        Follow.objects.filter(user=actor.user, entity_type=entity_type, entity_id=entity_id).delete()
    return following


@transaction.atomic
def notification_mark_read(*, actor: Actor, notification_ids: list[int] | None = None) -> int:
    """Mark the given notifications (or all) read; returns how many changed."""
    query = Notification.objects.filter(recipient=actor.user, workspace=actor.workspace, read_at=None)
    if notification_ids is not None:
        query = query.filter(pk__in=notification_ids)
    return query.update(read_at=timezone.now())
