"""In-process profile of the two URLs ``bench/http.py`` loads: SQL queries, CPU per request, cProfile top.

A manual tool (kept out of ``make bench``, which runs ``bench/*.py`` only). Run it against a data dir
that already holds the large demo, e.g. one kept by ``bench/http.py --keep``:

    VALUELOOP_MODE=local VALUELOOP_DATA_DIR=/tmp/x .venv/bin/python bench/tools/profile_requests.py \
        [--n 200] [--repeat 5] [--show-sql] [--cprofile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valueloop.settings")
os.environ.setdefault("VALUELOOP_MODE", "local")

import django

django.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from valueloop.accounts.models import User  # noqa: E402
from valueloop.accounts.services import token_create  # noqa: E402
from valueloop.core.permissions import Role  # noqa: E402
from valueloop.core.tenancy import Actor  # noqa: E402
from valueloop.workspaces.models import Membership  # noqa: E402

HOME = "/w/demo/"
LIST = "/api/v1/products?page=1&page_size=50"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200, help="requests per batch")
    parser.add_argument("--repeat", type=int, default=1, help="batches; the best and the median are reported")
    parser.add_argument("--only", choices=("home", "list"), help="measure one of the two URLs")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--show-sql", action="store_true")
    args = parser.parse_args()

    user = User.objects.get(email="ada@demo.valueloop.example")
    membership = Membership.objects.select_related("workspace").get(user=user, workspace__slug="demo")
    actor = Actor(user=user, workspace=membership.workspace, role=Role(membership.role), via="cli")
    _, token = token_create(actor=actor, name="bench-profile")
    web = Client(HTTP_HOST="127.0.0.1")
    web.force_login(user)
    api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    calls = {"home": lambda: web.get(HOME), "list": lambda: api.get(LIST)}
    if args.only:
        calls = {args.only: calls[args.only]}

    for name, call in calls.items():
        assert call().status_code == 200, name  # warm caches, templates, urlconf
        with CaptureQueriesContext(connection) as ctx:
            response = call()
        assert response.status_code == 200
        sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
        print(
            f"{name}: {len(ctx.captured_queries)} queries ({sql_ms:.1f} ms SQL as measured by Django), "
            f"{len(response.content)} bytes"
        )
        if args.show_sql:
            for q in ctx.captured_queries:
                print(f"   {float(q['time']) * 1000:6.2f} ms  {q['sql'][:300]}")
        reset_queries()
        # CPU per request, as the best and the median of --repeat batches: on a shared machine other processes
        # inflate process_time (cache and frequency effects), and the best batch is the least disturbed one.
        batches = []
        for _ in range(args.repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            for _ in range(args.n):
                call()
            batches.append(
                ((time.process_time() - cpu_started) / args.n * 1000, (time.perf_counter() - started) / args.n * 1000)
            )
        batches.sort()
        cpu, per = batches[0]
        median = batches[len(batches) // 2][0]
        print(
            f"{name}: {cpu:.2f} ms CPU best, {median:.2f} ms median of {args.repeat} batches ({per:.2f} ms wall) "
            f"per request in-process (test client, single thread, n={args.n} per batch)"
        )

    if args.cprofile:
        for name, call in calls.items():
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.n):
                call()
            prof.disable()
            print(f"\n===== cProfile {name} (cumulative, top 35) =====")
            pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(35)
            print(f"\n===== cProfile {name} (tottime, top 25) =====")
            pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
