from datetime import datetime

from ninja import Field, Query, Router, Schema

from .api_support import IsoDatetime, PageParams, page_schema, paginate, requires, responses
from .permissions import Scope
from .selectors import audit_list

router = Router(tags=["audit"])


class AuditOut(Schema):
    id: int
    at: datetime
    actor_email: str = Field(..., alias="actor_label")
    via: str
    entity_type: str
    entity_id: int | None
    entity_label: str
    action: str
    changes: dict


AuditPage = page_schema(AuditOut, "AuditPage")


class AuditParams(PageParams):
    entity_type: str = Field("", max_length=40)
    entity_id: int | None = Field(None, ge=1, le=2**62)
    actor: str = Field("", max_length=254, description="Actor email")
    action: str = Field("", max_length=40)
    since: IsoDatetime | None = None
    until: IsoDatetime | None = None


@router.get("/audit", response=responses(AuditPage), operation_id="core_audit_list")
@requires(Scope.AUDIT_READ)
def audit_events(request, params: Query[AuditParams]):
    query = audit_list(
        actor=request.auth,
        entity_type=params.entity_type,
        entity_id=params.entity_id,
        actor_email=params.actor,
        action=params.action,
        since=params.since,
        until=params.until,
    )
    return paginate(query, params)
