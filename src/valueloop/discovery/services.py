"""Writes for problems (opportunities).

Invariants: problems belong to one workspace; a product/area given must be in the same
workspace (re-checked here, never trusted from input); edits are versioned and audited.
"""

from __future__ import annotations

from django.db import transaction

from valueloop.core.errors import Invalid
from valueloop.core.permissions import Scope
from valueloop.core.services import create_audited, update_audited
from valueloop.core.tenancy import Actor
from valueloop.workspaces.facade import resolve_product_area

from . import selectors
from .models import PROBLEM_STATUS, Problem

FIELDS = ["title", "description", "status", "product", "area"]
STATUSES = {value for value, _ in PROBLEM_STATUS}


def _clean(actor: Actor, data: dict) -> dict:
    data = dict(data)
    if "title" in data:
        data["title"] = (data["title"] or "").strip()
    if "status" in data and data["status"] not in STATUSES:
        raise Invalid(f"Unknown status {data['status']!r}.", fields={"status": f"One of: {', '.join(STATUSES)}."})
    if "product_id" in data or "area_id" in data:
        product, area = resolve_product_area(actor.workspace, data.pop("product_id", None), data.pop("area_id", None))
        data["product"], data["area"] = product, area
    return data


@transaction.atomic
def problem_create(
    *,
    actor: Actor,
    title: str,
    description: str = "",
    status: str = "open",
    product_id: int | None = None,
    area_id: int | None = None,
) -> Problem:
    actor.require(Scope.PORTFOLIO_WRITE)
    data = _clean(
        actor,
        {"title": title, "description": description, "status": status, "product_id": product_id, "area_id": area_id},
    )
    problem = Problem(workspace=actor.workspace, owner=actor.user, **data)
    return create_audited(actor, problem, entity_type="problem", fields=FIELDS)


@transaction.atomic
def problem_update(*, actor: Actor, problem_id: int, expected_version: int | None = None, **changes) -> Problem:
    problem = selectors.access_problem(actor=actor, id=problem_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    unknown = set(changes) - {"title", "description", "status", "product_id", "area_id"}
    if unknown:
        raise Invalid(f"Unknown problem fields: {', '.join(sorted(unknown))}")
    if "area_id" in changes and "product_id" not in changes:
        changes["product_id"] = problem.product_id
    return update_audited(
        actor, problem, _clean(actor, changes), entity_type="problem", expected_version=expected_version
    )
