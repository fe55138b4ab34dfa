from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_http_methods

from valueloop.collaboration.facade import thread_context
from valueloop.core import money
from valueloop.core.errors import DomainError, Invalid
from valueloop.core.pages import form_errors, public_page, signed_in_page, workspace_page
from valueloop.core.permissions import ROLE_CHOICES, Scope

from . import selectors, services
from .forms import MemberChoiceForm
from .models import CONTRIBUTOR_FUNCTIONS, CURRENCY_CHOICES


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def product_list_view(request):
    actor = request.actor
    errors: dict[str, str] = {}
    form = {"name": "", "key": "", "description": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        try:
            product = services.product_create(actor=actor, **form)
        except DomainError as exc:
            errors = form_errors(exc)
        else:
            messages.success(request, f"Product {product.name} created.")
            return redirect("workspaces:product_detail", actor.workspace.slug, product.pk)
    search = request.GET.get("q", "").strip()
    show_archived = request.GET.get("archived") == "1"
    products = selectors.product_list(actor=actor, search=search, include_archived=show_archived)
    page = Paginator(products, 25).get_page(request.GET.get("page"))
    page.object_list = selectors.with_area_counts(page.object_list)
    context = {
        "page": page,
        "search": search,
        "show_archived": show_archived,
        "errors": errors,
        "form": form,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
    }
    if request.htmx and request.method == "GET":
        return render(request, "workspaces/product_list.html#results", context)
    return render(request, "workspaces/product_list.html", context, status=400 if errors else 200)


def _apply_product_action(actor, product, action: str, data) -> str:
    """One form post on the product page -> one service call; returns the notice to show."""
    if action == "update":
        services.product_update(
            actor=actor,
            product_id=product.pk,
            expected_version=_int_or_none(data.get("version")),
            name=data.get("name", ""),
            key=data.get("key", ""),
            description=data.get("description", ""),
        )
        return "Product saved."
    if action in ("archive", "restore"):
        services.product_archive(actor=actor, product_id=product.pk, archived=action == "archive")
        return "Product archived." if action == "archive" else "Product restored."
    if action == "add_area":
        services.area_create(
            actor=actor,
            product_id=product.pk,
            name=data.get("area_name", ""),
            description=data.get("area_description", ""),
        )
        return "Area added."
    if action in ("archive_area", "restore_area"):
        services.area_archive(
            actor=actor, area_id=_int_or_none(data.get("area_id")) or 0, archived=action == "archive_area"
        )
        return "Area archived." if action == "archive_area" else "Area restored."
    raise Invalid(f"Unknown action {action!r}.")


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def product_detail_view(request, product_id: int):
    actor = request.actor
    product = selectors.access_product(actor=actor, id=product_id)
    errors: dict[str, str] = {}
    area_errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            notice = _apply_product_action(actor, product, action, request.POST)
        except DomainError as exc:
            if exc.status == 403:
                raise
            (area_errors if action == "add_area" else errors).update(form_errors(exc))
        else:
            messages.success(request, notice)
            return redirect("workspaces:product_detail", actor.workspace.slug, product.pk)
    context = {
        "product": product,
        "areas": selectors.area_list(actor=actor, product=product, include_archived=True),
        "errors": errors,
        "area_errors": area_errors,
        "can_write": actor.can(Scope.PORTFOLIO_WRITE),
        **thread_context(actor=actor, entity_type="product", entity_id=product.pk),
    }
    return render(request, "workspaces/product_detail.html", context, status=400 if errors or area_errors else 200)


@workspace_page(Scope.WORKSPACE_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def settings_view(request):
    actor = request.actor
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            services.workspace_update(
                actor=actor,
                expected_version=_int_or_none(request.POST.get("version")),
                name=request.POST.get("name", ""),
                timezone=request.POST.get("timezone", ""),
                currency=request.POST.get("currency", ""),
                locale=request.POST.get("locale", "") or actor.workspace.locale,
            )
        except DomainError as exc:
            errors = form_errors(exc)
        else:
            messages.success(request, "Workspace settings saved.")
            return redirect("workspaces:settings", actor.workspace.slug)
    import zoneinfo

    context = {
        "errors": errors,
        "currencies": CURRENCY_CHOICES,
        "timezones": sorted(zoneinfo.available_timezones()),
        "locales": money.locale_choices(),
    }
    return render(request, "workspaces/settings.html", context, status=400 if errors else 200)


@workspace_page(Scope.WORKSPACE_READ)
@require_http_methods(["GET", "HEAD", "POST"])
def members_view(request):
    actor = request.actor
    errors: dict[str, str] = {}
    invite_url = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            actor.require(Scope.WORKSPACE_MANAGE)
            if action == "invite":
                invitation, invite_url = services.invitation_create(
                    actor=actor, role=request.POST.get("role", ""), email=request.POST.get("email", "")
                )
                if invitation.email:
                    messages.success(request, f"Invitation sent to {invitation.email}.")
                    invite_url = None
            elif action == "role":
                services.member_role_change(
                    actor=actor,
                    membership_id=_int_or_none(request.POST.get("member_id")) or 0,
                    role=request.POST.get("role", ""),
                    function=request.POST.get("function", ""),
                )
                messages.success(request, "Role changed.")
            elif action == "remove":
                services.member_remove(actor=actor, membership_id=_int_or_none(request.POST.get("member_id")) or 0)
                messages.success(request, "Member removed.")
            elif action == "revoke_tokens":
                choice = MemberChoiceForm(request.POST)
                if not choice.is_valid():
                    raise Invalid(
                        "Choose a member.", fields={"member_id": " ".join(choice.errors.get("member_id", []))}
                    )
                revoked = services.member_tokens_revoke(actor=actor, membership_id=choice.cleaned_data["member_id"])
                messages.success(request, f"{revoked} API token{pluralize(revoked)} revoked.")
            elif action == "revoke":
                services.invitation_revoke(
                    actor=actor, invitation_id=_int_or_none(request.POST.get("invitation_id")) or 0
                )
                messages.success(request, "Invitation revoked.")
            else:
                errors = {"form": "Unknown action."}
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        if not errors and invite_url is None:
            return redirect("workspaces:members", actor.workspace.slug)
    search = request.GET.get("q", "").strip()
    context = {
        "page": Paginator(selectors.member_list(actor=actor, search=search), 50).get_page(request.GET.get("page")),
        "search": search,
        "invitations": selectors.invitation_list(actor=actor) if actor.can(Scope.WORKSPACE_MANAGE) else [],
        "can_manage": actor.can(Scope.WORKSPACE_MANAGE),
        "roles": ROLE_CHOICES,
        "functions": CONTRIBUTOR_FUNCTIONS,
        "errors": errors,
        "invite_url": invite_url,
    }
    return render(request, "workspaces/members.html", context, status=400 if errors else 200)


@signed_in_page
@require_http_methods(["GET", "HEAD", "POST"])
def workspace_create_view(request):
    errors: dict[str, str] = {}
    if request.method != "POST":
        selectors.workspace_creation_check(user=request.user)  # 403 page for those the policy excludes
    else:
        try:
            workspace = services.workspace_create(
                user=request.user,
                name=request.POST.get("name", ""),
                timezone_name=request.POST.get("timezone", "UTC") or "UTC",
                currency=request.POST.get("currency", "USD") or "USD",
            )
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = form_errors(exc)
        else:
            return redirect("home:workspace", workspace.slug)
    return render(
        request,
        "workspaces/workspace_new.html",
        {"errors": errors, "currencies": CURRENCY_CHOICES},
        status=400 if errors else 200,
    )


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
