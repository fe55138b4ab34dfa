"""Page forms for accounts: sign-in, the profile, API tokens and the password forms.

Invariants: forms type and bound the input (lengths, the roles a token may have, whole days); the services keep the
rules (throttling, a free handle, a token no stronger than its owner) and their errors land beside the fields
(``core.forms.PageForm``). Password forms save through ``services.password_change``.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm

from valueloop.core.forms import FieldErrorList, FilterForm, PageForm
from valueloop.core.permissions import ROLE_RANK, Role

from . import services


class SignInForm(forms.Form):
    """Email and password; a missing one is shown beside its field, a wrong pair above the form (the service's
    answer names neither field, so that it does not tell which one was wrong)."""

    email = forms.CharField(
        max_length=254,
        error_messages={"required": "Enter your email."},
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    # Long enough for any pass phrase, short enough that hashing it costs nothing unusual.
    password = forms.CharField(
        max_length=1024,
        strip=False,
        error_messages={"required": "Enter your password."},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    next = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)

    def refuse(self, message: str) -> None:
        """The service refused the pair: the message goes above the form (``#login-error``), and the email field
        points at it for screen readers."""
        self.refusal = message
        self.fields["email"].widget.attrs["aria-describedby"] = "login-error"

    refusal = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("error_class", FieldErrorList)
        kwargs.setdefault("auto_id", "%s")  # ids "email" and "password", as before
        super().__init__(*args, **kwargs)


class SignInQueryForm(FilterForm):
    """``?next=`` of the sign-in page (checked to stay on this site by the view)."""

    next = forms.CharField(max_length=2000, required=False)


class ProfileForm(PageForm):
    """The signed-in user's name and handle (no workspace: ``actor`` is None, the view passes ``user``)."""

    auto_ids = ("%s", "%s")

    name = forms.CharField(max_length=120, required=False)
    handle = forms.CharField(
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"pattern": r"[a-zA-Z0-9_\-]+"}),
    )


class TokenForm(PageForm):
    """A personal API token in this workspace. The role offered is the actor's own or a weaker one."""

    auto_ids = ("token-%s", "token-%s")

    name = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"placeholder": "e.g. CI sync"}), label="Name")
    role = forms.TypedChoiceField(
        choices=(),
        required=False,
        empty_value=None,
        label="Role",
        error_messages={"invalid_choice": "Choose your role or a weaker one."},
    )
    expires_in_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        required=False,
        label="Expires after (days)",
        widget=forms.NumberInput(attrs={"placeholder": "never"}),
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, actor=actor, **kwargs)
        weaker = [(role.value, role.label) for role in Role if ROLE_RANK[role] < ROLE_RANK[actor.role]]
        self.set_choices("role", weaker, empty_label=f"My role ({actor.role.label})")


class NewPasswordForm(SetPasswordForm):
    """Set a new password (from a reset link), offering to revoke the user's API tokens too."""

    revoke_tokens = forms.BooleanField(
        required=False,
        initial=True,
        label="Also revoke my API tokens",
        help_text="Programs using them stop working until you create new tokens.",
    )

    revoked_tokens = 0

    def save(self, commit: bool = True):
        self.revoked_tokens = services.password_change(
            user=self.user,
            password=self.cleaned_data["new_password1"],
            revoke_tokens=self.cleaned_data["revoke_tokens"],
        )
        return self.user


class ChangePasswordForm(PasswordChangeForm, NewPasswordForm):
    """Change the password of the signed-in user: the old password first, then as ``NewPasswordForm``."""
