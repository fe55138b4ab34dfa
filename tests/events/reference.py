"""Random event data and an independent numpy computation of the aggregation (no SQL), to check the SQL against.

Values are multiples of 0.25 (exact in binary), so every sum the SQL engines and numpy compute is exact whatever
the summation order, and results can be compared with ``==``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from valueloop.engines.stats import SufficientStats, sufficient_stats, unit_totals
from valueloop.events.facade import MetricSpec

EPOCH = dt.datetime(1970, 1, 1)
T0 = dt.datetime(2026, 1, 5)
US = 1_000_000


@dataclass
class Data:
    x_key: np.ndarray
    x_var: np.ndarray
    x_unit: np.ndarray
    x_ts: np.ndarray  # microseconds since the epoch, UTC
    e_name: np.ndarray
    e_unit: np.ndarray
    e_value: np.ndarray
    e_ts: np.ndarray

    def tables(self, source: str = "api") -> dict[str, pa.Table]:
        return {
            "exposures": pa.table(
                {
                    "experiment_key": pa.array(self.x_key.tolist(), pa.string()),
                    "variation": pa.array(self.x_var, pa.int32()),
                    "unit_id": pa.array(self.x_unit.tolist(), pa.string()),
                    "ts": pa.array(self.x_ts, pa.int64()).cast(pa.timestamp("us")),
                    "source": pa.array([source] * len(self.x_key), pa.string()),
                }
            ),
            "events": pa.table(
                {
                    "event": pa.array(self.e_name.tolist(), pa.string()),
                    "unit_id": pa.array(self.e_unit.tolist(), pa.string()),
                    "value": pa.array(self.e_value, pa.float64()),
                    "ts": pa.array(self.e_ts, pa.int64()).cast(pa.timestamp("us")),
                    "source": pa.array([source] * len(self.e_name), pa.string()),
                }
            ),
        }

    def slice(self, kind: str, lo: int, hi: int) -> Data:
        """A copy with only rows lo:hi of one kind and none of the other (to write several parts)."""
        empty_x = slice(0, 0) if kind == "events" else slice(lo, hi)
        empty_e = slice(0, 0) if kind == "exposures" else slice(lo, hi)
        return Data(
            self.x_key[empty_x],
            self.x_var[empty_x],
            self.x_unit[empty_x],
            self.x_ts[empty_x],
            self.e_name[empty_e],
            self.e_unit[empty_e],
            self.e_value[empty_e],
            self.e_ts[empty_e],
        )


def micros(moment: dt.datetime) -> int:
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def random_data(seed: int = 7, units: int = 1500, key: str = "checkout-test", variations: int = 3) -> Data:
    rng = np.random.default_rng(seed)
    ids = np.array([f"user-{i}" for i in range(units)], dtype=object)
    start = micros(T0)
    span = 20 * 86400 * US
    # Exposures: each unit 1-3 times to its variation; some see another variation; some an unknown one.
    assigned = rng.integers(0, variations, units)
    repeats = rng.integers(1, 4, units)
    x_unit = np.repeat(ids, repeats)
    x_var = np.repeat(assigned, repeats).astype(np.int64)
    switch = rng.random(len(x_var)) < 0.02
    x_var[switch] = (x_var[switch] + 1) % variations
    unknown = rng.random(len(x_var)) < 0.01
    x_var[unknown] = variations + rng.integers(0, 3, unknown.sum())
    x_ts = start + rng.integers(0, span, len(x_unit))
    x_key = np.full(len(x_unit), key, dtype=object)
    other = rng.random(len(x_unit)) < 0.1  # exposures to another experiment, same users
    x_key[other] = "other-test"
    # Events: from 10 days before the first exposures to 10 days after the last, for exposed and other users.
    n_events = units * 8
    all_ids = np.concatenate([ids, np.array([f"visitor-{i}" for i in range(200)], dtype=object)])
    e_unit = all_ids[rng.integers(0, len(all_ids), n_events)]
    e_name = np.array(["purchase", "page_view", "signup", "refund"], dtype=object)[
        rng.choice(4, n_events, p=[0.25, 0.5, 0.15, 0.1])
    ]
    e_value = rng.integers(0, 400, n_events) * 0.25
    e_ts = start - 10 * 86400 * US + rng.integers(0, span + 20 * 86400 * US, n_events)
    # Events exactly on window edges (first exposure, +48 h, +72 h, +240 h, -3/-5/-7 days) pin inclusive/exclusive.
    edges = np.array([0, 48, 72, 240, -72, -120, -168]) * 3600 * US
    picked = rng.integers(0, len(x_ts), 600)
    e_unit = np.concatenate([e_unit, x_unit[picked]])
    e_ts = np.concatenate([e_ts, x_ts[picked] + edges[rng.integers(0, len(edges), 600)]])
    e_name = np.concatenate([e_name, np.array(["purchase", "signup", "refund"], dtype=object)[rng.integers(0, 3, 600)]])
    e_value = np.concatenate([e_value, rng.integers(1, 40, 600) * 0.25])
    return Data(x_key, x_var, x_unit, x_ts, e_name, e_unit, e_value, e_ts)


@dataclass
class Expected:
    units: tuple[int, ...]
    multiple: int
    unknown: int
    metrics: dict[str, tuple[SufficientStats, ...]]
    days: dict[dt.date, tuple[tuple[int, ...], dict[str, tuple[SufficientStats, ...]]]]
    first_ts: int | None
    last_ts: int | None


def expected(
    data: Data,
    key: str,
    variations: int,
    metrics: list[MetricSpec],
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> Expected:
    lo = micros(start.replace(tzinfo=None) - (start.utcoffset() or dt.timedelta())) if start else None
    hi = micros(end.replace(tzinfo=None) - (end.utcoffset() or dt.timedelta())) if end else None
    keep = data.x_key == key
    if lo is not None:
        keep &= data.x_ts >= lo
    if hi is not None:
        keep &= data.x_ts < hi
    valid = keep & (data.x_var < variations)
    unknown = int((keep & (data.x_var >= variations)).sum())
    units_all, codes = np.unique(data.x_unit[valid], return_inverse=True)
    ts = data.x_ts[valid]
    var = data.x_var[valid]
    n = len(units_all)
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, ts)
    vmin = np.full(n, 10**6)
    vmax = np.full(n, -1)
    np.minimum.at(vmin, codes, var)
    np.maximum.at(vmax, codes, var)
    single = vmin == vmax
    multiple = int((~single).sum())
    unit_ids = units_all[single]
    first = first[single]
    variation = vmin[single]
    index = {u: i for i, u in enumerate(unit_ids)}
    m = len(unit_ids)
    e_code = np.array([index.get(u, -1) for u in data.e_unit], dtype=np.int64)
    known = e_code >= 0
    e_first = np.where(known, first[np.where(known, e_code, 0)], 0)

    def per_unit(event, aggregation, window_lo, window_hi, binomial):
        mask = known & (data.e_name == event) & (data.e_ts >= window_lo) & (data.e_ts < window_hi)
        if hi is not None:
            mask &= data.e_ts < hi
        values = None if aggregation == "count" else data.e_value[mask]
        total = unit_totals(e_code[mask], values, n_units=m)
        return (total > 0).astype(float) if binomial else total

    big = np.iinfo(np.int64).max
    out_x: dict[str, dict] = {}
    for spec in metrics:
        window_hi = e_first + spec.window_hours * 3600 * US if spec.window_hours else np.full(len(e_code), big)
        binomial = spec.kind == "binomial"
        arrays = {"x": per_unit(spec.event, spec.aggregation, e_first, window_hi, binomial)}
        if spec.kind == "ratio":
            arrays["y"] = per_unit(spec.denominator_event, spec.denominator_aggregation, e_first, window_hi, False)
        if spec.cuped_days:
            arrays["c"] = per_unit(
                spec.event, spec.aggregation, e_first - spec.cuped_days * 86400 * US, e_first, binomial
            )
        out_x[spec.key] = arrays

    def stats(selector):
        result = {}
        for spec in metrics:
            arrays = out_x[spec.key]
            result[spec.key] = tuple(
                sufficient_stats(
                    variation[selector],
                    arrays["x"][selector],
                    y=arrays["y"][selector] if "y" in arrays else None,
                    c=arrays["c"][selector] if "c" in arrays else None,
                    n_variations=variations,
                )
            )
        return result

    everything = np.ones(m, dtype=bool)
    days_us = first // (86400 * US)
    days = {}
    for day in np.unique(days_us):
        selector = days_us == day
        date = (EPOCH + dt.timedelta(days=int(day))).date()
        counts = tuple(int(c) for c in np.bincount(variation[selector], minlength=variations))
        days[date] = (counts, stats(selector))
    valid_ts = data.x_ts[valid]
    return Expected(
        units=tuple(int(c) for c in np.bincount(variation, minlength=variations)) if m else (0,) * variations,
        multiple=multiple,
        unknown=unknown,
        metrics=stats(everything) if m else {},
        days=days,
        first_ts=int(valid_ts.min()) if len(valid_ts) else None,
        last_ts=int(valid_ts.max()) if len(valid_ts) else None,
    )


def as_micros(moment: dt.datetime | None) -> int | None:
    if moment is None:
        return None
    return micros(moment.astimezone(dt.UTC).replace(tzinfo=None))


def assert_matches(result, want: Expected) -> None:
    assert result.units == want.units
    assert result.multiple_exposures == want.multiple
    assert result.unknown_variation_exposures == want.unknown
    assert as_micros(result.first_exposure) == want.first_ts
    assert as_micros(result.last_exposure) == want.last_ts
    for key, per_variation in want.metrics.items():
        assert result.metrics[key] == per_variation, key
    assert [d.day for d in result.days] == sorted(want.days)
    for day in result.days:
        counts, metrics = want.days[day.day]
        assert day.units == counts
        for key, per_variation in metrics.items():
            assert day.metrics[key] == per_variation, (day.day, key)
