"""Sequencing: the total delay cost of working the open features in the current backlog order, CD3 order and
the other strategies, the teams, and CD3 list scheduling across the teams' capacities.

Invariants: each feature's delay cost follows its urgency profile; features without the inputs to sequence are left
out and listed with their problems, never silently dropped; a feature assigned to a team waits for that team.
The engine works in floats; every amount leaving here is a ``Decimal`` rounded half up to cents, and a total is the
exact sum of the rounded amounts it totals (so a page's rows add up to its total, and 0.10 + 0.20 is 0.30).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q

from valueloop.core.money import quantize, to_decimal
from valueloop.core.money import total as money_total
from valueloop.core.permissions import Scope
from valueloop.core.selectors import access_row
from valueloop.engines import forecasting as fc
from valueloop.engines import prioritisation as prio

from .. import scoring
from ..models import (
    OPEN_STATUSES,
    Team,
)
from .backlog import backlog_rows
from .table import _num, load_table


def cents(value: float) -> Decimal:
    """An engine's float amount as money: the Decimal of its shortest repr, rounded half up to cents."""
    return quantize(to_decimal(float(value)))


def order_total(cost: fc.SequenceCost) -> Decimal:
    """The total delay cost of one work order: the exact sum of its items' delay costs in cents."""
    return money_total(cents(item.delay_cost) for item in cost.items)


def _profile(table: scoring.Table, row: int, cod_now: float) -> prio.UrgencyProfile:
    cols = table.cols
    kind = str(table.urgency[row])
    cod = float(cols["cod_per_week"][row])
    life = _num(cols["urgency_life_weeks"][row])
    if kind in scoring.PEAK_AFFECTED and life:
        return prio.make_profile(kind, cod_per_week=cod, life_weeks=life)
    if kind == "fixed_date":
        deadline_days = table.deadline_days[row]
        return prio.FixedDate(
            deadline_weeks=max(0.0, float(deadline_days) / 7.0),
            penalty=_num(cols["fixed_date_penalty"][row]) or 0.0,
            cod_after_per_week=cod,
        )
    if kind == "intangible":
        return prio.Intangible(cod_per_week=cod, rise_per_week=_num(cols["urgency_rise_per_week"][row]) or 0.0)
    if kind == "expedite":
        return prio.Expedite(cod_per_week=cod_now)
    return prio.Standard(cod_per_week=cod_now)


@dataclass
class SequenceView:
    currency: str
    comparison: fc.OrderComparison | None
    items: list[dict]  # per feature: title, cod, duration, cd3, end week under current and CD3 order
    left_out: list[dict]  # features without the inputs: title, problems

    @property
    def strategies(self) -> list[dict]:
        if self.comparison is None:
            return []
        labels = {
            "current": "Current backlog order",
            "cd3": "CD3 order",
            "value": "Value only (highest Cost of Delay first)",
            "shortest": "Shortest first",
            "fifo": "First in, first out",
        }
        cd3_total = order_total(self.comparison.costs[fc.Strategy.CD3])
        out = []
        for strategy, cost in self.comparison.costs.items():
            strategy_total = order_total(cost)
            out.append(
                {
                    "strategy": strategy.value,
                    "label": labels[strategy.value],
                    "total_delay_cost": strategy_total,
                    "cd3_saving": strategy_total - cd3_total,
                }
            )
        return out


def _jobs(table: scoring.Table, actor, order: list[int] | None = None) -> tuple[list[dict], list[dict], dict]:
    cd3 = scoring.rank(table, "cd3")
    cod_now = cd3.scores.detail["cod_now"]
    rows = order if order is not None else backlog_rows(table, cd3, table.extra["backlog_position"])
    jobs, left_out = [], []
    for row in rows:
        if cd3.rank[row] == 0:
            left_out.append(
                {"id": int(table.ids[row]), "title": table.titles[row], "problems": cd3.scores.problems.get(row, {})}
            )
            continue
        jobs.append(
            {
                "id": int(table.ids[row]),
                "cod_per_week": float(cod_now[row]),
                "duration_weeks": float(table.cols["duration_likely"][row]),
                "created": table.extra["created_at"][row],
                "team": table.extra["team_id"][row],
                "profile": _profile(table, row, float(cod_now[row])),
            }
        )
    return jobs, left_out, {"cd3": cd3}


SEQUENCE_EXTRA = ("created_at", "backlog_position", "team_id")


