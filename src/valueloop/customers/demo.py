"""Demo data for customers (see valueloop.demo): idempotent, seeded by context.rng.

About 300 B2B accounts (3,000 with ``--scale large``) with a realistic ARR spread: a handful of
enterprise accounts between 200k and 1.5M, a mid-market band, and a long tail of small businesses
between 3k and 30k. UK accounts bill in GBP, North American ones in USD, Swiss ones in CHF, with
rates to the demo's EUR. 1-4 contacts per account and five personas.

The rows go through the CSV importer (the same code path as a user's import), so a second run
finds every external id and creates nothing. All random draws happen whether or not a row exists,
so the RNG state handed to the next app's demo is the same on every run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import unicodedata

from django.utils import timezone

from . import importing, services
from .models import Contact, Customer, Persona

RATES = {"GBP": "1.17", "USD": "0.92", "CHF": "1.05"}

PERSONAS = [
    (
        "Finance controller",
        "Runs the monthly close for a mid-sized company; owns the chart of accounts and the audit trail.",
        "- Close the books in five working days\n- No surprises for the auditors\n"
        "- One source of truth for receivables",
        "When the month ends, I want every invoice reconciled against payments, so I can close without "
        "spreadsheets.\n\nWhen an auditor asks, I want the history of every change, so I can answer in minutes.",
    ),
    (
        "CFO",
        "Accountable for cash, forecasts and the board pack; reads dashboards, rarely does data entry.",
        "- Predictable cash flow\n- Fewer tools, lower cost\n- Confidence in the numbers shown to the board",
        "When I prepare the board meeting, I want a 13-week cash forecast I trust, so I can plan hiring and spend.",
    ),
    (
        "AP clerk",
        "Processes dozens of supplier invoices a day, chases approvals and matches receipts.",
        "- Clear the inbox by the end of the day\n- Never pay an invoice twice\n- Fewer manual approval reminders",
        "When an invoice arrives, I want it captured and routed to the right approver automatically, so I "
        "can stop chasing people.",
    ),
    (
        "Developer integrating the API",
        "A partner or in-house engineer wiring Ledgerly into an ERP, a shop or a payment provider.",
        "- Reliable webhooks with retries\n- Clear errors and idempotent requests\n- A sandbox that behaves "
        "like production",
        "When a payment settles, I want a webhook I can rely on, so I can update orders without polling.",
    ),
    (
        "Head of operations",
        "Owns processes across finance and customer success at a scaling company.",
        "- Automate repetitive work\n- See bottlenecks before customers notice",
        "When a customer is at risk, I want to see their open invoices and tickets in one place, so I can act "
        "before renewal.",
    ),
]

PREFIXES = [
    "Northwind",
    "Acme",
    "Bluepeak",
    "Brightline",
    "Crescent",
    "Evergreen",
    "Fjord",
    "Granite",
    "Harbor",
    "Ironbridge",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Meridian",
    "Nimbus",
    "Oakridge",
    "Pinecrest",
    "Quarry",
    "Redwood",
    "Silverline",
    "Tidewater",
    "Umbra",
    "Vantage",
    "Westbrook",
    "Yellowfin",
    "Zenith",
    "Alder",
    "Beacon",
    "Cobalt",
    "Driftwood",
    "Ember",
    "Foxglove",
    "Greystone",
    "Hollow",
    "Indigo",
    "Jasper",
    "Kestrel",
    "Lumen",
    "Maple",
    "Northstar",
    "Orchard",
    "Pioneer",
    "Quill",
    "Riverbend",
    "Summit",
    "Thistle",
    "Upland",
    "Verdant",
    "Willow",
    "Aurora",
    "Birch",
    "Cedar",
    "Delta",
    "Elm",
    "Falcon",
    "Glacier",
    "Heron",
    "Ivory",
]
SECTORS = [
    "Logistics",
    "Foods",
    "Health",
    "Analytics",
    "Manufacturing",
    "Retail",
    "Energy",
    "Media",
    "Travel",
    "Robotics",
    "Pharma",
    "Textiles",
    "Insurance",
    "Software",
    "Mobility",
    "Capital",
    "Labs",
    "Systems",
    "Networks",
    "Partners",
    "Studios",
    "Brewing",
    "Dental",
    "Freight",
]
REGIONS = [
    # region, share, currency, legal suffixes, top-level domain
    ("DACH", 0.30, "EUR", ["GmbH", "AG"], "de"),
    ("UK & Ireland", 0.20, "GBP", ["Ltd", "plc"], "co.uk"),
    ("North America", 0.18, "USD", ["Inc.", "LLC", "Corp."], "com"),
    ("Benelux", 0.10, "EUR", ["BV", "NV"], "nl"),
    ("Nordics", 0.09, "EUR", ["AB", "Oy", "AS"], "se"),
    ("France", 0.07, "EUR", ["SAS", "SA"], "fr"),
    ("Switzerland", 0.03, "CHF", ["AG", "SA"], "ch"),
    ("Southern Europe", 0.03, "EUR", ["S.p.A.", "S.L."], "it"),
]
# segment, share, ARR lognormal (median, sigma), clamp (low, high), plans
SEGMENTS = [
    ("enterprise", 0.05, (520_000, 0.45), (200_000, 1_500_000), ["Enterprise"]),
    ("mid_market", 0.22, (75_000, 0.45), (32_000, 200_000), ["Business", "Enterprise"]),
    ("smb", 0.50, (9_000, 0.55), (3_000, 30_000), ["Starter", "Growth"]),
    ("startup", 0.15, (6_000, 0.5), (3_000, 25_000), ["Starter", "Growth"]),
    ("public_sector", 0.08, (60_000, 0.6), (20_000, 300_000), ["Business", "Enterprise"]),
]
FIRST = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Katrin",
    "Lukas",
    "Maria",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Simon",
    "Tara",
    "Uwe",
    "Vera",
    "Will",
    "Yara",
    "Zoe",
    "Amir",
    "Bea",
    "Chen",
    "Dana",
    "Emil",
    "Fatima",
    "Gus",
    "Helen",
    "Ivan",
    "Julia",
    "Kofi",
    "Lea",
    "Mats",
    "Nina",
    "Omar",
    "Pia",
]
LAST = [
    "Schmidt",
    "Müller",
    "Weber",
    "Smith",
    "Jones",
    "Brown",
    "Dubois",
    "Martin",
    "Jansen",
    "de Vries",
    "Andersson",
    "Nielsen",
    "Rossi",
    "Bianchi",
    "García",
    "Novak",
    "Kowalski",
    "Murphy",
    "Walsh",
    "Taylor",
    "Wilson",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Laurent",
    "Moreau",
    "Berg",
    "Lind",
]
TITLES = [
    "Finance Controller",
    "CFO",
    "Accounts Payable Clerk",
    "Head of Finance",
    "Senior Developer",
    "IT Manager",
    "Head of Operations",
    "Accounting Lead",
    "VP Finance",
    "Integration Engineer",
]


def _pick(rng, weighted):
    point, total = rng.random(), 0.0
    for item in weighted:
        total += item[1]
        if point <= total:
            return item
    return weighted[-1]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def _accounts(context, count: int) -> list[dict]:
    rng = context.rng
    today = timezone.localdate()
    owners = ["jamal", "sofia", "sofia", "priya", "tom"]
    names: set[str] = set()
    rows = []
    for n in range(1, count + 1):
        region, _, currency, suffixes, tld = _pick(rng, REGIONS)
        segment, _, (median, sigma), (low, high), plans = _pick(rng, SEGMENTS)
        prefix, sector, suffix = rng.choice(PREFIXES), rng.choice(SECTORS), rng.choice(suffixes)
        base = f"{prefix} {sector}"
        variant = rng.choice(["Group", "Holding", "International", "Solutions"])
        if base in names:
            base = f"{prefix} {sector} {variant}"
        if base in names:
            base = f"{prefix} {sector} {n}"
        names.add(base)
        name = f"{base} {suffix}"
        arr_eur = min(high, max(low, rng.lognormvariate(math.log(median), sigma)))
        lifecycle = _pick(rng, [("customer", 0.78), ("trial", 0.07), ("prospect", 0.09), ("churned", 0.06)])[0]
        health = _pick(rng, [("good", 0.6), ("at_risk", 0.25), ("poor", 0.1), ("", 0.05)])[0]
        owner = rng.choice(owners)
        renewal = today + dt.timedelta(days=rng.randint(-20, 365))
        rate = float(RATES.get(currency, "1"))
        arr = round(arr_eur / rate / 100) * 100  # list prices end in hundreds in the billing currency
        plan = plans[0] if arr_eur < (low + high) / 3 or len(plans) == 1 else plans[1]
        if lifecycle in ("prospect", "churned"):
            arr, health = 0, "" if lifecycle == "prospect" else "poor"
        if lifecycle == "trial":
            arr, plan = 0, "Trial"
        rows.append(
            {
                "external_id": f"DEMO-ACC-{n:04d}",
                "name": name,
                "domain": f"{_slug(base)}.{tld}",
                "segment": segment,
                "plan": plan if lifecycle != "prospect" else "",
                "arr": f"{arr:.2f}",
                "arr_currency": currency,
                "lifecycle": lifecycle,
                "region": region,
                "owner": f"{owner}@demo.valueloop.example"
                if lifecycle != "prospect"
                else "jamal@demo.valueloop.example",
                "renewal_date": renewal.isoformat() if lifecycle == "customer" else "",
                "health": health if lifecycle == "customer" or lifecycle == "churned" else "",
            }
        )
    return rows


def _contacts(context, accounts: list[dict]) -> list[dict]:
    rng = context.rng
    rows, n = [], 0
    for account in accounts:
        used: set[str] = set()
        for _ in range(rng.randint(1, 4)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            local = f"{_slug(first)}.{_slug(last)}"
            title = rng.choice(TITLES)
            unsubscribed = rng.random() < 0.03
            if local in used:
                continue
            used.add(local)
            n += 1
            rows.append(
                {
                    "external_id": f"DEMO-CON-{n:05d}",
                    "first_name": first,
                    "last_name": last,
                    "email": f"{local}@{account['domain']}",
                    "title": title,
                    "account_external_id": account["external_id"],
                    "unsubscribed": "yes" if unsubscribed else "no",
                }
            )
    return rows


def _csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def build(context) -> None:
    workspace = context.workspace
    actor = context.actor_for("priya")
    count = 3000 if context.scale == "large" else 300
    accounts = _accounts(context, count)
    contacts = _contacts(context, accounts)
    for currency, rate in RATES.items():
        if currency != workspace.currency:
            services.currency_rate_set(actor=actor, currency=currency, rate=rate)
    for name, description, goals, jobs in PERSONAS:
        if not Persona.objects.filter(workspace=workspace, name__iexact=name).exists():
            services.persona_create(actor=actor, name=name, description=description, goals=goals, jobs_to_be_done=jobs)
    existing = set(Customer.objects.filter(workspace=workspace).values_list("external_id", flat=True))
    new_accounts = [row for row in accounts if row["external_id"] not in existing]
    if new_accounts:
        importing.import_csv(
            actor=actor, data=_csv(new_accounts), kind="accounts", preset="none", filename="demo-accounts.csv"
        )
    existing = set(Contact.objects.filter(workspace=workspace).values_list("external_id", flat=True))
    new_contacts = [row for row in contacts if row["external_id"] not in existing]
    if new_contacts:
        importing.import_csv(
            actor=actor, data=_csv(new_contacts), kind="contacts", preset="none", filename="demo-contacts.csv"
        )
