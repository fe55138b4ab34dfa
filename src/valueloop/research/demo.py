"""Demo data for research (see valueloop.demo): idempotent, seeded by context.rng.

Six customer interviews with realistic notes (one without consent to quote), highlights in them,
and about 450 NPS/CSAT responses over the last twelve months whose comments land in the feedback
inbox. Interviews find their accounts and participants among the demo's customers when the
customers demo has made some; without them they are still created, account-less.

One number is drawn from ``context.rng`` whatever exists already, so the state handed to the next
app's demo is the same on every run.
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from valueloop.customers.models import Contact, Customer

from . import services
from .models import Highlight, Interview

INTERVIEWS = [
    {
        "title": "Month-end close with a mid-market finance team",
        "segment": "mid_market",
        "days_ago": 160,
        "consent": True,
        "notes": """## Context

Quarterly check-in with the controller and an AR specialist. They run Ledgerly Core for invoicing
and reconcile two bank accounts (EUR and GBP).

## What we heard

- Month-end close **takes three to four days**, most of it matching bank lines to invoices.
- Partial payments never match automatically; they keep a spreadsheet of "open partials".
- "If the bank feed could suggest the invoice, we would close on day one."
- The GBP account's feed from their bank breaks every Monday and nobody notices until Wednesday.

## Follow-ups

1. Share the auto-reconcile prototype with them in the next beta.
2. Ask support for the bank-feed error logs.
""",
        "highlights": [
            ("takes three to four days", "problem", "Month-end close takes days of manual reconciliation", 4),
            (
                "If the bank feed could suggest the invoice, we would close on day one.",
                "feature",
                "Auto-reconcile bank lines",
                4,
            ),
            ("breaks every Monday and nobody notices until Wednesday", "", "", 0),
        ],
    },
    {
        "title": "Dunning and failed card payments (enterprise)",
        "segment": "enterprise",
        "days_ago": 120,
        "consent": True,
        "notes": """## Who

Head of credit control and their billing operations lead.

## Notes

They lose around 2% of subscription revenue a month to **failed card payments** that nobody chases.
Our dunning sends one reminder and stops; by the time their team notices, the customer has churned.

> "A card fails on Friday, the retry happens never, and we find out at the renewal."

They would pay for smarter retries that avoid weekends and pay days, and for card updates from the
networks so expired cards never fail in the first place.
""",
        "highlights": [
            (
                "A card fails on Friday, the retry happens never, and we find out at the renewal.",
                "problem",
                "Failed card payments churn customers silently",
                4,
            ),
            ("smarter retries that avoid weekends and pay days", "feature", "Smart dunning retries", 3),
            ("card updates from the\nnetworks", "feature", "Card updater via the network tokens", 3),
        ],
    },
    {
        "title": "Receipt capture on the road (field sales team)",
        "segment": "smb",
        "days_ago": 95,
        "consent": True,
        "notes": """Spoke with three field sales reps who submit expenses from their phones.

- Photos taken in restaurants and taxis come out **blurry**; the total is often missed.
- Two of three retake the photo at least twice; one gave up and types the amount by hand.
- "In a dark restaurant the scanner just sees nothing."
- They like the approval flow; approvers reply from the notification.
""",
        "highlights": [
            ("In a dark restaurant the scanner just sees nothing.", "feature", "Low-light receipt capture", 3),
            ("retake the photo at least twice", "problem", "Receipt capture fails in poor light", 3),
        ],
    },
    {
        "title": "CFO roundtable: cash forecasting",
        "segment": "enterprise",
        "days_ago": 70,
        "consent": True,
        "notes": """## Roundtable with four CFOs

Everyone exports invoices and bills to Excel to build a **13-week cash forecast** every Monday.
It takes half a day and is out of date by Wednesday.

- One CFO: "I want to see next quarter's cash the way I see last quarter's revenue."
- Scenario planning (what if the two largest customers pay 30 days late) matters more than precision.
- They would share the forecast with the board, so it has to export cleanly.
""",
        "highlights": [
            (
                "I want to see next quarter's cash the way I see last quarter's revenue.",
                "feature",
                "13-week cash forecast",
                4,
            ),
            ("Scenario planning", "problem", "CFOs cannot see a 13-week cash forecast", 3),
        ],
    },
    {
        "title": "Partner integration review (webhooks)",
        "segment": "startup",
        "days_ago": 40,
        "consent": True,
        "notes": """Integration partner building an AP automation add-on on our API.

Their endpoint was down for 40 minutes during a deploy and they **lost every webhook** sent in that
window. There is no retry and no way to replay events, so they had to re-sync everything by polling.

They asked for: retries with back-off, a replay endpoint, and a delivery log in the developer portal.
""",
        "highlights": [
            ("lost every webhook", "problem", "Partners miss webhook events during outages", 4),
            ("retries with back-off, a replay endpoint", "feature", "Webhook retries and replay", 4),
        ],
    },
    {
        "title": "Approvals in two currencies (no recording consent)",
        "segment": "mid_market",
        "days_ago": 20,
        "consent": False,
        "notes": """The customer asked us not to quote them.

