"""Customers' page forms: accounts, contacts, personas, exchange rates, the list filters and the CSV import steps.

Invariants: forms read and type what was posted (lengths, choices, ids picked from this workspace's rows); the
services keep every business rule (ARR range, currency codes and rates, unique names and emails) and their errors
land beside the form's fields (``core.forms.PageForm``). Import forms only choose options and columns: the file
itself is read by the importer through ``core.importing.reading`` (its limits, its messages).
"""

from __future__ import annotations

from typing import Any

from django import forms

from valueloop.core.forms import (
    FilterForm,
    IsoDateField,
    PageForm,
    SearchField,
    VersionField,
    WorkspaceChoiceField,
)
from valueloop.core.importing import human_size

from . import facade, importing, selectors, services
from .models import HEALTH, LIFECYCLE, SEGMENTS

WRITE = services.WRITE_SCOPE

SORTS = [
    ("name", "Name (A–Z)"),
    ("-arr", "ARR (highest first)"),
    ("arr", "ARR (lowest first)"),
    ("renewal", "Renewal (soonest first)"),
    ("-name", "Name (Z–A)"),
]


class AmountText(forms.CharField):
    """An amount as people type it ("12,000", "12 000.50"): separators dropped, the service reads the number (and
    names the problem beside the field)."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "maxlength": 20})

    def __init__(self, *, blank: str = "", **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 40)
        self.blank = blank
        super().__init__(**kwargs)

    def to_python(self, value) -> str:
        text = super().to_python(value).replace(",", "").replace(" ", "")
        return text or self.blank


class ArrBoundField(forms.DecimalField):
    """A filter bound ("100,000"): a non-negative amount, else no bound."""

    def to_python(self, value):
        return super().to_python((value or "").replace(",", "").strip() if isinstance(value, str) else value)


# --- accounts ---------------------------------------------------------------------------------

# Accounts without a health are filtered as "unknown" (the model stores "").
HEALTH_FILTER = [("", "Any"), *((value, label) for value, label in HEALTH if value), ("unknown", "Unknown")]


class CustomerFilterForm(FilterForm):
    """The account list's filters; anything unreadable means "no filter"."""

    q = SearchField()
    segment = forms.ChoiceField(required=False, choices=[("", "Any"), *SEGMENTS])
    lifecycle = forms.ChoiceField(required=False, choices=[("", "Any"), *LIFECYCLE])
    health = forms.ChoiceField(required=False, choices=HEALTH_FILTER)
    owner = forms.RegexField(required=False, regex=r"^(none|[1-9][0-9]{0,17})$")
    arr_min = ArrBoundField(required=False, min_value=0, max_digits=20, decimal_places=2)
    arr_max = ArrBoundField(required=False, min_value=0, max_digits=20, decimal_places=2)
    sort = forms.ChoiceField(required=False, choices=SORTS, initial="name")
    archived = forms.BooleanField(required=False)

    FILTERS = ("q", "segment", "lifecycle", "health", "owner", "arr_min", "arr_max")

    def selector_arguments(self) -> dict[str, Any]:
        v = self.values()
        owner = v["owner"]
        return {
            "search": v["q"],
            "segment": v["segment"],
            "lifecycle": v["lifecycle"],
            "health": v["health"],
            "owner_id": 0 if owner == "none" else (int(owner) if owner else None),  # 0: accounts without an owner
            "arr_min": v["arr_min"],
            "arr_max": v["arr_max"],
            "include_archived": v["archived"],
            "sort": v["sort"],
        }


class ContactFilterForm(FilterForm):
    q = SearchField()