def _comparison_for(table: scoring.Table, actor) -> fc.OrderComparison | None:
    if "created_at" not in table.extra:
        return None
    jobs, _, _ = _jobs(table, actor)
    return fc.compare_orders(jobs) if jobs else None


def sequence_comparison(*, actor, table: scoring.Table | None = None) -> SequenceView:
    """Total delay cost of the open features worked one after another in the current backlog
    order, CD3 order, value-only, shortest-first and FIFO, and what CD3 saves against each."""
    actor.require(Scope.WORKSPACE_READ)
    table = table or load_table(actor.workspace, extra=SEQUENCE_EXTRA)
    jobs, left_out, extra = _jobs(table, actor)
    comparison = fc.compare_orders(jobs) if jobs else None
    items = []
    if comparison is not None:
        current = {s.item_id: s for s in comparison.costs[fc.Strategy.CURRENT].items}
        by_cd3 = {s.item_id: s for s in comparison.costs[fc.Strategy.CD3].items}
        cd3_scores = extra["cd3"].scores.scores
        for job in jobs:
            row = table.row_of(job["id"])
            items.append(
                {
                    "id": job["id"],
                    "title": table.titles[row],
                    "cod_per_week": cents(job["cod_per_week"]),
                    "duration_weeks": job["duration_weeks"],
                    "cd3": float(cd3_scores[row]),
                    "current_end_week": current[job["id"]].end_week,
                    "current_delay_cost": cents(current[job["id"]].delay_cost),
                    "cd3_end_week": by_cd3[job["id"]].end_week,
                    "cd3_delay_cost": cents(by_cd3[job["id"]].delay_cost),
                }
            )
    return SequenceView(actor.workspace.currency, comparison, items, left_out)


@dataclass
class ScheduleView:
    today: dt.date
    teams: list[Team]
    default_team: bool
    items: list[dict]
    left_out: list[dict]
    total_delay_cost: Decimal
    team_finish: dict[Any, float]
    currency: str


def team_list(*, actor):
    actor.require(Scope.WORKSPACE_READ)
    return (
        Team.objects.filter(workspace=actor.workspace)
        .annotate(feature_count=Count("features", filter=Q(features__status__in=OPEN_STATUSES)))
        .order_by("name", "id")
    )


def access_team(*, actor, id: int, scope=None, for_update: bool = False) -> Team:
    return access_row(Team, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Team not found.")


def team_schedule(*, actor) -> ScheduleView:
    """CD3 list scheduling of the open features across the teams' capacities, with forecast
    start and end dates per feature (a feature assigned to a team waits for that team)."""
    actor.require(Scope.WORKSPACE_READ)
    table = load_table(actor.workspace, extra=SEQUENCE_EXTRA)
    today = table.today
    teams = list(team_list(actor=actor))
    jobs, left_out, _ = _jobs(table, actor)
    default_team = not teams
    if default_team:
        engine_teams = [fc.Team("all", 0.0, 1.0)]
        for job in jobs:
            job["team"] = None
    else:
        engine_teams = [
            fc.Team(
                t.pk,
                max(0.0, (t.available_from - today).days / 7.0) if t.available_from else 0.0,
                float(t.capacity),
            )
            for t in teams
        ]
    team_names = {t.pk: t.name for t in teams} | {"all": "One team"}
    schedule = fc.schedule_teams(jobs, engine_teams) if jobs else None
    items = []
    if schedule is not None:
        for s in schedule.items:
            row = table.row_of(s.item_id)
            items.append(
                {
                    "id": s.item_id,
                    "title": table.titles[row],
                    "team": team_names.get(s.team, str(s.team)),
                    "team_id": s.team,
                    "start_week": s.start_week,
                    "end_week": s.end_week,
                    "start": today + dt.timedelta(days=round(7 * s.start_week)),
                    "end": today + dt.timedelta(days=round(7 * s.end_week)),
                    "delay_cost": cents(s.delay_cost),
                    "deadline": table.deadline[row],
                    "late": table.deadline[row] is not None
                    and today + dt.timedelta(days=round(7 * s.end_week)) > table.deadline[row],
                }
            )
    return ScheduleView(
        today=today,
        teams=teams,
        default_team=default_team,
        items=items,
        left_out=left_out,
        total_delay_cost=money_total(item["delay_cost"] for item in items),
        team_finish={team_names.get(k, k): v for k, v in schedule.team_finish_weeks.items()} if schedule else {},
        currency=actor.workspace.currency,
    )
