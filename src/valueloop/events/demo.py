"""Demo event data: product activity beside the experiments demo's exposures and metric events.

The experiments demo (``valueloop.experiments.demo``) already sends each demo experiment's exposures and metric
events through ``events.facade.ingest``; sending them again here would double them. This step adds what a real
product also sends: six weeks of ``session_started`` events for the same approvers (an activity metric, and the
pre-exposure history CUPED uses), so the event data page shows more than experiment traffic.

Idempotent: nothing is sent when the workspace already has ``session_started`` events. Seeded by ``context.rng``.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .facade import event_names, ingest

EVENT = "session_started"
USERS = 3200
DAYS = 42


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build(context) -> None:
    workspace_id = context.workspace.pk
    if any(name == EVENT for name, _ in event_names(workspace_id)):
        return
    rng = context.rng
    now = timezone.now().replace(microsecond=0)
    rows = []
    for i in range(USERS):
        unit = f"approver-{i:05d}"
        weekly = rng.choice([0.5, 1, 2, 3, 5, 8])  # light to heavy users
        for _ in range(int(weekly * DAYS / 7 * rng.uniform(0.6, 1.4))):
            at = now - dt.timedelta(seconds=rng.randrange(1, DAYS * 86400))
            rows.append({"type": EVENT, "user_id": unit, "timestamp": _iso(at)})
    ingest(workspace_id, rows, source="demo")
