"""Workspace pages: products and areas, settings, members and invitations, a new workspace, accepting an invitation.

One view (and URL) per form: a form that fails re-renders its page with the errors beside its fields (status 400)
on its own URL; the product and members pages are drawn by one helper each, whichever form posted.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from valueloop.collaboration.facade import thread_context
from valueloop.core.errors import DomainError
from valueloop.core.pages import paginate_page, posted, public_page, signed_in_page, workspace_page
from valueloop.core.permissions import Scope

from . import selectors, services
from .forms import (
    AreaForm,
    InvitationForm,
    MemberActionForm,
    MemberFilterForm,
    MemberRoleForm,
    ProductFilterForm,
    ProductForm,
    SettingsForm,
    WorkspaceCreateForm,
)

# --- products and areas -----------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def product_list_view(request):
    actor = request.actor
    form = ProductForm(posted(request), actor=actor)
    if form.submit(services.product_create):
        messages.success(request, f"Product {form.result.name} created.")
        return redirect("workspaces:product_detail", actor.workspace.slug, form.result.pk)
    filters = ProductFilterForm(request.GET).values()
    products = selectors.product_list(actor=actor, search=filters["q"], include_archived=filters["archived"])
    page = paginate_page(request, products, 25)
    page.object_list = selectors.with_area_counts(page.object_list)
    context = {
        "page": page,
        "search": filters["q"],
        "show_archived": filters["archived"],
        "form": form,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
    }
    if request.htmx and request.method == "GET":
        return render(request, "workspaces/product_list.html#results", context)
    return render(request, "workspaces/product_list.html", context, status=400 if form.errors else 200)


def _product_page(request, product, *, form=None, area_form=None):
    actor = request.actor
    form = form or ProductForm(actor=actor, instance=product)
    area_form = area_form or AreaForm(actor=actor)
    context = {
        "product": product,
        "areas": selectors.area_list(actor=actor, product=product, include_archived=True),
        "form": form,
        "area_form": area_form,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        **thread_context(actor=actor, entity_type="product", entity_id=product.pk),
    }
    status = 400 if form.errors or area_form.errors else 200
    return render(request, "workspaces/product_detail.html", context, status=status)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def product_detail_view(request, product_id: int):
    """The product page; a POST is its edit form."""
    actor = request.actor
    product = selectors.access_product(actor=actor, id=product_id)
    form = ProductForm(posted(request), actor=actor, instance=product)
    if form.submit(services.product_update, product_id=product.pk):
        messages.success(request, "Product saved.")
        return redirect("workspaces:product_detail", actor.workspace.slug, product.pk)
    return _product_page(request, product, form=form)


def _product_archive(request, product_id: int, *, archived: bool):
    product = services.product_archive(actor=request.actor, product_id=product_id, archived=archived)
    messages.success(request, "Product archived." if archived else "Product restored.")
    return redirect("workspaces:product_detail", request.actor.workspace.slug, product.pk)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def product_archive_view(request, product_id: int):
    return _product_archive(request, product_id, archived=True)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def product_restore_view(request, product_id: int):
    return _product_archive(request, product_id, archived=False)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def area_create_view(request, product_id: int):
    actor = request.actor
    product = selectors.access_product(actor=actor, id=product_id)
    area_form = AreaForm(request.POST, actor=actor)
    if area_form.submit(services.area_create, product_id=product.pk):
        messages.success(request, "Area added.")
        return redirect("workspaces:product_detail", actor.workspace.slug, product.pk)
    return _product_page(request, product, area_form=area_form)


def _area_archive(request, product_id: int, area_id: int, *, archived: bool):
    actor = request.actor
    product = selectors.access_product(actor=actor, id=product_id)
    # The area must be one of this product's: another product's area id is not found under it.
    if selectors.access_area(actor=actor, id=area_id).product_id != product.pk:
        raise Http404("No such area under this product.")
    services.area_archive(actor=actor, area_id=area_id, archived=archived)
    messages.success(request, "Area archived." if archived else "Area restored.")
    return redirect("workspaces:product_detail", actor.workspace.slug, product.pk)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def area_archive_view(request, product_id: int, area_id: int):
    return _area_archive(request, product_id, area_id, archived=True)


@workspace_page(Scope.PORTFOLIO_WRITE)
@require_POST
def area_restore_view(request, product_id: int, area_id: int):
    return _area_archive(request, product_id, area_id, archived=False)


# --- the workspace ----------------------------------------------------------------------------


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def settings_view(request):
    actor = request.actor
    form = SettingsForm(posted(request), actor=actor, instance=actor.workspace)
    if form.submit(services.workspace_update):
        messages.success(request, "Workspace settings saved.")
        return redirect("workspaces:settings", actor.workspace.slug)
    return render(request, "workspaces/settings.html", {"form": form}, status=400 if form.errors else 200)


def _members_page(request, *, invite_form=None, role_form=None, action_form=None, invite_url=None):
    """The members page, with the form that just failed (if any) in place of its blank one."""
    actor = request.actor
    can_manage = actor.can(Scope.WORKSPACE_MANAGE)
    search = MemberFilterForm(request.GET).values()["q"]
    page = paginate_page(request, selectors.member_list(actor=actor, search=search), 50)
    if can_manage:
        for membership in page.object_list:
            failed = role_form is not None and role_form.instance.pk == membership.pk
            membership.role_form = role_form if failed else MemberRoleForm(actor=actor, instance=membership)
    forms = [f for f in (invite_form, role_form, action_form) if f is not None]
    context = {
        "page": page,
        "search": search,
        "invitations": selectors.invitation_list(actor=actor) if can_manage else [],
        "can_manage": can_manage,
        "invite_form": invite_form or InvitationForm(actor=actor),
        "action_form": action_form,
        "role_form": role_form,
        "invite_url": invite_url,
    }
    status = 400 if any(f.errors for f in forms) else 200
    return render(request, "workspaces/members.html", context, status=status)


@workspace_page(Scope.WORKSPACE_READ)
@require_safe
def members_view(request):
    return _members_page(request)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_POST
def invitation_create_view(request):
    actor = request.actor
    form = InvitationForm(request.POST, actor=actor)
    if not form.submit(services.invitation_create):
        return _members_page(request, invite_form=form)
    invitation, invite_url = form.result
    if invitation.email:
        messages.success(request, f"Invitation sent to {invitation.email}.")
        return redirect("workspaces:members", actor.workspace.slug)
    # A link invitation: its URL holds the only copy of the token, so it is shown in this answer, once.
    return _members_page(request, invite_url=invite_url)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_POST
def invitation_revoke_view(request, invitation_id: int):
    form = MemberActionForm(request.POST, actor=request.actor)
    if not form.submit(services.invitation_revoke, invitation_id=invitation_id):
        return _members_page(request, action_form=form)
    messages.success(request, "Invitation revoked.")
    return redirect("workspaces:members", request.actor.workspace.slug)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_POST
def member_role_view(request, member_id: int):
    actor = request.actor
    membership = selectors.access_membership(actor=actor, id=member_id, scope=Scope.WORKSPACE_MANAGE)
    form = MemberRoleForm(request.POST, actor=actor, instance=membership)
    if not form.submit(services.member_role_change, membership_id=membership.pk):
        return _members_page(request, role_form=form)
    messages.success(request, "Role changed.")
    return redirect("workspaces:members", actor.workspace.slug)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_POST
def member_remove_view(request, member_id: int):
    form = MemberActionForm(request.POST, actor=request.actor)
    if not form.submit(services.member_remove, membership_id=member_id):
        return _members_page(request, action_form=form)
    messages.success(request, "Member removed.")
    return redirect("workspaces:members", request.actor.workspace.slug)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_POST
def member_tokens_revoke_view(request, member_id: int):
    form = MemberActionForm(request.POST, actor=request.actor)
    if not form.submit(services.member_tokens_revoke, membership_id=member_id):
        return _members_page(request, action_form=form)
    revoked = form.result
    messages.success(request, f"{revoked} API token{pluralize(revoked)} revoked.")
    return redirect("workspaces:members", request.actor.workspace.slug)


@signed_in_page
@require_http_methods(["GET", "HEAD", "POST"])
def workspace_create_view(request):
    form = WorkspaceCreateForm(posted(request))
    if not form.is_bound:
        selectors.workspace_creation_check(user=request.user)  # 403 page for those the policy excludes
    elif form.submit(services.workspace_create, user=request.user):
        return redirect("home:workspace", form.result.slug)
    return render(request, "workspaces/workspace_new.html", {"form": form}, status=400 if form.errors else 200)


@public_page
@require_http_methods(["GET", "HEAD", "POST"])
def invitation_accept_view(request, token: str):
    try:
        invitation = services.invitation_for_token(token)
    except DomainError as exc:
        return render(request, "workspaces/invitation.html", {"error": exc.message}, status=404)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")
        try:
            membership = services.invitation_accept(user=request.user, token=token)
        except DomainError as exc:
            return render(
                request, "workspaces/invitation.html", {"invitation": invitation, "error": exc.message}, status=400
            )
        messages.success(request, f"Welcome to {membership.workspace.name}.")
        return redirect("home:workspace", membership.workspace.slug)
    return render(request, "workspaces/invitation.html", {"invitation": invitation})