Approvers in the US entity see invoice amounts in EUR without the USD equivalent and approve
things they would otherwise question. They asked for the base currency next to every amount.
""",
        "highlights": [("base currency next to every amount", "", "", 0)],
    },
]

# (low, high) NPS score ranges with weights per segment: enterprise happier, SMB more volatile.
NPS_PROFILES = {
    "enterprise": [(9, 10, 45), (7, 8, 35), (0, 6, 20)],
    "mid_market": [(9, 10, 40), (7, 8, 35), (0, 6, 25)],
    "smb": [(9, 10, 35), (7, 8, 30), (0, 6, 35)],
    "startup": [(9, 10, 50), (7, 8, 25), (0, 6, 25)],
    "public_sector": [(9, 10, 30), (7, 8, 40), (0, 6, 30)],
    "": [(9, 10, 35), (7, 8, 35), (0, 6, 30)],
}
PROMOTER_COMMENTS = [
    "Invoicing is so much faster than our old tool.",
    "The dunning emails recovered a lot of late payments for us.",
    "Support answered within the hour, every time.",
    "The approval flow on mobile is great; our managers approve from anywhere.",
    "Low-light receipt capture finally works in restaurants.",
]
PASSIVE_COMMENTS = [
    "Good product, but month-end reconciliation is still manual.",
    "We would love a 13-week cash forecast instead of exporting to Excel.",
    "Works well; multi-currency approvals are confusing for our US team.",
    "Fine overall. The API could use webhook retries.",
]
DETRACTOR_COMMENTS = [
    "Failed card payments are never retried and we lose customers.",
    "Bank reconciliation misses partial payments; we match them by hand.",
    "Webhooks were lost during our outage and there is no replay.",
    "Receipt scanning fails whenever the light is poor.",
    "Too expensive for what we use.",
]
CSAT_COMMENTS = {
    5: ["Quick and friendly support.", "Solved on the first reply."],
    4: ["Helpful, took a day.", "Good answer, a bit slow."],
    3: ["Had to explain the problem twice."],
    2: ["The workaround did not really help with reconciliation."],
    1: ["Still waiting for a fix to the bank feed."],
}


def _interviews(context, rng: random.Random, actor) -> None:
    workspace = context.workspace
    by_segment: dict[str, list[Customer]] = {}
    for customer in Customer.objects.filter(workspace=workspace, archived_at=None).order_by("-arr_base", "id")[:200]:
        by_segment.setdefault(customer.segment or "", []).append(customer)
    researcher = context.users.get("hana")
    for spec in INTERVIEWS:
        # Draw first, whether or not the interview exists: the RNG state must not depend on it.
        candidates = by_segment.get(spec["segment"]) or [c for group in by_segment.values() for c in group]
        pick = rng.random()
        if Interview.objects.filter(workspace=workspace, title=spec["title"]).exists():
            continue
        account = candidates[int(pick * len(candidates))] if candidates else None
        participants = (
            list(Contact.objects.filter(workspace=workspace, customer=account).exclude(email="").order_by("id")[:3])
            if account
            else []
        )
        happened_on = timezone.localdate() - dt.timedelta(days=spec["days_ago"])
        interview = services.interview_create(
            actor=actor,
            title=spec["title"],
            happened_on=happened_on,
            notes=spec["notes"],
            consent=spec["consent"],
            customer_id=account.pk if account else None,
            participant_ids=[c.pk for c in participants],
        )
        if researcher is not None:
            Interview.objects.filter(pk=interview.pk).update(interviewer=researcher)
        for text, *_ in spec["highlights"]:
            if not Highlight.objects.filter(interview=interview, text__contains=text.split("\n")[0][:40]).exists():
                services.highlight_create(actor=actor, interview_id=interview.pk, text=text)


def _pick(rng: random.Random, profile) -> int:
    total = sum(w for _, _, w in profile)
    roll = rng.random() * total
    for low, high, weight in profile:
        if roll < weight:
            return rng.randint(low, high)
        roll -= weight
    return profile[-1][1]


def _surveys(context, rng: random.Random, actor) -> None:
    workspace = context.workspace
    customers = list(
        Customer.objects.filter(workspace=workspace, archived_at=None)
        .order_by("id")
        .values_list("id", "segment", "external_id", "name")
    )
    contacts: dict[int, list[str]] = {}
    for customer_id, email in (
        Contact.objects.filter(workspace=workspace).exclude(email="").values_list("customer_id", "email")
    ):
        contacts.setdefault(customer_id, []).append(email)
    now = timezone.now()
    lines = ["id,kind,score,comment,account,email,date"]

    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value

    for kind, count in (("nps", 320), ("csat", 140)):
        for n in range(count):
            days_ago = int(rng.random() * 364)
            customer = customers[int(rng.random() * len(customers))] if customers else None
            segment = customer[1] if customer else ""
            profile = NPS_PROFILES.get(segment, NPS_PROFILES[""])
            # A gentle improvement over the year: older answers are a little more critical.
            if kind == "nps":
                score = _pick(rng, profile)
                if days_ago > 200 and score >= 7 and rng.random() < 0.25:
                    score = rng.randint(4, 6)
                pool = PROMOTER_COMMENTS if score >= 9 else PASSIVE_COMMENTS if score >= 7 else DETRACTOR_COMMENTS
            else:
                score = min(5, max(1, round(rng.gauss(4.0 if days_ago < 180 else 3.6, 1.0))))
                pool = CSAT_COMMENTS[score]
            comment = rng.choice(pool) if rng.random() < 0.3 else ""
            emails = contacts.get(customer[0], []) if customer else []
            email = emails[int(rng.random() * len(emails))] if emails and rng.random() < 0.6 else ""
            account = (customer[2] or customer[3]) if customer else ""
            when = (now - dt.timedelta(days=days_ago, minutes=int(rng.random() * 600))).isoformat()
            lines.append(
                ",".join([f"demo-{kind}-{n:04d}", kind, str(score), cell(comment), cell(account), email, when])
            )
    services.survey_import(
        actor=actor,
        data=("\n".join(lines) + "\n").encode(),
        filename="demo-surveys.csv",
        allow_unknown_accounts=True,
    )


def build(context) -> None:
    rng = random.Random(context.rng.random())
    actor = context.actor_for("priya")
    _interviews(context, rng, actor)
    _surveys(context, rng, actor)
