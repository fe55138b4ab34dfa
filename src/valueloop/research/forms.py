"""The research app's page forms: interviews, highlights, the survey import, and the list filters.

Invariants: a form types what was posted (lengths, an ISO date, ids picked from this workspace's accounts and
contacts) and calls the same service as the API (``services.interview_create``/``interview_update``/
``highlight_create``/``survey_import``); the services keep every business rule and their errors land beside the
fields (``core.forms.PageForm``). An uploaded survey file is read only through ``core.importing.reading`` with the
importer's ``upload_limits()``: a refused file is an error beside the file field and nothing is written. Filter forms
never fail: a bad filter reads as its default.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from valueloop.core.forms import (
    FilterForm,
    IsoDateField,
    PageForm,
    SearchField,
    VersionField,
    WorkspaceChoiceField,
)
from valueloop.core.importing import reading

from . import selectors, services
from .models import SURVEY_KINDS
from .survey_import import MAX_BYTES, upload_limits

MAX_CONTACT_CHOICES = 1000
CONSENT_FILTER = [("", "Any"), ("yes", "Given"), ("no", "Not given")]
SURVEY_PERIODS = [(3, "Last 3 months"), (6, "Last 6 months"), (12, "Last 12 months"), (24, "Last 24 months")]
IMPORT_KINDS = [
    ("", "From the file's “kind” column"),
    ("nps", "All rows are NPS (0–10)"),
    ("csat", "All rows are CSAT (1–5)"),
]


class InterviewForm(PageForm):
    """A new interview (``auto_ids`` ``ni-``) or an edit of one (``ei-``, with the version shown). The account and
    participant pickers offer this workspace's accounts and (up to ``MAX_CONTACT_CHOICES``) contacts, grouped by
    account."""

    scope = services.WRITE_SCOPE
    edit_only = ("version",)
    auto_ids = ("ni-%s", "ei-%s")

    title = forms.CharField(max_length=200, label="Title")
    happened_on = IsoDateField(label="Date")
    customer_id = WorkspaceChoiceField(noun="account", label="Account")
    participant_ids = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        label="Participants",
        widget=forms.SelectMultiple(attrs={"size": 6}),
        error_messages={"invalid_choice": "No such contact in this workspace; choose them from the list."},
    )
    consent = forms.BooleanField(required=False, label="The participants agreed to be recorded and quoted")
    notes = forms.CharField(required=False, max_length=200_000, strip=False, label="Notes", widget=forms.Textarea)
    version = VersionField()

    def __init__(self, *args, notes_rows: int = 8, **kwargs):
        super().__init__(*args, **kwargs)
        customers, contacts = selectors.participant_choices(actor=self.actor, limit=MAX_CONTACT_CHOICES)
        self.has_contacts = bool(contacts)
        self.set_choices("customer_id", customers, empty_label="— none, or the participants' account —")
        groups: dict[str, list[tuple[int, str]]] = {}
        for contact in contacts:
            label = (contact.name or contact.email) + (f" · {contact.title}" if contact.title else "")
            account = contact.customer.name if contact.customer else "No account"
            groups.setdefault(account, []).append((contact.pk, label))
        self.fields["participant_ids"].choices = list(groups.items())
        self.fields["notes"].widget.attrs["rows"] = notes_rows
        if self.instance is None:
            self.initial.setdefault("happened_on", timezone.localdate())
        else:
            self.initial["participant_ids"] = [c.pk for c in selectors.interview_participants(self.instance)]


class HighlightForm(PageForm):
    """Text selected in the rendered notes (``highlight.js`` fills both fields); ``rendered_offset`` picks among
    repeats of the same words."""

    scope = services.WRITE_SCOPE
    auto_ids = ("hl-%s", "hl-%s")

    text = forms.CharField(
        max_length=20_000,
        strip=False,
        label="Highlighted text",
        widget=forms.Textarea(attrs={"rows": 3, "data-select-text": "notes"}),
    )
    rendered_offset = forms.IntegerField(
        required=False, min_value=0, widget=forms.HiddenInput(attrs={"data-select-start": "notes"})
    )


class SurveyImportForm(PageForm):
    """A CSV of survey responses; ``values()`` hands the service the file's bytes, read within the importer's
    limits (a refused file is an error beside the file field)."""

    scope = services.WRITE_SCOPE
    auto_ids = ("si-%s", "si-%s")
    service_fields = {"csv": "file"}

    max_mb = MAX_BYTES // (1024 * 1024)

    file = forms.FileField(
        label="CSV file",
        error_messages={"required": "Choose a CSV file."},
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )
    kind = forms.ChoiceField(choices=IMPORT_KINDS, required=False, label="Survey")
    allow_unknown_accounts = forms.BooleanField(
        required=False, label="Keep responses whose account is unknown (without an account)"
    )
    dry_run = forms.BooleanField(required=False, label="Only check the file")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            self.data_read = reading.read_upload(upload, upload_limits())
        except reading.ImportRefused as exc:  # too large: named beside the field, nothing read past the limit
            raise ValidationError(exc.message) from exc
        return upload

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "data": self.data_read,
            "filename": (data["file"].name or "")[:200],
            "default_kind": data["kind"],
            "allow_unknown_accounts": data["allow_unknown_accounts"],
            "dry_run": data["dry_run"],
        }


class InterviewFilterForm(FilterForm):
    q = SearchField(label="Search", widget=forms.TextInput(attrs={"type": "search"}))
    consent = forms.ChoiceField(choices=CONSENT_FILTER, required=False, label="Consent")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "interviews-%s")
        super().__init__(*args, **kwargs)

    def selector_args(self) -> dict[str, Any]:
        values = self.values()
        return {"search": values["q"], "consent": {"yes": True, "no": False}.get(values["consent"])}


class SurveyFilterForm(FilterForm):
    kind = forms.ChoiceField(choices=SURVEY_KINDS, required=False, initial="nps", label="Survey")
    months = forms.TypedChoiceField(
        choices=SURVEY_PERIODS, coerce=int, required=False, initial=12, empty_value=None, label="Period"
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "surveys-%s")
        super().__init__(*args, **kwargs)
