"""events.demo: product activity for the demo workspace, sent once."""

from __future__ import annotations

import random
from types import SimpleNamespace

from valueloop.events import demo, store
from valueloop.events.facade import event_names


def test_demo__sends_sessions_once(world):
    context = SimpleNamespace(workspace=world.ws_a, rng=random.Random(7), seed=7)
    demo.build(context)
    names = dict(event_names(world.ws_a.pk))
    assert names[demo.EVENT] > demo.USERS  # several sessions per approver
    parts = store.list_parts(world.ws_a.pk, "events")
    demo.build(SimpleNamespace(workspace=world.ws_a, rng=random.Random(7), seed=7))
    assert store.list_parts(world.ws_a.pk, "events") == parts
    assert dict(event_names(world.ws_a.pk)) == names
