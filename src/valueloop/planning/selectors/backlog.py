"""The backlog: the product owner's order (hand-positioned features first, then CD3 order) and its moves.

Invariants: every open feature appears exactly once; hand positions order among themselves with ties by id; the
rest follow CD3 order, with the features CD3 cannot score last.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max

from valueloop.core.permissions import Scope

from .. import scoring
from ..models import (
    BacklogMove,
    Feature,
)
from .table import FRAMEWORK_COLUMNS, _num, load_table


def backlog_rows(table: scoring.Table, cd3: scoring.Ranked, positions: list[int | None]) -> list[int]:
    """Row indices in backlog order: hand-positioned rows first, then the rest in CD3 order."""
    positioned = sorted(
        (r for r in range(table.n) if positions[r] is not None), key=lambda r: (positions[r], int(table.ids[r]))
    )
    rest = [int(r) for r in cd3.order if positions[int(r)] is None]
    return [*positioned, *rest]


@dataclass
class BacklogRow:
    position: int
    feature_id: int
    title: str
    status: str
    cd3: float | None
    cd3_rank: int | None
    hand_position: int | None
    problems: dict[str, str]
    last_move: BacklogMove | None = None
    feature: Feature | None = None


def backlog_order(*, actor, table: scoring.Table | None = None) -> tuple[list[int], scoring.Table, scoring.Ranked]:
    """Open feature ids in backlog order (hand positions first, then CD3 order), with the table."""
    actor.require(Scope.WORKSPACE_READ)
    table = table or load_table(actor.workspace, extra=("backlog_position",), columns=FRAMEWORK_COLUMNS["cd3"])
    cd3 = scoring.rank(table, "cd3")
    rows = backlog_rows(table, cd3, table.extra["backlog_position"])
    return [int(table.ids[r]) for r in rows], table, cd3


def backlog_list(*, actor, start: int = 0, stop: int | None = None) -> tuple[list[BacklogRow], int, int]:
    """A slice of the backlog, the total count and how many items are positioned by hand."""
    ids, table, cd3 = backlog_order(actor=actor)
    chosen = ids[start:stop]
    features = {f.pk: f for f in Feature.objects.filter(workspace=actor.workspace, pk__in=chosen)}
    moves = _last_moves(actor.workspace, chosen)
    out = []
    for offset, feature_id in enumerate(chosen):
        row = table.row_of(feature_id)
        scored = cd3.rank[row] > 0
        out.append(
            BacklogRow(
                position=start + offset + 1,
                feature_id=feature_id,
                title=table.titles[row],
                status=features[feature_id].status,
                cd3=_num(cd3.scores.scores[row]) if scored else None,
                cd3_rank=int(cd3.rank[row]) if scored else None,
                hand_position=table.extra["backlog_position"][row],
                problems=cd3.scores.problems.get(row, {}) if not scored else {},
                last_move=moves.get(feature_id),
                feature=features[feature_id],
            )
        )
    hand = sum(1 for p in table.extra["backlog_position"] if p is not None)
    return out, len(ids), hand


def _last_moves(workspace, feature_ids: list[int]) -> dict[int, BacklogMove]:
    if not feature_ids:
        return {}
    latest = (
        BacklogMove.objects.filter(workspace=workspace, feature_id__in=feature_ids)
        .values("feature_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    return {m.feature_id: m for m in BacklogMove.objects.filter(pk__in=list(latest)).select_related("actor")}


def backlog_moves(*, actor, limit: int = 20):
    actor.require(Scope.WORKSPACE_READ)
    return (
        BacklogMove.objects.filter(workspace=actor.workspace).select_related("feature").order_by("-at", "-id")[:limit]
    )


def backlog_page(*, actor, page: int, page_size: int) -> tuple[list[BacklogRow], int]:
    """The rows of page ``page`` (1-based) of ``page_size`` of the backlog, and the backlog's length."""
    start = (page - 1) * page_size
    rows, count, _ = backlog_list(actor=actor, start=start, stop=start + page_size)
    return rows, count
