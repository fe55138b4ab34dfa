"""The navigation shell: the three functions of product management, plus Home, Search, Settings."""

NAVIGATION = [
    (
        "Create value",
        [
            ("customers", "Customers"),
            ("feedback", "Feedback"),
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


def shell(request):
    """Navigation for the current workspace: (group, [(key, label, href, is_current)])."""
    actor = getattr(request, "actor", None)
    if actor is None:
        return {"NAVIGATION": []}
    slug = actor.workspace.slug
    navigation = []
    for group, items in NAVIGATION:
        links = []
        for key, label in items:
            href = section_href(slug, key)
            links.append((key, label, href, request.path.startswith(href)))
        navigation.append((group, links))
    return {"NAVIGATION": navigation}


def actor_scopes(request):
    from .permissions import ROLE_SCOPES

    actor = getattr(request, "actor", None)
    return {"actor_scopes": {s.value for s in ROLE_SCOPES[actor.role]} if actor else set()}
