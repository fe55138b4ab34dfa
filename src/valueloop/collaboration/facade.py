"""What other apps may import from collaboration: the context a page needs to show an
entity's comment thread, followers and activity. Scoped to the actor's workspace."""

from __future__ import annotations

from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor

from . import selectors


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
