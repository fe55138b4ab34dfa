"""``valueloop themes-cron``: the themes due-check (embedding scans, re-clusterings, weekly digests).

``valueloop worker`` already runs it every five minutes; this command is for setups that prefer a
system cron (``--once``) or a separate process. It only queues tasks: a worker must be running."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from valueloop.themes.facade import TICK_SECONDS, scheduled_tick


class Command(BaseCommand):
    help = "Queue the themes work that is due (run it from cron with --once, or leave it running)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Check once and exit.")
        parser.add_argument("--interval", type=int, default=TICK_SECONDS, help="Seconds between checks.")

    def handle(self, *args, **opts):
        while True:
            queued = scheduled_tick()
            self.stdout.write(", ".join(f"{kind}: {n}" for kind, n in queued.items()) + " queued")
            close_old_connections()
            if opts["once"]:
                return
            time.sleep(max(10, opts["interval"]))
