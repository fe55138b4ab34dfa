"""Page forms for accounts. Password forms save through ``services.password_change``."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm

from . import services


class SignInForm(forms.Form):
    email = forms.CharField(max_length=254, error_messages={"required": "Enter your email."})
    # Long enough for any pass phrase, short enough that hashing it costs nothing unusual.
    password = forms.CharField(max_length=1024, strip=False, error_messages={"required": "Enter your password."})
    next = forms.CharField(max_length=2000, required=False)


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
