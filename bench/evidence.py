"""Evidence page benchmark: a feature with 10,000 linked feedback items from ~2,000 accounts.

Run:  .venv/bin/python bench/evidence.py [--items 10000] [--accounts 2000] [--runs 10] [--keep]

What it does:
1. Creates a temporary data directory and builds the demo there with ``valueloop demo``
   (VALUELOOP_MODE=local, SQLite), as a subprocess.
2. In this process (django.setup() with the same environment) adds one *released* feature with
   N linked feedback items across M new accounts (segments, ARR, contacts, personas, quotes on
   some), all bulk-inserted; released so the close-the-loop panel (requesters) is rendered too.
3. Times server-side rendering with Django's test Client, signed in as the demo product manager:
   the feature page (with its evidence panel) and the full evidence page (first page of 50),
   median of ``--runs`` runs after two warm-up requests each.
4. Prints a short summary, then as the LAST line one JSON object with the figures.

Target: the feature's page under 300 ms of server time (``evidence_page_ms``, wall clock). The CPU
time of the process is reported beside it (``*_cpu_ms``): on a busy machine wall clock also counts
time spent waiting for a CPU, the CPU figure does not (SQLite runs inside this process).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VALUELOOP = ROOT / ".venv" / "bin" / "valueloop"
TARGET_MS = 300
SEGMENTS = ["enterprise", "mid_market", "smb", "startup", "public_sector", ""]


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def build_demo(data_dir: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALUELOOP_") and k != "DATABASE_URL"}
    env.update(VALUELOOP_MODE="local", VALUELOOP_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="valueloop.settings")
    started = time.perf_counter()
    subprocess.run([str(VALUELOOP), "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def seed(items: int, accounts: int, rng: random.Random):
    """One released feature with ``items`` linked feedback items from ``accounts`` accounts."""
    from django.db import transaction
    from django.utils import timezone

    from valueloop.customers.models import Contact, Customer, Persona
    from valueloop.evidence.models import Evidence
    from valueloop.feedback.models import FeedbackItem
    from valueloop.planning.models import Feature
    from valueloop.workspaces.models import Workspace

    workspace = Workspace.objects.get(slug="demo")
    now = timezone.now()
    with transaction.atomic():
        feature = Feature.objects.create(
            workspace=workspace, title="Bench: bulk invoice approvals", status="released", released_at=now
        )
        customers = Customer.objects.bulk_create(
            Customer(
                workspace=workspace,
                name=f"Bench account {i:05d}",
                segment=rng.choice(SEGMENTS),
                arr=Decimal(rng.randint(2_000, 400_000)),
                arr_base=Decimal(rng.randint(2_000, 400_000)),
                arr_currency=workspace.currency,
                external_id=f"bench-{i:05d}",
            )
            for i in range(accounts)
        )
        contacts = Contact.objects.bulk_create(
            Contact(workspace=workspace, customer=c, name=f"Person {i}", email=f"person{i}@bench{i}.example")
            for i, c in enumerate(customers)
        )
        personas = list(Persona.objects.filter(workspace=workspace))
        feedback = FeedbackItem.objects.bulk_create(
            [
                FeedbackItem(
                    workspace=workspace,
                    title=f"Bench request {n}",
                    text=(
                        f"Request {n}: approving invoices one at a time takes our team hours every week. "
                        "Please let us approve a batch of invoices at once."
                    ),
                    source=rng.choice(["support", "sales_call", "in_app", "email"]),
                    customer=customers[n % accounts],
                    contact=contacts[n % accounts],
                    received_at=now - dt.timedelta(days=rng.randint(0, 540), minutes=rng.randint(0, 1440)),
                    status="linked",
                    external_id=f"bench-{n:06d}",
                )
                for n in range(items)
            ],
            batch_size=2000,
        )
        if personas:
            through = FeedbackItem.personas.through
            through.objects.bulk_create(
                [
                    through(feedbackitem_id=item.pk, persona_id=rng.choice(personas).pk)
                    for item in feedback
                    if rng.random() < 0.4
                ],
                batch_size=5000,
            )
        Evidence.objects.bulk_create(
            [
                Evidence(
                    workspace=workspace,
                    feedback=item,
                    target_type="feature",
                    target_id=feature.pk,
                    customer_id=item.customer_id,
                    said_at=item.received_at,
                    importance=rng.choice([1, 2, 2, 3, 3, 4]),
                    quote="approve a batch of invoices at once" if rng.random() < 0.3 else "",
                )
                for item in feedback
            ],
            batch_size=2000,
        )
    return workspace, feature


def timed(client, url: str, runs: int) -> tuple[float, list[float], float, int]:
    """Median wall-clock ms, the samples, median CPU ms of this process, response size."""
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    samples, cpu = [], []
    size = 0
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        size = len(response.content)
    return statistics.median(samples), samples, statistics.median(cpu), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="valueloop-bench-evidence-"))
    try:
        log(f"building the demo in {data_dir} ...")
        demo_s = build_demo(data_dir)
        log(f"demo built in {demo_s:.1f}s")
        for key in [k for k in os.environ if k.startswith("VALUELOOP_")]:
            del os.environ[key]
        os.environ.update(
            VALUELOOP_MODE="local",
            VALUELOOP_DATA_DIR=str(data_dir),
            DJANGO_SETTINGS_MODULE="valueloop.settings",
            VALUELOOP_ALLOWED_HOSTS="testserver,127.0.0.1",
        )
        sys.path.insert(0, str(ROOT / "src"))
        import django

        django.setup()
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from valueloop.accounts.models import User

        started = time.perf_counter()
        workspace, feature = seed(args.items, args.accounts, random.Random(42))
        log(
            f"seeded {args.items:,} linked items across {args.accounts:,} accounts "
            f"in {time.perf_counter() - started:.1f}s"
        )
        client = Client()
        client.force_login(User.objects.get(email="priya@demo.valueloop.example"))
        feature_url = f"/w/{workspace.slug}/features/{feature.pk}/"
        full_url = f"/w/{workspace.slug}/evidence/feature/{feature.pk}/"
        page_ms, page_samples, page_cpu, page_bytes = timed(client, feature_url, args.runs)
        full_ms, full_samples, full_cpu, full_bytes = timed(client, full_url, args.runs)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        with CaptureQueriesContext(connection) as page_queries:
            client.get(feature_url)
        with CaptureQueriesContext(connection) as full_queries:
            client.get(full_url)
        print(
            f"feature page       {feature_url}: median {page_ms:.1f} ms wall, {page_cpu:.1f} ms CPU "
            f"(wall min {min(page_samples):.1f}, max {max(page_samples):.1f}); "
            f"{len(page_queries)} queries; {page_bytes:,} bytes"
        )
        print(
            f"full evidence page {full_url}: median {full_ms:.1f} ms wall, {full_cpu:.1f} ms CPU "
            f"(wall min {min(full_samples):.1f}, max {max(full_samples):.1f}); "
            f"{len(full_queries)} queries; {full_bytes:,} bytes"
        )
        print(f"machine load average during the run: {load}" if load is not None else "")
        print(
            f"target: feature page under {TARGET_MS} ms -> {'met' if page_ms < TARGET_MS else 'NOT met'} (wall clock)"
        )
        print(
            json.dumps(
                {
                    "evidence_page_ms": round(page_ms, 1),
                    "evidence_full_page_ms": round(full_ms, 1),
                    "evidence_page_cpu_ms": round(page_cpu, 1),
                    "evidence_full_page_cpu_ms": round(full_cpu, 1),
                    "load_average": round(load, 2) if load is not None else None,
                    "linked_items": args.items,
                    "accounts": args.accounts,
                    "evidence_page_queries": len(page_queries),
                    "evidence_full_page_queries": len(full_queries),
                    "runs": args.runs,
                    "database": connection.vendor,
                    "target_ms": TARGET_MS,
                }
            )
        )
        return 0
    finally:
        if args.keep:
            log(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
