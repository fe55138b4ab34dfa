"""What other apps may import from collaboration: the context a page needs to show an
entity's comment thread, followers and activity (scoped to the actor's workspace), and
``notify_members`` for system notices such as the weekly themes digest."""

from __future__ import annotations

from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor

from . import selectors
from .models import Notification


def thread_context(*, actor: Actor, entity_type: str, entity_id: int) -> dict:
    return {
        "thread": {
            "entity_type": entity_type,
            "entity_id": entity_id,
            "comments": list(selectors.comment_list(actor=actor, entity_type=entity_type, entity_id=entity_id)),
            "following": selectors.is_following(actor=actor, entity_type=entity_type, entity_id=entity_id),
            "followers": selectors.follower_count(actor=actor, entity_type=entity_type, entity_id=entity_id),
            "activity": selectors.activity_list(actor=actor, entity_type=entity_type, entity_id=entity_id, limit=50),
            "can_comment": actor.can(Scope.COMMENT_WRITE),
        }
    }


def unread_count(*, actor: Actor) -> int:
    return selectors.unread_notification_count(actor=actor)


def notify_members(
    *, workspace, user_ids, kind: str, entity_type: str, entity_id: int, entity_label: str, actor_user=None
) -> int:
    """In-app notices to members of ``workspace``, from the system or from ``actor_user`` (who is never notified of
    their own doing); returns how many were created.

    Only users who are members of ``workspace`` are notified (others are ignored), and ``entity_type`` must be a
    registered entity so the notice can be opened. Runs in the caller's transaction.
    """
    from valueloop.core.entities import entity_types
    from valueloop.workspaces.facade import member_user_ids

    if kind not in {k for k, _ in Notification.KINDS}:
        raise ValueError(f"unknown notification kind {kind!r}")
    if entity_type not in entity_types():
        raise ValueError(f"{entity_type!r} is not a registered entity")
    recipients = sorted((set(user_ids) & member_user_ids(workspace)) - {getattr(actor_user, "pk", None)})
    Notification.objects.bulk_create(
        Notification(
            workspace=workspace,
            recipient_id=user_id,
            actor=actor_user,
            kind=kind,
            entity_type=entity_type,
            entity_id=entity_id,
            entity_label=entity_label[:200],
        )
        for user_id in recipients
    )
    return len(recipients)
