"""Demo experiments for the Ledgerly demo (see valueloop.demo): idempotent by metric and experiment key.

- Metrics: approval completed (conversion), approvals per user, minutes to approve (lower is better) and rejected
  expenses (a guardrail, lower is better); forecast revisited (conversion).
- A running A/B test of the streamlined approval flow on the demo flag ``new-approval-flow`` in production (its
  experiment rule, tracking key ``approval-flow-2026q3``, was set up and approved by the flags demo), with two weeks
  of exposures and metric events sent through ``events.facade.ingest``.
- A decided experiment on ``cash-forecast-weeks`` in staging: 13 weeks shipped (rolled out through the flag), its
  learning in the learning log and on the "13-week cash forecast" feature's evidence.

Events are generated from the demo's seed (``context.seed``), so the numbers are the same on every fresh demo;
they are sent only when the experiment has no exposures yet. Start and stop times are set back to match the
generated history (demo data only; the services stamp the real time).
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from valueloop.discovery.facade import problem_choices
from valueloop.events.facade import experiment_exposure_summary, ingest
from valueloop.flags import facade as flags
from valueloop.planning.facade import feature_choices

from . import services
from .design import DesignInput, calculate
from .models import Experiment, Metric

METRICS = [
    {
        "key": "approval-completed",
        "name": "Approval completed",
        "description": "Share of approvers who approve at least one expense.",
        "kind": "binomial",
        "event": "approval_completed",
    },
    {
        "key": "approvals-per-user",
        "name": "Approvals per approver",
        "kind": "mean",
        "event": "approval_completed",
        "aggregation": "count",
    },
    {
        "key": "minutes-to-approve",
        "name": "Minutes to approve",
        "description": "Minutes from opening an expense to deciding on it, summed per approver.",
        "kind": "mean",
        "event": "approval_minutes",
        "aggregation": "sum",
        "lower_is_better": True,
    },
    {
        "key": "expense-rejected",
        "name": "Expense later rejected by finance",
        "description": "Approved too quickly? Finance rejects the expense afterwards.",
        "kind": "binomial",
        "event": "expense_rejected",
        "lower_is_better": True,
    },
    {
        "key": "forecast-revisited",
        "name": "Forecast revisited",
        "description": "Share of CFOs who open the cash forecast again within a week.",
        "kind": "binomial",
        "event": "forecast_revisited",
        "window_hours": 168,
    },
]


def _pick(choices, title: str) -> int | None:
    return next((pk for pk, t in choices if t == title), None)


def _flag_id(workspace, key: str) -> int | None:
    return next((pk for pk, k in flags.flag_choices(workspace) if k == key), None)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _approval_events(rng: random.Random, key: str, now: dt.datetime, users: int = 3200) -> list[dict]:
    """Two weeks of approvers: the streamlined flow converts a little more and faster, rejections unchanged."""
    rows: list[dict] = []
    for i in range(users):
        unit = f"approver-{i:05d}"
        variation = rng.random() < 0.5
        seen = now - dt.timedelta(days=14) + dt.timedelta(seconds=rng.randrange(14 * 86400 - 7200))
        rows.append(
            {
                "type": "experiment_viewed",
                "experiment_key": key,
                "variation_id": int(variation),
                "hash_value": unit,
                "timestamp": _iso(seen),
                "feature_key": "new-approval-flow",
            }
        )
        if rng.random() < (0.61 if variation else 0.55):
            for _ in range(1 + int(rng.expovariate(0.9))):
                at = seen + dt.timedelta(minutes=rng.randrange(5, 3000))
                if at >= now:
                    continue
                rows.append({"type": "approval_completed", "user_id": unit, "timestamp": _iso(at)})
                minutes = round(rng.lognormvariate(1.6 if variation else 1.85, 0.5), 1)
                rows.append({"type": "approval_minutes", "user_id": unit, "timestamp": _iso(at), "value": minutes})
                if rng.random() < 0.04:
                    later = min(at + dt.timedelta(hours=rng.randrange(1, 48)), now - dt.timedelta(minutes=1))
                    rows.append({"type": "expense_rejected", "user_id": unit, "timestamp": _iso(later)})
    return rows


def _forecast_events(rng: random.Random, key: str, start: dt.datetime, end: dt.datetime, users: int = 1800):
    rows: list[dict] = []
    span = int((end - start).total_seconds()) - 86400 * 2
    for i in range(users):
        unit = f"cfo-{i:05d}"
        variation = rng.random() < 0.5
        seen = start + dt.timedelta(seconds=rng.randrange(span))
        rows.append(
            {
                "type": "experiment_viewed",
                "experiment_key": key,
                "variation_id": int(variation),
                "hash_value": unit,
                "timestamp": _iso(seen),
            }
        )
        if rng.random() < (0.38 if variation else 0.31):
            at = seen + dt.timedelta(hours=rng.randrange(2, 40))
            rows.append({"type": "forecast_revisited", "user_id": unit, "timestamp": _iso(at)})
    return rows


def _plan(*, baseline: float, mde: float, daily: int, coverage: float, days: int) -> dict:
    """The saved design of a conversion experiment, as the design page saves it."""
    inputs = DesignInput(baseline=baseline, mde=mde, daily_traffic=daily, coverage=coverage, planned_days=days)
    result = calculate(inputs)
    return {
        "kind": "binomial",
        "baseline": f"{baseline * 100:g}",
        "mde": f"{mde * 100:g}",
        "relative": "relative",
        "power": "0.8",
        "n_per_variation": result.n_per_variation,
        "n_total": result.n_total,
        "days": result.days,
    }


def build(context) -> None:
    workspace = context.workspace
    pm = context.actor_for("priya")
    rng = random.Random(context.seed * 1009 + 5)  # a stream of its own, independent of earlier steps' draws
    now = timezone.now().replace(microsecond=0)
    metrics = {m.key: m for m in Metric.objects.filter(workspace=workspace)}
    for spec in METRICS:
        if spec["key"] not in metrics:
            data = {k: v for k, v in spec.items() if k != "key"}
            metrics[spec["key"]] = services.metric_create(actor=pm, key=spec["key"], **data)
    environments = {e["key"]: e for e in flags.environment_choices(workspace)}
    features, problems = feature_choices(workspace), problem_choices(workspace)

    # 1. Running: the streamlined approval flow, in production (the flags demo serves its rule there).
    key = "approval-flow-2026q3"
    flag_id = _flag_id(workspace, "new-approval-flow")
    if flag_id and not Experiment.objects.filter(workspace=workspace, key=key).exists():
        experiment = services.experiment_create(
            actor=pm,
            key=key,
            name="Streamlined approval flow",
            hypothesis=(
                "We believe a **one-tap approval screen with an inline receipt preview** will get more approvers "
                "to finish their queue, and faster, because they no longer open each receipt to check the amount. "
                "We will know when *approval completed* rises without more expenses rejected by finance."
            ),
            feature_id=_pick(features, "Show base currency on approvals"),
            problem_id=_pick(problems, "Multi-currency invoices confuse approvers"),
            flag_id=flag_id,
            environment_id=environments["production"]["id"],
            variations=[{"name": "Classic", "value": "classic"}, {"name": "Streamlined", "value": "streamlined"}],
            weights=[0.5, 0.5],
            coverage=0.8,
            condition={"plan": {"$in": ["business", "enterprise"]}},
            metrics=[
                {"metric_id": metrics["approval-completed"].pk, "role": "primary"},
                {"metric_id": metrics["approvals-per-user"].pk, "role": "secondary"},
                {"metric_id": metrics["minutes-to-approve"].pk, "role": "secondary"},
                {"metric_id": metrics["expense-rejected"].pk, "role": "guardrail"},
            ],
            planned_days=21,
            daily_traffic=300,
            correction="holm",
            design=_plan(baseline=0.55, mde=0.08, daily=300, coverage=0.8, days=21),
        )
        services.experiment_start(actor=pm, experiment_id=experiment.pk)
        Experiment.objects.filter(pk=experiment.pk).update(started_at=now - dt.timedelta(days=14))
    if flag_id and experiment_exposure_summary(workspace.pk, key)["units"] == 0:
        ingest(workspace.pk, _approval_events(rng, key, now), source="api")

    # 2. Decided: a 13-week cash forecast by default, shipped in staging.
    key = "forecast-horizon-test"
    flag_id = _flag_id(workspace, "cash-forecast-weeks")
    if flag_id and not Experiment.objects.filter(workspace=workspace, key=key).exists():
        start, end = now - dt.timedelta(days=24), now - dt.timedelta(days=6)
        experiment = services.experiment_create(
            actor=pm,
            key=key,
            name="13-week forecast by default",
            hypothesis=(
                "CFOs plan cash a quarter ahead. If the forecast shows **13 weeks instead of 4** by default, more "
                "of them will come back to it within a week."
            ),
            feature_id=_pick(features, "13-week cash forecast"),
            problem_id=_pick(problems, "CFOs cannot see a 13-week cash forecast"),
            flag_id=flag_id,
            environment_id=environments["staging"]["id"],
            variations=[{"name": "4 weeks", "value": 4}, {"name": "13 weeks", "value": 13}],
            metrics=[{"metric_id": metrics["forecast-revisited"].pk, "role": "primary"}],
            planned_days=14,
            daily_traffic=130,
        )
        services.experiment_start(actor=pm, experiment_id=experiment.pk)
        if experiment_exposure_summary(workspace.pk, key)["units"] == 0:
            ingest(workspace.pk, _forecast_events(rng, key, start, end), source="api")
        Experiment.objects.filter(pk=experiment.pk).update(started_at=start, stopped_at=end, status="stopped")
        services.experiment_decide(
            actor=pm,
            experiment_id=experiment.pk,
            outcome="ship",
            variation=1,
            rollout=True,
            learning=(
                "A 13-week default brings CFOs back: more of them revisit the forecast within a week than with "
                "4 weeks. Ship 13 weeks as the default; next, test a scheduled weekly forecast e-mail."
            ),
        )
