from __future__ import annotations

import pytest

from tests.factories import CustomerFactory
from tests.themes.corpus import make_items
from valueloop.core.permissions import Role
from valueloop.themes import runs
from valueloop.themes.models import Theme


class Themed:
    """Workspace A with six accounts, 48 feedback items on four topics, embedded and clustered."""

    def __init__(self, world):
        self.world = world
        self.ws = world.ws_a
        self.admin = world.actor_a
        self.pm = world.actor(Role.PRODUCT_MANAGER)
        self.customers = [
            CustomerFactory(
                workspace=self.ws, name=f"Account {i}", arr=10000 * (i + 1), segment="enterprise" if i % 2 else "smb"
            )
            for i in range(6)
        ]
        self.items = make_items(self.ws, 12, customers=self.customers)
        self.run = runs.recluster(self.ws, trigger="manual")
        assert self.run.status == "succeeded", self.run.error

    def themes(self):
        return list(Theme.objects.filter(workspace=self.ws, status="active").order_by("-size", "id"))

    def theme_with(self, word: str) -> Theme:
        for theme in self.themes():
            if any(word in k for k in theme.keyphrases) or word in theme.name.lower():
                return theme
        raise AssertionError(f"no theme about {word}: {[t.name for t in self.themes()]}")


@pytest.fixture
def themed(world) -> Themed:
    return Themed(world)
