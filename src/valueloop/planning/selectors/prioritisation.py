"""One feature's prioritisation: its stored inputs with CD3 and its range, and a Cost of Delay suggestion.

Invariants: the suggestion is only a suggestion (the PM decides) and always says how it was made; a failure in the
evidence app never breaks a planning page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from valueloop.core.money import format_money, quantize, to_decimal

from .. import scoring
from ..models import Feature
from .features import access_feature
from .rankings import RankRow, row_for
from .table import _num

AT_RISK_SHARE = Decimal(
    "0.10"
)  # the share of requesters' revenue assumed at risk without the feature; shown, never hidden


def cod_suggestion(*, actor, feature_id: int) -> dict:
    """A Cost of Delay suggestion from the evidence: the weekly revenue of the accounts asking for
    the feature (ARR / 52), of which a stated share (10 %) is taken as at risk while it waits. The
    PM decides; the basis says how the number was made."""
    from valueloop.evidence.facade import evidence_panel

    feature = access_feature(actor=actor, id=feature_id)
    try:
        evidence = evidence_panel(actor=actor, target_type="feature", target_id=feature.pk).get("evidence", {})
    except Exception:  # evidence is another app's; a failure there must not break planning pages
        evidence = {}
    arr = to_decimal(evidence.get("arr")) or Decimal(0)
    accounts = int(evidence.get("accounts") or 0)
    weekly_arr = arr / 52
    suggestion = quantize(weekly_arr * AT_RISK_SHARE) if arr else None
    currency, locale = actor.workspace.currency, actor.workspace.locale
    if suggestion:
        money = lambda amount: format_money(amount, currency, locale)  # noqa: E731
        basis = (
            f"{accounts} requesting account{'s' if accounts != 1 else ''} with ARR {money(arr)} "
            f"({money(quantize(weekly_arr))} a week). If {AT_RISK_SHARE:.0%} of that is at risk while they wait: "
            f"{money(suggestion)} per week."
        )
    else:
        basis = "No requesting accounts with ARR are linked to this feature yet."
    return {
        "protect_revenue": suggestion,
        "accounts": accounts,
        "arr": arr,
        "currency": currency,
        "basis": basis,
    }


@dataclass
class PrioritisationView:
    """A feature's prioritisation inputs as stored, its CD3 row, latest start and Cost of Delay suggestion."""

    feature: Feature
    row: RankRow
    latest_start: dt.date | None
    suggestion: dict
    currency: str


def prioritisation_get(*, actor, feature_id: int) -> PrioritisationView:
    feature = access_feature(actor=actor, id=feature_id)
    row = row_for(actor=actor, feature_id=feature.pk, framework="cd3")
    latest_start = None
    if feature.urgency == "fixed_date":
        latest_start = scoring.latest_start(feature.deadline, _num(feature.duration_likely))
    suggestion = cod_suggestion(actor=actor, feature_id=feature.pk)
    return PrioritisationView(feature, row, latest_start, suggestion, actor.workspace.currency)
