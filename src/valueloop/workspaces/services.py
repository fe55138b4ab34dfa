"""Writes for workspaces, members, invitations, products and product areas.

Invariants:
- Every write runs in one transaction with its audit record.
- Workspaces are created through the web or API only by whom the instance's policy allows
  (``VALUELOOP_WORKSPACE_CREATION``: instance admins by default); the operator's own commands (``via`` cli or
  system: createadmin, import, demo) are not bound by it, whoever runs them already controls the instance.
- A workspace always keeps at least one admin: the last admin cannot be demoted or removed.
- Invitation tokens are stored as SHA-256 digests; the raw token leaves only in the link.
- Products and areas carry ``version``; an edit made against an old version is refused.
- A member's API tokens for this workspace are revoked (each audited) when an admin asks or the
  member is removed; tokens for other workspaces are never touched.
- Archiving is reversible (restore); nothing in the portfolio is hard-deleted from the UI or API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from valueloop.accounts.facade import token_revoke_all
from valueloop.core.audit import audit_record
from valueloop.core.errors import Conflict, Invalid, NotFound
from valueloop.core.money import DEFAULT_LOCALE
from valueloop.core.permissions import Role, Scope
from valueloop.core.services import create_audited, update_audited
from valueloop.core.tasks import send_email_task
from valueloop.core.tenancy import Actor

from . import selectors
from .models import Invitation, Membership, Product, ProductArea, Workspace
from .signals import workspace_currency_changed

WORKSPACE_FIELDS = ["name", "slug", "timezone", "currency", "locale"]
OPERATOR_CHANNELS = frozenset({"cli", "system"})
PRODUCT_FIELDS = ["name", "key", "description"]
AREA_FIELDS = ["product", "name", "description"]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 2
    while Workspace.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def workspace_create(
    *,
    user,
    name: str,
    timezone_name: str = "UTC",
    currency: str = "USD",
    locale: str = DEFAULT_LOCALE,
    via: str = "web",
    is_demo: bool = False,
    slug: str | None = None,
) -> Workspace:
    """Create a workspace; its creator becomes its first admin. PermissionDenied when the policy excludes them."""
    if via not in OPERATOR_CHANNELS:
        selectors.workspace_creation_check(user=user)
    if not name or not name.strip():
        raise Invalid("A workspace needs a name.", fields={"name": "This field is required."})
    workspace = Workspace(
        name=name.strip(),
        slug=slug or _unique_slug(name),
        timezone=timezone_name,
        currency=currency,
        locale=locale,
        is_demo=is_demo,
    )
    membership = Membership(workspace=workspace, user=user, role=Role.ADMIN)
    actor = Actor(user=user, workspace=workspace, role=Role.ADMIN, via=via)
    create_audited(actor, workspace, entity_type="workspace", fields=WORKSPACE_FIELDS)
    membership.workspace = workspace
    membership.save()
    audit_record(
        actor=user,
        workspace=workspace,
        via=via,
        entity_type="member",
        entity_id=membership.pk,
        entity_label=user.email,
        action="joined",
        changes={"role": [None, Role.ADMIN.value]},
    )
    return workspace


@transaction.atomic
def workspace_update(*, actor: Actor, expected_version: int | None = None, **changes) -> Workspace:
    actor.require(Scope.WORKSPACE_MANAGE)
    unknown = set(changes) - {"name", "timezone", "currency", "locale"}
    if unknown:
        raise Invalid(f"Unknown workspace fields: {', '.join(sorted(unknown))}")
    workspace = Workspace.objects.select_for_update().get(pk=actor.workspace.pk)
    old_currency = workspace.currency
    workspace = update_audited(actor, workspace, changes, entity_type="workspace", expected_version=expected_version)
    if workspace.currency != old_currency:
        # Money rolled up in the old currency (e.g. customers' ARR) is re-converted in this transaction.
        updated = Actor(user=actor.user, workspace=workspace, role=actor.role, via=actor.via)
        workspace_currency_changed.send(sender=Workspace, actor=updated)
    return workspace


def _admin_count(workspace: Workspace) -> int:
    return Membership.objects.filter(workspace=workspace, role=Role.ADMIN).count()


@transaction.atomic
def member_role_change(*, actor: Actor, membership_id: int, role: str, function: str | None = None) -> Membership:
    membership = selectors.access_membership(actor=actor, id=membership_id, scope=Scope.WORKSPACE_MANAGE)
    try:
        new_role = Role(role)
    except ValueError:
        raise Invalid(f"Unknown role {role!r}.", fields={"role": f"Choose one of: {', '.join(Role)}."}) from None
    if membership.role == Role.ADMIN and new_role != Role.ADMIN and _admin_count(actor.workspace) <= 1:
        raise Conflict("A workspace needs at least one admin; make someone else admin first.", code="last_admin")
    changes: dict = {"role": new_role.value}
    if function is not None:
        changes["function"] = function
    before = {"role": membership.role, "function": membership.function}
    for k, v in changes.items():
        setattr(membership, k, v)
    membership.full_clean()
    membership.save(update_fields=list(changes))
    delta = {k: [before[k], v] for k, v in changes.items() if before[k] != v}
    if delta:
        audit_record(
            actor=actor.user,
            workspace=actor.workspace,
            via=actor.via,
            entity_type="member",
            entity_id=membership.pk,
            entity_label=membership.user.email,
            action="role_changed",
            changes=delta,
        )
    return membership


@transaction.atomic
def member_remove(*, actor: Actor, membership_id: int) -> None:
    membership = selectors.access_membership(actor=actor, id=membership_id, scope=Scope.WORKSPACE_MANAGE)
    if membership.role == Role.ADMIN and _admin_count(actor.workspace) <= 1:
        raise Conflict("The last admin cannot be removed.", code="last_admin")
    # The member's tokens for this workspace stop working with the membership.
    token_revoke_all(actor=actor, user_id=membership.user_id)
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="member",
        entity_id=membership.pk,
        entity_label=membership.user.email,
        action="removed",
        changes={"role": [membership.role, None]},
    )
    membership.delete()


@transaction.atomic
def member_tokens_revoke(*, actor: Actor, membership_id: int) -> int:
    """Revoke every API token the member holds for this workspace; returns how many were active."""
    membership = selectors.access_membership(actor=actor, id=membership_id, scope=Scope.WORKSPACE_MANAGE)
    return token_revoke_all(actor=actor, user_id=membership.user_id)


@transaction.atomic
def invitation_create(*, actor: Actor, role: str, email: str = "") -> tuple[Invitation, str]:
    """Invite by email (a mail is sent after commit) or, without email, by a shareable link.

    Returns the invitation and its accept URL; the URL holds the only copy of the token.
    """
    actor.require(Scope.WORKSPACE_MANAGE)
    try:
        Role(role)
    except ValueError:
        raise Invalid(f"Unknown role {role!r}.", fields={"role": f"Choose one of: {', '.join(Role)}."}) from None
    email = (email or "").strip().lower()
    if email and Membership.objects.filter(workspace=actor.workspace, user__email=email).exists():
        raise Conflict(f"{email} is already a member of this workspace.", code="already_member")
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        workspace=actor.workspace,
        email=email,
        role=role,
        digest=_digest(token),
        created_by=actor.user,
        expires_at=timezone.now() + dt.timedelta(days=settings.INVITATION_DAYS),
    )
    create_audited(actor, invitation, entity_type="invitation", fields=["email", "role", "expires_at"])
    url = settings.VALUELOOP_PUBLIC_URL.rstrip("/") + reverse("workspaces:invitation_accept", args=[token])
    if email:
        inviter = actor.user.display_name if actor.user else "Valueloop"
        subject = f"{inviter} invited you to {actor.workspace.name} on Valueloop"
        body = (
            f"You have been invited to join {actor.workspace.name} as {Role(role).label}.\n\n"
            f"Accept the invitation: {url}\n\nThe link expires in {settings.INVITATION_DAYS} days."
        )
        # Queued after commit: no mail for an invitation that was rolled back, and a slow SMTP
        # server never holds the request.
        transaction.on_commit(lambda: send_email_task.enqueue(subject, body, [email]))
    return invitation, url


def invitation_for_token(token: str) -> Invitation:
    invitation = Invitation.objects.select_related("workspace").filter(digest=_digest(token)).first()
    if invitation is None or invitation.revoked_at or invitation.accepted_at or invitation.expires_at < timezone.now():
        raise NotFound("This invitation link is invalid, expired or already used.")
    return invitation


@transaction.atomic
def invitation_accept(*, user, token: str) -> Membership:
    invitation = invitation_for_token(token)
    if invitation.email and invitation.email != user.email.lower():
        raise Invalid(f"This invitation is for {invitation.email}; sign in with that address to accept it.")
    existing = Membership.objects.filter(workspace=invitation.workspace, user=user).first()
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if existing:
        return existing
    membership = Membership.objects.create(workspace=invitation.workspace, user=user, role=invitation.role)
    audit_record(
        actor=user,
        workspace=invitation.workspace,
        entity_type="member",
        entity_id=membership.pk,
        entity_label=user.email,
        action="joined",
        changes={"role": [None, invitation.role]},
    )
    return membership


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation_id: int) -> Invitation:
    invitation = selectors.access_invitation(actor=actor, id=invitation_id)
    if invitation.revoked_at is None:
        update_audited(
            actor,
            invitation,
            {"revoked_at": timezone.now()},
            entity_type="invitation",
            expected_version=None,
            action="revoked",
        )
    return invitation


# --- portfolio ------------------------------------------------------------------------------


def _normalise_key(key: str) -> str:
    return (key or "").strip().upper()


@transaction.atomic
def product_create(*, actor: Actor, name: str, key: str = "", description: str = "") -> Product:
    actor.require(Scope.PORTFOLIO_WRITE)
    name = (name or "").strip()
    key = _normalise_key(key) or slugify(name).replace("-", "")[:6].upper()
    if Product.objects.filter(workspace=actor.workspace, name__iexact=name).exists():
        raise Invalid(f"A product named {name!r} already exists.", fields={"name": "Choose another name."})
    if key and Product.objects.filter(workspace=actor.workspace, key=key).exists():
        raise Invalid(f"The key {key!r} is taken.", fields={"key": "Choose another key."})
    if key and not key.replace("_", "").isalnum():
        raise Invalid("A key uses letters, digits and underscores only.", fields={"key": "Letters and digits only."})
    product = Product(workspace=actor.workspace, name=name, key=key, description=description or "")
    return create_audited(actor, product, entity_type="product", fields=PRODUCT_FIELDS)


@transaction.atomic
def product_update(*, actor: Actor, product_id: int, expected_version: int | None = None, **changes) -> Product:
    product = selectors.access_product(actor=actor, id=product_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    unknown = set(changes) - set(PRODUCT_FIELDS)
    if unknown:
        raise Invalid(f"Unknown product fields: {', '.join(sorted(unknown))}")
    if "key" in changes:
        changes["key"] = _normalise_key(changes["key"])
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        clash = Product.objects.filter(workspace=actor.workspace, name__iexact=changes["name"]).exclude(pk=product.pk)
        if clash.exists():
            raise Invalid(
                f"A product named {changes['name']!r} already exists.", fields={"name": "Choose another name."}
            )
    return update_audited(actor, product, changes, entity_type="product", expected_version=expected_version)


@transaction.atomic
def product_archive(*, actor: Actor, product_id: int, archived: bool = True) -> Product:
    product = selectors.access_product(actor=actor, id=product_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    if (product.archived_at is not None) == archived:
        return product
    return update_audited(
        actor,
        product,
        {"archived_at": timezone.now() if archived else None},
        entity_type="product",
        expected_version=None,
        action="archived" if archived else "restored",
    )


@transaction.atomic
def area_create(*, actor: Actor, product_id: int, name: str, description: str = "") -> ProductArea:
    product = selectors.access_product(actor=actor, id=product_id, scope=Scope.PORTFOLIO_WRITE)
    name = (name or "").strip()
    if ProductArea.objects.filter(product=product, name__iexact=name).exists():
        raise Invalid(f"{product.name} already has an area named {name!r}.", fields={"name": "Choose another name."})
    area = ProductArea(workspace=actor.workspace, product=product, name=name, description=description or "")
    return create_audited(actor, area, entity_type="area", fields=AREA_FIELDS)


@transaction.atomic
def area_update(*, actor: Actor, area_id: int, expected_version: int | None = None, **changes) -> ProductArea:
    area = selectors.access_area(actor=actor, id=area_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    unknown = set(changes) - {"name", "description"}
    if unknown:
        raise Invalid(f"Unknown area fields: {', '.join(sorted(unknown))}")
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        clash = ProductArea.objects.filter(product=area.product, name__iexact=changes["name"]).exclude(pk=area.pk)
        if clash.exists():
            raise Invalid(
                f"This product already has an area named {changes['name']!r}.", fields={"name": "Choose another name."}
            )
    return update_audited(actor, area, changes, entity_type="area", expected_version=expected_version)


@transaction.atomic
def area_archive(*, actor: Actor, area_id: int, archived: bool = True) -> ProductArea:
    area = selectors.access_area(actor=actor, id=area_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    if (area.archived_at is not None) == archived:
        return area
    return update_audited(
        actor,
        area,
        {"archived_at": timezone.now() if archived else None},
        entity_type="area",
        expected_version=None,
        action="archived" if archived else "restored",
    )
