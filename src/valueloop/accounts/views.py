"""Account pages: sign-in, the profile, API tokens and passwords. Input comes through ``forms``; writes go through
``services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from valueloop.core.errors import DomainError
from valueloop.core.pages import posted, public_page, signed_in_page, workspace_page

from . import selectors, services
from .devices import device_remember
from .forms import ChangePasswordForm, NewPasswordForm, ProfileForm, SignInForm, SignInQueryForm, TokenForm


def _safe_next(request, candidate: str) -> str:
    return candidate if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}) else ""


@public_page
@require_http_methods(["GET", "HEAD", "POST"])
def login_view(request):
    next_url = _safe_next(request, SignInQueryForm(request.GET).values()["next"])
    form = SignInForm(posted(request), initial={"next": next_url})
    status, retry_after = 200, None
    if form.is_bound:
        if not form.is_valid():
            status = 400
        else:
            next_url = _safe_next(request, form.cleaned_data["next"]) or next_url
            try:
                user = services.login_attempt(
                    request=request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
                )
            except DomainError as exc:
                form.refuse(exc.message)
                status = exc.status if exc.status == 429 else 400
                retry_after = getattr(exc, "retry_after", None)
            else:
                login(request, user)
                response = redirect(next_url or "home:index")
                device_remember(request, response, user.pk)
                return response
    response = render(request, "accounts/login.html", {"form": form}, status=status)
    if status == 429 and retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@public_page
@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("accounts:login")


@signed_in_page
@require_http_methods(["GET", "HEAD", "POST"])
def profile_view(request):
    form = ProfileForm(posted(request), actor=None, instance=request.user)
    if form.submit(services.profile_update, user=request.user):
        messages.success(request, "Profile saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form}, status=400 if form.errors else 200)


@workspace_page(None)
@never_cache  # the page may show a token's secret
@require_http_methods(["GET", "HEAD", "POST"])
def tokens_view(request):
    actor = request.actor
    form = TokenForm(posted(request), actor=actor)
    if form.submit(services.token_create):
        # Post/redirect/get: a reload must not create a second token. The secret is shown once.
        request.session["new_token_secret"] = form.result[1]
        return redirect("accounts:tokens", actor.workspace.slug)
    context = {
        "tokens": selectors.token_list(actor=actor),
        "form": form,
        "created_secret": request.session.pop("new_token_secret", None),
    }
    return render(request, "accounts/tokens.html", context, status=400 if form.errors else 200)


@workspace_page(None)
@require_POST
def token_revoke_view(request, token_id: int):
    services.token_revoke(actor=request.actor, token_id=token_id)
    messages.success(request, "Token revoked. Programs using it can no longer sign in.")
    return redirect("accounts:tokens", request.actor.workspace.slug)


password_reset = public_page(
    auth_views.PasswordResetView.as_view(
        template_name="accounts/password_reset.html",
        email_template_name="accounts/password_reset_email.txt",
        subject_template_name="accounts/password_reset_subject.txt",
        success_url=reverse_lazy("accounts:password_reset_done"),
    )
)
password_reset_done = public_page(
    auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html")
)
password_reset_complete = public_page(
    auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html")
)


class _BadRequestOnInvalid:
    """A form re-rendered with its errors answers 400, like every other page form."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class _PasswordResetConfirmView(_BadRequestOnInvalid, auth_views.PasswordResetConfirmView):
    form_class = NewPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class _PasswordChangeView(_BadRequestOnInvalid, auth_views.PasswordChangeView):
    form_class = ChangePasswordForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        response = super().form_valid(form)  # saves, and keeps this session signed in
        revoked = form.revoked_tokens
        tokens = f" {revoked} API token{pluralize(revoked)} revoked." if revoked else ""
        messages.success(self.request, f"Password changed. Your other sessions are signed out.{tokens}")
        return response


password_reset_confirm = public_page(_PasswordResetConfirmView.as_view())
# PasswordChangeView is login_required already; signed_in_page declares the page for the permission tests.
password_change = signed_in_page(_PasswordChangeView.as_view())
