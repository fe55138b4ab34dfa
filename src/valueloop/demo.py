"""The demo workspace: a deterministic, believable B2B SaaS product team.

Invariants:
- Same seed and scale, same data: names, texts and ids come from one seeded RNG.
- Idempotent: running it again finds what exists (by slug, email, product key, comment text)
  and creates nothing twice.
- Accounts with the known demo password exist only here; a production ``serve`` never
  calls this.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.db import transaction

from valueloop.accounts.models import User
from valueloop.collaboration import services as collaboration
from valueloop.collaboration.models import Comment
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.workspaces import services as workspaces
from valueloop.workspaces.models import Membership, Product, ProductArea, Workspace

DEMO_SLUG = "demo"
DEMO_PASSWORD = "valueloop-demo"
DEMO_DOMAIN = "demo.valueloop.example"

PEOPLE = [
    ("Ada Okafor", "ada", Role.ADMIN, "leadership"),
    ("Priya Raman", "priya", Role.PRODUCT_MANAGER, "product"),
    ("Tom Becker", "tom", Role.PRODUCT_OWNER, "product"),
    ("Lena Fischer", "lena", Role.CONTRIBUTOR, "engineering"),
    ("Marco Silva", "marco", Role.CONTRIBUTOR, "design"),
    ("Hana Sato", "hana", Role.CONTRIBUTOR, "research"),
    ("Jamal Carter", "jamal", Role.CONTRIBUTOR, "sales"),
    ("Sofia Rossi", "sofia", Role.CONTRIBUTOR, "support"),
    ("Olivia Chen", "olivia", Role.CONTRIBUTOR, "marketing"),
    ("Victor Hale", "victor", Role.STAKEHOLDER, "leadership"),
]

PRODUCTS = [
    (
        "Ledgerly Core",
        "CORE",
        "The invoicing and accounts-receivable platform mid-market finance teams run on.",
        ["Invoicing", "Payments", "Dunning", "Reporting", "Integrations"],
    ),
    (
        "Ledgerly Mobile",
        "MOB",
        "iOS and Android apps for approving spend and capturing receipts on the go.",
        ["Receipt capture", "Approvals", "Notifications"],
    ),
    (
        "Ledgerly Insights",
        "INS",
        "Cash-flow forecasting and dashboards for CFOs.",
        ["Forecasting", "Dashboards", "Exports"],
    ),
    (
        "Developer Platform",
        "API",
        "Public REST API, webhooks and SDKs partners build on.",
        ["REST API", "Webhooks", "SDKs", "Developer portal"],
    ),
]

COMMENTS = [
    ("priya", "product", "CORE", "Q3 focus for @tom: dunning retries are the top churn reason in support tickets."),
    ("tom", "product", "CORE", "Agreed. @lena can you size the retry scheduler? I'd like **CD3** numbers by Friday."),
    ("lena", "product", "CORE", "Rough size: 3 weeks with the new queue. Risk is the bank-holiday calendar."),
    ("jamal", "product", "INS", "Two enterprise prospects asked for a 13-week cash forecast in the last call. @priya"),
    ("hana", "product", "MOB", "Interview notes: receipt capture fails in low light; 4 of 6 users retried twice."),
    ("victor", "product", "API", "Partners keep asking about webhook retries. Is this on the roadmap? @priya"),
]

WORDS = (
    "billing",
    "ledger",
    "cash",
    "audit",
    "sync",
    "export",
    "alerts",
    "tax",
    "vendor",
    "approvals",
    "budget",
    "forecast",
    "portal",
    "payouts",
    "reconcile",
    "close",
    "spend",
    "treasury",
)


# Apps that extend the demo, in dependency order (customers before the feedback that names them).
DEMO_STEPS = [
    "valueloop.customers.demo",
    "valueloop.discovery.demo",
    "valueloop.planning.demo",
    "valueloop.feedback.demo",
    "valueloop.themes.demo_whispers",
    "valueloop.research.demo",
    "valueloop.evidence.demo",
    "valueloop.flags.demo",
    "valueloop.experiments.demo",
    "valueloop.themes.demo",
    "valueloop.events.demo",
]


@dataclass
class DemoContext:
    workspace: Workspace
    users: dict[str, User]  # by handle: ada, priya, tom, lena, marco, hana, jamal, sofia, olivia, victor
    scale: str  # "small" or "large"
    rng: random.Random
    actor_for: Callable[[str], Actor]  # handle -> Actor with that member's role, via="system"
    seed: int = 7  # for steps that need a stream of their own, independent of earlier steps' draws


@dataclass
class DemoResult:
    workspace: Workspace
    created: bool
    logins: list[tuple[str, str, str]]  # email, password, role label


def _user(name: str, handle: str, *, instance_admin: bool = False) -> tuple[User, bool]:
    """A demo login; the demo's admin is also an instance admin, so it may create workspaces under the default
    policy (``VALUELOOP_WORKSPACE_CREATION=admins``), also in a demo built before that policy existed."""
    email = f"{handle}@{DEMO_DOMAIN}"
    user = User.objects.filter(email=email).first()
    if user:
        if instance_admin and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        return user, False
    user = User.objects.create_user(email, DEMO_PASSWORD, name=name, handle=handle, is_staff=instance_admin)
    return user, True


@transaction.atomic
def build_demo(*, scale: str = "small", seed: int = 7) -> DemoResult:
    rng = random.Random(seed)
    users = {handle: _user(name, handle, instance_admin=role == Role.ADMIN)[0] for name, handle, role, _ in PEOPLE}
    admin = users["ada"]
    workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
    created = workspace is None
    if created:
        workspace = workspaces.workspace_create(
            user=admin,
            name="Ledgerly (demo)",
            timezone_name="Europe/Berlin",
            currency="EUR",
            via="system",
            is_demo=True,
            slug=DEMO_SLUG,
        )
    for _name, handle, role, function in PEOPLE:
        Membership.objects.update_or_create(
            workspace=workspace, user=users[handle], defaults={"role": role.value, "function": function}
        )

    def actor_for(handle: str) -> Actor:
        role = Role(Membership.objects.get(workspace=workspace, user=users[handle]).role)
        return Actor(user=users[handle], workspace=workspace, role=role, via="system")

    pm = actor_for("priya")
    products: dict[str, Product] = {}
    for name, key, description, areas in PRODUCTS:
        product = Product.objects.filter(workspace=workspace, key=key).first() or workspaces.product_create(
            actor=pm, name=name, key=key, description=description
        )
        products[key] = product
        for area_name in areas:
            if not ProductArea.objects.filter(product=product, name=area_name).exists():
                workspaces.area_create(
                    actor=pm, product_id=product.pk, name=area_name, description=f"{area_name} in {name}."
                )
    for handle, entity_type, key, body in COMMENTS:
        product = products[key]
        if not Comment.objects.filter(workspace=workspace, entity_id=product.pk, body=body).exists():
            collaboration.comment_create(
                actor=actor_for(handle), entity_type=entity_type, entity_id=product.pk, body=body
            )
    if scale == "large":
        _build_large(workspace, pm, rng)
    context = DemoContext(workspace=workspace, users=users, scale=scale, rng=rng, actor_for=actor_for, seed=seed)
    for module_name in DEMO_STEPS:
        # Each app extends the demo in its own demo.py: build(context), idempotent and seeded.
        import_module(module_name).build(context)
    logins = [(users[handle].email, DEMO_PASSWORD, role.label) for _, handle, role, _ in PEOPLE]
    return DemoResult(workspace=workspace, created=created, logins=logins)


def _build_large(workspace: Workspace, pm: Actor, rng: random.Random) -> None:
    """The benchmark data set: 200 products, 2,000 areas, 20,000 comments (bulk-inserted)."""
    existing = set(Product.objects.filter(workspace=workspace).values_list("key", flat=True))
    new_products = []
    for i in range(200):
        key = f"P{i:03d}"
        if key in existing:
            continue
        words = rng.sample(WORDS, 2)
        new_products.append(
            Product(
                workspace=workspace,
                name=f"{words[0].title()} {words[1]} {i:03d}",
                key=key,
                description=f"Generated product {i} for load tests: {' and '.join(words)}.",
            )
        )
    Product.objects.bulk_create(new_products)
    generated = list(Product.objects.filter(workspace=workspace, key__startswith="P").order_by("key"))
    if not ProductArea.objects.filter(workspace=workspace, product__key__startswith="P").exists():
        ProductArea.objects.bulk_create(
            ProductArea(workspace=workspace, product=p, name=f"Area {j}", description=f"{rng.choice(WORDS)} work")
            for p in generated
            for j in range(10)
        )
    if not Comment.objects.filter(workspace=workspace, entity_type="product", body__startswith="[load]").exists():
        members = list(User.objects.filter(memberships__workspace=workspace))
        Comment.objects.bulk_create(
            Comment(
                workspace=workspace,
                entity_type="product",
                entity_id=rng.choice(generated).pk,
                author=rng.choice(members),
                body=f"[load] note {n} about {rng.choice(WORDS)}",
                body_html=f"<p>[load] note {n}</p>",
            )
            for n in range(20000)
        )
