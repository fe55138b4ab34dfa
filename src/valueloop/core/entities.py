"""Registry of entity types that collaboration (comments, followers, activity) can attach to.

Apps register their entity types in ``AppConfig.ready``. A lookup always runs inside a
workspace, so an id of another workspace is simply not found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EntityRef:
    type: str
    id: int
    label: str
    url: str


# (workspace, id) -> EntityRef | None
Resolver = Callable[[Any, int], EntityRef | None]
_REGISTRY: dict[str, Resolver] = {}


def register_entity(entity_type: str, resolver: Resolver) -> None:
    _REGISTRY[entity_type] = resolver


def entity_types() -> list[str]:
    return sorted(_REGISTRY)


def resolve_entity(workspace, entity_type: str, entity_id: int) -> EntityRef | None:
    resolver = _REGISTRY.get(entity_type)
    if resolver is None:
        return None
    return resolver(workspace, entity_id)
