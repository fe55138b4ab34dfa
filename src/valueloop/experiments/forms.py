"""Page forms for experiments: the experiment (create and edit), its design, start/stop, the decision, metrics and
the lists' filters.

Invariants: forms read what was typed (numbers as people type them: "4,5", "4.5 %"; whole numbers; ids picked from
this workspace's choices, so another workspace's feature, problem, flag, environment or metric is a field error) and
keep it to show again; the services keep every rule (a flag's value type, weights that add up, the status an action
needs, a stale version) and their errors land on the fields they name. The templates lay the fields out themselves:
a form gives them ``shown`` (the values to show) and ``page_errors`` ({field name: message}, the summary under
"form").
"""

from __future__ import annotations

import json
import math
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from valueloop.core.errors import DomainError, Invalid
from valueloop.core.forms import FilterForm, IdField, PageForm, SearchField, VersionField, WorkspaceChoiceField
from valueloop.core.permissions import Scope

from . import design, selectors
from .models import AGGREGATIONS, CORRECTIONS, METHODS, METRIC_KINDS, OUTCOMES, STATUSES

WRITE = Scope.PORTFOLIO_WRITE
MAX_FORM_VARIATIONS = 8
FIX_FIELDS = "Some fields need a fix: see the messages beside them."


def parse_number(text: Any, *, percent: bool = False, whole: bool = False) -> float | int | None:
    """A number as people type it ("4,5", "4.5 %"); blank is None. ``percent``: 4.5 means 0.045."""
    text = str(text or "").strip().replace(",", ".").rstrip("%").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValidationError("A number, e.g. 4.5.", code="invalid") from None
    if not math.isfinite(value):
        raise ValidationError("A finite number.", code="invalid")
    if whole:
        if value != int(value):
            raise ValidationError("A whole number.", code="invalid")
        return int(value)
    return value / 100 if percent else value


