"""Demo features (solutions) for the Ledgerly demo (see valueloop.demo): idempotent by title.

Gives the features believable Cost of Delay components (EUR per week) with rationales, duration
ranges, urgency profiles (one fixed-date regulatory item), WSJF/RICE/ICE inputs, teams, delivery
items finished over the last twelve weeks (the throughput history), Kano answers, survey scores on
the problems, a saved formula and two hand moves in the backlog with their reasons. ``--scale
large`` adds 5,000 generated features with random inputs (bulk-inserted) for the page benchmark.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from valueloop.discovery.models import Problem

from .models import BacklogMove, DeliveryItem, Feature, KanoResponse, OutcomeScore, ScoringFormula, Team
from .services import (
    backlog_move,
    delivery_item_create,
    feature_create,
    feature_update,
    formula_create,
    kano_import,
    outcome_update,
    prioritisation_update,
    team_create,
    throughput_create,
)

FEATURES = [
    ("Failed card payments churn customers silently", "Smart dunning retries", "in_progress"),
    ("Failed card payments churn customers silently", "Card updater via the network tokens", "candidate"),
    ("Month-end close takes days of manual reconciliation", "Auto-reconcile bank lines", "planned"),
    ("CFOs cannot see a 13-week cash forecast", "13-week cash forecast", "idea"),
    ("Receipt capture fails in poor light", "Low-light receipt capture", "released"),
    ("Partners miss webhook events during outages", "Webhook retries and replay", "planned"),
    ("Multi-currency invoices confuse approvers", "Show base currency on approvals", "released"),
    ("Month-end close takes days of manual reconciliation", "E-invoicing for Germany (XRechnung)", "candidate"),
    ("CFOs cannot see a 13-week cash forecast", "Scheduled CFO report e-mails", "idea"),
    (None, "Upgrade the PDF rendering service", "idea"),
]

TEAMS = [("Payments squad", "1", 0), ("Platform", "0.8", 0), ("Insights & mobile", "1.2", 2)]

# title -> inputs (EUR per week, weeks); rationales say where the number comes from.
INPUTS: dict[str, dict] = {
    "Smart dunning retries": {
        "cod_protect_revenue": "6200",
        "cod_protect_revenue_rationale": "38 accounts churned after failed cards last quarter: ~EUR 320k ARR a year.",
        "cod_reduce_cost": "450",
        "cod_reduce_cost_rationale": "Support spends ~15 h a week chasing failed payments.",
        "duration_low": "2",
        "duration_likely": "3",
        "duration_high": "5",
        "wsjf_business_value": "13",
        "wsjf_time_criticality": "8",
        "wsjf_risk_reduction": "5",
        "wsjf_job_size": "5",
        "rice_reach": "1800",
        "rice_impact": "2",
        "rice_confidence": "80",
        "rice_effort": "3",
        "ice_impact": "8",
        "ice_confidence": "8",
        "ice_ease": "6",
        "team": "Payments squad",
    },
    "Card updater via the network tokens": {
        "cod_protect_revenue": "2900",
        "cod_protect_revenue_rationale": "Expired cards are 40 % of failures; the updater fixes most before they fail.",
        "duration_low": "4",
        "duration_likely": "6",
        "duration_high": "10",
        "wsjf_business_value": "8",
        "wsjf_time_criticality": "5",
        "wsjf_risk_reduction": "3",
        "wsjf_job_size": "8",
        "rice_reach": "1200",
        "rice_impact": "1",
        "rice_confidence": "50",
        "rice_effort": "5",
        "ice_impact": "6",
        "ice_confidence": "5",
        "ice_ease": "4",
        "team": "Payments squad",
    },
    "Auto-reconcile bank lines": {
        "cod_increase_revenue": "3800",
        "cod_increase_revenue_rationale": "Mid-market deals lost to competitors on reconciliation: 5 in the pipeline.",
        "cod_reduce_cost": "900",
        "cod_reduce_cost_rationale": "Onboarding team helps customers reconcile by hand.",
        "urgency": "long_life_peak_affected",
        "urgency_life_weeks": "104",
        "duration_low": "5",
        "duration_likely": "8",
        "duration_high": "12",
        "wsjf_business_value": "20",
        "wsjf_time_criticality": "5",
        "wsjf_risk_reduction": "8",
        "wsjf_job_size": "13",
        "rice_reach": "3200",
        "rice_impact": "2",
        "rice_confidence": "80",
        "rice_effort": "8",
        "ice_impact": "9",
        "ice_confidence": "7",
        "ice_ease": "3",
        "team": "Platform",
    },
    "13-week cash forecast": {
        "cod_increase_revenue": "5200",
        "cod_increase_revenue_rationale": "Two enterprise prospects (EUR 270k ARR) make it a condition.",
        "urgency": "short_life_peak_affected",
        "urgency_life_weeks": "30",
        "duration_low": "6",
        "duration_likely": "9",
        "duration_high": "14",
        "wsjf_business_value": "13",
        "wsjf_time_criticality": "13",
        "wsjf_risk_reduction": "2",
        "wsjf_job_size": "13",
        "rice_reach": "400",
        "rice_impact": "3",
        "rice_confidence": "50",
        "rice_effort": "9",
        "ice_impact": "9",
        "ice_confidence": "5",
        "ice_ease": "3",
        "team": "Insights & mobile",
    },
    "Webhook retries and replay": {
        "cod_protect_revenue": "1500",
        "cod_protect_revenue_rationale": "Three partners threaten to move; their referrals bring ~EUR 78k a year.",
        "cod_reduce_risk": "700",
        "cod_reduce_risk_rationale": "Missed events cause wrong balances; one incident cost EUR 9k in credits.",
        "urgency": "intangible",
        "urgency_rise_per_week": "40",
        "duration_low": "1",
        "duration_likely": "2",
        "duration_high": "3",
        "wsjf_business_value": "5",
        "wsjf_time_criticality": "8",
        "wsjf_risk_reduction": "13",
        "wsjf_job_size": "3",
        "rice_reach": "260",
        "rice_impact": "2",
        "rice_confidence": "100",
        "rice_effort": "1.5",
        "ice_impact": "6",
        "ice_confidence": "9",
        "ice_ease": "8",
        "team": "Platform",
    },
    "E-invoicing for Germany (XRechnung)": {
        "cod_reduce_risk": "8000",
        "cod_reduce_risk_rationale": "German public-sector customers must receive XRechnung; after the deadline "
        "they cannot pay us (EUR 410k ARR).",
        "urgency": "fixed_date",
        "deadline_weeks": 16,
        "fixed_date_penalty": "25000",
        "duration_low": "4",
        "duration_likely": "6",
        "duration_high": "8",
        "wsjf_business_value": "8",
        "wsjf_time_criticality": "20",
        "wsjf_risk_reduction": "8",
        "wsjf_job_size": "8",
        "rice_reach": "150",
        "rice_impact": "3",
        "rice_confidence": "100",
        "rice_effort": "6",
        "ice_impact": "7",
        "ice_confidence": "9",
        "ice_ease": "5",
        "team": "Platform",
    },
    "Scheduled CFO report e-mails": {
        "cod_increase_revenue": "600",
        "cod_increase_revenue_rationale": "Upsell to Insights: 4 % of CFO users asked.",
        "duration_likely": "1",
        "rice_reach": "900",
        "rice_impact": "0.5",
        "rice_confidence": "80",
        "rice_effort": "0.5",
        "ice_impact": "4",
        "ice_confidence": "7",
        "ice_ease": "9",
    },
    # "Upgrade the PDF rendering service" stays without inputs: the ranking lists it as unscored.
    "Low-light receipt capture": {"cod_protect_revenue": "900", "duration_likely": "4"},
    "Show base currency on approvals": {"cod_reduce_cost": "300", "duration_likely": "1"},
}

DELIVERY = {
    "Smart dunning retries": [
        "Retry scheduler",
        "Bank-holiday calendar",
        "Dunning e-mail templates",
        "Retry dashboard",
        "Webhook for retry outcome",
    ],
    "Auto-reconcile bank lines": [
        "Bank line import",
        "Matching rules engine",
        "Review queue UI",
        "Partial payments",
        "Reconciliation report",
    ],
    "Webhook retries and replay": ["Delivery log", "Exponential back-off", "Replay endpoint"],
    "Low-light receipt capture": [
        "Exposure tuning",
        "Edge detection",
        "OCR retry",
        "Beta with 20 users",
        "Store release",
        "Android parity",
    ],
    "Show base currency on approvals": ["Approval card change", "FX source", "Mobile layout"],
    "13-week cash forecast": ["Cash model spike", "Forecast API", "Forecast chart"],
    "Card updater via the network tokens": ["Network token contract", "Token vault"],
}

KANO = {
    "Smart dunning retries": [("expect", "dislike")] * 11 + [("like", "dislike")] * 6 + [("neutral", "neutral")] * 3,
    "13-week cash forecast": [("like", "neutral")] * 9 + [("like", "dislike")] * 5 + [("neutral", "neutral")] * 4,
    "Scheduled CFO report e-mails": [("neutral", "neutral")] * 10 + [("like", "neutral")] * 4 + [("like", "like")],
    "Webhook retries and replay": [("expect", "dislike")] * 7
    + [("like", "dislike")] * 8
    + [("neutral", "live with")] * 2,
}

OUTCOMES = {
    "Failed card payments churn customers silently": ("8.6", "3.1", 212),
    "Month-end close takes days of manual reconciliation": ("9.1", "4.4", 212),
    "CFOs cannot see a 13-week cash forecast": ("6.8", "2.2", 74),
    "Receipt capture fails in poor light": ("5.5", "4.9", 180),
    "Partners miss webhook events during outages": ("7.2", "5.8", 31),
    "Multi-currency invoices confuse approvers": ("4.1", "5.0", 96),
}

MOVES = [
    ("Webhook retries and replay", 1, "Promised to Acme Payments at the QBR; their renewal is on 1 March."),
    ("E-invoicing for Germany (XRechnung)", 3, "Regulatory: start early, the certification test slots are booked out."),
]


def build(context) -> None:
    pm, po = context.actor_for("priya"), context.actor_for("tom")
    workspace = context.workspace
    problems = {p.title: p for p in Problem.objects.filter(workspace=workspace)}
    for problem_title, title, status in FEATURES:
        if Feature.objects.filter(workspace=workspace, title=title).exists():
            continue
        problem = problems.get(problem_title) if problem_title else None
        feature = feature_create(
            actor=po,
            title=title,
            problem_id=problem.pk if problem else None,
            product_id=problem.product_id if problem else None,
        )
        if status != "idea":
            feature_update(actor=po, feature_id=feature.pk, status=status)
    teams = {}
    for name, capacity, free_in_weeks in TEAMS:
        team = Team.objects.filter(workspace=workspace, name=name).first()
        if team is None:
            available = timezone.localdate() + dt.timedelta(weeks=free_in_weeks) if free_in_weeks else None
            team = team_create(actor=po, name=name, capacity=Decimal(capacity), available_from=available)
        teams[name] = team
    features = {f.title: f for f in Feature.objects.filter(workspace=workspace)}
    _inputs(pm, features, teams)
    _delivery(po, features, context.rng)
    _throughput(po, context.rng)
    _kano(pm, workspace, features)
    _outcomes(pm, workspace, problems)
    if not ScoringFormula.objects.filter(workspace=workspace, name="Revenue per week of work").exists():
        formula_create(
            actor=pm,
            name="Revenue per week of work",
            expression="(increase_revenue + protect_revenue) / max(duration, 0.5)",
        )
    if not BacklogMove.objects.filter(workspace=workspace).exists():
        for title, position, reason in MOVES:
            feature = features.get(title)
            if feature is not None:
                try:
                    backlog_move(actor=po, feature_id=feature.pk, to_position=position, reason=reason)
                except Exception:  # already at that position: nothing to move  # noqa: S112
                    continue
    if context.scale == "large":
        _build_large(workspace, context.rng)


def _inputs(pm, features, teams) -> None:
    for title, inputs in INPUTS.items():
        feature = features.get(title)
        if feature is None or feature.cod_per_week is not None:
            continue
        data = dict(inputs)
        team = data.pop("team", None)
        if team:
            data["team_id"] = teams[team].pk
        weeks = data.pop("deadline_weeks", None)
        if weeks:
            data["deadline"] = timezone.localdate() + dt.timedelta(weeks=weeks)
        # Two steps, as a PM would: a first estimate, then a revised duration, so the score history shows why.
        likely = data.pop("duration_likely")
        first = str(Decimal(likely) + 1)
        high = data.get("duration_high")
        if high is not None and Decimal(first) > Decimal(high):
            data["duration_high"] = first
        prioritisation_update(actor=pm, feature_id=feature.pk, duration_likely=first, **data)
        prioritisation_update(actor=pm, feature_id=feature.pk, duration_likely=likely, duration_high=high)


def _delivery(po, features, rng) -> None:
    now = timezone.now()
    for title, items in DELIVERY.items():
        feature = features.get(title)
        if feature is None or DeliveryItem.objects.filter(feature=feature).exists():
            continue
        done_share = {"released": 1.0, "in_progress": 0.6}.get(feature.status, 0.35)
        for k, item_title in enumerate(items):
            done = k < round(len(items) * done_share)
            done_at = now - dt.timedelta(days=rng.randint(2, 83), hours=rng.randint(0, 8)) if done else None
            delivery_item_create(
                actor=po,
                feature_id=feature.pk,
                title=item_title,
                status="done" if done else ("doing" if k == round(len(items) * done_share) else "todo"),
                estimate_weeks=Decimal(rng.choice(["0.5", "1", "1", "1.5", "2"])),
                done_at=done_at,
            )
    # The rest of the team's finished work over the last twelve weeks, so the history is not thin.
    maintenance = features.get("Upgrade the PDF rendering service")
    if maintenance is not None and not DeliveryItem.objects.filter(feature=maintenance).exists():
        for week in range(12):
            for n in range(rng.randint(1, 3)):
                delivery_item_create(
                    actor=po,
                    feature_id=maintenance.pk,
                    title=f"Maintenance ticket W{12 - week}-{n + 1}",
                    status="done",
                    estimate_weeks=Decimal("0.5"),
                    done_at=now - dt.timedelta(weeks=week, days=rng.randint(1, 5)),
                )


def _throughput(po, rng) -> None:
    from .models import ThroughputEntry

    if ThroughputEntry.objects.filter(workspace=po.workspace).exists():
        return
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    for week in range(1, 11):
        throughput_create(
            actor=po,
            week_start=monday - dt.timedelta(weeks=week),
            finished=rng.randint(2, 7),
            note="From the team board",
        )


def _kano(pm, workspace, features) -> None:
    if KanoResponse.objects.filter(workspace=workspace).exists():
        return
    lines = ["feature,respondent,functional,dysfunctional"]
    for title, answers in KANO.items():
        feature = features.get(title)
        if feature is None:
            continue
        for k, (functional, dysfunctional) in enumerate(answers):
            lines.append(f"{feature.pk},R{k + 1:03d},{functional},{dysfunctional}")
    kano_import(actor=pm, data="\n".join(lines))


def _outcomes(pm, workspace, problems) -> None:
    for title, (importance, satisfaction, respondents) in OUTCOMES.items():
        problem = problems.get(title)
        if problem is None or OutcomeScore.objects.filter(workspace=workspace, problem=problem).exists():
            continue
        outcome_update(
            actor=pm, problem_id=problem.pk, importance=importance, satisfaction=satisfaction, respondents=respondents
        )


LOAD_PREFIX = "[load]"
WORDS = (
    "billing",
    "ledger",
    "cash",
    "audit",
    "sync",
    "export",
    "alerts",
    "tax",
    "vendor",
    "approvals",
    "budget",
    "forecast",
    "portal",
    "payouts",
    "reconcile",
    "close",
    "spend",
    "treasury",
)
URGENCY = ["standard"] * 14 + ["expedite", "intangible", "long_life_peak_affected", "fixed_date"]


def _build_large(workspace, rng, count: int = 5000) -> None:
    """5,000 generated open features with random inputs (about 1 in 12 lacks one), bulk-inserted."""
    if Feature.objects.filter(workspace=workspace, title__startswith=LOAD_PREFIX).exists():
        return
    today = timezone.localdate()
    rows = []
    for n in range(count):
        words = rng.sample(WORDS, 2)
        cod = [Decimal(rng.choice([0, 0, 250, 500, 1000, 2000, 4000, 8000])) for _ in range(4)]
        likely = Decimal(rng.choice(["0.5", "1", "2", "3", "5", "8", "13"]))
        urgency = rng.choice(URGENCY)
        feature = Feature(
            workspace=workspace,
            title=f"{LOAD_PREFIX} {words[0].title()} {words[1]} {n:04d}",
            status=rng.choice(["idea", "candidate", "planned", "in_progress"]),
            cod_increase_revenue=cod[0],
            cod_protect_revenue=cod[1],
            cod_reduce_cost=cod[2],
            cod_reduce_risk=cod[3],
            urgency=urgency,
            urgency_life_weeks=Decimal(52) if urgency == "long_life_peak_affected" else None,
            deadline=today + dt.timedelta(weeks=rng.randint(2, 40)) if urgency == "fixed_date" else None,
            duration_low=likely,
            duration_likely=None if n % 12 == 5 else likely,
            duration_high=likely * 2,
            wsjf_business_value=Decimal(rng.choice([1, 2, 3, 5, 8, 13, 20])),
            wsjf_time_criticality=Decimal(rng.choice([1, 2, 3, 5, 8, 13, 20])),
            wsjf_risk_reduction=Decimal(rng.choice([1, 2, 3, 5, 8, 13])),
            wsjf_job_size=Decimal(rng.choice([1, 2, 3, 5, 8, 13])),
            rice_reach=Decimal(rng.randint(10, 5000)),
            rice_impact=Decimal(rng.choice(["3", "2", "1", "0.5", "0.25"])),
            rice_confidence=Decimal(rng.choice([100, 80, 50])),
            rice_effort=Decimal(rng.choice(["0.5", "1", "2", "4", "8"])),
            ice_impact=Decimal(rng.randint(1, 10)),
            ice_confidence=Decimal(rng.randint(1, 10)),
            ice_ease=Decimal(rng.randint(1, 10)),
        )
        total = sum(cod, Decimal(0))
        feature.cod_per_week = total
        feature.cd3 = float(total / feature.duration_likely) if feature.duration_likely else None
        rows.append(feature)
    Feature.objects.bulk_create(rows, batch_size=500)
