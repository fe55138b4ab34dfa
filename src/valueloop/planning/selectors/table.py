"""The feature table: the open features' prioritisation inputs as numpy columns, and what-if overrides of it.

Invariants: one narrow query per table (one more for Kano results when a formula uses them), scoped to the
workspace, reading only the columns a framework needs (the rest are NaN, which means "missing" everywhere
downstream); a what-if changes a copy of the table, never the
database, and refuses an input that is not a column (400) or a feature not in the table (404).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import FloatField, Q
from django.db.models.functions import Cast

from valueloop.core.errors import Invalid, NotFound

from .. import scoring
from ..models import (
    OPEN_STATUSES,
    Feature,
)
from .features import today_for
from .surveys import kano_by_feature

DB_NUMERIC = tuple(f for f in scoring.NUMERIC_FIELDS if f not in ("importance", "satisfaction", "cod_per_week"))


# The numeric columns each framework reads (None: all). Loading only these keeps a 5,000-feature
# ranking page to one narrow query.
FRAMEWORK_COLUMNS: dict[str, tuple[str, ...]] = {
    "cd3": (*scoring.COD_FIELDS, "duration_low", "duration_likely", "duration_high"),
    "cod": (*scoring.COD_FIELDS, "duration_likely"),
    "wsjf": scoring.FRAMEWORK_INPUTS["wsjf"],
    "rice": scoring.FRAMEWORK_INPUTS["rice"],
    "ice": scoring.FRAMEWORK_INPUTS["ice"],
    "opportunity": ("importance", "satisfaction"),
}


def load_table(
    workspace,
    *,
    include_ids: Iterable[int] = (),
    extra: Iterable[str] = (),
    kano: bool = False,
    columns: Iterable[str] | None = None,
) -> scoring.Table:
    """Open features (plus ``include_ids``) as numpy columns, in one query.

    ``columns`` limits the numeric inputs read (the rest are NaN); by default all are read.
    """
    from django.db import connection

    extra = tuple(extra)
    include = list(include_ids)
    wanted = set(scoring.NUMERIC_FIELDS if columns is None else columns)
    query = Feature.objects.filter(workspace=workspace)
    query = (
        query.filter(Q(status__in=OPEN_STATUSES) | Q(pk__in=include))
        if include
        else query.filter(status__in=OPEN_STATUSES)
    )
    floats = {f"f_{name}": Cast(name, FloatField()) for name in DB_NUMERIC if name in wanted}
    if "importance" in wanted or "satisfaction" in wanted:
        floats["f_importance"] = Cast("problem__outcome_score__importance", FloatField())
        floats["f_satisfaction"] = Cast("problem__outcome_score__satisfaction", FloatField())
    names = ["id", "title", "urgency", "deadline", "problem_id", *extra]
    queryset = query.annotate(**floats).order_by("id").values_list(*names, *floats)
    if any(name in ("created_at",) for name in extra):
        rows = list(queryset)  # let Django convert date-times (time zones)
    else:
        # One narrow query through the cursor: the ORM's per-value converters cost more than the query.
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    data: dict[str, list[Any]] = {}
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in range(len(names) + len(floats))]
    for k, name in enumerate(names):
        data[name] = list(transposed[k])
    data["deadline"] = [
        d if d is None or isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for d in data["deadline"]
    ]
    for k, name in enumerate(floats, start=len(names)):
        data[name[2:]] = list(transposed[k])
    table = scoring.build_table(data, today_for(workspace), extra=("problem_id", *extra))
    if kano:
        better, worse = _kano_columns(workspace, table.ids)
        table.cols["kano_better"], table.cols["kano_worse"] = better, worse
    return table


def _kano_columns(workspace, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    results = kano_by_feature(workspace)
    better = np.full(ids.shape[0], np.nan)
    worse = np.full(ids.shape[0], np.nan)
    for k, feature_id in enumerate(ids.tolist()):
        result = results.get(feature_id)
        if result is not None and result.better is not None:
            better[k], worse[k] = result.better, result.worse
    return better, worse


@dataclass
class Override:
    """What-if values for one feature: only the fields given change."""

    feature_id: int
    values: dict[str, float | None]


def apply_overrides(table: scoring.Table, overrides: Iterable[Override]) -> tuple[scoring.Table, set[int]]:
    changed = table.copy()
    touched: set[int] = set()
    for override in overrides:
        row = changed.row_of(override.feature_id)
        if row is None:
            raise NotFound("Feature not found.")
        values = dict(override.values)
        if "cod_per_week" in values:
            # A what-if sets the total Cost of Delay: it stands in for the components.
            total = values.pop("cod_per_week")
            values.update(
                {
                    "cod_increase_revenue": total,
                    "cod_protect_revenue": None,
                    "cod_reduce_cost": None,
                    "cod_reduce_risk": None,
                }
            )
        if "duration_likely" in values and values["duration_likely"] is not None:
            # A new likely duration moves the range with it (same proportions), unless the range is given too.
            old = changed.cols["duration_likely"][row]
            new = float(values["duration_likely"])
            for bound in ("duration_low", "duration_high"):
                if bound not in values and np.isfinite(changed.cols[bound][row]):
                    ratio = changed.cols[bound][row] / old if np.isfinite(old) and old > 0 else 1.0
                    values[bound] = new * ratio
        for name, value in values.items():
            if name not in changed.cols:
                raise Invalid(f"{name} cannot be changed in a what-if.", fields={name: "Unknown input."})
            changed.cols[name][row] = np.nan if value is None else float(value)
        touched.add(override.feature_id)
    scoring.recompute_cod(changed)
    return changed, touched


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
