"""Planning's page forms, and the layout of the prioritisation inputs (one description for the inline row editor
and the feature page).

Invariants: forms read and type the input (numbers as people type them go through the same parser as the
services', ``services.parse_decimal``; dates are ISO; ids come from this workspace's choices); the services keep
every business rule and their errors land on the form's fields (``core.forms.PageForm``). The prioritisation form
passes on only the inputs that were posted, so a partial form never clears the others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from valueloop.core.forms import (
    FieldErrorList,
    FilterForm,
    IdField,
    IsoDateField,
    MoneyField,
    PageForm,
    ProductAreaForm,
    ReasonField,
    SearchField,
    VersionField,
    WorkspaceChoiceField,
)
from valueloop.core.permissions import Scope
from valueloop.discovery.facade import problem_choices
from valueloop.workspaces.facade import product_choices

from . import scoring, selectors, services
from .models import (
    COD_COMPONENTS,
    DELIVERY_STATUS,
    FEATURE_STATUS,
    ICE_METHODS,
    RICE_CONFIDENCES,
    RICE_IMPACTS,
    THROUGHPUT_SOURCES,
    URGENCY_PROFILES,
)
from .models import FRAMEWORKS as SAVED_FRAMEWORKS
from .services import INPUT_KEYS, NUMBER_INPUTS, RATIONALES
from .templatetags.planning_format import plain


@dataclass
class InputField:
    name: str
    label: str
    value: Any
    kind: str = "number"  # number, text, date, select
    error: str = ""
    hint: str = ""
    options: list[tuple[str, str]] | None = None
    step: str = "any"
    min: str = ""
    max: str = ""


@dataclass
class InputGroup:
    key: str
    legend: str
    fields: list[InputField]
    open: bool = False
    hint: str = ""


def _value(feature, data, name):
    if data is not None and name in data:
        return data.get(name)
    if name == "team_id":
        return feature.team_id
    return getattr(feature, name)


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    return str(value)


def input_groups(feature, *, currency: str, framework: str, teams, errors=None, data=None) -> list[InputGroup]:
    """Field groups with the current values (or the values just posted, when re-showing errors)."""
    errors = errors or {}

    def f(name, label, **kwargs) -> InputField:
        return InputField(name, label, _plain(_value(feature, data, name)), error=errors.get(name, ""), **kwargs)

    cod_fields = []
    for component, label in COD_COMPONENTS:
        cod_fields.append(f(f"cod_{component}", f"{label} ({currency}/week)", min="0"))
        cod_fields.append(
            f(f"cod_{component}_rationale", f"Why: {label.lower()}", kind="text", hint="A sentence others can check.")
        )
    groups = [
        InputGroup("cod", "Cost of Delay", cod_fields, hint=f"What a week of delay costs, in {currency}."),
        InputGroup(
            "urgency",
            "Urgency profile",
            [
                f("urgency", "Profile", kind="select", options=URGENCY_PROFILES),
                f("deadline", "Deadline (fixed date)", kind="date"),
                f("fixed_date_penalty", f"One-off penalty if late ({currency})", min="0"),
                f("urgency_life_weeks", "Life span in weeks (peak affected)", min="0"),
                f("urgency_rise_per_week", f"Weekly rise ({currency}/week, intangible)", min="0"),
            ],
            hint="Fixed date: no Cost of Delay until the latest start (deadline − duration).",
        ),
        InputGroup(
            "duration",
            "Duration (weeks)",
            [
                f("duration_low", "Low", min="0"),
                f("duration_likely", "Likely", min="0"),
                f("duration_high", "High", min="0"),
            ],
            hint="CD3 uses the likely value; the range is shown beside it.",
        ),
        InputGroup(
            "wsjf",
            "WSJF",
            [
                f("wsjf_business_value", "Business value", min="0"),
                f("wsjf_time_criticality", "Time criticality", min="0"),
                f("wsjf_risk_reduction", "Risk reduction / opportunity enablement", min="0"),
                f("wsjf_job_size", "Job size", min="0"),
            ],
            hint="Relative values; each column is scaled to the Fibonacci scale against its smallest item.",
        ),
        InputGroup(
            "rice",
            "RICE",
            [
                f("rice_reach", "Reach (people per quarter)", min="0"),
                f("rice_impact", "Impact", kind="select", options=[("", "—"), *RICE_IMPACTS]),
                f("rice_confidence", "Confidence", kind="select", options=[("", "—"), *RICE_CONFIDENCES]),
                f("rice_effort", "Effort (person-months)", min="0"),
            ],
        ),
        InputGroup(
            "ice",
            "ICE",
            [
                f("ice_impact", "Impact (1–10)", min="1", max="10"),
                f("ice_confidence", "Confidence (1–10)", min="1", max="10"),
                f("ice_ease", "Ease (1–10)", min="1", max="10"),
            ],
        ),
        InputGroup(
            "team",
            "Team",
            [f("team_id", "Team", kind="select", options=[("", "Any team"), *((str(t.pk), t.name) for t in teams)])],
        ),
    ]
    for group in groups:
        for field in group.fields:
            if field.kind == "select" and field.name in ("rice_impact", "rice_confidence") and field.value:
                field.value = _plain(Decimal(field.value))
    wanted = {"cd3": ("cod", "urgency", "duration"), "cod": ("cod", "urgency")}.get(framework, (framework,))
    for group in groups:
        group.open = group.key in wanted or any(fl.error for fl in group.fields)
    if not any(g.open for g in groups):
        groups[0].open = True
    groups.sort(key=lambda g: not g.open)
    return groups


def urgency_label(value: str) -> str:
    return dict(URGENCY_PROFILES).get(value, value)


# --------------------------------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------------------------------


class NumberField(forms.CharField):
    """A number as people type it ("1,250.50", "2,5", "1 250"), read with the services' parser; blank is None.
    Ranges are the service's business (they differ per input and come with the engines' messages)."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        try:
            return services.parse_decimal(super().to_python(value))
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None

    def prepare_value(self, value):
        return plain(value) if isinstance(value, Decimal | float) else value


