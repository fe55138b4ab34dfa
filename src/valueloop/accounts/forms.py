"""Page forms for accounts."""

from __future__ import annotations

from django import forms


class SignInForm(forms.Form):
    email = forms.CharField(max_length=254, error_messages={"required": "Enter your email."})
    # Long enough for any pass phrase, short enough that hashing it costs nothing unusual.
    password = forms.CharField(max_length=1024, strip=False, error_messages={"required": "Enter your password."})
    next = forms.CharField(max_length=2000, required=False)
