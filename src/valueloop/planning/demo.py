"""Demo features (solutions) for the Ledgerly demo (see valueloop.demo): idempotent by title."""

from valueloop.discovery.models import Problem

from .models import Feature
from .services import feature_create, feature_update

FEATURES = [
    ("Failed card payments churn customers silently", "Smart dunning retries", "in_progress"),
    ("Failed card payments churn customers silently", "Card updater via the network tokens", "candidate"),
    ("Month-end close takes days of manual reconciliation", "Auto-reconcile bank lines", "planned"),
    ("CFOs cannot see a 13-week cash forecast", "13-week cash forecast", "idea"),
    ("Receipt capture fails in poor light", "Low-light receipt capture", "released"),
    ("Partners miss webhook events during outages", "Webhook retries and replay", "planned"),
    ("Multi-currency invoices confuse approvers", "Show base currency on approvals", "released"),
]


def build(context) -> None:
    po = context.actor_for("tom")
    problems = {p.title: p for p in Problem.objects.filter(workspace=context.workspace)}
    for problem_title, title, status in FEATURES:
        if Feature.objects.filter(workspace=context.workspace, title=title).exists():
            continue
        problem = problems.get(problem_title)
        feature = feature_create(
            actor=po,
            title=title,
            problem_id=problem.pk if problem else None,
            product_id=problem.product_id if problem else None,
        )
        if status != "idea":
            feature_update(actor=po, feature_id=feature.pk, status=status)