def _decimal_choice(choices) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(choices=[("", "—"), *choices], coerce=Decimal, empty_value=None, required=False)


# --------------------------------------------------------------------------------------------------
# Features and their inputs
# --------------------------------------------------------------------------------------------------


class FeatureForm(ProductAreaForm):
    """A new feature (no ``instance``) or an edit of one. A new feature starts as an idea."""

    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("nf-%s", "ef-%s")
    edit_only = ("version",)

    title = forms.CharField(max_length=200)
    status = forms.TypedChoiceField(choices=FEATURE_STATUS, required=False, empty_value="idea")
    problem_id = WorkspaceChoiceField(noun="problem", label="Solves problem")
    description = forms.CharField(required=False, max_length=50000, widget=forms.Textarea(attrs={"rows": 3}))
    version = VersionField()

    def __init__(self, *args, actor, instance=None, **kwargs):
        super().__init__(*args, actor=actor, instance=instance, products=product_choices(actor.workspace), **kwargs)
        self.set_choices("problem_id", problem_choices(actor.workspace), empty_label="— none —")
        if instance is not None:
            self.fields["description"].widget.attrs["rows"] = 5


class PrioritisationForm(PageForm):
    """Every prioritisation input of a feature. ``values()`` holds only the inputs that were posted."""

    scope = Scope.PORTFOLIO_WRITE

    urgency = forms.ChoiceField(choices=URGENCY_PROFILES, required=False)
    deadline = IsoDateField(required=False)
    rice_impact = _decimal_choice(RICE_IMPACTS)
    rice_confidence = _decimal_choice(RICE_CONFIDENCES)
    team_id = WorkspaceChoiceField(noun="team", label="Team")
    version = VersionField()

    def __init__(self, *args, actor, teams, **kwargs):
        super().__init__(*args, actor=actor, **kwargs)
        for name, (label, *_) in NUMBER_INPUTS.items():
            if name in scoring.MONEY_INPUTS:  # "12.500,50 €" in a German workspace is 12500.50, not 12.5005
                self.fields.setdefault(name, MoneyField(label=label, currency=actor.workspace.currency))
            self.fields.setdefault(name, NumberField(label=label))
        for name in RATIONALES:
            self.fields[name] = forms.CharField(required=False, label="Why")
        self.set_choices("team_id", [(t.pk, t.name) for t in teams], empty_label="Any team")

    def values(self) -> dict[str, Any]:
        return {name: value for name, value in super().values().items() if name in INPUT_KEYS and name in self.data}


class FrameworkForm(FilterForm):
    """Which ranking: a framework, a saved formula or a typed one (the ranking selector checks them); ``edit``
    opens a row's editor."""

    framework = forms.CharField(required=False)
    formula_id = IdField(required=False)
    formula = forms.CharField(required=False)
    edit = IdField(required=False)

    def clean_formula(self) -> str:
        return self.cleaned_data["formula"][:2000]

    def ranking_args(self) -> dict[str, Any]:
        values = self.values()
        return {
            "framework": values["framework"] or None,
            "formula_id": values["formula_id"],
            "expression": values["formula"],
        }


