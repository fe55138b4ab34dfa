"""Audit records: written by services inside their own transaction.

``changes`` maps each changed field to ``[before, after]``; creation records ``[None, value]``
and deletion ``[value, None]``, so the log alone can tell what an entity looked like.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import models

from .models import AuditEvent


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    data = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        data[name] = _plain(getattr(instance, attname))
    return data


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def audit_record(
    *,
    actor,
    workspace,
    entity_type: str,
    entity_id: int | None,
    action: str,
    changes: dict[str, list[Any]] | None = None,
    entity_label: str = "",
    via: str = "web",
) -> AuditEvent:
    is_user = actor is not None and getattr(actor, "pk", None) is not None
    return AuditEvent.objects.create(
        workspace=workspace,
        actor=actor if is_user else None,
        actor_label=(actor.email if is_user else "system"),
        via=via,
        entity_type=entity_type,
        entity_id=entity_id,
        entity_label=entity_label[:200],
        action=action,
        changes=changes or {},
    )


def audit_records(
    *,
    actor,
    workspace,
    rows: Iterable[tuple[str, int | None, str, str, dict[str, list[Any]]]],
    via: str = "web",
    batch_size: int = 1000,
) -> list[AuditEvent]:
    """Many audit records (entity_type, entity_id, entity_label, action, changes) in ``bulk_create`` batches:
    for importers, which audit every row they write. The model's fields adapt every value as ``save()``
    would, so this works on SQLite and PostgreSQL alike, without raw SQL."""
    is_user = actor is not None and getattr(actor, "pk", None) is not None
    events = [
        AuditEvent(
            workspace=workspace,
            actor=actor if is_user else None,
            actor_label=(actor.email if is_user else "system"),
            via=via,
            entity_type=entity_type,
            entity_id=entity_id,
            entity_label=entity_label[:200],
            action=action,
            changes=changes or {},
        )
        for entity_type, entity_id, entity_label, action, changes in rows
    ]
    return AuditEvent.objects.bulk_create(events, batch_size=batch_size)
