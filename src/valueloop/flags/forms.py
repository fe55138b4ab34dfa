"""Page forms of the flags app (the older pages still read their posts themselves; new forms go here)."""

from __future__ import annotations

from django import forms

from valueloop.core.forms import PageForm, VersionField
from valueloop.core.permissions import Scope

from . import selectors


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
