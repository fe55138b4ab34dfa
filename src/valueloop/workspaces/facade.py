"""What other apps may import from workspaces.

Invariants: every function here is scoped to the workspace it is given.
"""

from __future__ import annotations

from valueloop.accounts.facade import User

from .models import Membership, Workspace
from .schemas import RoleName, WorkspaceOut
from .signals import workspace_currency_changed

# Re-exported for other apps: the API shapes other apps embed, and the signal customers listens to.
__all__ = [
    "Membership",
    "RoleName",
    "User",
    "Workspace",
    "WorkspaceOut",
    "member_contacts",
    "member_user_ids",
    "members_matching_handles",
    "members_with_roles",
    "membership_for",
    "membership_to_act_as",
    "portfolio_summary",
    "product_choices",
    "resolve_product_area",
    "workspace_by_slug",
    "workspace_create",
    "workspace_creation_allowed",
    "workspace_currency_changed",
    "workspace_slugs",
    "workspaces_of",
]


def members_matching_handles(workspace: Workspace, handles: list[str]) -> list[User]:
    """Members of the workspace whose handle or email equals one of ``handles`` (lower-case)."""
    if not handles:
        return []
    emails = [h for h in handles if "@" in h]
    plain = [h for h in handles if "@" not in h]
    users = User.objects.filter(memberships__workspace=workspace, is_active=True)
    return list(users.filter(email__in=emails)) + list(users.filter(handle__in=plain).exclude(email__in=emails))


def membership_for(*, user, workspace_slug: str | None = None, workspace_id: int | None = None):
    """The user's membership in the named workspace (or their first one); None if none."""
    from valueloop.core.errors import NotFound

    from .selectors import membership_get

    try:
        return membership_get(user=user, workspace_slug=workspace_slug, workspace_id=workspace_id)
    except NotFound:
        if workspace_slug is None and workspace_id is not None:
            # The session remembers a workspace the user has since left: fall back to another.
            try:
                return membership_get(user=user)
            except NotFound:
                return None
        return None


def portfolio_summary(workspace: Workspace) -> dict:
    from .models import Membership, Product, ProductArea

    return {
        "products": Product.objects.filter(workspace=workspace, archived_at=None).count(),
        "areas": ProductArea.objects.filter(workspace=workspace, archived_at=None).count(),
        "members": Membership.objects.filter(workspace=workspace).count(),
    }


def workspaces_of(user):
    from .models import Membership

    return Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")


def workspace_creation_allowed(user) -> bool:
    """Whether the instance's policy lets ``user`` create workspaces (pages hide the link otherwise)."""
    from .selectors import workspace_creation_allowed as allowed

    return allowed(user=user)


def workspace_create(**kwargs):
    """Create a workspace with its creator as first admin (see services.workspace_create)."""
    from .services import workspace_create as create

    return create(**kwargs)


def resolve_product_area(workspace: Workspace, product_id: int | None, area_id: int | None):
    """(product, area) inside the workspace, or Invalid naming the field. An area implies its product."""
    from valueloop.core.errors import Invalid

    from .models import Product, ProductArea

    product = area = None
    if area_id:
        area = ProductArea.objects.select_related("product").filter(workspace=workspace, pk=area_id).first()
        if area is None:
            raise Invalid("No such product area in this workspace.", fields={"area_id": "Unknown area."})
        if product_id and area.product_id != product_id:
            raise Invalid("The area belongs to another product.", fields={"area_id": "Not in that product."})
        product = area.product
    elif product_id:
        product = Product.objects.filter(workspace=workspace, pk=product_id).first()
        if product is None:
            raise Invalid("No such product in this workspace.", fields={"product_id": "Unknown product."})
    return product, area


def product_choices(workspace: Workspace) -> list[tuple[int, str, list[tuple[int, str]]]]:
    """Active products with their active areas, for pickers: [(id, name, [(area_id, name)])]."""
    from .models import Product

    products = Product.objects.filter(workspace=workspace, archived_at=None).prefetch_related("areas").order_by("name")
    return [(p.pk, p.name, [(a.pk, a.name) for a in p.areas.all() if a.archived_at is None]) for p in products]


def member_user_ids(workspace: Workspace) -> set[int]:
    """Ids of the users who are members of ``workspace`` (any role)."""
    return set(Membership.objects.filter(workspace=workspace).values_list("user_id", flat=True))


def workspace_by_slug(slug: str) -> Workspace | None:
    """The workspace with this slug, for command-line tools that name one (None if there is none)."""
    return Workspace.objects.filter(slug=slug).first()


def workspace_slugs(limit: int = 20) -> list[str]:
    """Some workspace slugs in order, for a command's "no such workspace" message."""
    return list(Workspace.objects.order_by("slug").values_list("slug", flat=True)[:limit])


def membership_to_act_as(workspace: Workspace, email: str | None = None) -> Membership | None:
    """The member a command-line tool acts as: the one with ``email`` (any case), else the first admin."""
    from valueloop.core.permissions import Role

    memberships = Membership.objects.filter(workspace=workspace).select_related("user")
    if email:
        return memberships.filter(user__email__iexact=email).first()
    return memberships.filter(role=Role.ADMIN).order_by("id").first()


def member_contacts(workspace: Workspace, roles) -> list[tuple[int, str]]:
    """(user id, email) of the active members of ``workspace`` holding one of ``roles``, sorted."""
    return sorted(
        set(
            Membership.objects.filter(workspace=workspace, role__in=list(roles), user__is_active=True).values_list(
                "user_id", "user__email"
            )
        )
    )


def members_with_roles(workspace: Workspace) -> list[tuple[User, str]]:
    """(user, role) of every active member of ``workspace``, ordered by name then email."""
    memberships = (
        Membership.objects.filter(workspace=workspace, user__is_active=True)
        .select_related("user")
        .order_by("user__name", "user__email")
    )
    return [(m.user, m.role) for m in memberships]
