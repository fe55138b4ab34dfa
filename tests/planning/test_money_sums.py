"""Planning's money sums are exact Decimals: the engine schedules in floats, but every total that reaches a page or
the API is the exact sum of amounts rounded to cents (floats gave 0.7 + 0.2 = 0.8999999999999999)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import token_client
from valueloop.planning import selectors, services


@pytest.fixture
def cents_features(world):
    """Two one-week features at 0.70 and 0.10 a week. CD3 order: 0.70 first (delay cost 0.70), then 0.10 done in
    week 2 (0.20): 0.90 in all, which float addition makes 0.8999999999999999."""
    assert 0.7 + 0.2 != 0.9
    for title, cod in (("Seventy", "0.70"), ("Ten", "0.10")):
        feature = services.feature_create(actor=world.actor_a, title=title)
        services.prioritisation_update(
            actor=world.actor_a, feature_id=feature.pk, cod_reduce_cost=cod, duration_likely="1"
        )
    return world


def test_sequence_comparison__totals_are_exact_decimals(cents_features) -> None:
    view = selectors.sequence_comparison(actor=cents_features.actor_a)
    totals = {s["strategy"]: s["total_delay_cost"] for s in view.strategies}
    assert totals["cd3"] == Decimal("0.90") and isinstance(totals["cd3"], Decimal)
    # FIFO works "Seventy" first too (created first), so it saves nothing; value-first does the same.
    assert {s["strategy"]: s["cd3_saving"] for s in view.strategies}["fifo"] == Decimal("0.00")
    items = {i["title"]: i for i in view.items}
    assert items["Seventy"]["cod_per_week"] == Decimal("0.70") and items["Ten"]["cd3_delay_cost"] == Decimal("0.20")
    assert sum(i["cd3_delay_cost"] for i in view.items) == totals["cd3"]  # the rows add up to the total


def test_team_schedule__total_is_the_exact_sum_of_its_rows(cents_features) -> None:
    view = selectors.team_schedule(actor=cents_features.actor_a)
    assert view.total_delay_cost == Decimal("0.90") and isinstance(view.total_delay_cost, Decimal)
    assert [i["delay_cost"] for i in view.items] == [Decimal("0.70"), Decimal("0.20")]


def test_sequence_api__sends_the_exact_total_as_a_decimal_string(cents_features) -> None:
    client = token_client(cents_features.actor_a)
    body = client.get("/api/v1/planning/sequence").json()
    cd3 = next(s for s in body["strategies"] if s["strategy"] == "cd3")
    assert cd3["total_delay_cost"] == {"amount": "0.90", "currency": "USD"}
    schedule = client.get("/api/v1/planning/schedule").json()
    assert schedule["total_delay_cost"] == {"amount": "0.90", "currency": "USD"}
    assert [i["delay_cost"]["amount"] for i in schedule["items"]] == ["0.70", "0.20"]


def test_cod_suggestion__is_decimal_cents(world, monkeypatch) -> None:
    import valueloop.evidence.facade as evidence

    # 1,000,000.10 ARR: a week is 19,230.771153..., a tenth of it 1,923.08 (half up), as Decimal.
    panel = {"evidence": {"arr": Decimal("1000000.10"), "accounts": 2, "count": 3}}
    monkeypatch.setattr(evidence, "evidence_panel", lambda **kw: panel)
    suggestion = selectors.cod_suggestion(actor=world.actor_a, feature_id=world.feature_a.pk)
    assert suggestion["protect_revenue"] == Decimal("1923.08") and isinstance(suggestion["arr"], Decimal)
    assert "ARR $1,000,000.10 ($19,230.77 a week)" in suggestion["basis"]
    assert suggestion["basis"].endswith("$1,923.08 per week.")
