"""Reads for workspaces, members and the portfolio. Every query starts from the actor's workspace."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from valueloop.core.entities import EntityRef
from valueloop.core.errors import NotFound, PermissionDenied
from valueloop.core.permissions import Scope
from valueloop.core.tenancy import Actor

from .models import Invitation, Membership, Product, ProductArea, Workspace


def workspaces_for_user(user) -> QuerySet[Workspace]:
    return Workspace.objects.filter(memberships__user=user).order_by("name")


def workspace_creation_allowed(*, user) -> bool:
    """The instance's policy (``VALUELOOP_WORKSPACE_CREATION``): instance admins (``is_staff``) only, or everyone."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return settings.WORKSPACE_CREATION == "everyone" or bool(user.is_staff)


def workspace_creation_check(*, user) -> None:
    """PermissionDenied (403) for a user the policy does not let create workspaces."""
    if not workspace_creation_allowed(user=user):
        raise PermissionDenied(
            "On this server, workspaces are created by its administrators: ask one to create a workspace for you "
            "or to invite you to one."
        )


def membership_get(*, user, workspace_slug: str | None = None, workspace_id: int | None = None) -> Membership:
    """The user's membership; NotFound when the workspace does not exist or is not theirs."""
    if user is None or not user.is_authenticated:
        raise NotFound("Workspace not found.")
    query = Membership.objects.select_related("workspace").filter(user=user)
    if workspace_slug is not None:
        query = query.filter(workspace__slug=workspace_slug).order_by()  # at most one row: no sort
    elif workspace_id is not None:
        query = query.filter(workspace_id=workspace_id).order_by()
    else:
        query = query.order_by("workspace__name")
    membership = query.first()
    if membership is None:
        raise NotFound("Workspace not found.")
    return membership


def member_list(*, actor: Actor, search: str = "") -> QuerySet[Membership]:
    actor.require(Scope.WORKSPACE_READ)
    query = Membership.objects.filter(workspace=actor.workspace).select_related("user")
    if search:
        query = query.filter(Q(user__email__icontains=search) | Q(user__name__icontains=search))
    return query.order_by("user__name", "user__email")


def access_membership(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ) -> Membership:
    membership = Membership.objects.filter(workspace=actor.workspace, pk=id).select_related("user").first()
    if membership is None:
        raise NotFound("Member not found.")
    actor.require(scope)
    return membership


def invitation_list(*, actor: Actor) -> QuerySet[Invitation]:
    actor.require(Scope.WORKSPACE_MANAGE)
    return Invitation.objects.filter(workspace=actor.workspace, accepted_at=None, revoked_at=None)


def access_invitation(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_MANAGE) -> Invitation:
    invitation = Invitation.objects.filter(workspace=actor.workspace, pk=id).first()
    if invitation is None:
        raise NotFound("Invitation not found.")
    actor.require(scope)
    return invitation


def product_list(*, actor: Actor, search: str = "", include_archived: bool = False) -> QuerySet[Product]:
    actor.require(Scope.WORKSPACE_READ)
    query = Product.objects.filter(workspace=actor.workspace)
    if not include_archived:
        query = query.filter(archived_at=None)
    if search:
        query = query.filter(Q(name__icontains=search) | Q(key__icontains=search))
    return query.order_by("name", "id")


def access_product(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ, for_update: bool = False) -> Product:
    query = Product.objects.filter(workspace=actor.workspace, pk=id)
    if for_update:
        query = query.select_for_update(of=("self",))  # lock our row only, not outer-joined ones
    product = query.first()
    if product is None:
        raise NotFound("Product not found.")
    actor.require(scope)
    return product


def with_area_counts(products) -> list[Product]:
    """Attach ``area_count`` (active areas) to a page of products with one grouped query, so the
    cost follows the page size, not the size of the workspace."""
    products = list(products)
    counts = dict(
        ProductArea.objects.filter(product__in=products, archived_at=None)
        .values("product_id")
        .annotate(n=Count("id"))
        .values_list("product_id", "n")
    )
    for product in products:
        product.area_count = counts.get(product.pk, 0)
    return products


