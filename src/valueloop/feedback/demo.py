"""Demo data for feedback (see valueloop.demo): idempotent, seeded by context.rng.

About 3,000 items (100,000 more with ``--scale large``) from the demo's customers and their
contacts, across every source, over the last twelve months with a few recent surges (dunning
e-mails sent twice, a webhook outage, the mobile app's receipt scanner after an OS update).
Texts come from templates about a B2B invoicing and payments product, so search, filters and
evidence have something real to work on.

The demo takes one number from the shared RNG and draws everything else from its own generator
seeded with it, so the next app's demo sees the same RNG state on every run; external ids
(``demo-000123``) already present are skipped, so a second run creates nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

from django.utils import timezone

from valueloop.core.money import format_money

from . import services
from .importing import Row
from .models import FeedbackItem

SMALL = 3000
LARGE = 100_000
LARGE_PREFIX = "demo-large"  # external ids of the large batch; the themes demo leaves these to the worker

# theme: (tag, persona name or "", weight, titles, openings, details, asks)
THEMES: dict[str, tuple] = {
    "dunning": (
        "dunning",
        "Finance controller",
        9,
        [
            "Dunning reminders sent twice",
            "Reminder cadence too aggressive",
            "Pause dunning for disputed invoices",
            "Custom dunning templates per segment",
        ],
        [
            "Our customers received the same payment reminder twice this morning.",
            "A key account complained that our reminders feel like spam.",
            "We need to stop reminders while an invoice is disputed.",
            "Dunning emails still go out after the customer has paid by bank transfer.",
        ],
        [
            "It happened for {n} invoices in the {region} entity.",
            "One of them is our largest customer ({arr}).",
            "Our AR team spent the afternoon apologising.",
            "The second reminder went out {days} days too early.",
        ],
        [
            "Could reminders skip invoices with a promise-to-pay date?",
            "Please let us pause dunning per customer.",
            "We would love different cadences for enterprise and SMB customers.",
            "Can we preview the reminder schedule before it runs?",
        ],
    ),
    "reconciliation": (
        "bank-reconciliation",
        "Finance controller",
        8,
        [
            "Bank reconciliation misses partial payments",
            "Bank feed from {bank} stopped syncing",
            "Auto-match rules for reconciliation",
            "Reconciliation is slow at month end",
        ],
        [
            "Partial payments never match automatically, so we reconcile them by hand.",
            "The {bank} bank feed has not synced since {weekday}.",
            "Month-end close takes us two extra days because of unmatched payments.",
            "Payments with a reference in the wrong field are never matched.",
        ],
        [
            "We have about {n} unmatched transactions right now.",
            "Our auditors asked why the ledger is behind.",
            "The controller exports everything to Excel to match it there.",
            "This blocks our {weekday} close.",
        ],
        [
            "Could we define our own matching rules (amount range, reference contains)?",
            "Please suggest matches for partial payments.",
            "A bulk-match screen would save hours.",
            "Show why a payment did not match.",
        ],
    ),
    "receipts": (
        "receipt-capture",
        "AP clerk",
        7,
        [
            "Receipt scanner fails in low light",
            "Receipt capture crashes after iOS update",
            "Scan multi-page receipts",
            "Receipt OCR reads the wrong total",
        ],
        [
            "The mobile app cannot read receipts taken in a restaurant or a taxi.",
            "Since the last iOS update the camera screen freezes when I scan a receipt.",
            "Hotel bills have several pages and I can only scan the first one.",
            "The scanner picks the subtotal instead of the total with tip.",
        ],
        [
            "{n} of my colleagues gave up and email PDFs instead.",
            "I travel every week, so this matters a lot.",
            "The app asked me to retry three times.",
            "Our field sales team uses Android and iPhone.",
        ],
        [
            "Please add a flash toggle and manual crop.",
            "Let us add pages to one receipt.",
            "Could the app keep the photo and let me type the amount?",
            "Offline capture would help on flights.",
        ],
    ),
    "webhooks": (
        "webhooks",
        "Developer integrating the API",
        7,
        [
            "Webhook retries after an outage",
            "Missing invoice.paid webhooks",
            "Sign webhook payloads",
            "Webhook delivery log",
        ],
        [
            "We missed payment webhooks during your incident and had no way to replay them.",
            "invoice.paid events arrive minutes late or not at all for some accounts.",
            "Our security team requires signed webhook payloads.",
            "When a webhook fails we cannot see the response our server gave.",
        ],
        [
            "{n} orders were stuck in 'pending' in our shop.",
            "We now poll the API every minute as a workaround.",
            "Our integration partner is waiting on this to go live.",
            "It cost us a weekend of support tickets.",
        ],
        [
            "Please retry with exponential backoff for 72 hours.",
            "Give us a replay button per event.",
            "An HMAC signature header would be enough.",
            "A delivery log with status codes would help us debug.",
        ],
    ),
    "exports": (
        "exports",
        "CFO",
        6,
        ["Export to DATEV", "Scheduled CSV exports", "Excel export breaks umlauts", "Export aging report"],
        [
            "Our accountant needs a DATEV export every month.",
            "We export the same report every Monday by hand.",
            "The CSV export shows broken characters for customer names with umlauts in Excel.",
            "The AR aging report cannot be exported with our custom fields.",
        ],
        [
            "Right now we copy {n} lines by hand.",
            "The board pack is due every {weekday}.",
            "Our tax advisor charges us for the cleanup.",
            "We tried every export option.",
        ],
        [
            "Could exports be scheduled and emailed?",
            "Please support DATEV and SAF-T formats.",
            "An XLSX export would avoid the encoding problem.",
            "Let us pick the columns.",
        ],
    ),
    "approvals": (
        "approvals",
        "AP clerk",
        6,
        [
            "Approval reminders",
            "Approve invoices from Slack",
            "Multi-step approvals above a threshold",
            "Delegate approvals during vacation",
        ],
        [
            "Invoices wait for days because approvers forget to open the app.",
            "Managers want to approve from Slack instead of logging in.",
            "Invoices above {amount} need a second approver from finance.",
            "When a manager is on vacation, approvals simply stop.",
        ],
        [
            "We pay late fees because of it.",
            "Last month {n} invoices missed the payment run.",
            "Our CFO wants an audit trail of who approved what.",
            "Suppliers call us to ask where their money is.",
        ],
        [
            "Please send reminders after 48 hours.",
            "Slack or Teams approvals would change everything.",
            "Let us set approval chains by amount and cost centre.",
            "A delegate setting would solve it.",
        ],
    ),
    "tax": (
        "tax",
        "Finance controller",
        5,
        [
            "Reverse charge VAT on EU invoices",
            "Sales tax for US states",
            "Tax rounding differences",
            "VAT number validation",
        ],
        [
            "Invoices to EU business customers need the reverse-charge note.",
            "We started selling in the US and need state sales tax.",
            "Line-level rounding gives a different VAT total than our ERP.",
            "We invoiced a customer with an invalid VAT number.",
        ],
        [
            "Our auditor flagged {n} invoices.",
            "This blocks our expansion to {region}.",
            "The difference is only cents but the books do not match.",
            "We fix it with credit notes today.",
        ],
        [
            "Please add the reverse-charge text automatically.",
            "An integration with a tax engine would be great.",
            "Let us choose document-level rounding.",
            "Validate VAT numbers against VIES.",
        ],
    ),
    "currency": (
        "multi-currency",
        "CFO",
        5,
        [
            "Invoice in multiple currencies",
            "FX gains and losses",
            "Pay out in local currency",
            "Show ARR in our reporting currency",
        ],
        [
            "We invoice in EUR, GBP and USD and the reports mix them up.",
            "Realised FX gains and losses are not booked when a USD invoice is paid.",
            "Our {region} customers want to pay in their own currency.",
            "The dashboard adds up amounts in different currencies.",
        ],
        [
            "Finance fixes it in a spreadsheet every month.",
            "This affects about {n} invoices a month.",
            "The board asked why revenue jumped.",
            "Our ERP does this already.",
        ],
        [
            "Please convert with a daily rate and show both amounts.",
            "Book FX differences automatically.",
            "Let us set a rate source per entity.",
            "Group reports in the reporting currency.",
        ],
    ),
    "payments": (
        "payments",
        "Head of operations",
        6,
        [
            "SEPA direct debit",
            "Card payment fails with 3-D Secure",
            "Payment links expire too soon",
            "Partial card refunds",
        ],
        [
            "Customers in Germany expect to pay by SEPA direct debit.",
            "Card payments fail for some customers when their bank asks for 3-D Secure.",
            "Payment links in invoices expire after 7 days, customers pay later.",
            "We cannot refund part of a card payment.",
        ],
        [
            "We lost {n} payments last week.",
            "Our checkout conversion dropped.",
            "Support gets these calls every day.",
            "A competitor offered this in the last deal.",
        ],
        [
            "Please support SEPA mandates.",
            "Retry 3-D Secure with a fresh link.",
            "Let us choose the link lifetime.",
            "Partial refunds from the invoice screen, please.",
        ],
    ),
    "reporting": (
        "reporting",
        "CFO",
        6,
        [
            "13-week cash forecast",
            "DSO trend on the dashboard",
            "Custom dashboards per entity",
            "Forecast includes expected payments",
        ],
        [
            "I need a 13-week cash forecast for the board.",
            "We track DSO in a spreadsheet because it is not in the product.",
            "Each entity needs its own dashboard.",
            "The forecast ignores invoices with a promise-to-pay date.",
        ],
        [
            "The board meets every quarter.",
            "Our investors ask for it monthly.",
            "We have {n} entities in {region}.",
            "I spend a day per month on this.",
        ],
        [
            "Please add a weekly cash view.",
            "Show DSO over time with a target line.",
            "Let me save dashboard layouts.",
            "Use payment behaviour to predict dates.",
        ],
    ),
    "integrations": (
        "integrations",
        "Developer integrating the API",
        6,
        [
            "Two-way sync with {erp}",
            "{erp} sync creates duplicate customers",
            "Salesforce account sync",
            "API rate limits during sync",
        ],
        [
            "We need invoices and payments to flow both ways with {erp}.",
            "The {erp} sync creates a duplicate customer when the name changes.",
            "Sales wants invoice status on the Salesforce account.",
            "Our nightly sync hits the API rate limit after {n} requests.",
        ],
        [
            "We clean up duplicates every week.",
            "The integration is part of our renewal discussion.",
            "Our partner built a workaround that keeps breaking.",
            "We sync about {n} invoices a day.",
        ],
        [
            "Please match customers by external id.",
            "A native connector would save us a consultant.",
            "Raise the limit or offer bulk endpoints.",
            "Idempotency keys on the API would help.",
        ],
    ),
    "permissions": (
        "permissions",
        "Head of operations",
        4,
        ["SSO with Okta", "Read-only role for auditors", "Restrict access per entity", "SCIM provisioning"],
        [
            "Our security policy requires SSO for every finance tool.",
            "Auditors need read-only access during the year-end audit.",
            "Staff of one entity must not see the other entity's invoices.",
            "Offboarding people by hand is a compliance risk.",
        ],
        [
            "Our security review is in {days} days.",
            "IT blocks the rollout until then.",
            "We have {n} users across {region}.",
            "This came up in the procurement questionnaire.",
        ],
        [
            "Please support SAML with Okta and Azure AD.",
            "An auditor role with export rights.",
            "Permissions per entity and cost centre.",
            "SCIM would close the loop.",
        ],
    ),
    "invoicing": (
        "invoicing",
        "AP clerk",
        5,
        [
            "Recurring invoices with usage",
            "Invoice template per brand",
            "Credit notes linked to invoices",
            "Bulk send invoices",
        ],
        [
            "We bill a base fee plus usage every month and build the invoices by hand.",
            "We run two brands and need different invoice layouts.",
            "Credit notes are not linked to the invoice they correct.",
            "Sending {n} invoices at month end takes a whole morning.",
        ],
        [
            "Mistakes creep in every month.",
            "Customers ask which invoice a credit refers to.",
            "We are a team of two.",
            "Our volume doubles next quarter.",
        ],
        [
            "Please support usage-based lines from the API.",
            "Let us pick a template per brand.",
            "Show the link both ways.",
            "A bulk send with a preview would be perfect.",
        ],
    ),
    "performance": (
        "performance",
        "",
        3,
        ["Invoice list is slow", "Search takes seconds", "Dashboard times out", "Mobile app slow to open"],
        [
            "The invoice list takes ten seconds to load with our volume.",
            "Searching for a customer takes several seconds.",
            "The dashboard times out for our largest entity.",
            "The mobile app takes long to open on older phones.",
        ],
        [
            "We have about {n} invoices.",
            "It is worst on Monday mornings.",
            "Our team in {region} is affected most.",
            "It started two weeks ago.",
        ],
        [
            "Please make it faster.",
            "Pagination or filters by default would help.",
            "Could the dashboard load in parts?",
            "A lighter mobile start screen, please.",
        ],
    ),
    "onboarding": (
        "onboarding",
        "",
        3,
        ["Import customers from spreadsheet", "Onboarding checklist", "Sandbox for testing", "Migrate open invoices"],
        [
            "Importing our customer list failed without telling us which rows were wrong.",
            "New team members do not know where to start.",
            "We want to test the setup without sending real emails.",
            "We need to bring over {n} open invoices from our old tool.",
        ],
        [
            "It took us a week to get started.",
            "Our implementation partner asked the same.",
            "We are still running both tools in parallel.",
            "The trial is ending soon.",
        ],
        [
            "Show errors per row.",
            "A checklist in the app would help.",
            "A sandbox workspace, please.",
            "An import for open invoices.",
        ],
    ),
}

FRAMES = {
    "support": ["{text}", "Hi team,\n\n{text}\n\nThanks,\n{person}", "Ticket from {person}: {text}"],
    "sales_call": ["Call notes ({customer}): {text}", "Discovery call: {text}", "Prospect asked: {text}"],
    "interview": ["Interview with {person} ({role}): {text}", "Customer interview: {text}"],
    "survey": ["NPS {score}: {text}", "Survey answer: {text}"],
    "review": ["G2 review: {text}", "Capterra review, {stars} stars: {text}", "App store review: {text}"],
    "in_app": ["{text}", "Feedback widget: {text}"],
    "email": ["Email from {person}: {text}", "{text}\n\nBest regards,\n{person}"],
    "other": ["{text}", "From the community forum: {text}"],
}
SOURCE_WEIGHTS = [
    ("support", 34),
    ("in_app", 16),
    ("sales_call", 12),
    ("email", 11),
    ("survey", 10),
    ("interview", 6),
    ("review", 6),
    ("other", 5),
]
URL_PATTERNS = {
    "support": "https://ledgerly.zendesk.com/agent/tickets/{n}",
    "sales_call": "https://app.gong.io/call?id={n}",
    "in_app": "https://app.intercom.com/a/inbox/ledgerly/conversation/{n}",
    "review": "https://www.g2.com/products/ledgerly/reviews/ledgerly-review-{n}",
}
BANKS = ["Deutsche Bank", "Barclays", "HSBC", "Commerzbank", "ING", "BNP Paribas", "UBS", "Chase"]
ERPS = ["NetSuite", "SAP Business One", "Xero", "QuickBooks", "Microsoft Dynamics", "DATEV"]
REGIONS = ["DACH", "UK", "Nordics", "Benelux", "North America", "France", "Iberia"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
EXTRA_TAGS = ["churn-risk", "enterprise-ask", "quick-win", "bug", "competitor-mentioned"]
IMPORTANCE_WEIGHTS = [("", 55), ("nice_to_have", 15), ("important", 22), ("critical", 8)]
# (theme, days ago the surge peaks, width in days, extra share of items)
SURGES = [("dunning", 10, 12, 0.06), ("webhooks", 60, 6, 0.04), ("receipts", 25, 10, 0.03)]


THEME_WEIGHTS = [(key, spec[2]) for key, spec in THEMES.items()]
_CUMULATIVE: dict[int, tuple[list, list[float]]] = {}  # by id() of the module-level tables above


def _weighted(rng: random.Random, pairs):
    # cumulative weights computed once per table: choices() then bisects instead of summing
    table = _CUMULATIVE.get(id(pairs))
    if table is None:
        keys = [k for k, _ in pairs]
        cumulative = list(itertools.accumulate(float(w) for _, w in pairs))
        table = _CUMULATIVE[id(pairs)] = (keys, cumulative)
    return rng.choices(table[0], cum_weights=table[1], k=1)[0]


def _received_at(rng: random.Random, now: dt.datetime, theme: str) -> dt.datetime:
    for surge_theme, peak, width, share in SURGES:
        if surge_theme == theme and rng.random() < share * 8:
            days = max(0.0, rng.gauss(peak, width / 2))
            break
    else:
        # more feedback recently: the product grew over the year
        days = 365 * (1 - rng.random() ** 0.7)
    moment = now - dt.timedelta(days=days, minutes=rng.randint(0, 24 * 60))
    return min(moment, now - dt.timedelta(minutes=5))


STATUS_RECENT = [("new", 80), ("triaged", 18), ("archived", 2)]
STATUS_MONTHS = [("new", 30), ("triaged", 55), ("archived", 15)]
STATUS_OLD = [("new", 10), ("triaged", 55), ("archived", 35)]


def _status(rng: random.Random, days_old: float) -> str:
    if days_old < 14:
        return _weighted(rng, STATUS_RECENT)
    if days_old < 90:
        return _weighted(rng, STATUS_MONTHS)
    return _weighted(rng, STATUS_OLD)


def _items(rng, total: int, prefix: str, customers, contacts_by_customer, personas) -> list[tuple[Row, str]]:
    """(row, status) for ``total`` items; every draw happens whatever exists already."""
    now = timezone.now()
    customer_cum = list(itertools.accumulate(max(1.0, float(c.arr_base) ** 0.5) for c in customers))
    # The demo workspace is in euros; whole euros, printed as the pages print money ("€14,536,007 ARR").
    arr_labels = {c.pk: f"{format_money(round(c.arr_base), 'EUR', 'en')} ARR" for c in customers}
    out: list[tuple[Row, str]] = []
    for n in range(total):
        theme = _weighted(rng, THEME_WEIGHTS)
        tag, persona_name, _, titles, openings, details, asks = THEMES[theme]
        source = _weighted(rng, SOURCE_WEIGHTS)
        customer = rng.choices(customers, cum_weights=customer_cum, k=1)[0] if customers else None
        contacts = contacts_by_customer.get(customer.pk, []) if customer else []
        contact = rng.choice(contacts) if contacts and rng.random() < 0.8 else None
        slots = {
            "n": rng.choice([3, 4, 7, 12, 18, 25, 40, 60, 120, 300, 1200]),
            "days": rng.randint(2, 30),
            "bank": rng.choice(BANKS),
            "erp": rng.choice(ERPS),
            "region": rng.choice(REGIONS),
            "weekday": rng.choice(WEEKDAYS),
            "amount": rng.choice(["5,000 EUR", "10,000 EUR", "25,000 EUR", "50,000 USD"]),
            "arr": arr_labels[customer.pk] if customer else "a large account",
        }
        sentences = [rng.choice(openings)]
        if rng.random() < 0.75:
            sentences.append(rng.choice(details))
        if rng.random() < 0.85:
            sentences.append(rng.choice(asks))
        body = " ".join(s.format(**slots) for s in sentences)
        person = (contact.name if contact and contact.name else "") or rng.choice(["Anna", "Ben", "Chloé", "Jonas"])
        frame = rng.choice(FRAMES[source])
        text = frame.format(
            text=body,
            person=person,
            customer=customer.name if customer else "prospect",
            role=persona_name or "user",
            score=rng.randint(3, 9),
            stars=rng.randint(2, 5),
        )
        title = rng.choice(titles).format(**slots) if rng.random() < 0.8 else ""
        received_at = _received_at(rng, now, theme)
        days_old = (now - received_at).total_seconds() / 86400
        tags = [tag]
        if rng.random() < 0.15:
            tags.append(rng.choice(EXTRA_TAGS))
        importance = _weighted(rng, IMPORTANCE_WEIGHTS)
        url_pattern = URL_PATTERNS.get(source)
        url = url_pattern.format(n=100000 + n) if url_pattern and rng.random() < 0.9 else ""
        status = _status(rng, days_old)
        persona_id = personas.get(persona_name) if persona_name and rng.random() < 0.35 else None
        row = Row(
            number=n + 1,
            external_id=f"{prefix}-{n:06d}",
            title=title,
            text=text,
            received_at=received_at,
            source=source,
            customer_id=customer.pk if customer else None,
            contact_id=contact.pk if contact else None,
            url=url,
            importance=importance,
            tags=list(dict.fromkeys(tags)),
            persona_ids=[persona_id] if persona_id else [],
        )
        out.append((row, status))
    return out


def build(context) -> None:
    from valueloop.customers.facade import Contact, Customer, Persona

    workspace = context.workspace
    customers = list(Customer.objects.filter(workspace=workspace).order_by("id").only("id", "name", "arr_base"))
    contacts_by_customer: dict[int, list] = {}
    for contact in Contact.objects.filter(workspace=workspace, customer__isnull=False).order_by("id"):
        contacts_by_customer.setdefault(contact.customer_id, []).append(contact)
    personas = dict(Persona.objects.filter(workspace=workspace).values_list("name", "id"))
    batches = [("demo", SMALL)]
    if context.scale == "large":
        batches.append((LARGE_PREFIX, LARGE))
    actor = context.actor_for("priya")
    # One draw from the shared stream, whatever happens below: the next app's demo sees the same
    # RNG state on every run, and this app's items depend only on that state.
    rng = random.Random(context.rng.random())
    for prefix, total in batches:
        items = _items(rng, total, prefix, customers, contacts_by_customer, personas)
        existing = set(
            FeedbackItem.objects.filter(workspace=workspace, external_id__startswith=f"{prefix}-").values_list(
                "external_id", flat=True
            )
        )
        fresh = [(row, status) for row, status in items if row.external_id not in existing]
        if not fresh:
            continue
        for row, status in fresh:
            row.status = status  # demo history: triage happened over the year
        services.feedback_load_rows(actor=actor, rows=[row for row, _ in fresh], label=f"demo feedback ({prefix})")
