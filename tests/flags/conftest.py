from __future__ import annotations

import pytest

from valueloop.core.permissions import Role
from valueloop.flags import services
from valueloop.flags.bootstrap import ensure_environments


class Flags:
    """The world's workspace A with its three environments, and helpers."""

    def __init__(self, world):
        self.world = world
        self.admin = world.actor_a
        self.pm = world.actor(Role.PRODUCT_MANAGER)
        self.po = world.actor(Role.PRODUCT_OWNER)
        self.stakeholder = world.actor(Role.STAKEHOLDER)
        self.contributor = world.actor(Role.CONTRIBUTOR)
        self.envs = {e.key: e for e in ensure_environments(world.ws_a)}
        self.dev, self.staging, self.prod = self.envs["development"], self.envs["staging"], self.envs["production"]

    def flag(self, key="new-checkout", actor=None, **fields):
        return services.flag_create(actor=actor or self.pm, key=key, **fields)

    def rule(self, flag, env, actor=None, **data):
        return services.rule_create(actor=actor or self.pm, flag_id=flag.pk, environment_id=env.pk, **data)

    def reload(self, env):
        env.refresh_from_db()
        return env


@pytest.fixture
def flags(world) -> Flags:
    return Flags(world)
