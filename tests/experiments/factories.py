"""Experiment fixtures: a flag, metrics and an experiment in a workspace, and simulated events (exposures and metric
events) together with the per-variation sums an independent computation expects from them."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from valueloop.engines.stats import SufficientStats
from valueloop.events.facade import ingest
from valueloop.experiments import services
from valueloop.flags import services as flag_services
from valueloop.flags.bootstrap import ensure_environments

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def environments(workspace) -> dict:
    return {e.key: e for e in ensure_environments(workspace)}


def make_lab(actor, *, label: str = "alpha", environment: str = "development", feature=None, problem=None, **extra):
    """A boolean flag, three metrics (conversion, revenue per user, errors as a guardrail) and a draft experiment."""
    flag = flag_services.flag_create(actor=actor, key=f"{label}-checkout", description=f"{label} checkout flag")
    conversion = services.metric_create(
        actor=actor, key=f"{label}-conversion", name=f"{label.title()} checkout conversion", event="purchase"
    )
    revenue = services.metric_create(
        actor=actor, key=f"{label}-revenue", name="Revenue per user", kind="mean", event="purchase", aggregation="sum"
    )
    errors = services.metric_create(
        actor=actor, key=f"{label}-errors", name="Errors per user", kind="mean", event="error", lower_is_better=True
    )
    env = environments(actor.workspace)[environment]
    data = {
        "key": f"{label}-test",
        "name": f"{label.title()} one-page checkout",
        "hypothesis": f"A one-page checkout lifts conversion ({label}-secret).",
        "feature_id": feature.pk if feature is not None else None,
        "problem_id": problem.pk if problem is not None else None,
        "flag_id": flag.pk,
        "environment_id": env.pk,
        "variations": [{"name": "Control", "value": False}, {"name": "One page", "value": True}],
        "metrics": [
            {"metric_id": conversion.pk, "role": "primary"},
            {"metric_id": revenue.pk, "role": "secondary"},
            {"metric_id": errors.pk, "role": "guardrail"},
        ],
        **extra,
    }
    experiment = services.experiment_create(actor=actor, **data)
    return experiment, {"flag": flag, "env": env, "conversion": conversion, "revenue": revenue, "errors": errors}


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
