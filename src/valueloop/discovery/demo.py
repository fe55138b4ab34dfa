"""Demo problems (opportunities) for the Ledgerly demo (see valueloop.demo): idempotent by title."""

from valueloop.workspaces.models import Product

from .models import Problem
from .services import problem_create

PROBLEMS = [
    (
        "CORE",
        "Failed card payments churn customers silently",
        "Dunning retries run once; customers with expired cards drop off without anyone noticing.",
        "validated",
    ),
    (
        "CORE",
        "Month-end close takes days of manual reconciliation",
        "Finance teams match bank lines to invoices by hand in spreadsheets.",
        "exploring",
    ),
    (
        "INS",
        "CFOs cannot see a 13-week cash forecast",
        "Enterprise prospects ask for rolling cash forecasts; today they export to Excel.",
        "open",
    ),
    (
        "MOB",
        "Receipt capture fails in poor light",
        "Photos are blurry; OCR misses totals; users retake twice.",
        "validated",
    ),
    (
        "API",
        "Partners miss webhook events during outages",
        "No retries or replay after a partner's endpoint fails.",
        "exploring",
    ),
    ("CORE", "Multi-currency invoices confuse approvers", "Approvers see amounts without the base currency.", "open"),
]


def build(context) -> None:
    pm = context.actor_for("priya")
    products = {p.key: p for p in Product.objects.filter(workspace=context.workspace)}
    for key, title, description, status in PROBLEMS:
        if Problem.objects.filter(workspace=context.workspace, title=title).exists():
            continue
        product = products.get(key)
        problem_create(
            actor=pm, title=title, description=description, status=status, product_id=product.pk if product else None
        )
