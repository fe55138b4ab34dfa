"""Reads for the home page and search, composed from other apps' selectors."""

from __future__ import annotations

from django.db.models import Q

from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor
from valueloop.workspaces.facade import portfolio_search, portfolio_summary


def home_summary(*, actor: Actor) -> dict:
    actor.require(Scope.WORKSPACE_READ)
    return portfolio_summary(actor.workspace)


def search(*, actor: Actor, query: str, limit: int = 20) -> dict:
    actor.require(Scope.WORKSPACE_READ)
    from valueloop.collaboration.models import Comment

    query = (query or "").strip()
    if len(query) < 2:
        return {"query": query, "too_short": bool(query), "results": {}}
    results = portfolio_search(actor.workspace, query, limit)
    results["comments"] = list(
        Comment.objects.filter(workspace=actor.workspace, deleted_at=None)
        .filter(Q(body__icontains=query))
        .select_related("author")
        .order_by("-created_at")[:limit]
    )
    return {"query": query, "too_short": False, "results": results, "total": sum(len(v) for v in results.values())}
