"""Writes for features (solutions).

Invariants: a feature's product, area and problem are re-checked to be in the actor's
workspace; moving to "released" stamps ``released_at`` (once; moving back clears it) so that
the loop with the customers who asked can be closed; edits are versioned and audited.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from valueloop.core.errors import Invalid
from valueloop.core.permissions import Scope
from valueloop.core.services import create_audited, update_audited
from valueloop.core.tenancy import Actor
from valueloop.discovery.facade import resolve_problem
from valueloop.workspaces.facade import resolve_product_area

from . import selectors
from .models import FEATURE_STATUS, Feature

FIELDS = ["title", "description", "status", "product", "area", "problem", "released_at"]
STATUSES = {value for value, _ in FEATURE_STATUS}


def _clean(actor: Actor, data: dict, current: Feature | None = None) -> dict:
    data = dict(data)
    if "title" in data:
        data["title"] = (data["title"] or "").strip()
    if "status" in data:
        if data["status"] not in STATUSES:
            raise Invalid(f"Unknown status {data['status']!r}.", fields={"status": f"One of: {', '.join(STATUSES)}."})
        was_released = current is not None and current.status == "released"
        if data["status"] == "released" and not was_released:
            data["released_at"] = timezone.now()
        elif data["status"] != "released":
            data["released_at"] = None
    if "product_id" in data or "area_id" in data:
        data["product"], data["area"] = resolve_product_area(
            actor.workspace, data.pop("product_id", None), data.pop("area_id", None)
        )
    if "problem_id" in data:
        data["problem"] = resolve_problem(actor.workspace, data.pop("problem_id"))
    return data


@transaction.atomic
def feature_create(
    *,
    actor: Actor,
    title: str,
    description: str = "",
    status: str = "idea",
    product_id: int | None = None,
    area_id: int | None = None,
    problem_id: int | None = None,
) -> Feature:
    actor.require(Scope.PORTFOLIO_WRITE)
    data = _clean(
        actor,
        {
            "title": title,
            "description": description,
            "status": status,
            "product_id": product_id,
            "area_id": area_id,
            "problem_id": problem_id,
        },
    )
    feature = Feature(workspace=actor.workspace, owner=actor.user, **data)
    return create_audited(actor, feature, entity_type="feature", fields=FIELDS)


@transaction.atomic
def feature_update(*, actor: Actor, feature_id: int, expected_version: int | None = None, **changes) -> Feature:
    feature = selectors.access_feature(actor=actor, id=feature_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    unknown = set(changes) - {"title", "description", "status", "product_id", "area_id", "problem_id"}
    if unknown:
        raise Invalid(f"Unknown feature fields: {', '.join(sorted(unknown))}")
    if "area_id" in changes and "product_id" not in changes:
        changes["product_id"] = feature.product_id
    return update_audited(
        actor, feature, _clean(actor, changes, feature), entity_type="feature", expected_version=expected_version
    )
