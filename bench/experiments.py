"""Experiment data benchmark: event ingestion through the batch API, and the analysis of an experiment with
1,000,000 users and 10,000,000 events from raw events to the results-page data.

Run:  .venv/bin/python bench/experiments.py [--users 1000000] [--events 10000000] [--ingest-requests 30]
                                            [--batch 10000] [--check] [--keep]

What it does:
1. Creates a temporary data directory (VALUELOOP_MODE=local, SQLite), migrates it, and creates a workspace with
   a flag whose experiment rule (3 variations) reports the key ``bench-test``, and its SDK key.
2. Ingestion: posts ``--ingest-requests`` batches of ``--batch`` rows (20 % exposures, 80 % metric events, as the
   SDK sends them: ISO timestamps, SDK extras) to ``POST /api/v1/events/batch`` with the SDK key, through
   Django's full request stack in this process (WSGI handler, middleware, auth, JSON parsing, validation, one
   Parquet part per kind per request). The JSON bodies are encoded before the clock starts (the client's work).
3. Analysis: writes 1,000,000 users' exposures (each user 1-3 exposures; some see two variations; a few rows
   have an unknown variation) and 10,000,000 metric events over 35 days straight into the Parquet store (16
   unsorted parts per kind), times one analysis on those parts (``seconds_uncompacted``), then runs the store's
   compaction (what the background task does once a workspace has more than 64 parts: one part per kind, sorted
   by event name and time; ``compaction_seconds``), then times ``events.facade.experiment_data`` for four metrics
   (conversion, revenue per user with a 7-day CUPED covariate, revenue per order as a ratio, 72-hour signup
   conversion) and the statistics the results page shows (``engines.stats.analyse`` per metric and per day
   cumulatively, SRM check): ``seconds`` is that whole path, raw events to results-page data, with the store's
   query-result cache cleared before every run (``seconds_cached``: the same page again with the cache).
   ``--check`` also recomputes the four metrics with numpy (not timed) and compares.
4. Prints a summary, then as the LAST line one JSON object.

Targets: the analysis under 10 s; ingestion over 50,000 events per second (SQLite + the embedded store).
On a shared machine wall clock includes time spent waiting for a CPU; the load average is reported beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
VALUELOOP = ROOT / ".venv" / "bin" / "valueloop"
ANALYSIS_TARGET_SECONDS = 10.0
INGEST_TARGET = 50_000
KEY = "bench-test"
VARIATIONS = 3
T0 = dt.datetime(2026, 1, 5)
DAY_US = 86_400_000_000


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def setup_django(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALUELOOP_") and k != "DATABASE_URL"}
    env.update(
        VALUELOOP_MODE="local",
        VALUELOOP_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="valueloop.settings",
        VALUELOOP_ALLOWED_HOSTS="testserver,127.0.0.1",
    )
    subprocess.run([str(VALUELOOP), "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    (data_dir / "static").mkdir(exist_ok=True)  # whitenoise warns about a missing static root otherwise
    os.environ.update(env)
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


def make_workspace() -> tuple[int, str]:
    from valueloop.accounts.models import User
    from valueloop.core.permissions import Role
    from valueloop.core.tenancy import Actor
    from valueloop.flags import services as flag_services
    from valueloop.flags.bootstrap import ensure_environments
    from valueloop.workspaces import services as ws_services

    user = User.objects.create_user("bench@example.com", "bench-password-123456", name="Bench", handle="bench")
    workspace = ws_services.workspace_create(user=user, name="Bench")
    actor = Actor(user=user, workspace=workspace, role=Role.ADMIN, via="cli")
    flag = flag_services.flag_create(actor=actor, key="bench-flag", value_type="string", default_value="a")
    env = {e.key: e for e in ensure_environments(workspace)}["production"]
    flag_services.rule_create(
        actor=actor,
        flag_id=flag.pk,
        environment_id=env.pk,
        kind="experiment",
        variations=["a", "b", "c"],
        tracking_key=KEY,
    )
    env.refresh_from_db()
    return workspace.pk, env.sdk_keys.get(revoked_at=None).key


# --- ingestion -------------------------------------------------------------------------------------------------------


def sdk_bodies(requests: int, batch: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    now = dt.datetime.now(dt.UTC)
    bodies = []
    names = ["page_view", "purchase", "signup", "add_to_cart"]
    for _ in range(requests):
        rows = []
        for i in range(batch):
            user = f"user-{int(rng.integers(0, 1_000_000))}"
            at = (now - dt.timedelta(seconds=int(rng.integers(0, 86_400)))).isoformat().replace("+00:00", "Z")
            if i % 5 == 0:
                rows.append(
                    {
                        "type": "experiment_viewed",
                        "timestamp": at,
                        "client_key": "sdk-bench",
                        "sdk": "valueloop-python/0.1.0",
                        "experiment_key": KEY,
                        "variation_id": int(rng.integers(0, VARIATIONS)),
                        "variation_key": "1",
                        "feature_key": "bench-flag",
                        "rule_id": "r1",
                        "hash_attribute": "id",
                        "hash_value": user,
                    }
                )
            else:
                row = {"type": names[i % 4], "user_id": user, "timestamp": at}
                if i % 4 == 1:
                    row["value"] = round(float(rng.gamma(2.0, 20.0)), 2)
                rows.append(row)
        bodies.append(json.dumps({"events": rows}).encode())
    return bodies


def bench_ingest(sdk_key: str, requests: int, batch: int) -> dict:
    from django.test import Client

    bodies = sdk_bodies(requests, batch, seed=11)
    client = Client()
    warm = client.post(
        "/api/v1/events/batch", data=bodies[0], content_type="application/json", HTTP_X_VALUELOOP_CLIENT_KEY=sdk_key
    )
    if warm.status_code != 202:
        raise SystemExit(f"warm-up request failed: {warm.status_code} {warm.content[:500]!r}")
    timings = []
    cpu_started = time.process_time()
    started = time.perf_counter()
    for body in bodies:
        t = time.perf_counter()
        response = client.post(
            "/api/v1/events/batch", data=body, content_type="application/json", HTTP_X_VALUELOOP_CLIENT_KEY=sdk_key
        )
        timings.append(time.perf_counter() - t)
        if response.status_code != 202:
            raise SystemExit(f"ingestion failed: {response.status_code} {response.content[:500]!r}")
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    total = requests * batch
    return {
        "ingest_events": total,
        "ingest_requests": requests,
        "ingest_batch": batch,
        "ingest_seconds": round(seconds, 3),
        "ingest_events_per_s": round(total / seconds),
        "ingest_events_per_cpu_s": round(total / cpu),
        "ingest_request_ms_p50": round(float(np.percentile(timings, 50)) * 1000, 1),
        "ingest_request_ms_max": round(max(timings) * 1000, 1),
        "ingest_body_mb": round(sum(len(b) for b in bodies) / requests / 1e6, 2),
    }


# --- analysis --------------------------------------------------------------------------------------------------------


def generate(users: int, events: int, seed: int) -> dict[str, np.ndarray]:
    """Exposures and events as arrays (unit codes, microsecond timestamps); the ids are made from the codes."""
    rng = np.random.default_rng(seed)
    start = (T0 - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
    variation = rng.integers(0, VARIATIONS, users)
    first = start + rng.integers(0, 21 * DAY_US, users)
    repeats = rng.integers(1, 4, users)
    x_unit = np.repeat(np.arange(users), repeats)
    x_var = np.repeat(variation, repeats).astype(np.int32)
    x_ts = np.repeat(first, repeats) + rng.integers(0, 2 * DAY_US, len(x_unit))
    x_ts[np.r_[0, np.cumsum(repeats)[:-1]]] = first  # the first exposure of each user is at ``first``
    switch = rng.random(len(x_var)) < 0.005
    x_var[switch] = (x_var[switch] + 1) % VARIATIONS
    unknown = rng.random(len(x_var)) < 0.001
    x_var[unknown] = VARIATIONS
    # Events: mostly exposed users (a few others), from 7 days before to 7 days after the exposure window.
    e_unit = rng.integers(0, int(users * 1.05), events)
    kind = rng.choice(4, events, p=[0.6, 0.15, 0.05, 0.2])  # page_view, purchase, signup, add_to_cart
    lift = np.where(e_unit < users, variation[np.minimum(e_unit, users - 1)], 0)
    value = np.where(kind == 1, np.round(rng.gamma(2.0, 20.0 + 2.0 * lift), 2), 1.0)
    e_ts = start - 7 * DAY_US + rng.integers(0, 35 * DAY_US, events)
    return {
        "x_unit": x_unit,
        "x_var": x_var,
        "x_ts": x_ts,
        "e_unit": e_unit,
        "e_kind": kind,
        "e_value": value,
        "e_ts": e_ts,
    }


def write_store(workspace_id: int, data: dict[str, np.ndarray], parts: int) -> float:
    import pyarrow as pa
    import pyarrow.compute as pc

    from valueloop.events import store

    def ids(codes: np.ndarray) -> pa.Array:
        return pc.binary_join_element_wise("user-", pc.cast(pa.array(codes), pa.string()), "")

    started = time.perf_counter()
    names = pa.array(["page_view", "purchase", "signup", "add_to_cart"])
    n_x, n_e = len(data["x_unit"]), len(data["e_unit"])
    for p in range(parts):
        lo, hi = n_x * p // parts, n_x * (p + 1) // parts
        store.append(
            workspace_id,
            "exposures",
            pa.table(
                {
                    "experiment_key": pa.array([KEY] * (hi - lo)),
                    "variation": pa.array(data["x_var"][lo:hi], pa.int32()),
                    "unit_id": ids(data["x_unit"][lo:hi]),
                    "ts": pa.array(data["x_ts"][lo:hi]).cast(pa.timestamp("us")),
                    "source": pa.array(["sdk"] * (hi - lo)),
                }
            ),
        )
        lo, hi = n_e * p // parts, n_e * (p + 1) // parts
        store.append(
            workspace_id,
            "events",
            pa.table(
                {
                    "event": pc.take(names, pa.array(data["e_kind"][lo:hi])),
                    "unit_id": ids(data["e_unit"][lo:hi]),
                    "value": pa.array(data["e_value"][lo:hi]),
                    "ts": pa.array(data["e_ts"][lo:hi]).cast(pa.timestamp("us")),
                    "source": pa.array(["api"] * (hi - lo)),
                }
            ),
        )
    return time.perf_counter() - started


def metric_specs():
    from valueloop.events.facade import MetricSpec

    return [
        MetricSpec(key="conversion", kind="binomial", event="purchase"),
        MetricSpec(key="revenue", kind="mean", event="purchase", aggregation="sum", cuped_days=7),
        MetricSpec(
            key="order_value",
            kind="ratio",
            event="purchase",
            aggregation="sum",
            denominator_event="purchase",
            denominator_aggregation="count",
        ),
        MetricSpec(key="signup_72h", kind="binomial", event="signup", window_hours=72),
    ]


def results_page(workspace_id: int):
    """Raw events to what the results page shows: per-metric analyses of the totals (frequentist, Holm across
    metrics; CUPED on revenue), the SRM check, and the cumulative effect per day (one analysis per day)."""
    from valueloop.engines import stats
    from valueloop.events.facade import experiment_data

    data = experiment_data(workspace_id, KEY, variations=VARIATIONS, metrics=metric_specs())
    kinds = {"conversion": "binomial", "revenue": "mean", "order_value": "ratio", "signup_72h": "binomial"}
    totals = {key: stats.analyse(kind, data.metrics[key], cuped=key == "revenue") for key, kind in kinds.items()}
    srm = stats.srm_check(list(data.units), [1 / VARIATIONS] * VARIATIONS)
    series: dict[str, list] = {key: [] for key in kinds}
    running: dict[str, list] = {}
    for day in data.days:
        for key, kind in kinds.items():
            current = running.get(key)
            running[key] = (
                list(day.metrics[key])
                if current is None
                else [a + b for a, b in zip(current, day.metrics[key], strict=True)]
            )
            if min(s.n for s in running[key]) >= 2:
                series[key].append((day.day, stats.analyse(kind, running[key], cuped=key == "revenue")))
    return data, (totals, series), srm


def check(data, arrays: dict[str, np.ndarray]) -> float:
    """numpy recomputation of the four metrics' sufficient statistics; the largest relative difference."""
    from valueloop.engines.stats import sufficient_stats, unit_totals

    x_unit, x_var, x_ts = arrays["x_unit"], arrays["x_var"], arrays["x_ts"]
    valid = x_var < VARIATIONS
    units = int(x_unit.max()) + 1
    first = np.full(units, np.iinfo(np.int64).max)
    np.minimum.at(first, x_unit[valid], x_ts[valid])
    lo = np.full(units, 99)
    hi = np.full(units, -1)
    np.minimum.at(lo, x_unit[valid], x_var[valid])
    np.maximum.at(hi, x_unit[valid], x_var[valid])
    keep = (lo == hi) & (hi >= 0)
    e_unit, kind, value, e_ts = arrays["e_unit"], arrays["e_kind"], arrays["e_value"], arrays["e_ts"]
    inside = e_unit < units
    e_first = np.where(inside, first[np.minimum(e_unit, units - 1)], np.iinfo(np.int64).max)
    after = inside & (e_ts >= e_first)
    purchase = after & (kind == 1)
    n = units
    revenue = unit_totals(e_unit[purchase], value[purchase], n_units=n)
    orders = unit_totals(e_unit[purchase], n_units=n)
    pre = inside & (kind == 1) & (e_ts < e_first) & (e_ts >= e_first - 7 * DAY_US)
    covariate = unit_totals(e_unit[pre], value[pre], n_units=n)
    signup = after & (kind == 2) & (e_ts < e_first + 72 * 3_600_000_000)
    signups = unit_totals(e_unit[signup], n_units=n)
    v = lo[keep]
    want = {
        "conversion": sufficient_stats(v, (orders[keep] > 0).astype(float), n_variations=VARIATIONS),
        "revenue": sufficient_stats(v, revenue[keep], c=covariate[keep], n_variations=VARIATIONS),
        "order_value": sufficient_stats(v, revenue[keep], y=orders[keep], n_variations=VARIATIONS),
        "signup_72h": sufficient_stats(v, (signups[keep] > 0).astype(float), n_variations=VARIATIONS),
    }
    worst = 0.0
    for key, per_variation in want.items():
        for got, expected in zip(data.metrics[key], per_variation, strict=True):
            if got.n != expected.n:
                return float("inf")
            for field in ("sum_x", "sum_x2", "sum_y", "sum_y2", "sum_xy", "sum_c", "sum_c2", "sum_xc"):
                a, b = getattr(got, field), getattr(expected, field)
                if a is None and b is None:
                    continue
                worst = max(worst, abs(a - b) / max(abs(b), 1.0))
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--parts", type=int, default=16)
    parser.add_argument("--ingest-requests", type=int, default=30)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="analysis runs (the median is reported)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check", action="store_true", help="compare with a numpy computation (not timed)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="valueloop-bench-experiments-"))
    try:
        setup_django(data_dir)
        workspace_id, sdk_key = make_workspace()
        log(f"ingesting {args.ingest_requests} x {args.batch} rows through the batch API")
        ingest = bench_ingest(sdk_key, args.ingest_requests, args.batch)
        log(f"ingestion: {ingest['ingest_events_per_s']:,} events/s")

        from valueloop.events import store

        store.remove_workspace(workspace_id)  # the analysis runs on the generated data only
        log(f"generating {args.users:,} users and {args.events:,} events")
        started = time.perf_counter()
        arrays = generate(args.users, args.events, args.seed)
        generate_seconds = time.perf_counter() - started
        write_seconds = write_store(workspace_id, arrays, args.parts)
        exposures = len(arrays["x_unit"])
        store_mb = sum(p.stat().st_size for p in store.workspace_dir(workspace_id).rglob("*.parquet")) / 1e6
        log(f"written in {write_seconds:.1f} s ({store_mb:.0f} MB of Parquet); analysing the raw parts")
        started = time.perf_counter()
        results_page(workspace_id)
        uncompacted_seconds = time.perf_counter() - started
        started = time.perf_counter()
        results_page(workspace_id)  # the same parts again: answered from the result cache
        cached_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for kind in store.KINDS:
            store.compact(workspace_id, kind)
        compaction_seconds = time.perf_counter() - started
        log(f"compacted in {compaction_seconds:.1f} s; analysing")
        runs = []
        cpu = []
        result = None
        from valueloop.events.selectors import clear_result_cache

        for _ in range(args.runs):
            clear_result_cache()  # query results are cached per set of parts; time the real work every run
            cpu_started = time.process_time()
            started = time.perf_counter()
            result = results_page(workspace_id)
            runs.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        assert result is not None
        data, _, srm = result
        seconds = float(np.median(runs))
        max_rel_diff = check(data, arrays) if args.check else None
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

        print(
            f"Ingestion: {ingest['ingest_events']:,} events in {ingest['ingest_requests']} requests, "
            f"{ingest['ingest_events_per_s']:,} events/s (target {INGEST_TARGET:,}: "
            f"{'met' if ingest['ingest_events_per_s'] > INGEST_TARGET else 'MISSED'}); "
            f"p50 {ingest['ingest_request_ms_p50']} ms per {args.batch}-row request."
        )
        print(
            f"Analysis: {sum(data.units):,} units ({data.multiple_exposures:,} with two variations excluded, "
            f"{data.unknown_variation_exposures:,} unknown-variation rows), {args.events:,} events, "
            f"{len(data.days)} days, 4 metrics: median {seconds:.2f} s of {args.runs} runs "
            f"(target {ANALYSIS_TARGET_SECONDS:.0f} s: {'met' if seconds < ANALYSIS_TARGET_SECONDS else 'MISSED'}); "
            f"{uncompacted_seconds:.2f} s on the {args.parts} raw parts per kind before compaction "
            f"({compaction_seconds:.1f} s, in the background)."
        )
        if max_rel_diff is not None:
            print(f"numpy check: largest relative difference {max_rel_diff:.2e}.")
        print(
            json.dumps(
                {
                    "users": args.users,
                    "events": args.events,
                    "exposures": exposures,
                    "seconds": round(seconds, 3),
                    "seconds_runs": [round(r, 3) for r in runs],
                    "cpu_seconds": round(float(np.median(cpu)), 3),
                    "target_seconds": ANALYSIS_TARGET_SECONDS,
                    "units": list(data.units),
                    "days": len(data.days),
                    "multiple_exposures": data.multiple_exposures,
                    "srm_p_value": round(float(srm.p_value), 4),
                    "seconds_uncompacted": round(uncompacted_seconds, 3),
                    "seconds_cached": round(cached_seconds, 3),
                    "parts_per_kind_uncompacted": args.parts,
                    "compaction_seconds": round(compaction_seconds, 2),
                    "store_mb": round(store_mb, 1),
                    "generate_seconds": round(generate_seconds + write_seconds, 1),
                    **ingest,
                    "ingest_target_events_per_s": INGEST_TARGET,
                    "numpy_max_rel_diff": max_rel_diff,
                    "engine": "duckdb " + __import__("duckdb").__version__,
                    "database": "sqlite",
                    "cpus": os.cpu_count(),
                    "load_average_1m": round(load, 2) if load is not None else None,
                }
            )
        )
        ok = seconds < ANALYSIS_TARGET_SECONDS and ingest["ingest_events_per_s"] > INGEST_TARGET
        return 0 if ok and (max_rel_diff is None or max_rel_diff < 1e-9) else 1
    finally:
        if args.keep:
            print(f"(data kept in {data_dir})", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