class CustomerForm(PageForm):
    """A new account or an edit of one (``instance``)."""

    scope = WRITE
    edit_only = ("version",)
    auto_ids = ("f-%s", "f-%s")

    name = forms.CharField(max_length=200, required=False, strip=True)
    domain = forms.CharField(max_length=253, required=False, widget=forms.TextInput(attrs={"inputmode": "url"}))
    external_id = forms.CharField(max_length=120, required=False, label="External id")
    segment = forms.ChoiceField(required=False, choices=[("", "—"), *SEGMENTS])
    plan = forms.CharField(max_length=80, required=False)
    arr = AmountText(blank="0", label="ARR")
    arr_currency = forms.CharField(max_length=3, required=False, label="Currency", widget=forms.Select)
    lifecycle = forms.ChoiceField(choices=LIFECYCLE, initial="customer", label="Lifecycle stage")
    health = forms.ChoiceField(required=False, choices=HEALTH)
    region = forms.CharField(max_length=80, required=False)
    owner_id = WorkspaceChoiceField(noun="member", label="Owner")
    renewal_date = IsoDateField(required=False, label="Renewal date")
    version = VersionField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actor, customer = self.actor, self.instance
        self.set_choices(
            "owner_id", [(m.pk, m.display_name) for m in selectors.members(actor.workspace)], empty_label="No owner"
        )
        rated = sorted(r.currency for r in selectors.currency_rate_list(actor=actor))
        codes = [actor.workspace.currency, *(c for c in rated if c != actor.workspace.currency)]
        shown = self["arr_currency"].value() or (customer.arr_currency if customer else "")
        if shown and shown not in codes:
            codes.append(shown)  # an account in a currency whose rate was deleted keeps its value
        self.fields["arr_currency"].widget.choices = [(c, c) for c in codes]
        if customer is None:
            self.initial.setdefault("arr_currency", actor.workspace.currency)
        else:
            self.initial["arr"] = f"{customer.arr:.2f}"
        self.fields["name"].widget.attrs.update(required=True)


# --- contacts ---------------------------------------------------------------------------------


class ContactForm(PageForm):
    """A new contact (on the contacts page, or on an account's page with ``customer_id`` fixed) or an edit."""

    scope = WRITE
    edit_only = ("version", "external_id")

    name = forms.CharField(max_length=200, required=False)
    email = forms.CharField(max_length=254, required=False, widget=forms.EmailInput)
    title = forms.CharField(max_length=120, required=False)
    external_id = forms.CharField(max_length=120, required=False, label="External id")
    customer_id = WorkspaceChoiceField(noun="account", label="Account")
    version = VersionField()

    def __init__(self, *args, fixed_customer: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if fixed_customer:
            del self.fields["customer_id"]  # the account page's form: the account is in the URL
        else:
            include_archived = self.instance is not None
            choices = facade.customer_choices(actor=self.actor, include_archived=include_archived)
            self.set_choices("customer_id", choices, empty_label="None")


class ReturnToForm(PageForm):
    """A one-button form that says which page to go back to (checked with ``core.pages.safe_next``)."""

    scope = WRITE

    next = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)


class TimelineFilterForm(FilterForm):
    """The account page's timeline: one kind of entry (``?kind=``), everything (``?timeline=all``)."""

    kind = forms.CharField(required=False, max_length=40)
    timeline = forms.ChoiceField(required=False, choices=[("", "Latest"), ("all", "All")])


# --- personas ---------------------------------------------------------------------------------


class PersonaForm(PageForm):
    scope = WRITE
    edit_only = ("version",)

    name = forms.CharField(max_length=120, required=False)
    description = forms.CharField(max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    goals = forms.CharField(max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    jobs_to_be_done = forms.CharField(
        max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Jobs to be done"
    )
    version = VersionField()


# --- currency rates ---------------------------------------------------------------------------


class CurrencyRateForm(PageForm):
    """Set one exchange rate; the service checks the code and the rate."""

    scope = WRITE
    auto_ids = ("r-%s", "r-%s")

    currency = forms.CharField(max_length=3, required=False, widget=forms.Select)
    # As typed ("1,27" is 1.27): the service reads decimal commas and names a bad rate.
    rate = forms.CharField(
        max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "e.g. 1.17"})
    )

    def __init__(self, *args, codes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].widget.choices = [(c, c) for c in codes]

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()


