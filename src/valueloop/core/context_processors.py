"""The navigation shell: the three functions of product management, plus Home, Search, Settings."""

import functools

NAVIGATION = [
    (
        "Create value",
        [
            ("customers", "Customers"),
            ("feedback", "Feedback"),
            ("interviews", "Interviews"),
            ("surveys", "Surveys"),
            ("discovery", "Discovery"),
            ("planning", "Planning"),
            ("backlog", "Backlog"),
        ],
    ),
    ("Deliver value", [("launches", "Launches"), ("operations", "Operations")]),
    ("Evolve value", [("experiments", "Experiments"), ("signals", "Signals"), ("learnings", "Learnings")]),
]


# Sections with pages of their own; the rest show the "being built" empty state (home:section).
SECTION_URL_NAMES = {
    "customers": "customers:customer_list",
    "feedback": "feedback:inbox",
    "interviews": "research:interview_list",
    "surveys": "research:surveys",
    "discovery": "discovery:problem_list",
    "planning": "planning:ranking",
    "backlog": "planning:backlog",
    "experiments": "experiments:experiment_list",
    "learnings": "experiments:learning_list",
    "signals": "themes:emerging",
}
_resolved: dict[str, str | None] = {}


def _section_url_name(key: str) -> str | None:
    if key not in _resolved:
        from django.urls import NoReverseMatch, reverse

        name = SECTION_URL_NAMES.get(key)
        try:
            reverse(name, args=["x"]) if name else None
        except NoReverseMatch:
            name = None
        _resolved[key] = name
    return _resolved[key]


def section_href(slug: str, key: str) -> str:
    from django.urls import reverse

    name = _section_url_name(key)
    return reverse(name, args=[slug]) if name else reverse("home:section", args=[slug, key])


# The shell's own links (base.html). Reversed once per process and workspace slug: a URL depends only on the
# URLconf (fixed for the life of a process), the script prefix (part of the cache key) and the slug, while ~29
# {% url %} tags and reverse() calls per page cost about half a millisecond of CPU on every page.
GLOBAL_LINKS = {
    "index": "home:index",
    "workspaces": "home:workspaces",
    "profile": "accounts:profile",
    "login": "accounts:login",
    "logout": "accounts:logout",
}
WORKSPACE_LINKS = {
    "home": "home:workspace",
    "search": "home:search",
    "products": "workspaces:product_list",
    "members": "workspaces:members",
    "notifications": "collaboration:notifications",
    "audit": "home:audit",
    "tokens": "accounts:tokens",
    "settings": "workspaces:settings",
}


@functools.lru_cache(maxsize=64)
def _global_links(prefix: str) -> dict[str, str]:
    from django.urls import reverse

    return {key: reverse(name) for key, name in GLOBAL_LINKS.items()}


@functools.lru_cache(maxsize=1024)  # bounded: one entry per workspace slug seen by this process
def _workspace_links(prefix: str, slug: str) -> tuple[tuple, dict[str, str]]:
    from django.urls import reverse

    sections = tuple(
        (group, tuple((key, label, section_href(slug, key)) for key, label in items)) for group, items in NAVIGATION
    )
    links = dict(_global_links(prefix))
    links.update({key: reverse(name, args=[slug]) for key, name in WORKSPACE_LINKS.items()})
    return sections, links


def shell(request):
    """Navigation for the current workspace: (group, [(key, label, href, is_current)]), and ``shell_urls``."""
    from django.urls import get_script_prefix

    prefix = get_script_prefix()
    actor = getattr(request, "actor", None)
    if actor is None:
        return {"NAVIGATION": [], "shell_urls": _global_links(prefix)}
    sections, links = _workspace_links(prefix, actor.workspace.slug)
    path = request.path
    navigation = [
        (group, [(key, label, href, path.startswith(href)) for key, label, href in items]) for group, items in sections
    ]
    return {"NAVIGATION": navigation, "shell_urls": links}


def actor_scopes(request):
    from .permissions import ROLE_SCOPES

    actor = getattr(request, "actor", None)
    return {"actor_scopes": {s.value for s in ROLE_SCOPES[actor.role]} if actor else set()}
