"""Feedback import benchmark: 100,000 rows from a CSV file into SQLite. Target: under 30 s.

Run:  .venv/bin/python bench/feedback.py [--rows 100000] [--keep]

What it does:
1. Creates a temporary data directory and builds the demo workspace there in a subprocess
   (``valueloop demo``, VALUELOOP_MODE=local), so the import runs against a realistic database:
   hundreds of customers and contacts, thousands of feedback items, the FTS index.
2. Writes a realistic CSV (generic preset columns: external_id, title, text, received_at, source,
   customer, contact_email, url, importance, tags) with texts from the demo's templates; customers
   are the demo's (by name, domain or external id), contacts by email.
3. In this process (django.setup() on that data directory) times the import itself through
   ``services.feedback_import``: reading the file, validation of every row, customer resolution,
   the write in one transaction, the FTS index. Then re-imports the same file (nothing may change)
   and runs one ranked search over everything.
4. Prints a summary, then as the LAST line one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VALUELOOP = ROOT / ".venv" / "bin" / "valueloop"
TARGET_SECONDS = 30
COLUMNS = [
    "external_id",
    "title",
    "text",
    "received_at",
    "source",
    "customer",
    "contact_email",
    "url",
    "importance",
    "tags",
]


def build_demo(data_dir: Path) -> float:
    env = {**os.environ, "VALUELOOP_MODE": "local", "VALUELOOP_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    started = time.perf_counter()
    subprocess.run([str(VALUELOOP), "demo"], env=env, check=True, capture_output=True, text=True, cwd=data_dir)
    return time.perf_counter() - started


def write_csv(path: Path, rows: int, database: Path, seed: int = 42) -> None:
    from valueloop.feedback.demo import FRAMES, SOURCE_WEIGHTS, THEMES  # the demo's text templates

    connection = sqlite3.connect(database)
    customers = connection.execute(
        "SELECT c.id, c.name, c.domain, c.external_id FROM customers_customer c "
        "JOIN workspaces_workspace w ON w.id = c.workspace_id WHERE w.slug = 'demo'"
    ).fetchall()
    contacts: dict[int, list[str]] = {}
    for customer_id, email in connection.execute(
        "SELECT customer_id, email FROM customers_contact WHERE email != '' AND customer_id IS NOT NULL"
    ):
        contacts.setdefault(customer_id, []).append(email)
    connection.close()
    rng = random.Random(seed)
    themes = list(THEMES.values())
    theme_weights = [spec[2] for spec in themes]
    sources = [s for s, _ in SOURCE_WEIGHTS]
    source_weights = [w for _, w in SOURCE_WEIGHTS]
    now = datetime.now(UTC)
    slots = {
        "n": 12,
        "days": 3,
        "bank": "Barclays",
        "erp": "NetSuite",
        "region": "DACH",
        "weekday": "Monday",
        "amount": "10,000 EUR",
        "arr": "a key account",
    }
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n in range(rows):
            tag, _, _, titles, openings, details, asks = rng.choices(themes, weights=theme_weights)[0]
            source = rng.choices(sources, weights=source_weights)[0]
            body = " ".join([rng.choice(openings), rng.choice(details), rng.choice(asks)][: rng.randint(1, 3)]).format(
                **slots
            )
            text = rng.choice(FRAMES[source]).format(
                text=body, person="Alex", customer="a prospect", role="user", score=7, stars=4
            )
            customer_ref, email = "", ""
            if customers and rng.random() < 0.9:
                customer_id, name, domain, external_id = rng.choice(customers)
                customer_ref = rng.choice([name, domain or name, external_id or name])
                if contacts.get(customer_id) and rng.random() < 0.6:
                    email = rng.choice(contacts[customer_id])
            received = now - timedelta(minutes=rng.randint(10, 365 * 24 * 60))
            writer.writerow(
                [
                    f"bench-{n:07d}",
                    rng.choice(titles).format(**slots) if rng.random() < 0.7 else "",
                    text,
                    received.isoformat(timespec="seconds"),
                    source,
                    customer_ref,
                    email,
                    f"https://support.example.com/tickets/{500000 + n}" if rng.random() < 0.8 else "",
                    rng.choice(["", "", "", "important", "critical", "nice_to_have"]),
                    ",".join({tag, *rng.sample(["q3", "churn-risk", "enterprise-ask", "bug", "quick-win"], 1)}),
                ]
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="valueloop-bench-feedback-"))
    try:
        demo_seconds = build_demo(data_dir)
        os.environ.update(
            {
                "VALUELOOP_MODE": "local",
                "VALUELOOP_DATA_DIR": str(data_dir),
                "DJANGO_SETTINGS_MODULE": "valueloop.settings",
            }
        )
        os.environ.pop("DATABASE_URL", None)
        import django

        django.setup()
        csv_path = data_dir / "feedback-100k.csv"
        started = time.perf_counter()
        write_csv(csv_path, args.rows, data_dir / "valueloop.sqlite3")
        generate_seconds = time.perf_counter() - started
        file_mb = csv_path.stat().st_size / (1024 * 1024)
        from valueloop.core.permissions import Role
        from valueloop.core.tenancy import Actor
        from valueloop.feedback import importing, selectors, services
        from valueloop.feedback.models import FeedbackItem
        from valueloop.workspaces.models import Membership

        membership = Membership.objects.select_related("workspace", "user").get(workspace__slug="demo", role=Role.ADMIN)
        actor = Actor(user=membership.user, workspace=membership.workspace, role=Role.ADMIN, via="cli")
        before = FeedbackItem.objects.count()

        started = time.perf_counter()
        report = services.feedback_import(
            actor=actor, data=csv_path.read_bytes(), filename=csv_path.name, options=importing.ImportOptions()
        )
        import_seconds = time.perf_counter() - started
        if not report.written:
            print(report.as_text(limit=20), file=sys.stderr)
            return 1

        started = time.perf_counter()
        again = services.feedback_import(
            actor=actor, data=csv_path.read_bytes(), filename=csv_path.name, options=importing.ImportOptions()
        )
        reimport_seconds = time.perf_counter() - started

        started = time.perf_counter()
        hits = selectors.feedback_list(actor=actor, q="bank reconciliation")
        total_hits = hits.count()
        top = list(hits[:50])
        search_ms = (time.perf_counter() - started) * 1000
        after = FeedbackItem.objects.count()

        rate = args.rows / import_seconds
        print(f"Demo built in {demo_seconds:.1f} s; {before} feedback items before the import.")
        print(f"CSV: {args.rows} rows, {file_mb:.1f} MB (generated in {generate_seconds:.1f} s).")
        print(
            f"Import: {import_seconds:.2f} s ({rate:,.0f} rows/s), {report.created} created, "
            f"{report.invalid_rows} invalid; target {TARGET_SECONDS} s: "
            f"{'met' if import_seconds < TARGET_SECONDS else 'MISSED'}."
        )
        print(
            f"Re-import of the same file: {reimport_seconds:.2f} s, {again.created} created, "
            f"{again.unchanged} unchanged (idempotent)."
        )
        print(
            f"Ranked search 'bank reconciliation' over {after} items: {total_hits} hits, "
            f"first page in {search_ms:.0f} ms."
        )
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        print(
            json.dumps(
                {
                    "import_100k_seconds": round(import_seconds, 2),
                    "rows": args.rows,
                    "target_seconds": TARGET_SECONDS,
                    "created": report.created,
                    "rows_per_second": round(rate),
                    "file_mb": round(file_mb, 1),
                    "reimport_seconds": round(reimport_seconds, 2),
                    "reimport_created": again.created,
                    "search_first_page_ms": round(search_ms, 1),
                    "items_after": after,
                    "database": "sqlite",
                    "load_average_1m": round(load, 2) if load is not None else None,
                }
            )
        )
        return 0 if import_seconds < TARGET_SECONDS and again.created == 0 and len(top) > 0 else 1
    finally:
        if args.keep:
            print(f"(data kept in {data_dir})", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
