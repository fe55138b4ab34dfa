"""Enumerate every API operation and every page from the routing tables, with the scope each
declares, and build concrete URLs and sample bodies for them. The permission-matrix and
tenant-isolation suites are generated from this, so a new route is covered automatically
(and fails loudly until it declares its scope and gets a sample body)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from valueloop.api import api

PARAM_RE = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class ApiOperation:
    operation_id: str
    method: str
    path: str  # e.g. /api/v1/products/{product_id}
    view: Any

    @property
    def declared(self) -> bool:
        return hasattr(self.view, "required_scope")

    @property
    def scope(self):
        return getattr(self.view, "required_scope", None)


def api_operations() -> list[ApiOperation]:
    ops = []
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    full = "/api/v1/" + "/".join(p.strip("/") for p in (prefix, path) if p.strip("/"))
                    full = re.sub(r"\{(\w+:)?(\w+)\}", r"{\2}", full)
                    ops.append(
                        ApiOperation(
                            operation.operation_id or operation.view_func.__name__, method, full, operation.view_func
                        )
                    )
    return sorted(ops, key=lambda o: (o.path, o.method))


@dataclass(frozen=True)
class Page:
    name: str
    route: str  # e.g. w/<slug:ws>/products/<int:product_id>/
    view: Any

    @property
    def kind(self) -> str | None:
        return getattr(self.view, "page_kind", None)

    @property
    def scope(self):
        return getattr(self.view, "required_scope", None)


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            route = prefix + str(pattern.pattern)
            if route.startswith("api/v1/"):
                continue
            yield from _walk(pattern.url_patterns, route, ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
            yield Page(name, prefix + str(pattern.pattern), pattern.callback)


def pages() -> list[Page]:
    return sorted(_walk(get_resolver().url_patterns), key=lambda p: p.route)


def fill(template: str, values: dict[str, Any]) -> str:
    """Substitute {name} (API) or <conv:name> (Django) placeholders from ``values``."""

    def api_sub(match):
        return str(values[match.group(1)])

    def page_sub(match):
        return str(values[match.group(2)])

    template = PARAM_RE.sub(api_sub, template)
    return re.sub(r"<(?:(\w+):)?(\w+)>", page_sub, template)


class LazyIds(dict):
    """Ids for path parameters and sample bodies, built one group at a time on first use.

    Creating every app's sample objects for every one of the thousands of matrix tests dominated the suite's
    time; a route needs one or two groups. ``groups`` is a list of ``(declared keys, build)``; a key that no
    group declares is looked for by building the remaining groups in order, so an undeclared key costs time,
    never correctness. ``build_all()`` creates everything (for tests that need every row to exist).
    """

    def __init__(self, eager: dict[str, Any], groups: list[tuple[tuple[str, ...], Any]]):
        super().__init__(eager)
        self._groups = list(groups)

    def _build(self, index: int) -> None:
        _, build = self._groups.pop(index)
        self.update(build())

    def __missing__(self, key: str):
        for index, (keys, _) in enumerate(self._groups):
            if key in keys:
                self._build(index)
                return dict.__getitem__(self, key)
        while self._groups:
            self._build(0)
            if dict.__contains__(self, key):
                return dict.__getitem__(self, key)
        raise KeyError(key)

    def build_all(self) -> LazyIds:
        while self._groups:
            self._build(0)
        return self

    def overlay(self, values: dict[str, Any]) -> LazyIds:
        """These ids with ``values`` on top. Groups not built yet are built by the copy on its own when it needs them
        (``build_all()`` first to share every row)."""
        return LazyIds({**self, **values}, list(self._groups))


# Valid-looking bodies per write operation; a new write endpoint must add one here.
def sample_body(operation_id: str, ids: dict[str, Any]) -> dict | None:
    bodies = {
        "workspaces_workspace_update": {"name": "Renamed"},
        "workspaces_member_update": {"role": "stakeholder"},
        "workspaces_invitation_create": {"role": "contributor", "email": "new.person@example.com"},
        "workspaces_product_create": {"name": "Gamma", "key": "GAM"},
        "workspaces_product_update": {"description": "Updated"},
        "workspaces_product_archive": None,
        "workspaces_product_restore": None,
        "workspaces_area_create": {"name": "Onboarding"},
        "workspaces_area_update": {"description": "Updated"},
        "workspaces_area_archive": None,
        "workspaces_area_restore": None,
        "collaboration_comment_create": {"entity_type": "product", "entity_id": ids["product_id"], "body": "Hi"},
        "collaboration_comment_update": {"body": "Edited"},
        "collaboration_follow_update": {"entity_type": "product", "entity_id": ids["product_id"], "following": True},
        "collaboration_notification_read": {},
        "accounts_token_create": {"name": "matrix"},
        "discovery_problem_create": {"title": "Slow month-end close", "product_id": ids["product_id"]},
        "discovery_problem_update": {"status": "exploring"},
        "planning_feature_create": {"title": "Auto-reconcile", "problem_id": ids["problem_id"]},
        "planning_feature_update": {"status": "planned"},
        "feedback_item_create": {"text": "Matrix feedback about dunning", "source": "support"},
        "feedback_item_update": {"status": "triaged"},
        "feedback_item_bulk": {"ids": [ids["feedback_id"]], "action": "triage"},
        "feedback_batch_create": {"items": [{"text": "Batch item", "external_id": "matrix-1"}]},
        "feedback_import_create": None,  # multipart: no file answers 422 (allowed) or 403 (denied)
        "feedback_tag_create": {"name": "matrix-tag"},
        "feedback_tag_update": {"name": "renamed-tag"},
        "feedback_view_create": {"name": "Matrix view", "query": "status=new"},
        "feedback_view_update": {"name": "Renamed view"},
        "customers_customer_create": {"name": "Gamma Customer", "arr": "1200.00", "segment": "smb"},
        "customers_customer_update": {"plan": "Growth"},
        "customers_customer_archive": None,
        "customers_customer_restore": None,
        "customers_contact_create": {"name": "Matrix Person", "email": "matrix.person@example.com"},
        "customers_contact_update": {"title": "Updated"},
        "customers_contact_unsubscribe": None,
        "customers_persona_create": {"name": "Matrix persona two"},
        "customers_persona_update": {"goals": "Updated"},
        "customers_currency_rate_set": {"currency": "GBP", "rate": "1.17"},
        "customers_import_create": None,  # multipart: no file answers 422 (allowed) or 403 (denied)
    }
    if operation_id.startswith("planning_") and operation_id not in bodies:
        from tests.planning.matrix import sample_bodies

        bodies.update(sample_bodies(ids))
    if operation_id.startswith(("evidence_", "research_")) and operation_id not in bodies:
        from tests.evidence.matrix import sample_bodies as evidence_bodies

        bodies.update(evidence_bodies(ids))
    if operation_id.startswith("flags_") and operation_id not in bodies:
        from tests.flags.matrix import sample_bodies as flag_bodies

        bodies.update(flag_bodies(ids))
    if operation_id.startswith("experiments_") and operation_id not in bodies:
        from tests.experiments.matrix import sample_bodies as experiment_bodies

        bodies.update(experiment_bodies(ids))
    if operation_id.startswith("themes_") and operation_id not in bodies:
        from tests.themes.matrix import sample_bodies as theme_bodies

        bodies.update(theme_bodies(ids))
    if operation_id.startswith("events_") and operation_id not in bodies:
        from tests.events.matrix import sample_bodies as event_bodies

        bodies.update(event_bodies(ids))
    if operation_id not in bodies:
        raise KeyError(f"Add a sample body for {operation_id} in tests/routes.py")
    return bodies[operation_id]


def query_for(operation_id: str, ids: dict[str, Any]) -> str:
    if operation_id in {"collaboration_comment_list", "collaboration_activity_list"}:
        return f"?entity_type=product&entity_id={ids['product_id']}"
    if operation_id == "home_search_list":
        return "?q=dunning"
    return ""


def listing_query_for(operation_id: str) -> str:
    """Parameters a listing needs besides paging; the search looks for what the other workspace holds."""
    if operation_id == "home_search_list":
        return "&q=beta"  # workspace B's rows are called Beta: none may come back to A
    return ""
