"""Page forms of the flags app (the pages not converted yet still read their posts themselves).

Invariants: each form calls the same service as the API; a button with no fields still posts through a fieldless
form, so that a refusal (a 409, a 422) is shown as a message, never a 500; a form that needs a role binds only for
a role that has it (403 first).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from valueloop.core.errors import Invalid
from valueloop.core.forms import FilterForm, IdField, PageForm, SearchField, VersionField, WorkspaceChoiceField
from valueloop.core.permissions import Scope
from valueloop.planning.facade import feature_choices

from . import selectors, services
from .models import GROUP_KINDS, VALUE_TYPES
from .selectors import ENV_STATES
from .validation import MAX_JSON_CHARS, parse_form_value


class EnvironmentApproversForm(PageForm):
    """The members who alone may approve changes in one environment (none ticked: everyone who may change flags).
    Only members whose role may change flags are offered; the service checks again."""

    scope = Scope.WORKSPACE_MANAGE
    approver_ids = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        label="Approvers",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "%(value)s is not a member who may change flags; choose approvers from the list."
        },
    )
    version = VersionField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices("approver_ids", selectors.approver_choices(self.actor.workspace))


ON_OFF = [("true", "On"), ("false", "Off")]


def _on_off_field(label: str, message: str = "Choose on or off.") -> forms.TypedChoiceField:
    """``true`` or ``false``, posted by a toggle button's hidden input; anything else (or nothing) is ``message``
    beside the field."""
    return forms.TypedChoiceField(
        choices=ON_OFF,
        coerce=lambda value: value == "true",
        label=label,
        error_messages={"required": message, "invalid_choice": message},
    )


class SdkKeyForm(PageForm):
    """Rotate or revoke an environment's SDK key (a button: no fields)."""

    scope = Scope.WORKSPACE_MANAGE


class EnvironmentApprovalForm(PageForm):
    """Whether changes to an environment wait for an approval."""

    scope = Scope.WORKSPACE_MANAGE
    requires_approval = _on_off_field("Require approval")


class EnvironmentEncryptionForm(PageForm):
    """Whether an environment's SDK payload is encrypted."""

    scope = Scope.WORKSPACE_MANAGE
    encrypted = _on_off_field("Encrypt the payload")


class JsonTextField(forms.CharField):
    """A JSON document typed into a textarea (a condition): blank is ``{}``; text that does not parse is an error
    beside the field. What the JSON means is the service's business."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_JSON_CHARS)
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}.", code="invalid") from None

    def prepare_value(self, value):
        return json.dumps(value, indent=2, ensure_ascii=False) if isinstance(value, dict | list) and value else value


class GroupSearchForm(FilterForm):
    q = SearchField()


class SavedGroupForm(PageForm):
    """A new saved group (no ``instance``) or an edit of one (its key and kind are fixed: rules refer to the key).
    A list group posts its attribute and values (one per line or comma separated), a condition group its
    condition; the other kind's fields are not passed to the service."""

    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("ng-%s", "eg-%s")
    edit_only = ("version",)

    key = forms.CharField(label="Key", max_length=64, widget=forms.TextInput(attrs={"placeholder": "internal-users"}))
    name = forms.CharField(label="Name", max_length=120)
    kind = forms.ChoiceField(label="Kind", choices=GROUP_KINDS, initial="list")
    attribute = forms.CharField(label="Attribute", max_length=64, required=False, initial="id")
    condition = JsonTextField(
        label="Condition", widget=forms.Textarea(attrs={"rows": 3, "placeholder": '{"plan": "enterprise"}'})
    )
    description = forms.CharField(label="Description", max_length=500, required=False)
    version = VersionField()

    def __init__(self, *args, instance=None, **kwargs):
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "kind": instance.kind,
                "attribute": instance.attribute,
                "values": "\n".join(str(v) for v in instance.values),
                "condition": instance.condition,
                "description": instance.description,
                "version": instance.version,
            }
        super().__init__(*args, instance=instance, **kwargs)
        # Added here, not declared: a declared ``values`` would be shadowed by the ``values()`` method.
        self.fields["values"] = forms.CharField(
            label="Values", required=False, widget=forms.Textarea(attrs={"rows": 6 if instance else 3})
        )
        if instance is not None:
            del self.fields["key"]
            self.fields["kind"].widget = forms.HiddenInput()

    def values(self) -> dict[str, Any]:  # type: ignore[override]
        data = super().values()
        drop = ("attribute", "values") if data["kind"] == "condition" else ("condition",)
        return {k: v for k, v in data.items() if k not in drop}


class GroupDeleteForm(PageForm):
    """Delete a saved group (a button: no fields)."""

    scope = Scope.PORTFOLIO_WRITE


class RevisionFilterForm(FilterForm):
    """The revisions page's environment filter (blank or unreadable: every environment)."""

    environment = IdField(required=False)


class RollbackForm(PageForm):
    """Serve an older published revision again (as a new revision; pending approval where required)."""

    scope = Scope.PORTFOLIO_WRITE
    revision_id = IdField(label="Revision", error_messages={"required": "Choose the revision to roll back to."})


REVIEW_DECISIONS = [("approve", "Approve and publish"), ("reject", "Reject")]


