"""The prioritisation inputs as form fields (one description for the inline row editor and the
feature page), and the display columns of each framework's ranking table."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .models import COD_COMPONENTS, RICE_CONFIDENCES, RICE_IMPACTS, URGENCY_PROFILES
from .services import INPUT_KEYS


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


def form_data(post) -> dict:
    """The inputs posted by a form, as text (the service parses them)."""
    return {name: post.get(name, "") for name in INPUT_KEYS if name in post}


def urgency_label(value: str) -> str:
    return dict(URGENCY_PROFILES).get(value, value)
