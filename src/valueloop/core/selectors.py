"""Reads for the audit log, always inside the actor's workspace, and ``access_row``, the one-row lookup every
app's ``access_<entity>`` selector uses."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Model, QuerySet

from .errors import NotFound
from .models import AuditEvent
from .permissions import Scope
from .tenancy import Actor


def audit_list(
    *,
    actor: Actor,
    entity_type: str = "",
    entity_id: int | None = None,
    actor_email: str = "",
    action: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    actor.require(Scope.AUDIT_READ)
    query = AuditEvent.objects.filter(workspace=actor.workspace)
    if entity_type:
        query = query.filter(entity_type=entity_type)
    if entity_id is not None:
        query = query.filter(entity_id=entity_id)
    if actor_email:
        query = query.filter(actor_label__iexact=actor_email.strip())
    if action:
        query = query.filter(action=action)
    if since:
        query = query.filter(at__gte=since)
    if until:
        query = query.filter(at__lt=until)
    return query.order_by("-at", "-id")


def audit_entity_types(*, actor: Actor) -> list[str]:
    actor.require(Scope.AUDIT_READ)
    return sorted(set(AuditEvent.objects.filter(workspace=actor.workspace).values_list("entity_type", flat=True)))


def access_row[M: Model](
    model: type[M], *, actor: Actor, id: int, scope: Scope | None = None, for_update: bool = False, not_found: str
) -> M:
    """Row ``id`` of ``model`` inside the actor's workspace (locked with ``for_update``).

    ``NotFound`` (404, message ``not_found``) when the row is not in this workspace comes *before* the scope check
    (default: read), so another workspace's ids never answer 403.
    """
    query = model.objects.filter(workspace=actor.workspace, pk=id)
    if for_update:
        query = query.select_for_update()
    row = query.first()
    if row is None:
        raise NotFound(not_found)
    actor.require(scope or Scope.WORKSPACE_READ)
    return row