class RevisionReviewForm(PageForm):
    """Approve or reject a change awaiting approval: one form, a button per decision (``action``). ``next``: the
    page to return to. Who may review a change is the service's business (its author may not, nor a role that may
    not change flags)."""

    revision_id = IdField(label="Change", error_messages={"required": "Choose the change to review."})
    action = forms.ChoiceField(
        label="Decision",
        choices=REVIEW_DECISIONS,
        error_messages={"required": "Approve or reject.", "invalid_choice": "Approve or reject."},
    )
    comment = forms.CharField(label="Comment", max_length=500, required=False)
    next = forms.CharField(required=False, max_length=2000)

    @property
    def service(self):
        return services.revision_approve if self.cleaned_data["action"] == "approve" else services.revision_reject

    def values(self) -> dict[str, Any]:  # type: ignore[override]
        return {"revision_id": self.cleaned_data["revision_id"], "comment": self.cleaned_data["comment"]}


def value_text(value: Any, value_type: str) -> str:
    """A flag value as it is typed into a form field of the flag's type."""
    if value_type == "boolean":
        return "true" if value else "false"
    if value_type == "string":
        return value if isinstance(value, str) else ""
    if value_type == "number":
        return json.dumps(value)
    return (json.dumps(value, indent=2, ensure_ascii=False) if value not in (None, {}, []) else "") or "{}"


class FlagForm(PageForm):
    """Edit a flag: its default value (typed as the flag's type; blank keeps it), its feature and description.
    Its key and type never change (SDKs and code refer to them)."""

    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("nf-%s", "fd-%s")

    default_value = forms.CharField(label="Default value", required=False, strip=False)
    feature_id = WorkspaceChoiceField(noun="feature", label="Feature")
    description = forms.CharField(
        label="Description", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = VersionField()

    def __init__(self, *args, instance, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "default_value": value_text(instance.default_value, instance.value_type),
                "feature_id": instance.feature_id,
                "description": instance.description,
                "version": instance.version,
            },
        )
        super().__init__(*args, instance=instance, **kwargs)
        choices = feature_choices(self.actor.workspace)
        if instance.feature_id and instance.feature_id not in {pk for pk, _ in choices}:
            # A dropped feature is no longer offered, but a flag still linked to one saves unchanged.
            choices.append((instance.feature_id, instance.feature.title))
        self.set_choices("feature_id", choices, empty_label="—")

    def clean_default_value(self):
        text = self.cleaned_data["default_value"]
        return read_default_value(text, self.instance.value_type) if text.strip() else _KEEP

    def values(self) -> dict[str, Any]:  # type: ignore[override]
        return {k: v for k, v in super().values().items() if v is not _KEEP}


_KEEP = object()  # a blank default value: keep the flag's


class FlagArchiveForm(PageForm):
    """Archive or restore a flag (a button: no fields)."""

    scope = Scope.PORTFOLIO_WRITE


def read_default_value(text: str, value_type: str) -> Any:
    """A default value typed as ``value_type`` ("true", "5", a JSON document); unreadable: a field error."""
    try:
        return parse_form_value(text, value_type, field="default_value", label="The default value")
    except Invalid as exc:
        raise forms.ValidationError(exc.message) from None


class FlagFilterForm(FilterForm):
    """The flag list's filters: a search, an environment and its state, archived flags instead of live ones."""

    q = SearchField()
    environment = IdField(required=False)
    state = forms.ChoiceField(choices=list(ENV_STATES.items()), required=False)
    # "1" (the checkbox's value) and nothing else: a BooleanField would read any text as ticked.
    archived = forms.TypedChoiceField(
        choices=[("1", "Archived")], coerce=lambda value: value == "1", required=False, empty_value=False
    )


class NewFlagForm(PageForm):
    """A new flag: its key and type (fixed from then on), an optional default value read as that type, feature
    and description."""

    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("nf-%s", "nf-%s")

    key = forms.CharField(
        label="Key",
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "new-checkout", "pattern": r"[a-z0-9][a-z0-9_\-]*"}),
    )
    value_type = forms.ChoiceField(label="Type", choices=VALUE_TYPES, initial="boolean")
    default_value = forms.CharField(
        label="Default value",
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"placeholder": "false, text, 0 or {}"}),
    )
    feature_id = WorkspaceChoiceField(noun="feature", label="Feature")
    description = forms.CharField(label="Description", required=False, max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices("feature_id", feature_choices(self.actor.workspace), empty_label="—")

    def clean(self):
        data = super().clean()
        text = data.get("default_value") or ""
        data["default_value"] = None  # blank: the type's own default
        if text.strip() and "value_type" in data:
            try:
                data["default_value"] = read_default_value(text, data["value_type"])
            except forms.ValidationError as exc:
                self.add_error("default_value", exc)
        return data


class KillSwitchForm(PageForm):
    """Turn a flag's kill switch on or off in one environment; ``next``: the page to return to."""

    scope = Scope.PORTFOLIO_WRITE
    killed = _on_off_field("Kill switch", "Choose whether the kill switch is on or off.")
    next = forms.CharField(required=False, max_length=2000)

    def values(self) -> dict[str, Any]:  # type: ignore[override]
        return {"killed": self.cleaned_data["killed"]}
