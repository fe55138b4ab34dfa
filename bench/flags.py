"""Flag evaluation benchmark: Valueloop's Python SDK against GrowthBook 4.0.0's Python SDK, on the same payload
and the same users, in one run; then Valueloop's vectorised batch path.

Run:  .venv/bin/python bench/flags.py [--users 200000] [--batch-users 1000000] [--seed 7] [--chunks 10]

What it does:
1. Builds one GrowthBook-format payload of 20 features (force rules with conditions, percentage rollouts,
   experiments with weights and coverage, version targeting, a saved group, prerequisites) and N seeded users.
2. Evaluates every feature for every user with both SDKs, timed the same way: per user, GrowthBook gets
   ``set_attributes(user)`` then ``eval_feature(key)`` for each key; Valueloop gets ``client.evaluate(key, user)``
   for each key. Both track exposures the same way (GrowthBook through an ``on_experiment_viewed`` callback,
   Valueloop into its queue; both deduplicate). The users are split into chunks and the two SDKs alternate chunk
   by chunk, so a busy machine slows both alike.
3. Compares every value (type included): ``mismatches`` must be 0. Rollout coverages sit between the 1/10000
   hash buckets (``+ HALF_BUCKET``): at a bucket equal to the coverage growthbook-py 4.0.0 excludes the user
   (``n < coverage``) where the JS SDK, the reference, includes it (``n <= coverage``), and so does Valueloop.
   That boundary is checked against the JS SDK by ``engines/tests/test_flags_differential.py``, not here.
4. Evaluates every feature for ``--batch-users`` users at once with ``Client.evaluate_many_features`` (numpy),
   materialising the per-user values, and checks those values against the one-by-one results of the first N
   users (``batch_mismatches``).
5. Prints a summary, then as the LAST line one JSON object.

Targets: Valueloop at least 3x GrowthBook's evaluations per second, with identical results; the batch path over
1,000,000 evaluations per second.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from growthbook import GrowthBook  # noqa: E402

from valueloop.sdk import Client  # noqa: E402

RATIO_TARGET = 3.0
HALF_BUCKET = 0.00005  # hash buckets are multiples of 1/1000 (v1) or 1/10000 (v2); see point 3 above
BATCH_TARGET = 1_000_000
COUNTRIES = ["DE", "FR", "NL", "US", "GB", "BR", "JP", "IN"]
PLANS = ["free", "starter", "pro", "business", "enterprise"]
VERSIONS = ["3.9.2", "4.0.0", "4.1.3", "4.2.0", "4.10.1", "5.0.0-beta.1"]
BROWSERS = ["Chrome", "Firefox", "Safari", "Edge"]


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def build_payload() -> dict:
    features: dict[str, dict] = {}
    for i in range(20):
        key = f"feature-{i:02d}"
        kind = i % 4
        rules: list[dict] = []
        if kind == 0:  # staff first, then a rollout on recent app versions
            rules.append({"id": f"{key}-staff", "condition": {"email": {"$inGroup": "staff"}}, "force": True})
            rules.append(
                {
                    "id": f"{key}-roll",
                    "condition": {"appVersion": {"$vgte": "4.1.0"}},
                    "force": True,
                    "coverage": 0.1 + 0.04 * i + HALF_BUCKET,
                    "hashAttribute": "id",
                    "seed": key,
                    "hashVersion": 2,
                }
            )
            default: object = False
        elif kind == 1:  # an experiment on paying plans
            rules.append(
                {
                    "id": f"{key}-exp",
                    "key": f"{key}-test",
                    "condition": {"plan": {"$in": ["pro", "business", "enterprise"]}, "age": {"$gte": 18}},
                    "variations": ["control", "a", "b"],
                    "weights": [0.5, 0.25, 0.25],
                    "coverage": 0.8,
                    "hashAttribute": "id",
                    "seed": f"{key}-test",
                    "hashVersion": 2,
                    "meta": [{"key": "0"}, {"key": "1"}, {"key": "2"}],
                }
            )
            default = "control"
        elif kind == 2:  # numbers by country and plan, then a v1-hashed rollout by company
            rules.append(
                {
                    "id": f"{key}-eu",
                    "condition": {"country": {"$in": ["DE", "FR", "NL"]}, "plan": "enterprise"},
                    "force": 100,
                }
            )
            rules.append({"id": f"{key}-co", "force": 50, "coverage": 0.3 + HALF_BUCKET, "hashAttribute": "company"})
            default = 10
        else:  # a prerequisite on the previous feature, then a 50/50 experiment
            parent = f"feature-{i - 1:02d}"
            rules.append(
                {
                    "id": f"{key}-pre",
                    "parentConditions": [{"id": parent, "condition": {"value": 100}}],
                    "force": {"layout": "dense"},
                }
            )
            rules.append(
                {
                    "id": f"{key}-exp",
                    "key": f"{key}-layout",
                    "condition": {"$or": [{"browser": "Chrome"}, {"age": {"$lt": 30}}]},
                    "variations": [{"layout": "classic"}, {"layout": "grid"}],
                    "hashAttribute": "id",
                    "hashVersion": 2,
                }
            )
            default = {"layout": "classic"}
        features[key] = {"defaultValue": default, "rules": rules}
    staff = [f"user{n}@corp.example" for n in range(0, 5_000_000, 997)]
    return {"features": features, "savedGroups": {"staff": staff}}


def make_users(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    companies = [f"company-{c}" for c in range(5000)]
    users = []
    for i in range(n):
        users.append(
            {
                "id": f"user-{i:07d}-{rng.randrange(16**6):06x}",
                "email": f"user{i}@corp.example",
                "country": rng.choice(COUNTRIES),
                "plan": rng.choice(PLANS),
                "age": rng.randint(14, 80),
                "appVersion": rng.choice(VERSIONS),
                "browser": rng.choice(BROWSERS),
                "company": rng.choice(companies),
            }
        )
    return users


def run_growthbook(gb: GrowthBook, users: list[dict], keys: list[str], out: list) -> float:
    append = out.append
    started = time.perf_counter()
    for user in users:
        gb.set_attributes(user)
        for key in keys:
            append(gb.eval_feature(key).value)
    return time.perf_counter() - started


def run_valueloop(client: Client, users: list[dict], keys: list[str], out: list) -> float:
    append = out.append
    evaluate = client.evaluate
    started = time.perf_counter()
    for user in users:
        for key in keys:
            append(evaluate(key, user).value)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--batch-users", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunks", type=int, default=10)
    args = parser.parse_args()

    payload = build_payload()
    keys = list(payload["features"])
    log(f"building {max(args.users, args.batch_users):,} users (seed {args.seed})")
    all_users = make_users(max(args.users, args.batch_users), args.seed)
    users = all_users[: args.users]

    exposures: list = []
    gb = GrowthBook(
        features=payload["features"],
        saved_groups=payload["savedGroups"],
        on_experiment_viewed=lambda experiment, result, **context: exposures.append(result.key),
    )
    client = Client(
        "http://127.0.0.1:9",  # never contacted: the payload is given and nothing is fetched or flushed
        "sdk-bench",
        payload=payload,
        fetch_on_start=False,
        refresh_interval=0,
        flush_interval=10**9,
        batch_size=10**9,
        max_queue=10**7,
        dedupe_size=10**7,
    )
    ours: list = []
    theirs: list = []
    t_ours = t_theirs = 0.0
    size = -(-len(users) // args.chunks)
    log(f"one by one: {len(users):,} users x {len(keys)} features, {args.chunks} alternating chunks")
    for c in range(args.chunks):
        chunk = users[c * size : (c + 1) * size]
        if c % 2 == 0:
            t_ours += run_valueloop(client, chunk, keys, ours)
            t_theirs += run_growthbook(gb, chunk, keys, theirs)
        else:
            t_theirs += run_growthbook(gb, chunk, keys, theirs)
            t_ours += run_valueloop(client, chunk, keys, ours)
    evaluations = len(users) * len(keys)
    mismatches = sum(1 for a, b in zip(ours, theirs, strict=True) if a != b or type(a) is not type(b))
    ours_per_s, theirs_per_s = evaluations / t_ours, evaluations / t_theirs
    log(f"valueloop {ours_per_s:,.0f} evals/s, growthbook {theirs_per_s:,.0f} evals/s, mismatches {mismatches}")
    log(f"exposures: valueloop {client.stats['exposures']:,}, growthbook {len(exposures):,}")

    batch_users = all_users[: args.batch_users]
    log(f"batch: {len(batch_users):,} users x {len(keys)} features")
    started = time.perf_counter()
    results = client.evaluate_many_features(keys, batch_users)
    columns = {key: result.values() for key, result in results.items()}
    t_batch = time.perf_counter() - started
    batch_per_s = len(batch_users) * len(keys) / t_batch
    batch_mismatches = 0
    checked = min(len(users), len(batch_users))
    for k, key in enumerate(keys):
        column = columns[key]
        for i in range(checked):
            a, b = column[i], ours[i * len(keys) + k]
            if a != b or type(a) is not type(b):
                batch_mismatches += 1
    log(f"batch {batch_per_s:,.0f} evals/s in {t_batch:.2f} s; mismatches against one by one: {batch_mismatches}")

    ratio = ours_per_s / theirs_per_s
    summary = {
        "valueloop_evals_per_s": round(ours_per_s),
        "growthbook_evals_per_s": round(theirs_per_s),
        "ratio": round(ratio, 2),
        "batch_evals_per_s": round(batch_per_s),
        "mismatches": mismatches,
        "batch_mismatches": batch_mismatches,
        "users": len(users),
        "batch_users": len(batch_users),
        "features": len(keys),
        "ratio_target": RATIO_TARGET,
        "batch_target": BATCH_TARGET,
        "ratio_met": ratio >= RATIO_TARGET and mismatches == 0,
        "batch_met": batch_per_s > BATCH_TARGET and batch_mismatches == 0,
        "python": platform.python_version(),
    }
    print(
        f"Flag evaluation, {len(users):,} users x {len(keys)} features: Valueloop {ours_per_s:,.0f}/s vs GrowthBook "
        f"{theirs_per_s:,.0f}/s ({ratio:.2f}x, target {RATIO_TARGET:g}x), {mismatches} mismatches. "
        f"Batch, {len(batch_users):,} users: {batch_per_s:,.0f}/s (target > {BATCH_TARGET:,})."
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