class CurrencyPickForm(FilterForm):
    """``?currency=`` preselects the code to add a rate for (a link from the list of missing rates)."""

    currency = forms.RegexField(required=False, regex=r"^[A-Za-z]{3}$")


# --- import -----------------------------------------------------------------------------------

KINDS = [("accounts", "Accounts"), ("contacts", "Contacts")]
PRESETS = [
    ("auto", "Detect from the columns"),
    ("salesforce", "Salesforce export"),
    ("hubspot", "HubSpot export"),
    ("none", "None: match column names"),
]
ENCODINGS = [
    ("auto", "Detect (UTF-8 first)"),
    ("utf-8", "UTF-8 (recommended; “CSV UTF-8” in Excel)"),
    ("cp1252", "Windows-1252 (Excel “CSV”)"),
]
DATE_ORDERS = [("auto", "Detect"), ("dmy", "Day/month/year (31/03/2026)"), ("mdy", "Month/day/year (03/31/2026)")]


class LenientChoiceField(forms.ChoiceField):
    """An import option: an unknown or missing value reads as None, and the form takes the pending upload's value
    (its ``initial``) or the field's default instead (as the importer has always done)."""

    def __init__(self, *, choices, initial, **kwargs):
        super().__init__(choices=choices, initial=initial, required=False, **kwargs)

    def clean(self, value):
        return value if value in {v for v, _ in self.choices} else None


class ImportOptionsForm(PageForm):
    """The options of an import; the upload form adds the file, the review form the column mapping."""

    scope = WRITE

    kind = LenientChoiceField(choices=KINDS, initial="accounts")
    preset = LenientChoiceField(choices=[(p, p) for p in importing.PRESETS_OFFERED], initial="auto")
    encoding = LenientChoiceField(choices=[(e, e) for e in importing.ENCODINGS], initial="auto")
    date_order = LenientChoiceField(choices=[(d, d) for d in importing.DATE_ORDERS], initial="auto")

    OPTIONS = ("kind", "preset", "encoding", "date_order")

    def options(self) -> dict[str, str]:
        return {
            name: self.cleaned_data.get(name) or self.initial.get(name) or self.fields[name].initial
            for name in self.OPTIONS
        }


class ImportUploadForm(ImportOptionsForm):
    """Step 1: the file and the options. ``limit``: the most bytes an import may have; ``too_large``: the upload
    handler dropped the file while it arrived (it was over ``limit``); ``upload_size``: the request's length."""

    file = forms.FileField(required=False, label="CSV file")

    def __init__(self, *args, limit: int, too_large: bool = False, upload_size: str = "?", **kwargs):
        super().__init__(*args, **kwargs)
        self.limit, self.too_large, self.upload_size = limit, too_large, upload_size

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if self.too_large or (uploaded is not None and uploaded.size > self.limit):
            raise forms.ValidationError(
                f"The file is larger than {human_size(self.limit)} (the upload was {self.upload_size} bytes) and was "
                "not stored. Split it into smaller files and import them one after another: re-importing is safe."
            )
        if uploaded is None:
            raise forms.ValidationError("Choose a CSV file to upload.")
        return uploaded


class ImportReviewForm(ImportOptionsForm):
    """Step 2: check again with other options or columns, or import (``step``). One ``map_<field>`` per field of
    the kind of the pending upload; ``initial``: the pending upload's options."""

    step = forms.ChoiceField(choices=[("preview", "Check again"), ("confirm", "Import")], required=False)
    skip_invalid = forms.BooleanField(required=False)

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        for field in importing.FIELDS[kind]:
            self.fields[f"map_{field.name}"] = forms.CharField(required=False, max_length=200, strip=False)

    def mapping(self) -> dict[str, str]:
        return {name[4:]: value for name, value in self.cleaned_data.items() if name.startswith("map_")}

    def confirming(self) -> bool:
        return self.cleaned_data.get("step") == "confirm"