class DeliveryItemForm(PageForm):
    """A delivery item of a feature: new (no ``instance``) or an edit (also the date it was done)."""

    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("ni-%s", "it-%s-{pk}")
    edit_only = ("version", "done_on")
    service_fields = {"done_at": "done_on"}

    title = forms.CharField(max_length=200)
    status = forms.TypedChoiceField(choices=DELIVERY_STATUS, required=False, empty_value="todo")
    estimate_weeks = NumberField(label="Estimate (weeks)")
    done_on = IsoDateField(required=False, label="Done on")
    version = VersionField()

    def __init__(self, *args, actor, instance=None, **kwargs):
        super().__init__(*args, actor=actor, instance=instance, **kwargs)
        if instance is not None:
            self.initial["done_on"] = timezone.localdate(instance.done_at) if instance.done_at else None

    def values(self) -> dict[str, Any]:
        values = super().values()
        if "done_on" in values:
            values["done_at"] = values.pop("done_on")
        return values


# --------------------------------------------------------------------------------------------------
# Teams, formulas, throughput, settings
# --------------------------------------------------------------------------------------------------


class TeamForm(PageForm):
    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("nt-%s", "t%s-{pk}")
    edit_only = ("version",)

    name = forms.CharField(max_length=80)
    capacity = NumberField(label="Speed", initial="1")
    available_from = IsoDateField(required=False, label="Free from")
    version = VersionField()


class FormulaForm(PageForm):
    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("nfm-%s", "f%s-{pk}")
    edit_only = ("version",)

    name = forms.CharField(max_length=80)
    expression = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}), strip=True
    )
    version = VersionField()


class ThroughputForm(PageForm):
    """A week's throughput entered by hand."""

    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("te-%s", "te-%s")

    week_start = IsoDateField(label="Week")
    finished = forms.IntegerField(label="Items finished")
    note = forms.CharField(required=False, max_length=200)


class SettingsForm(PageForm):
    """The planning settings; an empty choice leaves that setting as it is. ``back`` names the page to return to."""

    scope = Scope.PORTFOLIO_WRITE

    default_framework = forms.ChoiceField(choices=SAVED_FRAMEWORKS, required=False)
    ice_method = forms.ChoiceField(choices=ICE_METHODS, required=False)
    throughput_source = forms.ChoiceField(choices=THROUGHPUT_SOURCES, required=False)
    back = forms.ChoiceField(choices=[("ranking", "ranking"), ("forecast", "forecast")], required=False)

    def values(self) -> dict[str, Any]:
        return {name: value for name, value in super().values().items() if value and name != "back"}


class ForecastForm(PageForm):
    """The forecast question, from the query string; blanks take the page's defaults."""

    mode = forms.CharField(required=False)
    source = forms.ChoiceField(choices=THROUGHPUT_SOURCES, required=False)
    items = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=100_000,
        error_messages={
            "invalid": "Enter a whole number of items (0 to 100,000).",
            "min_value": "Enter a whole number of items (0 to 100,000).",
            "max_value": "Enter a whole number of items (0 to 100,000).",
        },
    )
    until = IsoDateField(required=False)
    history_weeks = forms.IntegerField(required=False, label="History (weeks)")

    def __init__(self, query, *, default_source: str, remaining: dict[str, int], today, **kwargs):
        source = query.get("source") or default_source
        defaults = {
            "mode": "when",
            "source": default_source,
            "items": str((remaining["delivery_items"] if source == "delivery_items" else remaining["features"]) or 10),
            "until": (today + dt.timedelta(weeks=12)).isoformat(),
            "history_weeks": "12",
        }
        kwargs.setdefault("auto_id", "fc-%s")
        super().__init__({**defaults, **{k: v for k, v in query.items() if v != ""}}, **kwargs)

    def clean_mode(self) -> str:
        mode = self.cleaned_data["mode"]
        return mode if mode in ("when", "how_many") else "when"

    def clean_history_weeks(self) -> int:
        return min(104, max(1, self.cleaned_data["history_weeks"] or 12))

    def clean(self):
        data = super().clean()
        asked, unused = ("items", "until") if data.get("mode") == "when" else ("until", "items")
        self.errors.pop(unused, None)  # the other question's field is not read
        if data.get(asked) is None and asked not in self.errors:
            self.add_error(
                asked, "Enter a date." if asked == "until" else self.fields["items"].error_messages["invalid"]
            )
        return data


# --------------------------------------------------------------------------------------------------
# Backlog, Kano, opportunity scores, what-if
# --------------------------------------------------------------------------------------------------