def area_list(*, actor: Actor, product: Product | None = None, include_archived: bool = False) -> QuerySet[ProductArea]:
    actor.require(Scope.WORKSPACE_READ)
    query = ProductArea.objects.filter(workspace=actor.workspace).select_related("product")
    if product is not None:
        query = query.filter(product=product)
    if not include_archived:
        query = query.filter(archived_at=None)
    return query.order_by("product__name", "name", "id")


def access_area(*, actor: Actor, id: int, scope: Scope = Scope.WORKSPACE_READ, for_update: bool = False) -> ProductArea:
    query = ProductArea.objects.filter(workspace=actor.workspace, pk=id).select_related("product")
    if for_update:
        query = query.select_for_update(of=("self",))  # lock our row only, not outer-joined ones
    area = query.first()
    if area is None:
        raise NotFound("Product area not found.")
    actor.require(scope)
    return area


# --- entity registry resolvers (collaboration attaches to these) -----------------------------


def product_ref(workspace: Workspace, entity_id: int) -> EntityRef | None:
    product = Product.objects.filter(workspace=workspace, pk=entity_id).only("name").first()
    if product is None:
        return None
    url = reverse("workspaces:product_detail", args=[workspace.slug, product.pk])
    return EntityRef("product", product.pk, product.name, url)


def area_ref(workspace: Workspace, entity_id: int) -> EntityRef | None:
    area = ProductArea.objects.filter(workspace=workspace, pk=entity_id).only("name", "product_id").first()
    if area is None:
        return None
    url = reverse("workspaces:product_detail", args=[workspace.slug, area.product_id]) + f"#area-{area.pk}"
    return EntityRef("area", area.pk, area.name, url)


def workspace_ref(workspace: Workspace, entity_id: int) -> EntityRef | None:
    if entity_id != workspace.pk:
        return None
    return EntityRef("workspace", workspace.pk, workspace.name, reverse("home:workspace", args=[workspace.slug]))


# --- search (core.search providers, registered in apps.py) ---------------------------------------------------


def area_search_describe(actor: Actor, ids: list[int]) -> dict[int, tuple[str, str]]:
    """Areas open on their product's page."""
    rows = ProductArea.objects.filter(workspace=actor.workspace, id__in=ids).values_list(
        "id", "product_id", "product__name"
    )
    slug = actor.workspace.slug
    return {
        area_id: (reverse("workspaces:product_detail", args=[slug, product_id]) + f"#area-{area_id}", f"in {product}")
        for area_id, product_id, product in rows
    }


def member_search(actor: Actor, query: str, limit: int):
    """Members whose name, email or handle contains every word of ``query``: a handful of rows per workspace,
    and their names live on the user, so a substring match rather than the shared index."""
    from urllib.parse import urlencode

    from valueloop.core.search import SearchHit, highlight_words, marked, parse_terms

    words = [term for kind, term in parse_terms(query) if kind != "not"]
    if not words:
        return 0, []
    members = Membership.objects.filter(workspace=actor.workspace).select_related("user")
    for word in words:
        members = members.filter(
            Q(user__email__icontains=word) | Q(user__name__icontains=word) | Q(user__handle__icontains=word)
        )
    count = members.count()
    url = reverse("workspaces:members", args=[actor.workspace.slug])
    marks = highlight_words(query)
    hits = [
        SearchHit(
            kind="member",
            id=m.pk,
            title=marked(m.user.name or m.user.email, marks),
            snippet=marked(m.user.email, marks),
            url=f"{url}?{urlencode({'q': m.user.email})}",  # the members page filtered to this person
            rank=0.0,
            context=m.get_role_display(),
        )
        for m in members.order_by("user__name", "user__email")[:limit]
    ]
    return count, hits
