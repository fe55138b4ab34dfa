"""Reads for comments, followers, notifications and the activity timeline of an entity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from valueloop.core.entities import EntityRef, resolve_entity
from valueloop.core.errors import NotFound
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor

from .models import Comment, Follow, Notification


def access_entity(*, actor: Actor, entity_type: str, entity_id: int, scope: Scope = Scope.WORKSPACE_READ) -> EntityRef:
    ref = resolve_entity(actor.workspace, entity_type, entity_id)
    if ref is None:
        raise NotFound(f"No {entity_type} with id {entity_id} in this workspace.")
    actor.require(scope)
    return ref


def comment_list(*, actor: Actor, entity_type: str, entity_id: int) -> QuerySet[Comment]:
    access_entity(actor=actor, entity_type=entity_type, entity_id=entity_id)
    return (
        Comment.objects.filter(workspace=actor.workspace, entity_type=entity_type, entity_id=entity_id, deleted_at=None)
        .select_related("author")
        .order_by("created_at", "id")
    )


def access_comment(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ, for_update: bool = False) -> Comment:
    query = Comment.objects.filter(workspace=actor.workspace, pk=id, deleted_at=None).select_related("author")
    if for_update:
        query = query.select_for_update(of=("self",))  # lock our row only, not outer-joined ones
    comment = query.first()
    if comment is None:
        raise NotFound("Comment not found.")
    actor.require(scope)
    return comment


def is_following(*, actor: Actor, entity_type: str, entity_id: int) -> bool:
    return Follow.objects.filter(user=actor.user, entity_type=entity_type, entity_id=entity_id).exists()


def follower_count(*, actor: Actor, entity_type: str, entity_id: int) -> int:
    return Follow.objects.filter(workspace=actor.workspace, entity_type=entity_type, entity_id=entity_id).count()


def notification_list(*, actor: Actor, unread_only: bool = False) -> QuerySet[Notification]:
    query = Notification.objects.filter(recipient=actor.user, workspace=actor.workspace).select_related("actor")
    if unread_only:
        query = query.filter(read_at=None)
    return query.order_by("-created_at", "-id")


def unread_notification_count(*, actor: Actor) -> int:
    return Notification.objects.filter(recipient=actor.user, workspace=actor.workspace, read_at=None).count()


@dataclass(frozen=True)
class ActivityItem:
    at: datetime
    kind: str  # "audit" or "comment"
    who: str
    action: str
    changes: dict
    comment: Comment | None = None


def activity_list(*, actor: Actor, entity_type: str, entity_id: int, limit: int = 100) -> list[ActivityItem]:
    """The entity's history (audit records) and its comments, newest first."""
    access_entity(actor=actor, entity_type=entity_type, entity_id=entity_id)
    events = AuditEvent.objects.filter(
        workspace=actor.workspace, entity_type=entity_type, entity_id=entity_id
    ).order_by("-at", "-id")[:limit]
    items = [ActivityItem(e.at, "audit", e.actor_label, e.action, e.changes) for e in events]
    for comment in comment_list(actor=actor, entity_type=entity_type, entity_id=entity_id).order_by("-created_at")[
        :limit
    ]:
        who = comment.author.email if comment.author else "deleted user"
        items.append(ActivityItem(comment.created_at, "comment", who, "commented", {}, comment))
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


def comment_search_describe(actor: Actor, ids: list[int]) -> dict[int, tuple[str, str]]:
    """Comments open on the page of what they are about, at the comment; a comment whose entity is gone (or
    not in this workspace) is left out."""
    comments = list(
        Comment.objects.filter(workspace=actor.workspace, id__in=ids, deleted_at=None).values_list(
            "id", "entity_type", "entity_id", "author__name", "author__email"
        )
    )
    refs: dict[tuple[str, int], EntityRef | None] = {}
    described: dict[int, tuple[str, str]] = {}
    for comment_id, entity_type, entity_id, name, email in comments:
        key = (entity_type, entity_id)
        if key not in refs:  # one lookup per entity, at most one per hit shown
            refs[key] = resolve_entity(actor.workspace, entity_type, entity_id)
        ref = refs[key]
        if ref is None:
            continue
        author = name or email or "deleted user"
        described[comment_id] = (f"{ref.url}#comment-{comment_id}", f"{author} on {ref.label}")
    return described
