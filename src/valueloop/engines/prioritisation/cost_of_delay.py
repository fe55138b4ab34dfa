"""Cost of Delay from named components: why waiting costs money, per week.

Invariants
----------
* Money is per week; no currency is assumed. Every component line is >= 0 (a negative Cost of Delay would mean
  waiting earns money: a different decision, not a priority).
* Lines sharing a component are added; the total is summed with ``math.fsum``, so it is exact to the last bit
  whatever order the lines arrive in. ``by_component`` always has all four components.
* No lines is a valid, zero Cost of Delay.

Source: Joshua J. Arnold, Black Swan Farming, "Cost of Delay" (blackswanfarming.com): the four value types increase
revenue, protect revenue, reduce cost and reduce risk; Donald G. Reinertsen, *The Principles of Product Development
Flow* (2009), ch. 2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NotRequired, TypedDict

from .base import ItemId, PrioritisationError, _non_negative


class CodComponent(StrEnum):
    """Black Swan Farming's four value types: why delay costs money."""

    INCREASE_REVENUE = "increase_revenue"
    PROTECT_REVENUE = "protect_revenue"
    REDUCE_COST = "reduce_cost"
    REDUCE_RISK = "reduce_risk"


class CodLineInput(TypedDict):
    component: str
    per_week: float | int | Decimal
    rationale: NotRequired[str]


@dataclass(frozen=True, slots=True)
class CodLine:
    component: CodComponent
    per_week: float
    rationale: str = ""


@dataclass(frozen=True, slots=True)
class CostOfDelay:
    """Total Cost of Delay per week and its breakdown. ``by_component`` always has all four components."""

    item_id: ItemId | None
    lines: tuple[CodLine, ...]
    by_component: Mapping[CodComponent, float]
    per_week: float


def cost_of_delay(lines: Iterable[CodLineInput | CodLine], *, item_id: ItemId | None = None) -> CostOfDelay:
    """Sum named Cost of Delay components (money per week) into a total.

    Each line's amount must be >= 0: a negative Cost of Delay would mean waiting earns money, which is a different
    decision (do not do it) rather than a priority. Several lines may share a component (e.g. two revenue streams);
    they are added. No lines gives a zero Cost of Delay, which is valid (the item ranks last under CD3).
    """
    parsed: list[CodLine] = []
    for line in lines:
        if isinstance(line, CodLine):
            component_raw: object = line.component
            amount_raw: object = line.per_week
            rationale: object = line.rationale
        else:
            component_raw = line.get("component")
            amount_raw = line.get("per_week")
            rationale = line.get("rationale", "")
        try:
            component = CodComponent(component_raw)
        except ValueError:
            allowed = ", ".join(c.value for c in CodComponent)
            raise PrioritisationError(
                f"component must be one of {allowed}; got {component_raw!r}", field="component", item_id=item_id
            ) from None
        if amount_raw is None:
            raise PrioritisationError(f"{component.value} is required", field=component.value, item_id=item_id)
        amount = _non_negative(amount_raw, component.value, item_id)
        if not isinstance(rationale, str):
            raise PrioritisationError("rationale must be text", field="rationale", item_id=item_id)
        parsed.append(CodLine(component, amount, rationale))
    by_component = dict.fromkeys(CodComponent, 0.0)
    for line in parsed:
        by_component[line.component] += line.per_week
    # math.fsum keeps the total exact to the last bit regardless of the order lines arrive in.
    total = math.fsum(line.per_week for line in parsed)
    return CostOfDelay(item_id=item_id, lines=tuple(parsed), by_component=by_component, per_week=total)
