"""What other apps may import from evidence: the evidence panel shown on problems and features.

Invariants: every number is computed inside the actor's workspace; ARR sums count each account
once (``arr_base``, in the workspace currency), however many of its items are linked.
"""

from __future__ import annotations

from django.db.models import Count

from valueloop.core.tenancy import Actor

from .models import Evidence


def evidence_panel(*, actor: Actor, target_type: str, target_id: int) -> dict:
    from valueloop.customers.models import Customer

    links = Evidence.objects.filter(workspace=actor.workspace, target_type=target_type, target_id=target_id)
    customer_ids = set(links.exclude(customer=None).values_list("customer_id", flat=True))
    accounts = Customer.objects.filter(workspace=actor.workspace, pk__in=customer_ids)
    arr = sum((c.arr_base for c in accounts.only("arr_base")), start=0)
    by_segment = list(accounts.values("segment").annotate(n=Count("id")).order_by("-n"))
    quotes = list(links.select_related("customer", "feedback").order_by("-importance", "-created_at")[:5])
    return {
        "evidence": {
            "target_type": target_type,
            "target_id": target_id,
            "count": links.count(),
            "accounts": len(customer_ids),
            "arr": arr,
            "currency": actor.workspace.currency,
            "by_segment": by_segment,
            "quotes": quotes,
        }
    }
