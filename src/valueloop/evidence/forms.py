"""Page forms for evidence: linking a feedback item or highlight to a problem or feature, changing a link, the
filters of a target's evidence list, and the close-the-loop email.

Invariants: the target picked is looked up inside the actor's workspace (another workspace's problem or feature is
a field error); the rules of a link (one source, a quote that occurs in the text, no duplicates) and of the email
stay in ``services``, whose errors land on these forms' fields.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from valueloop.core.errors import Invalid, NotFound
from valueloop.core.forms import FilterForm, IdField, PageForm, SearchField

from . import selectors, services
from .models import EVIDENCE_IMPORTANCE, TARGET_TYPES

SOURCES = [("feedback", "Feedback"), ("interview", "Interviews"), ("experiment", "Experiments")]
SORT_LABELS = [("newest", "Newest"), ("strongest", "Strongest"), ("arr", "Highest ARR"), ("oldest", "Oldest")]


class EvidenceFilterForm(FilterForm):
    """The filters of a problem's or feature's linked items."""

    q = SearchField()
    segment = SearchField(max_chars=20)
    persona = IdField(required=False)
    importance = forms.TypedChoiceField(choices=EVIDENCE_IMPORTANCE, coerce=int, empty_value=None, required=False)
    source = forms.ChoiceField(choices=SOURCES, required=False)
    sort = forms.ChoiceField(choices=[(key, key) for key in selectors.SORTS], required=False, initial="newest")

    def selector_args(self) -> dict:
        values = self.values()
        return {
            "search": values["q"],
            "segment": values["segment"],
            "persona_id": values["persona"],
            "importance": values["importance"],
            "source": values["source"],
            "sort": values["sort"],
        }


class _ReturnForm(PageForm):
    """Forms that send the person back where they came from (``next``, checked by the view)."""

    scope = services.WRITE_SCOPE

    next = forms.CharField(required=False, max_length=2000)

    def values(self) -> dict:
        return {name: value for name, value in super().values().items() if name != "next"}


class LinkForm(_ReturnForm):
    """Link a feedback item (``feedback_id``) or an interview highlight (``highlight_id``) to a problem or feature,
    picked as ``target`` = "feature:12" (or as ``target_type`` and ``target_id``)."""

    feedback_id = IdField(required=False, widget=forms.HiddenInput)
    highlight_id = IdField(required=False, widget=forms.HiddenInput)
    target = forms.CharField(required=False, max_length=40, label="Link to")
    target_type = forms.ChoiceField(choices=TARGET_TYPES, required=False)
    target_id = IdField(required=False)
    importance = forms.TypedChoiceField(choices=EVIDENCE_IMPORTANCE, coerce=int, empty_value=2, required=False)
    quote = forms.CharField(required=False, strip=False, max_length=services.MAX_QUOTE)
    quote_start = forms.IntegerField(required=False, min_value=0)
    quote_end = forms.IntegerField(required=False, min_value=0)

    def clean(self):
        data = super().clean()
        kind, _, pk = (data.get("target") or "").strip().partition(":")
        if pk:
            data["target_type"], data["target_id"] = kind, int(pk) if pk.isdigit() and len(pk) <= 18 else None
        if not data.get("target_type") or not data.get("target_id"):
            self.add_error("target", "Choose a problem or a feature.")
            return data
        try:
            selectors.access_target(actor=self.actor, target_type=data["target_type"], target_id=data["target_id"])
        except NotFound:
            self.add_error("target", "No such problem or feature in this workspace; choose one from the list.")
        return data

    def values(self) -> dict:
        return {name: value for name, value in super().values().items() if name != "target"}


class LinkUpdateForm(_ReturnForm):
    importance = forms.TypedChoiceField(choices=EVIDENCE_IMPORTANCE, coerce=int, empty_value=None, required=False)
    clear_quote = forms.BooleanField(required=False)


class UnlinkForm(_ReturnForm):
    pass


class NotifyForm(PageForm):
    """The close-the-loop email: compose, preview (``action``), then send to the requesters chosen."""

    scope = services.NOTIFY_SCOPE

    subject = forms.CharField(required=False, strip=False)
    body = forms.CharField(required=False, strip=False)
    contact_ids = forms.TypedMultipleChoiceField(coerce=int, required=False, label="Send to")
    resend = forms.BooleanField(required=False)
    action = forms.ChoiceField(
        choices=[("preview", "Preview"), ("send", "Send"), ("edit", "Back to editing")], required=False
    )

    def __init__(self, *args, feature, requesters, **kwargs):
        super().__init__(*args, **kwargs)
        self.feature = feature
        everyone = [*requesters.reachable, *requesters.already_told, *requesters.unsubscribed]
        # The unsubscribed are choices too, so that the service says why they are never emailed.
        self.fields["contact_ids"].choices = [(r.contact_id, r.label) for r in everyone]
        self.fields["contact_ids"].error_messages["invalid_choice"] = "Not a requester of this feature."

    def clean_action(self) -> str:
        return self.cleaned_data["action"] or "preview"

    def clean(self):
        data = super().clean()
        if data.get("action") == "edit":
            return data
        if self.feature.status != "released":
            raise ValidationError("Tell requesters once the feature is released.")
        try:
            data["subject"], data["body"] = services.check_message(data["subject"], data["body"])
        except Invalid as exc:
            self.add_service_error(exc)
        if not data.get("contact_ids") and "contact_ids" not in self.errors:
            self.add_error("contact_ids", "No recipients chosen.")
        return data
