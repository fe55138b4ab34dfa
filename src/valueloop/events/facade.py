"""What other apps may import from events: ingestion and the aggregation of an experiment's data.

Invariants:
- ``ingest`` is all or nothing: every row is validated before anything is written; then one Parquet part per kind
  (exposures, metric events) is appended atomically. Bad rows raise ``Invalid`` naming ``events[i].field``.
- ``experiment_data`` returns additive sufficient statistics per variation (and per exposure day) computed in SQL,
  on the embedded DuckDB/Parquet store or on the warehouse the workspace's admin configured. The semantics are in
  ``aggregation.py``'s docstring; ``tests/events`` pin them against an independent numpy computation.
- Every function takes the workspace id it serves and reads only that workspace's files or source.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from valueloop.core.errors import Invalid
from valueloop.engines.stats import SufficientStats

from . import aggregation, rows
from .services import IngestResult, ingest_rows

__all__ = [
    "DayStats",
    "ExperimentData",
    "IngestResult",
    "MetricSpec",
    "event_names",
    "experiment_data",
    "experiment_exposure_summary",
    "ingest",
]

MAX_WINDOW_HOURS = 24 * 366
MAX_CUPED_DAYS = 366
MAX_METRICS = 50


@dataclass(frozen=True)
class MetricSpec:
    key: str
    kind: Literal["binomial", "mean", "ratio"]
    event: str
    aggregation: Literal["count", "sum"] = "count"
    denominator_event: str | None = None
    denominator_aggregation: Literal["count", "sum"] = "count"
    window_hours: int | None = None
    cuped_days: int = 0


@dataclass(frozen=True)
class DayStats:
    day: datetime.date
    units: tuple[int, ...]
    metrics: dict[str, tuple[SufficientStats, ...]]


@dataclass(frozen=True)
class ExperimentData:
    experiment_key: str
    variations: int
    units: tuple[int, ...]
    multiple_exposures: int
    unknown_variation_exposures: int
    metrics: dict[str, tuple[SufficientStats, ...]]
    days: tuple[DayStats, ...]
    first_exposure: datetime.datetime | None
    last_exposure: datetime.datetime | None


def ingest(workspace_id: int, events: Sequence[Mapping[str, Any]], *, source: str) -> IngestResult:
    """Validate every row, then append them (one part per kind). Raises ``Invalid`` and writes nothing on error."""
    return ingest_rows(workspace_id, events, source=source)


def _metric(spec: MetricSpec, index: int) -> aggregation.Metric:
    where = f"metrics[{index}]"

    def bad(field: str, message: str) -> Invalid:
        return Invalid(f"{where}.{field}: {message}", fields={f"{where}.{field}": message})

    if not isinstance(spec.key, str) or not spec.key or len(spec.key) > 200:
        raise bad("key", "must be a non-empty string of at most 200 characters.")
    if spec.kind not in ("binomial", "mean", "ratio"):
        raise bad("kind", "must be binomial, mean or ratio.")
    if not isinstance(spec.event, str) or not spec.event or len(spec.event) > rows.MAX_EVENT_LENGTH:
        raise bad("event", f"must be an event name of 1 to {rows.MAX_EVENT_LENGTH} characters.")
    if spec.aggregation not in ("count", "sum"):
        raise bad("aggregation", "must be count or sum.")
    if spec.kind == "ratio":
        if not isinstance(spec.denominator_event, str) or not spec.denominator_event:
            raise bad("denominator_event", "is required for a ratio metric.")
        if len(spec.denominator_event) > rows.MAX_EVENT_LENGTH:
            raise bad("denominator_event", f"must be at most {rows.MAX_EVENT_LENGTH} characters.")
        if spec.denominator_aggregation not in ("count", "sum"):
            raise bad("denominator_aggregation", "must be count or sum.")
    if spec.window_hours is not None and (
        type(spec.window_hours) is not int or not 1 <= spec.window_hours <= MAX_WINDOW_HOURS
    ):
        raise bad("window_hours", f"must be a whole number of hours from 1 to {MAX_WINDOW_HOURS}, or None.")
    if type(spec.cuped_days) is not int or not 0 <= spec.cuped_days <= MAX_CUPED_DAYS:
        raise bad("cuped_days", f"must be a whole number of days from 0 to {MAX_CUPED_DAYS}.")
    return aggregation.Metric(
        key=spec.key,
        kind=spec.kind,
        event=spec.event,
        aggregation=spec.aggregation,
        denominator_event=spec.denominator_event if spec.kind == "ratio" else None,
        denominator_aggregation=spec.denominator_aggregation,
        window_hours=spec.window_hours,
        cuped_days=spec.cuped_days,
    )


def _utc(value: datetime.datetime | None, field: str) -> datetime.datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime.datetime) or value.tzinfo is None:
        raise Invalid(f"{field} must be a time-zone-aware datetime.", fields={field: "needs a time zone"})
    return value.astimezone(datetime.UTC)


def experiment_data(
    workspace_id: int,
    experiment_key: str,
    *,
    variations: int,
    metrics: Sequence[MetricSpec],
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
) -> ExperimentData:
    """Sufficient statistics per variation (and per exposure day) for the experiment's metrics."""
    if not isinstance(experiment_key, str) or not experiment_key or len(experiment_key) > rows.MAX_KEY_LENGTH:
        raise Invalid("experiment_key must be a non-empty string.", fields={"experiment_key": "required"})
    if type(variations) is not int or not 1 <= variations <= rows.MAX_VARIATION + 1:
        raise Invalid("variations must be a positive integer.", fields={"variations": "1 to 1000"})
    if len(metrics) > MAX_METRICS:
        raise Invalid(f"At most {MAX_METRICS} metrics per analysis.", fields={"metrics": "too many"})
    specs = [_metric(spec, i) for i, spec in enumerate(metrics)]
    if len({m.key for m in specs}) != len(specs):
        raise Invalid("Metric keys must be unique.", fields={"metrics": "duplicate key"})
    start_utc, end_utc = _utc(start, "start"), _utc(end, "end")
    if start_utc and end_utc and end_utc <= start_utc:
        raise Invalid("end must be after start.", fields={"end": "must be after start"})

    from .selectors import run_statements

    statements, raw = run_statements(workspace_id, experiment_key, variations, specs, start_utc, end_utc)
    units, totals, days = aggregation.assemble(raw, statements, variations, specs)
    return ExperimentData(
        experiment_key=experiment_key,
        variations=variations,
        units=units,
        multiple_exposures=raw.multiple,
        unknown_variation_exposures=raw.unknown,
        metrics=totals,
        days=tuple(DayStats(day=day, units=u, metrics=m) for day, u, m in days),
        first_exposure=aggregation.as_utc(raw.first_ts),
        last_exposure=aggregation.as_utc(raw.last_ts),
    )


def event_names(workspace_id: int) -> list[tuple[str, int]]:
    """Metric event names seen in the workspace's source, most frequent first, with their counts."""
    from .selectors import event_name_counts

    return event_name_counts(workspace_id)


def experiment_exposure_summary(workspace_id: int, experiment_key: str) -> dict:
    """``{"units": distinct exposed units, "last_seen": last exposure (UTC) or None}``."""
    from .selectors import exposure_summary

    return exposure_summary(workspace_id, experiment_key)
