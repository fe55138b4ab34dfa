"""GET /api/v1/search: the workspace-wide search (``core.search``) for API clients, grouped by kind."""

import html

from django.utils.html import strip_tags
from ninja import Field, Query, Router, Schema

from valueloop.core.api_support import StrictSchema, requires, responses
from valueloop.core.permissions import Scope

from . import selectors

router = Router(tags=["search"])


def _plain(marked_html: str) -> str:
    return html.unescape(strip_tags(str(marked_html)))


class WorkspaceSearchParams(StrictSchema):
    q: str = Field(..., min_length=2, max_length=500, description='Words to find; `"a phrase"`, `-word`, `OR`')
    kinds: str = Field(
        "",
        max_length=400,
        description="Comma-separated kinds to search (feature, problem, feedback, customer, ...); empty: all",
    )
    limit: int = Field(selectors.PAGE_LIMIT, ge=1, le=selectors.MAX_LIMIT, description="Hits per kind")


class WorkspaceSearchHitOut(Schema):
    kind: str
    id: int
    title: str = Field(..., description="Plain text")
    title_html: str = Field(..., description="Escaped HTML, matched words in <mark>")
    snippet: str = Field(..., description="Plain text around the first match, markdown rendered")
    snippet_html: str = Field(..., description="Escaped HTML, matched words in <mark>")
    context: str
    url: str
    rank: float


class WorkspaceSearchGroupOut(Schema):
    kind: str
    label: str
    count: int = Field(..., description="Every match of this kind, not only the hits returned")
    hits: list[WorkspaceSearchHitOut]


class WorkspaceSearchOut(Schema):
    query: str
    kinds: list[str] = Field(..., description="The kinds searched: those asked for (or all) that your role may read")
    total: int
    groups: list[WorkspaceSearchGroupOut]


@router.get("/search", response=responses(WorkspaceSearchOut), operation_id="home_search_list")
@requires(Scope.WORKSPACE_READ)
def search(request, params: Query[WorkspaceSearchParams]):
    kinds = [k.strip() for k in params.kinds.split(",") if k.strip()] or None
    result = selectors.search(actor=request.auth, query=params.q, kinds=kinds, limit=params.limit, strict=True)
    groups = [
        {
            "kind": group.kind,
            "label": group.label,
            "count": group.count,
            "hits": [
                {
                    "kind": hit.kind,
                    "id": hit.id,
                    "title": _plain(hit.title),
                    "title_html": str(hit.title),
                    "snippet": _plain(hit.snippet),
                    "snippet_html": str(hit.snippet),
                    "context": hit.context,
                    "url": request.build_absolute_uri(hit.url) if hit.url.startswith("/") else hit.url,
                    "rank": hit.rank,
                }
                for hit in group.hits
            ],
        }
        for group in result["groups"]
    ]
    searched = result["kinds"] or list(result["labels"])
    return {"query": result["query"], "kinds": searched, "total": result["total"], "groups": groups}
