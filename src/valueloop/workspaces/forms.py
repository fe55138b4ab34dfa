"""Page forms for workspaces."""

from __future__ import annotations

from django import forms


class MemberChoiceForm(forms.Form):
    """Names one member (a membership id) for an action on the members page."""

    member_id = forms.IntegerField(min_value=1, max_value=2**62, error_messages={"required": "Choose a member."})
