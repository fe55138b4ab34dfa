"""Money prints the same way on every page of a workspace, in its currency and locale (issue 11, section 3):
the feature page, the customers page, the backlog and the ranking once printed "EUR 15,797,183",
"14,536,007 EUR", "€5.8M" and "11.35M" for the same kind of number."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import CustomerFactory, EvidenceFactory, FeedbackItemFactory
from valueloop.core.permissions import Role
from valueloop.planning import services as planning
from valueloop.workspaces.services import workspace_update

NBSP = "\u00a0"
# Any other way of writing an amount in euros: a code beside digits, or the symbol before them.
OTHER_FORMATS = re.compile(r"EUR\s?\d|\d\s?EUR\b|€\s?\d|\d[.,]?\d*[kMB]\b(?!\w)")


@pytest.fixture
def german_workspace(world):
    """Workspace A in euros with German number format; an account with 15,797,183.50 ARR asks for the feature,
    whose Cost of Delay is 12,500.50 a week."""
    workspace_update(actor=world.actor_a, currency="EUR", locale="de")
    world.ws_a.refresh_from_db()
    customer = CustomerFactory(workspace=world.ws_a, name="Big Bank", arr=Decimal("15797183.50"))
    feedback = FeedbackItemFactory(workspace=world.ws_a, customer=customer, text="We need exports")
    EvidenceFactory(workspace=world.ws_a, feedback=feedback, target=world.feature_a)
    planning.prioritisation_update(
        actor=world.actor_a, feature_id=world.feature_a.pk, cod_increase_revenue="12500.50", duration_likely="2"
    )
    client = Client()
    client.force_login(world.users[Role.ADMIN])
    return world, client


def _pages(world, client) -> dict[str, str]:
    base = f"/w/{world.ws_a.slug}"
    urls = {
        "feature": f"{base}/features/{world.feature_a.pk}/",
        "customers": f"{base}/customers/",
        "backlog": f"{base}/backlog/",
        "ranking": f"{base}/planning/",
    }
    pages = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        pages[name] = response.content.decode()
    return pages


def test_pages__print_money_in_the_workspace_currency_and_locale(german_workspace) -> None:
    pages = _pages(*german_workspace)
    arr, cod = f"15.797.183,50{NBSP}€", f"12.500,50{NBSP}€"
    assert arr in pages["customers"] and arr in pages["feature"]  # the account's ARR, and the evidence behind it
    assert cod in pages["feature"] and cod in pages["backlog"] and cod in pages["ranking"]
    for name, page in pages.items():
        assert not OTHER_FORMATS.findall(page), (name, OTHER_FORMATS.findall(page))


def test_pages__follow_a_change_of_locale(german_workspace) -> None:
    world, client = german_workspace
    workspace_update(actor=world.actor_a, locale="en_IE")
    pages = _pages(world, client)
    assert "€15,797,183.50" in pages["customers"] and "€15,797,183.50" in pages["feature"]
    assert "€12,500.50" in pages["backlog"] and "€12,500.50" in pages["feature"]
