"""Demo data for themes, run right after the feedback demo (see valueloop.demo): a few recent
"whispers" about a new need (e-invoicing mandates, a legal PESTEL signal) from several accounts, which
the themes demo later shows as an emerging theme.

It runs before the evidence demo on purpose: that step draws random numbers per feedback item, so
items added after it would change its picks on a second run. Idempotent by external id
(``demo-whisper-NN``); one number is drawn from the shared RNG whatever happens.
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

# A new regulation customers start to ask about: e-invoicing mandates (a PESTEL "legal" whisper).
WHISPERS = [
    ("email", "The e-invoicing mandate: we must receive XRechnung e-invoices from January. Does Ledgerly support it?"),
    ("sales_call", "Prospect asked whether Ledgerly sends XRechnung e-invoices for the e-invoicing mandate."),
    ("support", "Can we issue ZUGFeRD or XRechnung e-invoices? The e-invoicing mandate applies to us next year."),
    ("in_app", "Please support Peppol e-invoicing, the e-invoicing mandate in Belgium starts soon."),
    ("support", "E-invoicing mandate in France: our customers will require structured e-invoices, XRechnung-like."),
    ("sales_call", "Renewal at risk unless we can send XRechnung e-invoices before the e-invoicing mandate deadline."),
    ("email", "Do you validate XRechnung e-invoices against EN 16931? Needed for the e-invoicing mandate."),
    ("interview", "Finance lead: the e-invoicing mandate is our biggest worry; we need XRechnung e-invoices."),
    ("support", "We received an XRechnung e-invoice and cannot import it. The e-invoicing mandate starts in January."),
    ("in_app", "E-invoicing mandate: when will XRechnung and Peppol e-invoices be available?"),
    ("email", "Our tax advisor says the e-invoicing mandate needs XRechnung e-invoices; is it on your roadmap?"),
]


def _whisper_rows(context, rng: random.Random):
    from valueloop.customers.facade import Customer
    from valueloop.feedback.facade import FeedbackItem
    from valueloop.feedback.importing import Row

    workspace = context.workspace
    existing = set(
        FeedbackItem.objects.filter(workspace=workspace, external_id__startswith="demo-whisper-").values_list(
            "external_id", flat=True
        )
    )
    customers = list(
        Customer.objects.filter(workspace=workspace, archived_at=None)
        .order_by("-arr_base", "id")[:60]
        .values_list("id", flat=True)
    )
    picked = rng.sample(customers, k=min(len(customers), len(WHISPERS) - 2)) if customers else []
    now = timezone.now()
    rows = []
    for n, (source, text) in enumerate(WHISPERS):
        customer_id = picked[n % len(picked)] if picked else None
        received_at = now - dt.timedelta(days=1 + rng.random() * 11, minutes=rng.randint(0, 600))
        external_id = f"demo-whisper-{n:02d}"
        if external_id in existing:
            continue
        rows.append(
            Row(
                number=n + 1,
                external_id=external_id,
                title="",
                text=text,
                received_at=received_at,
                source=source,
                customer_id=customer_id,
                contact_id=None,
                url="",
                importance="important" if n % 3 == 0 else "",
                tags=["e-invoicing"],
                persona_ids=[],
            )
        )
    return rows


def build(context) -> None:
    from valueloop.feedback import services as feedback_services

    rng = random.Random(context.rng.random())  # one draw from the shared stream, always
    rows = _whisper_rows(context, rng)
    if rows:
        feedback_services.feedback_load_rows(actor=context.actor_for("sofia"), rows=rows, label="demo whispers")