class BacklogMoveForm(PageForm):
    """Move one feature: up, down, or to a position; always with a reason."""

    scope = Scope.PORTFOLIO_WRITE

    feature_id = IdField(widget=forms.HiddenInput)
    current = forms.IntegerField(min_value=1, max_value=10**9, required=False, widget=forms.HiddenInput)
    page = forms.IntegerField(min_value=1, max_value=10**9, required=False, widget=forms.HiddenInput)
    direction = forms.ChoiceField(choices=[("up", "Up one"), ("down", "Down one"), ("to", "To position")])
    to_position = forms.IntegerField(min_value=1, max_value=10**9, required=False, label="To position")
    reason = ReasonField(required_message="A reason is required for a hand move.", label="Why?")

    def values(self) -> dict[str, Any]:
        """The service's arguments: the position asked for (up and down count from the one the page showed)."""
        data = self.cleaned_data
        current = data["current"] or 1
        target = {"up": max(1, current - 1), "down": current + 1}.get(data["direction"], data["to_position"] or 0)
        return {"feature_id": data["feature_id"], "to_position": target, "reason": data["reason"]}

    def clean(self):
        data = super().clean()
        if data.get("direction") == "to" and data.get("to_position") is None and "to_position" not in self.errors:
            self.add_error("to_position", "Enter the position to move it to (from 1).")
        return data


class BacklogResetForm(PageForm):
    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("reset-%s", "reset-%s")

    reason = ReasonField(required_message="A reason is required to go back to CD3 order.", label="Why?")


KANO_MAX_BYTES = 2 * 1024 * 1024


class KanoImportForm(PageForm):
    """Kano answers as a CSV file (or pasted rows); ``dry_run`` only checks them."""

    scope = Scope.PORTFOLIO_WRITE

    file = forms.FileField(required=False, label="CSV file")
    csv = forms.CharField(required=False, strip=False, label="CSV rows")
    dry_run = forms.BooleanField(required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload is not None and upload.size > KANO_MAX_BYTES:
            raise ValidationError("The file is too large: the limit is 2 MB.")
        return upload

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("file") is None and not (data.get("csv") or "").strip():
            self.add_error("file", "Choose a CSV file or paste the rows.")
        return data

    def values(self) -> dict[str, Any]:
        upload = self.cleaned_data["file"]
        # Never more than the limit plus one byte: the importer refuses a longer file, naming the limit.
        data = upload.read(KANO_MAX_BYTES + 1) if upload is not None else self.cleaned_data["csv"]
        return {"data": data, "dry_run": self.cleaned_data["dry_run"]}


class OutcomeForm(PageForm):
    """A problem's survey scores (the service checks the 0-10 ranges)."""

    scope = Scope.PORTFOLIO_WRITE

    problem_id = WorkspaceChoiceField(noun="problem", required=True, widget=forms.HiddenInput)
    importance = NumberField()
    satisfaction = NumberField()
    respondents = forms.IntegerField(required=False)
    version = VersionField(min_value=0)

    def __init__(self, *args, problems, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices("problem_id", problems)


class WhatIfForm(forms.Form):
    """One row of the what-if panel: a feature's Cost of Delay per week and likely duration (blank: unchanged).
    ``features``: the [(id, title)] the panel offers (the top of the ranking)."""

    feature_id = WorkspaceChoiceField(noun="feature in the panel", required=True, widget=forms.HiddenInput)
    cod = MoneyField(label="Cost of Delay")
    duration = NumberField(label="Weeks")

    def __init__(self, *args, features, **kwargs):
        kwargs["error_class"] = FieldErrorList  # the formset passes its own
        super().__init__(*args, **kwargs)
        self.fields["feature_id"].choices = features
        self.title = {str(pk): title for pk, title in features}.get(str(self["feature_id"].value()), "")
        self.fields["cod"].widget.attrs["aria-label"] = f"Cost of Delay per week of {self.title}"
        self.fields["duration"].widget.attrs["aria-label"] = f"Likely duration in weeks of {self.title}"

    def override(self) -> selectors.Override | None:
        values = {
            column: float(self.cleaned_data[name])
            for name, column in (("cod", "cod_per_week"), ("duration", "duration_likely"))
            if self.cleaned_data[name] is not None
        }
        return selectors.Override(self.cleaned_data["feature_id"], values) if values else None

    def clean_cod(self):
        cod = self.cleaned_data["cod"]
        if cod is not None and cod < 0:
            raise ValidationError("Cost of Delay must not be negative.")
        return cod

    def clean_duration(self):
        duration = self.cleaned_data["duration"]
        if duration is not None and duration <= 0:
            raise ValidationError("Duration must be more than 0 weeks.")
        return duration


WhatIfFormSet = forms.formset_factory(WhatIfForm, extra=0, max_num=50, validate_max=True)


class FeatureFilterForm(FilterForm):
    """The feature list's search and status filter; ``problem`` pre-selects the problem of a new feature."""

    q = SearchField()
    status = forms.ChoiceField(choices=[("", "Any"), *FEATURE_STATUS], required=False)
    problem = IdField(required=False)
