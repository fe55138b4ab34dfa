"""Throughput history and Monte Carlo delivery forecasts ("when will N items be done", "how many by then").

Invariants: derived history counts complete weeks only (Monday to Sunday, before the current week), empty weeks
as 0; hand-entered history is at most 104 weeks; bad forecast input is a 400 naming the field, never a 500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from valueloop.core.errors import Invalid
from valueloop.core.permissions import Scope
from valueloop.core.selectors import access_row
from valueloop.engines import forecasting as fc
from valueloop.engines import prioritisation as prio

from ..models import (
    OPEN_STATUSES,
    DeliveryItem,
    Feature,
    ThroughputEntry,
)
from .features import settings_get, today_for


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def throughput_list(*, actor):
    actor.require(Scope.WORKSPACE_READ)
    return ThroughputEntry.objects.filter(workspace=actor.workspace).order_by("-week_start")


def access_throughput(*, actor, id: int, scope=None, for_update: bool = False) -> ThroughputEntry:
    return access_row(
        ThroughputEntry, actor=actor, id=id, scope=scope, for_update=for_update, not_found="Throughput entry not found."
    )


def throughput_history(*, actor, source: str, weeks: int = 12) -> list[tuple[dt.date, int]]:
    """Finished items per week, oldest first: the last ``weeks`` complete weeks for the derived
    sources (weeks with nothing finished count as 0), or the hand-entered weeks (at most 104)."""
    actor.require(Scope.WORKSPACE_READ)
    if source == "manual":
        entries = list(throughput_list(actor=actor).values_list("week_start", "finished")[:104])
        return sorted(entries)
    if source not in ("delivery_items", "features"):
        raise Invalid(
            f"Unknown throughput source {source!r}.",
            fields={"source": "One of: delivery_items, features, manual, given."},
        )
    today = today_for(actor.workspace)
    this_week = week_start(today)
    first = this_week - dt.timedelta(weeks=weeks)
    zone = timezone.get_current_timezone()
    since = timezone.make_aware(dt.datetime.combine(first, dt.time.min), zone)
    until = timezone.make_aware(dt.datetime.combine(this_week, dt.time.min), zone)
    if source == "delivery_items":
        stamps = DeliveryItem.objects.filter(
            workspace=actor.workspace, status="done", done_at__gte=since, done_at__lt=until
        ).values_list("done_at", flat=True)
    else:
        stamps = Feature.objects.filter(
            workspace=actor.workspace, status="released", released_at__gte=since, released_at__lt=until
        ).values_list("released_at", flat=True)
    counts = {first + dt.timedelta(weeks=k): 0 for k in range(weeks)}
    for stamp in stamps:
        key = week_start(timezone.localtime(stamp, zone).date())
        if key in counts:
            counts[key] += 1
    return sorted(counts.items())


def _history(actor, source: str | None, given: list[int] | None, weeks: int) -> tuple[str, list[tuple]]:
    if given is not None:
        return "given", [(None, int(v)) for v in given]
    chosen = source or settings_get(actor=actor).throughput_source
    return chosen, throughput_history(actor=actor, source=chosen, weeks=weeks)


def _engine_invalid(exc: prio.EngineInputError, names: Mapping[str, str] | None = None) -> Invalid:
    field_name = (names or {}).get(exc.field or "", exc.field or "form")
    if field_name.startswith("throughput_history"):
        field_name = "history"
    return Invalid(str(exc)[:1].upper() + str(exc)[1:] + ".", fields={field_name: str(exc)})


@dataclass
class ForecastView:
    kind: str  # "when" or "how_many"
    source: str
    history: list[tuple]
    today: dt.date
    result: Any  # WhenForecast | HowManyForecast
    items: int | None = None
    until: dt.date | None = None

    @property
    def levels(self) -> list[dict]:
        out = []
        if self.kind == "when":
            for level, weeks in self.result.weeks.items():
                out.append({"confidence": level, "weeks": weeks, "date": self.today + dt.timedelta(weeks=weeks)})
        else:
            for level, items in self.result.items.items():
                out.append({"confidence": level, "items": items})
        return out


def forecast_when(
    *,
    actor,
    items: int,
    source: str | None = None,
    history: list[int] | None = None,
    history_weeks: int = 12,
    trials: int = 10_000,
    seed: int | None = None,
) -> ForecastView:
    """When will ``items`` items be done? Weeks (and dates) at 50/85/95 % from throughput history."""
    chosen, weekly = _history(actor, source, history, history_weeks)
    try:
        result = fc.forecast_when([c for _, c in weekly], items, trials=trials, seed=seed)
    except fc.ForecastError as exc:
        raise _engine_invalid(exc) from None
    return ForecastView("when", chosen, weekly, today_for(actor.workspace), result, items=items)


def forecast_how_many(
    *,
    actor,
    until: dt.date | None = None,
    weeks: int | None = None,
    source: str | None = None,
    history: list[int] | None = None,
    history_weeks: int = 12,
    trials: int = 10_000,
    seed: int | None = None,
) -> ForecastView:
    """How many items by ``until`` (or in ``weeks`` weeks), at 50/85/95 %."""
    chosen, weekly = _history(actor, source, history, history_weeks)
    today = today_for(actor.workspace)
    if until is not None and until < today:
        raise Invalid("The date is in the past.", fields={"until": "Choose a date from today on."})
    try:
        if until is not None:
            result = fc.forecast_how_many([c for _, c in weekly], start=today, until=until, trials=trials, seed=seed)
        else:
            result = fc.forecast_how_many([c for _, c in weekly], weeks, trials=trials, seed=seed)
    except fc.ForecastError as exc:
        raise _engine_invalid(exc) from None
    return ForecastView("how_many", chosen, weekly, today, result, until=until)


def remaining_items(*, actor) -> dict[str, int]:
    actor.require(Scope.WORKSPACE_READ)
    return {
        "delivery_items": DeliveryItem.objects.filter(workspace=actor.workspace).exclude(status="done").count(),
        "features": Feature.objects.filter(workspace=actor.workspace, status__in=OPEN_STATUSES).count(),
    }
