"""Shared write helpers for services in every app.

Invariants: ``update_fields`` applies only the fields named, validates the whole row with
``full_clean``, refuses a stale ``expected_version`` with ``Conflict``, bumps ``version``,
and writes the audit record in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models

from .audit import audit_record, diff, snapshot
from .errors import Conflict, Invalid, invalid_from_django
from .tenancy import Actor


def check_version(instance: models.Model, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != instance.version:
        raise Conflict(
            f"This {instance._meta.verbose_name} was changed by someone else "
            f"(you edited version {expected_version}, it is now at version {instance.version}). "
            "Reload to see their change, then apply yours again.",
            code="stale_version",
        )


def clean_and_save(instance: models.Model, *, update_fields: list[str] | None = None) -> None:
    """full_clean then save; turns validation and uniqueness failures into ``Invalid``."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise invalid_from_django(exc) from exc
    try:
        instance.save(update_fields=update_fields)
    except IntegrityError as exc:  # a race past full_clean's uniqueness checks
        raise Invalid(f"This conflicts with an existing record: {exc}") from exc


def create_audited(
    actor: Actor, instance: models.Model, *, entity_type: str, fields: list[str], label: str | None = None
) -> models.Model:
    """Validate and save ``instance`` with its "created" audit row (labelled ``label``, else ``str(instance)``)."""
    clean_and_save(instance)
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type=entity_type,
        entity_id=instance.pk,
        entity_label=label if label is not None else str(instance),
        action="created",
        changes=diff({}, snapshot(instance, fields)),
    )
    return instance


def update_audited(
    actor: Actor,
    instance: models.Model,
    changes: dict[str, Any],
    *,
    entity_type: str,
    expected_version: int | None,
    action: str = "updated",
) -> models.Model:
    check_version(instance, expected_version)
    names = list(changes)
    before = snapshot(instance, names)
    for name, value in changes.items():
        setattr(instance, name, value)
    after = snapshot(instance, names)
    changed = diff(before, after)
    if not changed:
        return instance
    update_fields = list(changed)
    if hasattr(instance, "version"):
        instance.version += 1
        update_fields.append("version")
    if any(f.name == "updated_at" for f in instance._meta.get_fields()):
        update_fields.append("updated_at")
    clean_and_save(instance, update_fields=update_fields)
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type=entity_type,
        entity_id=instance.pk,
        entity_label=str(instance),
        action=action,
        changes=changed,
    )
    return instance


def delete_audited(actor: Actor, instance: models.Model, *, entity_type: str, fields: list[str]) -> None:
    """Delete ``instance`` and record the deletion with the last values of ``fields``, in the caller's transaction."""
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type=entity_type,
        entity_id=instance.pk,
        entity_label=str(instance),
        action="deleted",
        changes=diff(snapshot(instance, fields), {}),
    )
    instance.delete()
