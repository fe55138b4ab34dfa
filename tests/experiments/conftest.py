from __future__ import annotations

import pytest

from tests.factories import experiment_lab
from valueloop.core.permissions import Role


@pytest.fixture(autouse=True)
def events_dir(settings, tmp_path):
    """Every test gets its own event store (Parquet files live outside the rolled-back test database)."""
    settings.EVENTS_DIR = tmp_path / "events"
    return settings.EVENTS_DIR


@pytest.fixture
def pm(world):
    return world.actor(Role.PRODUCT_MANAGER)


@pytest.fixture
def lab(world, pm):
    """A draft experiment in development on the feature and problem of workspace A, with three metrics."""
    return experiment_lab(pm, feature=world.feature_a, problem=world.problem_a)
