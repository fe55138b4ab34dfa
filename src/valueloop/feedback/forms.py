"""Feedback's page forms: the inbox filters, bulk actions, saved views, one item (new, edit, status, tags), tags, and
the file import's steps.

Invariants: forms read and type what was posted (choices, lengths, ids, local date-times in the workspace's time
zone); the services keep every business rule (status moves, tag names, the import's rows) and their errors land
beside the form's fields (``core.forms.PageForm``). A customer is typed by name, domain or external id and resolved
inside the actor's workspace; one it does not know is a field error. Filter forms never fail.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from valueloop.core.forms import FilterForm, IsoDateField, PageForm, SearchField, VersionField

from . import importing, selectors, services
from .models import IMPORTANCE, SOURCES

WRITE = services.WRITE_SCOPE


class IdListField(forms.Field):
    """Ids posted as repeated values (``ids=1&ids=2``); anything but a positive number is an error."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        out = []
        for item in value or []:
            text = str(item).strip()
            if not text.isdigit() or not 0 < int(text) < 2**62:
                raise ValidationError("Some selected ids are not valid.")
            out.append(int(text))
        return out


class LocalDateTimeField(forms.DateTimeField):
    """A ``<input type=datetime-local>`` value, read in the current (the workspace's) time zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("error_messages", {"invalid": "Use a date and time such as 2025-03-31 14:05."})
        super().__init__(**kwargs)


class CustomerReferenceField(forms.CharField):
    """A customer typed as a name, domain or external id (a datalist helps); the form resolves it in the
    workspace."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("widget", forms.TextInput(attrs={"list": "customer-names"}))
        super().__init__(**kwargs)


# --- inbox ------------------------------------------------------------------------------------


def _segments() -> list[tuple[str, str]]:
    from valueloop.customers.facade import SEGMENTS  # read when the form is built: customers loads after feedback

    return [("", "Any"), *SEGMENTS]


class InboxFilterForm(FilterForm):
    """The inbox filters (also what a saved view stores, as a query string)."""

    q = SearchField()
    status = forms.ChoiceField(required=False, choices=[(k, k) for k in [*selectors.STATUS_KEYS, "all"]])
    source = forms.ChoiceField(required=False, choices=[(k, k) for k in selectors.SOURCE_KEYS])
    tag = SearchField(max_chars=60)
    segment = forms.ChoiceField(required=False, choices=_segments)
    arr_band = forms.ChoiceField(required=False, choices=[(k, k) for k in selectors.ARR_BAND_KEYS])
    customer = forms.IntegerField(required=False, min_value=1, max_value=2**62 - 1)
    importance = forms.ChoiceField(required=False, choices=[(k, k) for k in [*selectors.IMPORTANCE_KEYS, "none"]])
    persona = forms.IntegerField(required=False, min_value=1, max_value=2**62 - 1)
    received_from = IsoDateField(required=False)
    received_to = IsoDateField(required=False)
    sort = forms.ChoiceField(required=False, choices=[(k, k) for k in selectors.SORTS])
    page = forms.IntegerField(required=False, min_value=1)

    def filters(self) -> selectors.FeedbackFilters:
        values = self.values()
        values.pop("page")
        return selectors.FeedbackFilters(**values)


class BulkForm(PageForm):
    """One action on the selected items; ``back``: the inbox query the page was showing."""

    scope = WRITE

    ids = IdListField(required=False)
    action = forms.CharField(max_length=40, required=False)  # the service names an unknown action
    tag = forms.CharField(max_length=200, required=False)
    customer = forms.CharField(max_length=200, required=False)
    back = forms.CharField(max_length=2000, required=False, strip=False)

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("back")
        return data


class BackForm(FilterForm):
    """``?back=``: the inbox query an item page was opened from (its "back to the inbox" link)."""

    back = forms.CharField(required=False, max_length=2000, strip=False)


class ContentLengthForm(FilterForm):
    """The request's declared length (``request.META``), read as a number; missing or odd is 0."""

    CONTENT_LENGTH = forms.IntegerField(required=False, min_value=0, initial=0)


class SavedViewForm(PageForm):
    scope = None  # any member may save a view of their own

    name = forms.CharField(max_length=200, required=False)
    query = forms.CharField(max_length=2000, required=False)
    shared = forms.BooleanField(required=False)


# --- one item ---------------------------------------------------------------------------------


