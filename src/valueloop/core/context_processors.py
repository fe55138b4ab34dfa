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


def shell(request):
    return {"NAVIGATION": NAVIGATION}


def actor_scopes(request):
    from .permissions import ROLE_SCOPES

    actor = getattr(request, "actor", None)
    return {"actor_scopes": {s.value for s in ROLE_SCOPES[actor.role]} if actor else set()}
