"""Reads for the home page and search, composed from other apps' selectors.

The home page's portfolio counts are cached per process for ``SUMMARY_TTL`` seconds per workspace: three COUNT
queries cost more CPU (ORM compilation) than the rest of the page's queries, and the page is the busiest one.
Invariant: a count is never older than ``SUMMARY_TTL`` seconds, and a write through the ORM to the rows counted
(products, product areas, memberships, or the workspace itself) drops the cached entry at once in the process that
made it (``home.apps`` connects the signals), again when its transaction commits. Other processes (granian workers)
and bulk writes that send no signals see the new counts after at most ``SUMMARY_TTL`` seconds.
"""

from __future__ import annotations

import time

from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor
from valueloop.workspaces.facade import portfolio_search, portfolio_summary

SUMMARY_TTL = 2.0  # seconds
_MAX_ENTRIES = 4096  # workspaces remembered per process before the cache starts over
_summaries: dict[int, tuple[float, dict]] = {}  # workspace id -> (expires at, monotonic clock; counts)


def forget_summary(workspace_id: int | None) -> None:
    _summaries.pop(workspace_id, None)  # type: ignore[arg-type]


def home_summary(*, actor: Actor) -> dict:
    actor.require(Scope.WORKSPACE_READ)
    workspace = actor.workspace
    now = time.monotonic()
    cached = _summaries.get(workspace.pk)
    if cached is not None and cached[0] > now:
        return dict(cached[1])
    summary = portfolio_summary(workspace)
    if len(_summaries) >= _MAX_ENTRIES:
        _summaries.clear()
    _summaries[workspace.pk] = (now + SUMMARY_TTL, summary)
    return dict(summary)


def search(*, actor: Actor, query: str, limit: int = 20) -> dict:
    actor.require(Scope.WORKSPACE_READ)
    from valueloop.collaboration.facade import comment_search

    query = (query or "").strip()
    if len(query) < 2:
        return {"query": query, "too_short": bool(query), "results": {}}
    results = portfolio_search(actor.workspace, query, limit)
    results["comments"] = comment_search(actor=actor, query=query, limit=limit)
    return {"query": query, "too_short": False, "results": results, "total": sum(len(v) for v in results.values())}