class NumberText(forms.CharField):
    """A number typed into a text box (see ``parse_number``); the typed text is what the page shows again."""

    def __init__(self, *, percent: bool = False, whole: bool = False, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("error_messages", {"required": "Required."})
        self.percent, self.whole = percent, whole
        super().__init__(**kwargs)
        self.widget.attrs["maxlength"] = "40"

    def to_python(self, value):
        text = super().to_python(value)
        if len(text) > 40:
            raise ValidationError("A number, e.g. 4.5.", code="invalid")
        return parse_number(text, percent=self.percent, whole=self.whole)


class _Form(PageForm):
    """What the experiments templates read: ``shown`` and ``page_errors``."""

    summary = ""

    def add_service_error(self, exc: DomainError) -> None:
        self.summary = exc.message
        super().add_service_error(exc)

    @property
    def page_errors(self) -> dict[str, str]:
        if not self.is_bound or not self.errors:
            return {}
        errors = self.errors_by_name
        errors.setdefault("form", self.summary or FIX_FIELDS)
        return errors

    def _raw(self, name: str) -> Any:
        field = self.fields[name]
        if isinstance(field, forms.MultipleChoiceField):
            return self.data.getlist(name) if hasattr(self.data, "getlist") else self.data.get(name, [])
        if isinstance(field, forms.BooleanField):
            return field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
        return self.data.get(self.add_prefix(name), "")

    @property
    def shown(self) -> dict[str, Any]:
        """Each field's value as typed (bound) or as it starts (unbound); picked ids as numbers."""
        out: dict[str, Any] = {}
        for name, field in self.fields.items():
            value = self._raw(name) if self.is_bound else self.get_initial_for_field(field, name)
            if isinstance(field, WorkspaceChoiceField | forms.IntegerField | forms.TypedMultipleChoiceField):
                value = _as_ids(value)
            out[name] = "" if value is None else value
        return out


def _as_ids(value):
    """Ids for comparing with the choices in a template: numbers, unparseable values dropped."""
    if isinstance(value, list | tuple):
        return [int(v) for v in value if str(v).isdigit()]
    return int(value) if str(value).isdigit() else None


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- the experiment ----------------------------------------------------------------------------------------------


class ExperimentForm(_Form):
    """A new experiment (no ``instance``) or an edit. Once it runs (``locked``) the split is not posted: the key,
    flag, environment, variations, weights, coverage, targeting and hash attribute are shown as they are."""

    scope = WRITE
    edit_only = ("version",)
    SPLIT = ("key", "flag_id", "environment_id", "coverage", "condition", "hash_attribute")

    key = forms.CharField(max_length=64, required=False)
    name = forms.CharField(max_length=200, required=False)
    hypothesis = forms.CharField(max_length=20000, required=False, strip=False)
    feature_id = WorkspaceChoiceField(noun="feature")
    problem_id = WorkspaceChoiceField(noun="problem")
    flag_id = WorkspaceChoiceField(noun="flag", required=True, error_messages={"required": "Choose a flag."})
    environment_id = WorkspaceChoiceField(noun="environment")
    coverage = NumberText(percent=True, required=True)
    condition = forms.CharField(max_length=20000, required=False)
    hash_attribute = forms.CharField(max_length=64, required=False)
    primary_metric = WorkspaceChoiceField(noun="metric")
    secondary_metrics = forms.TypedMultipleChoiceField(coerce=int, required=False)
    guardrail_metrics = forms.TypedMultipleChoiceField(coerce=int, required=False)
    planned_start = forms.CharField(max_length=20, required=False)
    planned_days = NumberText(whole=True, required=True)
    daily_traffic = NumberText(whole=True)
    method = forms.ChoiceField(choices=METHODS, required=False)
    alpha = NumberText(required=True)
    correction = forms.ChoiceField(choices=CORRECTIONS, required=False)
    cuped_days = NumberText(whole=True)
    prior_proper = forms.BooleanField(required=False)
    prior_mean = NumberText(required=True)
    prior_sd = NumberText(required=True)
    version = VersionField()

    def __init__(self, *args, actor, instance=None, **kwargs):
        from valueloop.discovery.facade import problem_choices
        from valueloop.flags import facade as flags
        from valueloop.planning.facade import feature_choices

        self.locked = instance is not None and instance.status != "draft"
        if instance is not None:
            kwargs.setdefault("initial", _initial(instance))
        else:
            kwargs.setdefault("initial", {})
            kwargs["initial"] = {**_initial(None), **kwargs["initial"]}
        super().__init__(*args, actor=actor, instance=instance, **kwargs)
        for i in range(MAX_FORM_VARIATIONS):
            self.fields[f"var_name_{i}"] = forms.CharField(max_length=60, required=False)
            self.fields[f"var_value_{i}"] = forms.CharField(max_length=2000, required=False, strip=False)
            self.fields[f"var_weight_{i}"] = forms.CharField(max_length=40, required=False)
        workspace = actor.workspace
        flag_list = [flags.flag_summary(workspace, pk) for pk, _ in flags.flag_choices(workspace)]
        self.flag_options = [f for f in flag_list if f]
        self.environments = flags.environment_choices(workspace)
        self.metric_options = selectors.metric_choices(workspace)
        metric_ids = [(m.pk, m.name) for m in self.metric_options]
        self.features = feature_choices(workspace)
        self.problems = problem_choices(workspace)
        self.set_choices("feature_id", self.features, empty_label="—")
        self.set_choices("problem_id", self.problems, empty_label="—")
        self.set_choices("flag_id", [(f["id"], f["key"]) for f in self.flag_options], empty_label="—")
        self.set_choices("environment_id", [(e["id"], e["name"]) for e in self.environments], empty_label="—")
        self.set_choices("primary_metric", metric_ids, empty_label="—")
        self.set_choices("secondary_metrics", metric_ids)
        self.set_choices("guardrail_metrics", metric_ids)
        if self.locked:
            for name in [*self.SPLIT, *(n for n in self.fields if n.startswith("var_"))]:
                self.fields[name].required = False
                self.fields[name].disabled = True  # Django shows and keeps the initial value, whatever is posted

    @property
    def shown(self) -> dict[str, Any]:
        out = super().shown
        if self.locked:
            out.update({name: self.initial[name] for name in self.SPLIT if name in self.initial})
        rows = [
            {"name": out.pop(f"var_name_{i}"), "value": out.pop(f"var_value_{i}"), "weight": out.pop(f"var_weight_{i}")}
            for i in range(MAX_FORM_VARIATIONS)
        ]
        filled = [i for i, row in enumerate(rows) if any(str(v).strip() for v in row.values())]
        keep = max(2, (filled[-1] + 2) if filled else 3)
        out["rows"] = rows[: min(keep, MAX_FORM_VARIATIONS)]
        out["primary"], out["secondary"] = out.pop("primary_metric"), out.pop("secondary_metrics")
        out["guardrail"] = out.pop("guardrail_metrics")
        out["version"] = out.get("version") or ""
        return out

    def clean(self):
        data = super().clean()
        seen = {data["primary_metric"]} if data.get("primary_metric") else set()
        for role in ("secondary", "guardrail"):
            for metric_id in data.get(f"{role}_metrics") or []:
                if metric_id in seen:
                    self.add_error(f"{role}_metrics", "Already used in another role: untick it in the other list.")
                seen.add(metric_id)
        return data

    def _metrics(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        links = [{"metric_id": data["primary_metric"], "role": "primary"}] if data["primary_metric"] else []
        for role in ("secondary", "guardrail"):
            links += [{"metric_id": m, "role": role} for m in data[f"{role}_metrics"]]
        return links

    def _split(self) -> dict[str, Any]:
        """The flag, variations and traffic; ``Invalid`` naming the field (the flag's value type decides)."""
        from valueloop.flags import facade as flags

        data = self.cleaned_data
        flag = flags.flag_summary(self.actor.workspace, data["flag_id"])
        variations, weights = [], []
        for i in range(MAX_FORM_VARIATIONS):
            name, value = data[f"var_name_{i}"].strip(), data[f"var_value_{i}"]
            if not name and not value.strip():
                continue
            if not name:
                raise Invalid(
                    f"Variation {i + 1} has a value but no name.", fields={"variations": "Name each variation."}
                )
            parsed = flags.parse_flag_value(
                value, flag["value_type"], field="variations", label=f"The value of “{name}”"
            )
            variations.append({"name": name, "value": parsed})
            weights.append(data[f"var_weight_{i}"])
        given = [w for w in weights if w.strip()]
        if given and len(given) != len(weights):
            raise Invalid(
                "Give every variation a weight, or none (for an equal split).",
                fields={"weights": "A weight for every variation, or none."},
            )
        try:
            parsed_weights = [parse_number(w, percent=True) for w in weights] if given else None
        except ValidationError as exc:
            raise Invalid("A weight is not a number we can read.", fields={"weights": exc.messages[0]}) from None
        return {
            "key": data["key"].strip(),
            "flag_id": data["flag_id"],
            "environment_id": data["environment_id"],
            "variations": variations,
            "weights": parsed_weights,
            "coverage": data["coverage"],
            "condition": data["condition"],
            "hash_attribute": data["hash_attribute"] or "id",
        }

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {
            "name": data["name"],
            "hypothesis": data["hypothesis"],
            "feature_id": data["feature_id"],
            "problem_id": data["problem_id"],
            "metrics": self._metrics(),
            "planned_start": data["planned_start"],
            "planned_days": data["planned_days"],
            "daily_traffic": data["daily_traffic"],
            "method": data["method"] or "frequentist",
            "alpha": data["alpha"],
            "correction": data["correction"] or "none",
            "cuped_days": data["cuped_days"] or 0,
            "prior_proper": data["prior_proper"],
            "prior_mean": data["prior_mean"],
            "prior_sd": data["prior_sd"],
        }
        if not self.locked:
            values.update(self._split())
        return values

    def save(self, service, /, **fixed) -> bool:
        """``service(**values())``; a refused split (``_split``) is shown like the service's errors."""
        if not self.is_valid():
            return False
        try:
            values = self.values()
        except DomainError as exc:
            self.add_service_error(exc)
            return False
        if "version" in self.fields:
            fixed.setdefault("expected_version", self.version)
        self.result = self.run(service, **fixed, **values)
        return self.is_valid()


def _initial(experiment) -> dict[str, Any]:
    if experiment is None:
        return {
            "var_name_0": "Control",
            "var_name_1": "Treatment",
            "coverage": "100",
            "hash_attribute": "id",
            "planned_days": "14",
            "method": "frequentist",
            "alpha": "0.05",
            "correction": "none",
            "cuped_days": "0",
            "prior_proper": False,
            "prior_mean": "0",
            "prior_sd": "0.3",
        }
    links = selectors.metric_links(experiment)
    initial = {
        "key": experiment.key,
        "name": experiment.name,
        "hypothesis": experiment.hypothesis,
        "feature_id": experiment.feature_id,
        "problem_id": experiment.problem_id,
        "flag_id": experiment.flag_id,
        "environment_id": experiment.environment_id,
        "coverage": f"{experiment.coverage * 100:g}",
        "condition": json.dumps(experiment.condition, indent=2) if experiment.condition else "",
        "hash_attribute": experiment.hash_attribute,
        "primary_metric": next((link.metric_id for link in links if link.role == "primary"), None),
        "secondary_metrics": [link.metric_id for link in links if link.role == "secondary"],
        "guardrail_metrics": [link.metric_id for link in links if link.role == "guardrail"],
        "planned_start": experiment.planned_start.isoformat() if experiment.planned_start else "",
        "planned_days": str(experiment.planned_days),
        "daily_traffic": str(experiment.daily_traffic or ""),
        "method": experiment.method,
        "alpha": f"{experiment.alpha:g}",
        "correction": experiment.correction,
        "cuped_days": str(experiment.cuped_days),
        "prior_proper": experiment.prior_proper,
        "prior_mean": f"{experiment.prior_mean:g}",
        "prior_sd": f"{experiment.prior_sd:g}",
        "version": experiment.version,
    }
    for i, (variation, weight) in enumerate(zip(experiment.variations, experiment.weights, strict=False)):
        initial[f"var_name_{i}"] = variation.get("name", "")
        initial[f"var_value_{i}"] = _value_text(variation.get("value"))
        initial[f"var_weight_{i}"] = f"{weight * 100:g}"
    return initial


class ExperimentPrefillForm(FilterForm):
    """``?feature=&problem=&flag=`` on the new-experiment page (from a feature's, problem's or flag's page)."""

    feature = IdField(required=False)
    problem = IdField(required=False)
    flag = IdField(required=False)


# --- start, stop, decide -------------------------------------------------------------------------------------------


class ActionForm(_Form):
    """A button with no fields (archive, restore or delete a metric): the URL names the row."""

    scope = WRITE


class StartForm(_Form):
    scope = WRITE
    version = VersionField()


class StopForm(_Form):
    scope = WRITE
    keep_rule = forms.BooleanField(required=False)
    version = VersionField()

    def values(self) -> dict[str, Any]:
        return {"end_rule": not self.cleaned_data["keep_rule"]}


class DecisionForm(_Form):
    scope = WRITE

    outcome = forms.ChoiceField(choices=OUTCOMES, required=False)
    variation = forms.IntegerField(min_value=0, max_value=MAX_FORM_VARIATIONS, required=False)
    learning = forms.CharField(max_length=20000, required=False, strip=False)
    rollout = forms.BooleanField(required=False)
    rollout_environment_id = IdField(required=False)
    version = VersionField()

    def values(self) -> dict[str, Any]:
        values = super().values()
        if not values["rollout"]:
            values["rollout_environment_id"] = None
        return values


# --- design --------------------------------------------------------------------------------------------------------


class DesignForm(_Form):
    """The power analysis: typed on the design page (GET, answered live) and saved with the experiment (POST).
    A field not sent reads as the saved plan's value (or the experiment's)."""

    scope = None  # reading the figures needs no write scope; saving checks it in the view

    kind = forms.ChoiceField(choices=[("binomial", "Conversion"), ("mean", "Mean")], required=False)
    baseline = forms.CharField(max_length=40, required=False)
    variance = forms.CharField(max_length=40, required=False)
    mde = forms.CharField(max_length=40, required=False)
    relative = forms.ChoiceField(choices=[("relative", "relative"), ("absolute", "absolute")], required=False)
    alpha = forms.CharField(max_length=40, required=False)
    power = forms.CharField(max_length=40, required=False)
    daily_traffic = forms.CharField(max_length=40, required=False)
    coverage = forms.CharField(max_length=40, required=False)
    weights = forms.CharField(max_length=200, required=False)
    planned_days = forms.CharField(max_length=40, required=False)
    version = VersionField()

    def __init__(self, data, *, actor, experiment, **kwargs):
        saved = experiment.design or {}
        defaults = {
            "kind": "binomial",
            "baseline": "10",
            "variance": "",
            "mde": "5",
            "relative": "relative",
            "alpha": f"{experiment.alpha:g}",
            "power": "0.8",
            "daily_traffic": experiment.daily_traffic or "",
            "coverage": f"{experiment.coverage * 100:g}",
            "weights": "/".join(f"{w * 100:g}" for w in experiment.weights),
            "planned_days": experiment.planned_days,
        }
        merged = {}
        for name, default in defaults.items():
            if data is not None and name in data:
                merged[name] = data.get(name)
            else:
                value = saved.get(name, default)
                merged[name] = "" if value is None else str(value)
        if data is not None and "version" in data:
            merged["version"] = data.get("version")
        self.inputs: design.DesignInput | None = None
        super().__init__(merged, actor=actor, **kwargs)

    def calculate(self) -> design.DesignResult | None:
        """The figures, or None with the errors on the fields."""
        if not self.is_valid():
            return None
        try:
            self.inputs = self._inputs()
            return design.calculate(self.inputs)
        except DomainError as exc:
            self.add_service_error(exc)
            return None

    def _number(self, name: str, label: str, *, percent: bool = False, required: bool = True, whole: bool = False):
        try:
            value = parse_number(self.cleaned_data[name], percent=percent, whole=whole)
        except ValidationError as exc:
            raise Invalid(f"{label} is not a number we can read.", fields={name: exc.messages[0]}) from None
        if value is None and required:
            raise Invalid(f"{label} is required.", fields={name: "Required."})
        return value

    def _inputs(self) -> design.DesignInput:
        data = self.cleaned_data
        kind = data["kind"] or "binomial"
        relative = data["relative"] != "absolute"
        weights = []
        for part in [p for p in data["weights"].replace(",", "/").split("/") if p.strip()]:
            try:
                weights.append(parse_number(part, percent=True) or 0.0)
            except ValidationError as exc:
                raise Invalid("A weight is not a number we can read.", fields={"weights": exc.messages[0]}) from None
        return design.DesignInput(
            kind=kind,
            baseline=self._number("baseline", "Baseline", percent=kind == "binomial") or 0.0,
            variance=self._number("variance", "Variance", required=False) if kind == "mean" else None,
            mde=self._number("mde", "Minimum detectable effect", percent=relative or kind == "binomial") or 0.0,
            relative=relative,
            alpha=self._number("alpha", "Significance level") or 0.0,
            power=self._number("power", "Power") or 0.0,
            daily_traffic=self._number("daily_traffic", "Daily traffic", required=False),
            coverage=self._number("coverage", "Coverage", percent=True) or 0.0,
            weights=tuple(weights),
            planned_days=self._number("planned_days", "Planned duration", required=False, whole=True),
        )

    def plan(self, result) -> dict[str, Any]:
        """The changes that save this plan with the experiment."""
        data, inputs = self.cleaned_data, self.inputs
        saved = {
            "kind": inputs.kind,
            "baseline": data["baseline"],
            "variance": data["variance"],
            "mde": data["mde"],
            "relative": data["relative"] or "relative",
            "power": data["power"],
            "n_per_variation": result.n_per_variation,
            "n_total": result.n_total,
            "days": result.days,
        }
        changes: dict[str, Any] = {"design": saved}
        if inputs.planned_days:
            changes["planned_days"] = inputs.planned_days
        if inputs.daily_traffic:
            changes["daily_traffic"] = int(inputs.daily_traffic)
        return changes


# --- metrics -------------------------------------------------------------------------------------------------------


class MetricForm(_Form):
    """A new metric (no ``instance``) or an edit (its key fixed)."""

    scope = WRITE
    edit_only = ("version",)

    key = forms.CharField(max_length=64, required=False)
    name = forms.CharField(max_length=120, required=False)
    description = forms.CharField(max_length=500, required=False)
    kind = forms.ChoiceField(choices=METRIC_KINDS, required=False, initial="binomial")
    event = forms.CharField(max_length=120, required=False)
    aggregation = forms.ChoiceField(choices=AGGREGATIONS, required=False, initial="count")
    denominator_event = forms.CharField(max_length=120, required=False)
    denominator_aggregation = forms.ChoiceField(choices=AGGREGATIONS, required=False, initial="count")
    window_hours = NumberText(whole=True)
    lower_is_better = forms.BooleanField(required=False)
    version = VersionField()

    def __init__(self, *args, instance=None, **kwargs):
        super().__init__(*args, instance=instance, **kwargs)
        if instance is not None:
            self.fields["key"].disabled = True

    def values(self) -> dict[str, Any]:
        values = super().values()
        values["kind"] = values["kind"] or "binomial"
        values["aggregation"] = values["aggregation"] or "count"
        values["denominator_aggregation"] = values["denominator_aggregation"] or "count"
        if self.instance is not None:
            del values["key"]
        else:
            values["key"] = values["key"].strip()
        return values


# --- filters -------------------------------------------------------------------------------------------------------


class ExperimentFilterForm(FilterForm):
    q = SearchField()
    status = forms.ChoiceField(choices=[("", "Any"), *STATUSES], required=False)


class MetricFilterForm(FilterForm):
    q = SearchField()
    archived = forms.BooleanField(required=False)


class LearningFilterForm(FilterForm):
    q = SearchField()
    outcome = forms.ChoiceField(choices=[("", "Any"), *OUTCOMES], required=False)
    feature = IdField(required=False)
