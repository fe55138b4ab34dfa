"""Feedback texts on a few clearly different topics, for theme tests (deterministic).

Each text is an opening and a detail of the same topic, so that texts of one topic share their
vocabulary and texts of different topics share little (the lexical backend used in tests compares
words, not meaning)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

TOPICS = {
    "dunning": (
        [
            "Dunning reminder emails were sent twice to our customers",
            "The dunning reminder cadence is too aggressive for our customers",
            "Please let us pause dunning reminders for disputed invoices",
            "Dunning reminders still go out after the customer paid the invoice",
            "We need custom dunning reminder templates per customer segment",
        ],
        [
            "Customers call us angry about the duplicate dunning reminders.",
            "Our collections team apologises for dunning reminders every week.",
            "A dunning reminder schedule preview would stop the complaints.",
            "Reminders should skip customers with a promise to pay.",
        ],
    ),
    "receipts": (
        [
            "The mobile receipt scanner fails to read receipts in low light",
            "Receipt capture crashes the phone camera after the iOS update",
            "Let me scan multi-page hotel receipts in the mobile app",
            "The receipt OCR reads the subtotal instead of the receipt total",
            "Receipt scanning on Android phones freezes the camera",
        ],
        [
            "Travelling sales reps photograph receipts in taxis and restaurants.",
            "The receipt photo is blurry so the scanner gives up.",
            "A flash toggle in the receipt camera would help.",
            "Field staff email receipt PDFs instead of scanning.",
        ],
    ),
    "webhooks": (
        [
            "Webhook deliveries failed during the outage and we cannot replay webhook events",
            "Please sign webhook payloads with an HMAC signature header",
            "We need a webhook delivery log with response status codes",
            "Payment webhook events arrive late or never for some accounts",
            "Retry failed webhook deliveries with exponential backoff",
        ],
        [
            "Our integration polls the API because webhooks are unreliable.",
            "Developers cannot debug webhook failures without delivery logs.",
            "The partner integration depends on webhook retries.",
            "Security review requires signed webhook payloads.",
        ],
    ),
    "exports": (
        [
            "Export the ledger to DATEV format every month for our accountant",
            "Schedule CSV exports of the aging report by email",
            "The Excel CSV export breaks umlauts in customer names",
            "Let us choose the columns of the CSV export",
            "An XLSX export of the aging report for our tax advisor",
        ],
        [
            "The accountant rebuilds the CSV export in a spreadsheet.",
            "Exporting the aging report by hand takes an afternoon.",
            "Our tax advisor charges extra to clean up the export file.",
            "Spreadsheet exports should keep the column order.",
        ],
    ),
}

WHISPER = [
    "SOC 2 auditors need an immutable audit trail",
    "Our SOC 2 audit needs an audit trail of user permissions",
    "Compliance asks for an audit trail before the SOC 2 audit",
    "Auditors want to see the SOC 2 audit trail",
    "SOC 2 audit: keep an immutable audit trail for compliance",
]


def texts(topic: str, n: int, rng: random.Random) -> list[str]:
    openings, details = TOPICS[topic]
    return [f"{openings[i % len(openings)]}. {rng.choice(details)}" for i in range(n)]


def make_items(workspace, per_topic: int = 12, *, customers=(), days_back: int = 120, seed: int = 1):
    """Feedback items spread over ``days_back`` days (none in the last two weeks), round-robin over
    ``customers``."""
    from valueloop.feedback.models import FeedbackItem

    rng = random.Random(seed)
    now = timezone.now()
    items = []
    n = 0
    for topic in TOPICS:
        for text in texts(topic, per_topic, rng):
            customer = customers[n % len(customers)] if customers else None
            items.append(
                FeedbackItem(
                    workspace=workspace,
                    text=text,
                    source=rng.choice(["support", "in_app", "email"]),
                    customer=customer,
                    received_at=now - dt.timedelta(days=rng.uniform(15, days_back)),
                    external_id=f"t{seed}-{topic}-{n}",
                )
            )
            n += 1
    return FeedbackItem.objects.bulk_create(items)
