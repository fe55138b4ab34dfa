"""Simulated experiment events (exposures and metric events) together with the per-variation sums an independent
computation expects from them. The flag, metrics and experiment they are about come from ``tests.factories``."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from valueloop.engines.stats import SufficientStats
from valueloop.events.facade import ingest

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@dataclass
class Simulated:
    rows: list[dict] = field(default_factory=list)
    # per variation: unit -> (converted 0/1, revenue sum, error count)
    per_unit: list[dict[str, tuple[int, float, int]]] = field(default_factory=list)

    def stats(self, which: str) -> tuple[SufficientStats, ...]:
        index = {"conversion": 0, "revenue": 1, "errors": 2}[which]
        out = []
        for units in self.per_unit:
            xs = [values[index] for values in units.values()]
            out.append(SufficientStats(n=len(xs), sum_x=float(sum(xs)), sum_x2=float(sum(x * x for x in xs))))
        return tuple(out)


def simulate(
    key: str,
    *,
    units: tuple[int, ...] = (600, 600),
    rates: tuple[float, ...] = (0.10, 0.14),
    error_rates: tuple[float, ...] = (0.2, 0.2),
    days: int = 5,
    seed: int = 1,
    prefix: str = "u",
) -> Simulated:
    """Exposures spread over ``days``, purchases (value 1 to 5) at ``rates`` and errors (Poisson-ish) per variation.
    Values are whole numbers so every sum is exact."""
    rng = random.Random(seed)
    sim = Simulated(per_unit=[{} for _ in units])
    for variation, count in enumerate(units):
        for i in range(count):
            unit = f"{prefix}{variation}-{i}"
            seen = T0 + dt.timedelta(days=i % days, minutes=rng.randrange(600))
            sim.rows.append(
                {
                    "type": "experiment_viewed",
                    "experiment_key": key,
                    "variation_id": variation,
                    "hash_value": unit,
                    "timestamp": seen.isoformat().replace("+00:00", "Z"),
                }
            )
            converted, revenue, errors = 0, 0.0, 0
            if rng.random() < rates[variation]:
                converted = 1
                for _ in range(rng.choice((1, 1, 2))):
                    value = rng.randint(1, 5)
                    revenue += value
                    at = seen + dt.timedelta(hours=rng.randint(1, 40))
                    sim.rows.append({"type": "purchase", "user_id": unit, "timestamp": at.isoformat(), "value": value})
            while rng.random() < error_rates[variation]:
                errors += 1
                at = seen + dt.timedelta(hours=rng.randint(1, 40))
                sim.rows.append({"type": "error", "user_id": unit, "timestamp": at.isoformat()})
            sim.per_unit[variation][unit] = (converted, revenue, errors)
    return sim


def send(workspace, sim: Simulated):
    return ingest(workspace.pk, sim.rows, source="api")
