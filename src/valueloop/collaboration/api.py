from ninja import Query, Router, Status

from valueloop.core.api_support import PageParams, PathId, paginate, requires, responses
from valueloop.core.permissions import Scope

from . import selectors, services
from .schemas import (
    ActivityPage,
    CommentIn,
    CommentOut,
    CommentPage,
    CommentPatch,
    EntityParams,
    FollowIn,
    FollowOut,
    MarkReadIn,
    MarkReadOut,
    NotificationPage,
)

router = Router(tags=["collaboration"])


class EntityPageParams(EntityParams, PageParams):
    pass


class NotificationParams(PageParams):
    unread_only: bool = False


@router.get("/comments", response=responses(CommentPage), operation_id="collaboration_comment_list")
@requires(Scope.WORKSPACE_READ)
def comment_list(request, params: Query[EntityPageParams]):
    query = selectors.comment_list(actor=request.auth, entity_type=params.entity_type, entity_id=params.entity_id)
    return paginate(query, params)


@router.post("/comments", response=responses({201: CommentOut}), operation_id="collaboration_comment_create")
@requires(Scope.COMMENT_WRITE)
def comment_create(request, payload: CommentIn):
    return Status(201, services.comment_create(actor=request.auth, **payload.model_dump()))


@router.patch(
    "/comments/{comment_id}", response=responses(CommentOut, 409), operation_id="collaboration_comment_update"
)
@requires(Scope.COMMENT_WRITE)
def comment_update(request, comment_id: PathId, payload: CommentPatch):
    return services.comment_update(
        actor=request.auth, comment_id=comment_id, body=payload.body, expected_version=payload.version
    )


@router.delete("/comments/{comment_id}", response=responses({204: None}), operation_id="collaboration_comment_delete")
@requires(Scope.COMMENT_WRITE)
def comment_delete(request, comment_id: PathId):
    services.comment_delete(actor=request.auth, comment_id=comment_id)
    return Status(204, None)


@router.put("/follows", response=responses(FollowOut), operation_id="collaboration_follow_update")
@requires(Scope.COMMENT_WRITE)
def follow_update(request, payload: FollowIn):
    following = services.follow_set(
        actor=request.auth, entity_type=payload.entity_type, entity_id=payload.entity_id, following=payload.following
    )
    count = selectors.follower_count(actor=request.auth, entity_type=payload.entity_type, entity_id=payload.entity_id)
    return {
        "entity_type": payload.entity_type,
        "entity_id": payload.entity_id,
        "following": following,
        "followers": count,
    }


@router.get("/notifications", response=responses(NotificationPage), operation_id="collaboration_notification_list")
@requires(None)
def notification_list(request, params: Query[NotificationParams]):
    return paginate(selectors.notification_list(actor=request.auth, unread_only=params.unread_only), params)


@router.post("/notifications/read", response=responses(MarkReadOut), operation_id="collaboration_notification_read")
@requires(None)
def notification_read(request, payload: MarkReadIn):
    return {"marked": services.notification_mark_read(actor=request.auth, notification_ids=payload.ids)}


@router.get("/activity", response=responses(ActivityPage), operation_id="collaboration_activity_list")
@requires(Scope.WORKSPACE_READ)
def activity_list(request, params: Query[EntityPageParams]):
    items = selectors.activity_list(
        actor=request.auth, entity_type=params.entity_type, entity_id=params.entity_id, limit=500
    )
    rows = [
        {
            "at": i.at,
            "kind": i.kind,
            "who": i.who,
            "action": i.action,
            "changes": i.changes,
            "comment_id": i.comment.pk if i.comment else None,
        }
        for i in items
    ]
    return paginate(rows, params)