class FeedbackForm(PageForm):
    """A new item, or an edit of one (``instance``)."""

    scope = WRITE
    edit_only = ("version",)
    service_fields = {"customer_id": "customer", "persona_ids": "personas"}

    text = forms.CharField(max_length=100000, required=False, widget=forms.Textarea(attrs={"rows": 6}))
    title = forms.CharField(max_length=300, required=False)
    source = forms.ChoiceField(choices=SOURCES, required=False)
    received_at = LocalDateTimeField(label="Received")
    importance = forms.ChoiceField(choices=IMPORTANCE, required=False)
    customer = CustomerReferenceField()
    url = forms.CharField(max_length=1000, required=False, widget=forms.URLInput)
    tags = forms.CharField(max_length=1300, required=False, widget=forms.TextInput(attrs={"list": "tag-names"}))
    personas = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "No such persona in this workspace; choose from the list."},
    )
    another = forms.BooleanField(required=False)  # "Add and start another": not for the service
    version = VersionField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices("personas", selectors.filter_choices(actor=self.actor)["personas"])
        item = self.instance
        if item is None:
            self.initial.setdefault("source", "other")
        else:
            del self.fields["tags"]  # the item page has its own tags form
            self.initial.update(
                customer=item.customer.name if item.customer_id else "",
                personas=list(item.personas.values_list("pk", flat=True)),
            )

    def clean_customer(self) -> int | None:
        reference = self.cleaned_data["customer"].strip()
        if not reference:
            return None
        found = importing.CustomerIndex(self.actor.workspace).customer(reference)
        if found is None:
            raise ValidationError("Unknown customer.")
        return found

    def values(self) -> dict[str, Any]:
        data = super().values()
        data.pop("another", None)
        data["customer_id"] = data.pop("customer")
        data["persona_ids"] = data.pop("personas")
        data["source"] = data["source"] or (self.instance.source if self.instance else "other")
        if self.instance is not None:
            data["received_at"] = data["received_at"] or self.instance.received_at
        return data


class StatusForm(PageForm):
    """Move one item to another status (the buttons of the item page)."""

    scope = WRITE

    status = forms.ChoiceField(choices=[("new", "New"), ("triaged", "Triaged"), ("archived", "Archived")])
    version = VersionField()


class ItemTagsForm(PageForm):
    scope = WRITE
    auto_ids = ("item-%s", "item-%s")

    tags = forms.CharField(max_length=1300, required=False, widget=forms.TextInput(attrs={"list": "tag-names"}))


# --- tags -------------------------------------------------------------------------------------


class TagForm(PageForm):
    """A new tag's name, or a tag's new name (renaming onto an existing tag merges them)."""

    scope = WRITE

    name = forms.CharField(max_length=60, required=False)


# --- import -----------------------------------------------------------------------------------


class ImportOptionsForm(PageForm):
    """How to read the file; an unknown preset reads as "generic", an unknown unknown-customer rule as "error"."""

    scope = WRITE

    preset = forms.CharField(required=False, max_length=40)
    format = forms.CharField(required=False, max_length=20)
    default_source = forms.CharField(required=False, max_length=40)
    unknown_customer = forms.CharField(required=False, max_length=20)
    date_format = forms.CharField(required=False, max_length=200)
    skip_invalid = forms.BooleanField(required=False)

    def options(self, *, dry_run: bool, mapping: dict | None = None) -> importing.ImportOptions:
        data = self.cleaned_data
        return importing.ImportOptions(
            preset=data["preset"] if data["preset"] in importing.PRESETS else "generic",
            fmt=data["format"] or None,
            mapping=mapping,
            default_source=data["default_source"] or None,
            unknown_customer="skip_link" if data["unknown_customer"] == "skip_link" else "error",
            date_format=data["date_format"].strip()[:40] or None,
            skip_invalid=data["skip_invalid"],
            dry_run=dry_run,
        )


class ImportUploadForm(ImportOptionsForm):
    """Step 1: the file (kept for a day) and how to read it. ``limit``: the most bytes an import may have."""

    file = forms.FileField(required=False, label="File")

    def __init__(self, *args, limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload is None:
            raise ValidationError("Choose a CSV or JSON file to upload.")
        problem = importing.size_problem(upload.size or 0, self.limit)
        if problem:
            raise ValidationError(problem)
        return upload


class ImportReviewForm(ImportOptionsForm):
    """Step 2: the kept file (``token``), checked again with the posted columns, or imported (``action``: confirm;
    confirm_skip imports the valid rows only, an explicit choice)."""

    token = forms.CharField(max_length=64, required=False)
    filename = forms.CharField(max_length=200, required=False)
    action = forms.ChoiceField(
        required=False, choices=[("check", "Check again"), ("confirm", "Import"), ("confirm_skip", "Skip invalid")]
    )
    mapping_edited = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in importing.FIELDS:
            self.fields[f"map_{name}"] = forms.CharField(required=False, max_length=200, strip=False)

    def mapping(self) -> dict | None:
        if not self.cleaned_data["mapping_edited"]:
            return None
        return {name: self.cleaned_data[f"map_{name}"] for name in importing.FIELDS}

    def confirming(self) -> bool:
        return self.cleaned_data["action"] in ("confirm", "confirm_skip")
