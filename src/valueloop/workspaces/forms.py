"""Page forms for workspaces: products and areas, the workspace's settings, members and invitations, a new workspace.

Invariants: forms type and bound the input (lengths, a role, a function, a currency and a time zone from the model's
choices); the services keep the rules (unique names and keys, at least one admin, who may create a workspace) and
their errors land beside the fields (``core.forms.PageForm``). A member, area or invitation acted on is named by the
URL and looked up in the actor's workspace by the service (another workspace's id is a 404).
"""

from __future__ import annotations

import zoneinfo

from django import forms

from valueloop.core.forms import FilterForm, PageForm, SearchField, VersionField
from valueloop.core.permissions import ROLE_CHOICES, Scope

from .models import CONTRIBUTOR_FUNCTIONS, CURRENCY_CHOICES


def _timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


def _timezone_field(**kwargs) -> forms.ChoiceField:
    """A time zone typed with suggestions (the page's ``<datalist id="tz-list">``) and checked against the list."""
    return forms.ChoiceField(
        choices=(),
        label="Time zone",
        widget=forms.TextInput(attrs={"list": "tz-list", "autocomplete": "off"}),
        error_messages={"invalid_choice": "%(value)s is not a known IANA time zone (e.g. Europe/Berlin)."},
        **kwargs,
    )


class ProductForm(PageForm):
    """A new product (no ``instance``) or an edit of one (its version posted back)."""

    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("p-%s", "e-%s")
    edit_only = ("version",)

    name = forms.CharField(max_length=120, error_messages={"required": "Give the product a name."})
    key = forms.CharField(
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"pattern": "[A-Za-z0-9_]*"}),
    )
    description = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3}))
    version = VersionField()

    def __init__(self, *args, actor, instance=None, **kwargs):
        super().__init__(*args, actor=actor, instance=instance, **kwargs)
        if instance is not None:
            self.fields["key"].required = True
            self.fields["description"].widget.attrs["rows"] = 5


class ProductFilterForm(FilterForm):
    q = SearchField()
    archived = forms.BooleanField(required=False)


class AreaForm(PageForm):
    """A new area of the product named by the URL."""

    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("a-%s", "a-%s")

    name = forms.CharField(max_length=120, label="New area", error_messages={"required": "Give the area a name."})
    description = forms.CharField(max_length=2000, required=False, label="Description")


class SettingsForm(PageForm):
    """The workspace's name, time zone, currency and number format (locale)."""

    scope = Scope.WORKSPACE_MANAGE
    auto_ids = ("ws-%s", "ws-%s")

    name = forms.CharField(max_length=120)
    timezone = _timezone_field()
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES)
    # Typed with suggestions (``<datalist id="locale-list">``); the model's validator names a bad one.
    locale = forms.CharField(
        max_length=20,
        required=False,  # left empty: the workspace keeps its locale (API clients and older forms omit it)
        label="Number format",
        widget=forms.TextInput(attrs={"list": "locale-list", "autocomplete": "off"}),
    )
    version = VersionField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices("timezone", _timezone_choices())

    @property
    def locale_choices(self):
        from valueloop.core.money import locale_choices

        return locale_choices()

    def clean_locale(self) -> str:
        from valueloop.core.money import known_locales

        value = self.cleaned_data["locale"].strip()
        if not value and self.instance is not None:
            return self.instance.locale
        if value not in known_locales():
            raise forms.ValidationError(f"{value!r} is not a known locale (e.g. en, de, fr, de_CH, en_GB).")
        return value


class WorkspaceCreateForm(PageForm):
    """A new workspace (a signed-in page: no actor; the view passes the user)."""

    auto_ids = ("nw-%s", "nw-%s")
    service_fields = {"timezone_name": "timezone"}

    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    timezone = _timezone_field(required=False, initial="UTC")
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, required=False, initial="USD")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, actor=None, **kwargs)
        self.set_choices("timezone", _timezone_choices())

    def values(self) -> dict:
        values = super().values()
        return {
            "name": values["name"],
            "timezone_name": values["timezone"] or "UTC",
            "currency": values["currency"] or "USD",
        }


class MemberFilterForm(FilterForm):
    q = SearchField()


class InvitationForm(PageForm):
    """An invitation by email, or (no email) a shareable link."""

    scope = Scope.WORKSPACE_MANAGE
    auto_ids = ("inv-%s", "inv-%s")

    email = forms.EmailField(max_length=254, required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="contributor")


class MemberRoleForm(PageForm):
    """A member's role and function; one per row of the members page (``instance``: the membership)."""

    scope = Scope.WORKSPACE_MANAGE
    auto_ids = ("%s-new", "%s-{pk}")

    role = forms.ChoiceField(choices=ROLE_CHOICES)
    function = forms.ChoiceField(choices=CONTRIBUTOR_FUNCTIONS, required=False)


class MemberActionForm(PageForm):
    """A button on the members page (remove a member, revoke their tokens, revoke an invitation): no fields, the
    URL names the row; a refusal (the last admin) is shown above the list."""

    scope = Scope.WORKSPACE_MANAGE
