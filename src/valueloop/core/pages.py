"""Page plumbing: every view declares who may see it.

- ``workspace_page(scope)``: ``/w/<ws>/...`` pages. Non-members get 404 (the workspace's
  existence is not revealed), members without the scope get 403.
- ``signed_in_page``: pages for any signed-in user outside a workspace.
- ``public_page``: sign-in, password reset, static information.

The permission-matrix test reads ``required_scope`` / ``page_kind`` from every URL pattern, so a
view without one of these decorators fails the suite.

Lists on pages are paged by ``paginate_page`` (Django's Paginator; a missing, bad or out-of-range ``?page=``
answers the nearest page); ``Slices`` lets it page a selector that reads one slice at a time.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable, Sequence

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from . import money
from .errors import NotFound, PermissionDenied
from .permissions import Role, Scope
from .tenancy import Actor


def _forbidden(request, message: str):
    return render(request, "403.html", {"message": message}, status=403)


def workspace_page(scope: Scope | None = Scope.WORKSPACE_READ):
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request, ws: str, *args, **kwargs):
            from valueloop.workspaces.facade import membership_for

            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_for(user=request.user, workspace_slug=ws)
            if membership is None:
                raise Http404("Workspace not found.")
            actor = Actor(user=request.user, workspace=membership.workspace, role=Role(membership.role), via="web")
            request.actor = actor  # set before the scope check so the 403 page keeps the workspace shell
            if request.session.get("workspace_id") != membership.workspace_id:
                request.session["workspace_id"] = membership.workspace_id
            # Times on workspace pages read in the workspace's time zone (stored in UTC), money in its currency and
            # locale; pages render inside the view, so the overrides cover them and end with the request.
            with (
                timezone.override(zoneinfo.ZoneInfo(membership.workspace.timezone)),
                money.for_workspace(membership.workspace),
            ):
                if scope is not None and not actor.can(scope):
                    return _forbidden(request, f"Your role ({actor.role.label}) cannot open this page.")
                try:
                    return view(request, *args, **kwargs)
                except NotFound as exc:
                    raise Http404(exc.message) from exc
                except PermissionDenied as exc:
                    return _forbidden(request, exc.message)

        wrapper.required_scope = scope  # type: ignore[attr-defined]
        wrapper.page_kind = "workspace"  # type: ignore[attr-defined]
        return wrapper

    return decorate


def signed_in_page(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            return _forbidden(request, exc.message)

    wrapper.page_kind = "signed_in"  # type: ignore[attr-defined]
    return wrapper


def public_page(view: Callable) -> Callable:
    view.page_kind = "public"  # type: ignore[attr-defined]
    return view


def form_errors(exc) -> dict[str, str]:
    """Field errors of a DomainError, with the summary under "form" when no field is named."""
    errors = dict(getattr(exc, "fields", {}) or {})
    if not errors:
        errors["form"] = exc.message
    return errors


def paginate_page(request, items, per_page: int, *, number=None) -> Page:
    """The page of ``items`` (a QuerySet, a list or ``Slices``) that ``?page=`` asks for (or ``number``: a form
    that posts the page it was on)."""
    return Paginator(items, per_page).get_page(number if number is not None else request.GET.get("page"))


class Slices(Sequence):
    """``count`` items read on demand, ``fetch(start, stop)`` returning a list: lets ``paginate_page`` page a
    selector that computes only the rows of the page shown (a ranking, the backlog)."""

    def __init__(self, count: int, fetch: Callable[[int, int], list]):
        self.count = count
        self._fetch = fetch

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, _ = key.indices(self.count)
            return self._fetch(start, stop)
        return self._fetch(key, key + 1)[0]


def posted(request):
    """The form data to bind a page form to: the POST body on a POST, else None (an unbound form)."""
    return request.POST if request.method == "POST" else None


def safe_next(request, target: str | None, fallback: str) -> str:
    """``target`` when it is a path on this site (a "next" sent back by a form), else ``fallback``."""
    target = target or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
