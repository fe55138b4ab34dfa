"""Reads for the home page and search (``core.search``: a registry every app fills).

The home page's portfolio counts are cached per process for ``SUMMARY_TTL`` seconds per workspace: three COUNT
queries cost more CPU (ORM compilation) than the rest of the page's queries, and the page is the busiest one.
Invariant: a count is never older than ``SUMMARY_TTL`` seconds, and a write through the ORM to the rows counted
(products, product areas, memberships, or the workspace itself) drops the cached entry at once in the process that
made it (``home.apps`` connects the signals), again when its transaction commits. Other processes (granian workers)
and bulk writes that send no signals see the new counts after at most ``SUMMARY_TTL`` seconds.
"""

from __future__ import annotations

import time

from valueloop.core.errors import Invalid
from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor
from valueloop.workspaces.facade import portfolio_summary

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


PAGE_LIMIT = 10  # hits shown per kind on the search page
KIND_LIMIT = 50  # hits when the page shows one kind
MAX_LIMIT = 50


def search(
    *, actor: Actor, query: str, kinds: list[str] | None = None, limit: int = PAGE_LIMIT, strict: bool = False
) -> dict:
    """The workspace's matches for ``query``, grouped by kind (``core.search``; every app registers its kinds),
    over the kinds the actor's role may read (all of them, or those of ``kinds`` it may read). ``strict`` (the
    API): a kind nobody registered is an error naming ``kinds``; the page ignores it."""
    from valueloop.core import search as core_search

    actor.require(Scope.WORKSPACE_READ)
    query = (query or "").strip()[: core_search.MAX_QUERY_LENGTH]
    readable = core_search.readable_kinds(actor)
    labels = {p.kind: p.label for p in core_search.providers() if p.kind in readable}
    if strict and kinds:
        known = {p.kind for p in core_search.providers()}
        unknown = [k for k in kinds if k not in known]
        if unknown:
            raise Invalid(
                f"Unknown kind: {', '.join(unknown)}.",
                fields={"kinds": f"Unknown kind {', '.join(unknown)}; known kinds: {', '.join(sorted(known))}."},
            )
    chosen = [k for k in (kinds or readable) if k in labels]
    base = {
        "query": query,
        "kinds": chosen if kinds else [],
        "kind_label": labels[chosen[0]] if kinds and len(chosen) == 1 else "",
        "labels": labels,
        "groups": [],
        "total": 0,
    }
    if len(query) < core_search.MIN_QUERY_LENGTH:
        return {**base, "too_short": bool(query)}
    groups = core_search.search_all(actor=actor, query=query, kinds=chosen, limit=max(1, min(limit, MAX_LIMIT)))
    return {**base, "too_short": False, "groups": groups, "total": sum(g.count for g in groups)}
