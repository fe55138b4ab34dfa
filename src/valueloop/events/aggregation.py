"""From raw exposures and metric events to sufficient statistics, in SQL written once (SQLAlchemy Core).

The same statement runs on the embedded store (DuckDB over Parquet, compiled with the PostgreSQL dialect, whose
SQL DuckDB speaks) and on a team's warehouse through its SQLAlchemy engine (PostgreSQL is tested; other dialects
compile the same expression tree).

Semantics (the contract in ``facade.py``):
- Units: distinct unit ids with an exposure to the experiment in ``[start, end)``. Exposure rows whose variation
  is outside ``0 .. variations - 1`` are dropped first (and counted). A unit's first exposure fixes its cohort
  day and start time; a unit exposed to more than one variation is excluded (and counted).
- Metric window per unit: ``[first exposure, first exposure + window_hours)``, and never past ``end``.
  Per unit ``x`` = the number (``count``) or the sum of ``value`` (``sum``) of the numerator events in the window;
  binomial: 1 when there is at least one, else 0. Ratio metrics also ``y`` from the denominator event. Units
  without events have ``x = y = 0``: exposure, not activity, defines the units.
- CUPED covariate ``c``: the numerator computed the same way (indicator for binomial) over
  ``[first exposure - cuped_days, first exposure)``.
- ``GROUP BY variation, exposure day`` gives ``n`` and the sums ``SufficientStats`` needs; days add up to totals.

Invariants: user text reaches SQL only as bound parameters; identifiers (warehouse tables and columns) are checked
against a strict pattern and quoted by SQLAlchemy; the only numbers rendered into SQL text are validated integers
(window and CUPED hours, for a portable interval literal). Timestamps are UTC: DuckDB gets naive UTC values,
other engines aware UTC values (PostgreSQL sessions run with ``TIME ZONE 'UTC'`` so ``CAST(ts AS DATE)`` is the
UTC day).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Double,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.functions import FunctionElement

from valueloop.engines.stats import SufficientStats

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
EXPOSURE_COLUMNS = ("experiment_key", "variation", "unit_id", "ts")
EVENT_COLUMNS = ("event", "unit_id", "value", "ts")
_TYPES = {"experiment_key": String, "variation": Integer, "unit_id": String, "ts": DateTime, "event": String}


# --- a portable "timestamp plus N hours" -------------------------------------------------------------------------


class add_hours(FunctionElement):
    """``ts + N hours`` with N a validated integer; compiled per dialect (there is no portable interval syntax)."""

    type = DateTime()
    inherit_cache = True
    name = "add_hours"


def hours_after(expr: Any, hours: int) -> add_hours:
    return add_hours(expr, literal_column(str(int(hours))))


def _parts(element: add_hours, compiler: Any, **kw: Any) -> tuple[str, int]:
    expr, hours = element.clauses.clauses
    return compiler.process(expr, **kw), int(hours.name)


@compiles(add_hours)
def _add_hours_default(element, compiler, **kw):  # PostgreSQL, DuckDB, Redshift, Trino-like
    expr, hours = _parts(element, compiler, **kw)
    return f"({expr} + INTERVAL '{hours} hours')"


@compiles(add_hours, "mysql")
@compiles(add_hours, "mariadb")
def _add_hours_mysql(element, compiler, **kw):
    expr, hours = _parts(element, compiler, **kw)
    return f"DATE_ADD({expr}, INTERVAL {hours} HOUR)"


@compiles(add_hours, "mssql")
@compiles(add_hours, "snowflake")
def _add_hours_dateadd(element, compiler, **kw):
    expr, hours = _parts(element, compiler, **kw)
    return f"DATEADD(hour, {hours}, {expr})"


@compiles(add_hours, "bigquery")
def _add_hours_bigquery(element, compiler, **kw):
    expr, hours = _parts(element, compiler, **kw)
    return f"TIMESTAMP_ADD({expr}, INTERVAL {hours} HOUR)"


@compiles(add_hours, "sqlite")
def _add_hours_sqlite(element, compiler, **kw):
    expr, hours = _parts(element, compiler, **kw)
    return f"datetime({expr}, '{hours:+d} hours')"


# --- sources -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """What the SQL needs of a metric (a validated ``facade.MetricSpec``)."""

    key: str
    kind: str  # binomial, mean, ratio
    event: str
    aggregation: str = "count"
    denominator_event: str | None = None
    denominator_aggregation: str = "count"
    window_hours: int | None = None
    cuped_days: int = 0


@dataclass(frozen=True)
class TableMap:
    """Where the rows live: a table (optionally ``schema.table``) and the column holding each logical field."""

    exposures_table: str
    events_table: str
    exposure_columns: dict[str, str]
    event_columns: dict[str, str]


def check_identifier(value: str, what: str) -> str:
    if not IDENTIFIER_RE.match(value or ""):
        raise ValueError(f"{what} must be a plain SQL identifier (letters, digits, _; at most 63), not {value!r}")
    return value


def _physical(name: str, columns: dict[str, str], logical: Sequence[str]) -> FromClause:
    schema = None
    if "." in name:
        schema, name = name.split(".", 1)
        check_identifier(schema, "schema")
    check_identifier(name, "table")
    mapped = {field: check_identifier(columns.get(field) or field, f"column for {field}") for field in logical}
    raw = table(name, *[column(phys) for phys in dict.fromkeys(mapped.values())], schema=schema)
    return select(*[raw.c[mapped[field]].label(field) for field in logical]).subquery()


def sources(mapping: TableMap | None) -> tuple[FromClause, FromClause]:
    """The exposures and events selectables with logical column names (embedded views when no mapping)."""
    if mapping is None:
        exposures = table("vl_exposures", *[column(c, _TYPES[c]()) for c in EXPOSURE_COLUMNS])
        events = table("vl_events", *[column(c, _TYPES.get(c, Double)()) for c in EVENT_COLUMNS])
        return exposures, events
    exposures_q = _physical(mapping.exposures_table, mapping.exposure_columns, EXPOSURE_COLUMNS).alias("vl_exposures")
    events_q = _physical(mapping.events_table, mapping.event_columns, EVENT_COLUMNS).alias("vl_events")
    return exposures_q, events_q


# --- the statements --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statements:
    stats: Any  # rows: variation (-1: units that saw several), day, n, then per metric the sums (see columns)
    summary: Any  # one row: unknown variation rows, first and last valid exposure
    columns: dict[str, list[str]]  # per metric key, the SufficientStats field of each result column


def _range(ts: Any, start: Any, end: Any) -> list[Any]:
    conditions = []
    if start is not None:
        conditions.append(ts >= bindparam("range_start", start, type_=DateTime()))
    if end is not None:
        conditions.append(ts < bindparam("range_end", end, type_=DateTime()))
    return conditions


def build(
    mapping: TableMap | None,
    experiment_key: str,
    variations: int,
    metrics: Sequence[Metric],
    start: Any,
    end: Any,
) -> Statements:
    x, e = sources(mapping)
    key = bindparam("experiment_key", experiment_key, type_=String())
    in_key_and_range = [x.c.experiment_key == key, *_range(x.c.ts, start, end)]
    valid = and_(x.c.variation >= 0, x.c.variation < bindparam("variations", variations, type_=Integer()))

    first = (
        select(
            x.c.unit_id,
            func.min(x.c.ts).label("first_ts"),
            func.min(x.c.variation).label("v_lo"),
            func.max(x.c.variation).label("v_hi"),
        )
        .where(*in_key_and_range, valid)
        .group_by(x.c.unit_id)
        .cte("vl_first")
    )
    # Units that saw more than one variation get variation -1: they flow through the same single pass and come
    # out as rows that count them (``multiple``) instead of costing a second scan of the exposures.
    units = select(
        first.c.unit_id,
        first.c.first_ts,
        case((first.c.v_lo == first.c.v_hi, first.c.v_lo), else_=literal_column("-1")).label("variation"),
    ).cte("vl_units")

    per_unit_cols: list[Any] = []
    agg_cols: list[Any] = []
    columns: dict[str, list[str]] = {}
    names: list[str] = []
    lower_hours = 0  # how far before the first exposure events matter (CUPED)
    event_params: dict[str, Any] = {}

    def param(value: str) -> Any:
        if value not in event_params:
            event_params[value] = bindparam(f"vl_event_{len(event_params)}", value, type_=String())
        return event_params[value]

    def window_sum(event: str, aggregation: str, binomial: bool, lo: Any, hi: Any, label: str) -> Any:
        inside = and_(e.c.event == param(event), e.c.ts >= lo, *([e.c.ts < hi] if hi is not None else []))
        if end is not None:
            inside = and_(inside, e.c.ts < bindparam("range_end", end, type_=DateTime()))
        if binomial:
            return func.max(case((inside, 1), else_=0)).label(label)
        amount = e.c.value if aggregation == "sum" else literal_column("1")
        return func.sum(case((inside, amount), else_=0)).label(label)

    for i, metric in enumerate(metrics):
        binomial = metric.kind == "binomial"
        hi = hours_after(units.c.first_ts, metric.window_hours) if metric.window_hours else None
        names.append(metric.event)
        agg_cols.append(window_sum(metric.event, metric.aggregation, binomial, units.c.first_ts, hi, f"x{i}"))
        parts = {"x": f"x{i}"}
        if metric.kind == "ratio":
            assert metric.denominator_event
            names.append(metric.denominator_event)
            agg_cols.append(
                window_sum(
                    metric.denominator_event, metric.denominator_aggregation, False, units.c.first_ts, hi, f"y{i}"
                )
            )
            parts["y"] = f"y{i}"
        if metric.cuped_days:
            lower_hours = max(lower_hours, metric.cuped_days * 24)
            lo = hours_after(units.c.first_ts, -metric.cuped_days * 24)
            agg_cols.append(window_sum(metric.event, metric.aggregation, binomial, lo, units.c.first_ts, f"c{i}"))
            parts["c"] = f"c{i}"
        columns[metric.key] = list(parts)
        for name in parts.values():
            per_unit_cols.append(name)

    day = cast(units.c.first_ts, Date).label("day")
    if agg_cols:
        event_filter = [e.c.event.in_(sorted(set(names)))]
        if start is not None:
            # Cheap pruning: no counted event is older than the earliest first exposure minus the CUPED period.
            earliest = start - dt.timedelta(hours=lower_hours)
            event_filter.append(e.c.ts >= bindparam("events_from", earliest, type_=DateTime()))
        if end is not None:
            event_filter.append(e.c.ts < bindparam("range_end", end, type_=DateTime()))
        agg = (
            select(units.c.unit_id, *agg_cols)
            .select_from(units.join(e, e.c.unit_id == units.c.unit_id))
            .where(*event_filter)
            .group_by(units.c.unit_id)
            .cte("vl_unit_metrics")
        )
        values = [cast(func.coalesce(agg.c[name], 0), Double()).label(name) for name in per_unit_cols]
        per_unit = (
            select(units.c.variation, day, *values)
            .select_from(units.outerjoin(agg, agg.c.unit_id == units.c.unit_id))
            .cte("vl_per_unit")
        )
    else:
        per_unit = select(units.c.variation, day).cte("vl_per_unit")

    sums: list[Any] = [per_unit.c.variation, per_unit.c.day, func.count().label("n")]
    result_columns: dict[str, list[str]] = {}
    for i, metric in enumerate(metrics):
        have = columns[metric.key]
        fields: list[str] = []

        def add(field: str, expr: Any, fields: list[str] = fields) -> None:
            sums.append(func.sum(expr).label(f"{field}_{len(sums)}"))
            fields.append(field)

        xv = per_unit.c[f"x{i}"]
        add("sum_x", xv)
        add("sum_x2", xv * xv)
        if "y" in have:
            yv = per_unit.c[f"y{i}"]
            add("sum_y", yv)
            add("sum_y2", yv * yv)
            add("sum_xy", xv * yv)
        if "c" in have:
            cv = per_unit.c[f"c{i}"]
            add("sum_c", cv)
            add("sum_c2", cv * cv)
            add("sum_xc", xv * cv)
            if "y" in have:
                add("sum_yc", per_unit.c[f"y{i}"] * cv)
        result_columns[metric.key] = fields
    stats = select(*sums).group_by(per_unit.c.variation, per_unit.c.day).order_by(per_unit.c.day, per_unit.c.variation)

    unknown = case((valid, 0), else_=1)
    summary = select(
        func.coalesce(func.sum(unknown), 0).label("unknown"),
        func.min(case((valid, x.c.ts), else_=None)).label("first_ts"),
        func.max(case((valid, x.c.ts), else_=None)).label("last_ts"),
    ).where(*in_key_and_range)
    return Statements(stats=stats, summary=summary, columns=result_columns)


# --- running them ----------------------------------------------------------------------------------------------------

_DUCK_DIALECT = PGDialect(paramstyle="qmark")


def compile_for_duckdb(statement: Any) -> tuple[str, list[Any]]:
    """PostgreSQL-dialect SQL with ``?`` placeholders and the positional values, for DuckDB."""
    compiled = statement.compile(dialect=_DUCK_DIALECT, compile_kwargs={"render_postcompile": True})
    return str(compiled), [compiled.params[name] for name in compiled.positiontup or []]


@dataclass(frozen=True)
class Raw:
    """What the statements returned, engine-independent."""

    stats_rows: list[tuple]
    unknown: int
    first_ts: Any
    last_ts: Any

    @property
    def multiple(self) -> int:
        return sum(int(row[2]) for row in self.stats_rows if int(row[0]) < 0)


def as_utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # engines without a timestamp type (SQLite)
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def assemble(
    raw: Raw, statements: Statements, variations: int, metrics: Sequence[Metric]
) -> tuple[tuple[int, ...], dict[str, tuple[SufficientStats, ...]], list[tuple[dt.date, tuple[int, ...], dict]]]:
    """Rows of (variation, day, n, sums...) into per-day and total SufficientStats per variation."""
    by_day: dict[dt.date, dict[int, tuple]] = {}
    for row in raw.stats_rows:
        variation, day = int(row[0]), as_date(row[1])
        if variation < 0:
            continue  # units exposed to several variations: excluded, counted in ``Raw.multiple``
        by_day.setdefault(day, {})[variation] = row
    layout = [(m.key, statements.columns[m.key]) for m in metrics]
    days = []
    totals_units = [0] * variations
    totals: dict[str, list[SufficientStats | None]] = {key: [None] * variations for key, _ in layout}
    for day in sorted(by_day):
        rows = by_day[day]
        units = tuple(int(rows[v][2]) if v in rows else 0 for v in range(variations))
        day_metrics: dict[str, tuple[SufficientStats, ...]] = {}
        offset = 3
        for key, fields in layout:
            per_variation = []
            for v in range(variations):
                row = rows.get(v)
                if row is None:
                    stats = SufficientStats(n=0, **dict.fromkeys(fields, 0.0))
                else:
                    stats = SufficientStats(
                        n=int(row[2]), **{f: float(row[offset + j] or 0.0) for j, f in enumerate(fields)}
                    )
                per_variation.append(stats)
                total = totals[key][v]
                totals[key][v] = stats if total is None else total + stats
            day_metrics[key] = tuple(per_variation)
            offset += len(fields)
        for v in range(variations):
            totals_units[v] += units[v]
        days.append((day, units, day_metrics))
    metric_totals = {}
    for key, fields in layout:
        metric_totals[key] = tuple(
            stats if stats is not None else SufficientStats(n=0, **dict.fromkeys(fields, 0.0)) for stats in totals[key]
        )
    return tuple(totals_units), metric_totals, days
