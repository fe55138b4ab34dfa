from __future__ import annotations

from datetime import datetime

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_safe

from valueloop.core.context_processors import NAVIGATION
from valueloop.core.csv_safe import write_csv
from valueloop.core.pages import public_page, signed_in_page, workspace_page
from valueloop.core.permissions import Scope
from valueloop.core.selectors import audit_entity_types, audit_list
from valueloop.workspaces.facade import membership_for, workspace_creation_allowed, workspaces_of

from . import selectors

SECTIONS = {key: (group, label) for group, items in NAVIGATION for key, label in items}
SECTION_HELP = {
    "customers": "Accounts with their revenue, contacts and personas: who asks, and how much revenue stands behind it.",
    "feedback": (
        "The feedback inbox: support tickets, sales calls, interviews and surveys, triaged and linked to problems."
    ),
    "discovery": "Problems and opportunities, backed by evidence from customers, with the opportunity-solution tree.",
    "planning": "Features ranked by Cost of Delay Divided by Duration (CD3), with WSJF, RICE, ICE and Kano beside it.",
    "backlog": "The product owner's backlog, ordered by CD3, with the reasons for every manual move.",
    "launches": "Launch plans shared with sales, marketing and support, and closing the loop with requesters.",
    "operations": "Outages, crashes and bugs with the customers and revenue they hurt.",
    "experiments": "Feature toggles and A/B tests whose results land on the feature and hypothesis they test.",
    "signals": "PESTEL and market signals, and emerging needs found in feedback before they get loud.",
    "learnings": "The learning log: what every experiment and launch taught the team.",
}


@public_page
@require_safe
def index_view(request):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    membership = membership_for(user=request.user, workspace_id=request.session.get("workspace_id"))
    if membership is None:
        return redirect("home:workspaces")
    return redirect("home:workspace", membership.workspace.slug)


@signed_in_page
@require_safe
def workspaces_view(request):
    context = {
        "memberships": workspaces_of(request.user),
        "can_create_workspace": workspace_creation_allowed(request.user),
    }
    return render(request, "home/workspaces.html", context)


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def workspace_home_view(request):
    actor = request.actor
    context = {
        "summary": selectors.home_summary(actor=actor),
        "recent": audit_list(actor=actor)[:10] if actor.can(Scope.AUDIT_READ) else [],
    }
    return render(request, "home/workspace_home.html", context)


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def search_view(request):
    # ``kind`` narrows the page to one kind and shows more of it ("all 1,262 feedback items" links here).
    kind = request.GET.get("kind", "").strip()
    result = selectors.search(
        actor=request.actor,
        query=request.GET.get("q", ""),
        kinds=[kind] if kind else None,
        limit=selectors.KIND_LIMIT if kind else selectors.PAGE_LIMIT,
    )
    template = "home/search.html#results" if request.htmx else "home/search.html"
    response = render(request, template, result)
    # The fragment and the page share a URL (hx-push-url): without Vary, Back from a result would show the
    # browser's cached fragment, unstyled, instead of the page.
    patch_vary_headers(response, ("HX-Request",))
    return response


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def section_view(request, section: str):
    if section not in SECTIONS:
        raise Http404("No such section.")
    group, label = SECTIONS[section]
    return render(
        request,
        "home/section.html",
        {"section": section, "group": group, "label": label, "help": SECTION_HELP[section]},
    )


def _parse_day(value: str | None):
    day = parse_date(value or "") if value else None
    return datetime.combine(day, datetime.min.time()).astimezone() if day else None


@workspace_page(Scope.AUDIT_READ)
@require_safe
def audit_view(request):
    actor = request.actor
    filters = {k: request.GET.get(k, "").strip() for k in ("entity_type", "actor", "action", "since", "until")}
    entity_id = request.GET.get("entity_id", "").strip()
    query = audit_list(
        actor=actor,
        entity_type=filters["entity_type"],
        entity_id=int(entity_id) if entity_id.isdigit() else None,
        actor_email=filters["actor"],
        action=filters["action"],
        since=_parse_day(filters["since"]),
        until=_parse_day(filters["until"]),
    )
    if request.GET.get("format") == "csv":
        rows = (
            (e.at.isoformat(), e.actor_label, e.via, e.entity_type, e.entity_id, e.entity_label, e.action, e.changes)
            for e in query[:50000]
        )
        body = write_csv(["at", "actor", "via", "entity_type", "entity_id", "entity", "action", "changes"], rows)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{actor.workspace.slug}.csv"'
        return response
    page = Paginator(query, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "entity_id": entity_id,
        "entity_types": audit_entity_types(actor=actor),
    }
    return render(request, "home/audit.html", context)
