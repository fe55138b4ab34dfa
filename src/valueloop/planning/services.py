"""Writes for planning: features, their prioritisation inputs, delivery items, teams, formulas,
throughput, settings, the product owner's backlog order, Kano answers and outcome scores.

Invariants:
- A feature's product, area, problem and team are re-checked to be in the actor's workspace;
  moving to "released" stamps ``released_at`` (once; moving back clears it); edits are
  versioned (a stale ``expected_version`` is refused with ``Conflict``) and audited.
- Prioritisation inputs are validated with the engines' rules and every bad field is reported at
  once (``Invalid.fields``), never only the first. A fixed-date feature needs a deadline; a
  peak-affected one its life span. ``cod_per_week`` (sum of the components given) and ``cd3``
  (``cod_per_week / duration_likely``) are recomputed on every save.
- When an input change moves a feature's score or rank under a framework, a ``ScoreChange``
  records old and new score and rank, the inputs changed, who and when: the "why did it move".
- A backlog move always has a non-empty reason, kept in ``BacklogMove`` and shown beside the
  item. Moves are serialised per workspace (the settings row is locked) so two product owners
  never interleave half-moves.
- Imports (Kano answers) are all or nothing: a file with any problem writes nothing and reports
  every problem by row and column.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from valueloop.core.audit import audit_record
from valueloop.core.errors import Conflict, Invalid
from valueloop.core.permissions import Scope
from valueloop.core.services import check_version, clean_and_save, create_audited, delete_audited, update_audited
from valueloop.core.tenancy import Actor
from valueloop.discovery.facade import resolve_problem
from valueloop.engines import prioritisation as prio
from valueloop.engines.formula import FormulaError
from valueloop.workspaces.facade import resolve_product_area

from . import kano, scoring, selectors
from .models import (
    DELIVERY_STATUS,
    FEATURE_STATUS,
    FRAMEWORKS,
    ICE_METHODS,
    OPEN_STATUSES,
    THROUGHPUT_SOURCES,
    URGENCY_PROFILES,
    BacklogMove,
    DeliveryItem,
    Feature,
    KanoResponse,
    OutcomeScore,
    PlanningSettings,
    ScoreChange,
    ScoringFormula,
    Team,
    ThroughputEntry,
)

FIELDS = ["title", "description", "status", "product", "area", "problem", "released_at"]
STATUSES = {value for value, _ in FEATURE_STATUS}
CENT = Decimal("0.01")
MONEY_MAX = Decimal("999999999999.99")


def _clean(actor: Actor, data: dict, current: Feature | None = None) -> dict:
    data = dict(data)
    if "title" in data:
        data["title"] = (data["title"] or "").strip()
    if "status" in data:
        if data["status"] not in STATUSES:
            raise Invalid(f"Unknown status {data['status']!r}.", fields={"status": f"One of: {', '.join(STATUSES)}."})
        was_released = current is not None and current.status == "released"
        if data["status"] == "released" and not was_released:
            data["released_at"] = timezone.now()
        elif data["status"] != "released":
            data["released_at"] = None
    if "product_id" in data or "area_id" in data:
        data["product"], data["area"] = resolve_product_area(
            actor.workspace, data.pop("product_id", None), data.pop("area_id", None)
        )
    if "problem_id" in data:
        data["problem"] = resolve_problem(actor.workspace, data.pop("problem_id"))
    return data


@transaction.atomic
def feature_create(
    *,
    actor: Actor,
    title: str,
    description: str = "",
    status: str = "idea",
    product_id: int | None = None,
    area_id: int | None = None,
    problem_id: int | None = None,
) -> Feature:
    actor.require(Scope.PORTFOLIO_WRITE)
    data = _clean(
        actor,
        {
            "title": title,
            "description": description,
            "status": status,
            "product_id": product_id,
            "area_id": area_id,
            "problem_id": problem_id,
        },
    )
    feature = Feature(workspace=actor.workspace, owner=actor.user, **data)
    return create_audited(actor, feature, entity_type="feature", fields=FIELDS)


@transaction.atomic
def feature_update(*, actor: Actor, feature_id: int, expected_version: int | None = None, **changes) -> Feature:
    feature = selectors.access_feature(actor=actor, id=feature_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    unknown = set(changes) - {"title", "description", "status", "product_id", "area_id", "problem_id"}
    if unknown:
        raise Invalid(f"Unknown feature fields: {', '.join(sorted(unknown))}")
    if "area_id" in changes and "product_id" not in changes:
        changes["product_id"] = feature.product_id
    return update_audited(
        actor, feature, _clean(actor, changes, feature), entity_type="feature", expected_version=expected_version
    )


# --------------------------------------------------------------------------------------------------
# Parsing helpers: API bodies bring Decimals and dates, forms bring text; both come through here.
# --------------------------------------------------------------------------------------------------


class _FieldErrors(dict):
    def add(self, name: str, message: str) -> None:
        self.setdefault(name, message)

    def raise_if_any(self, summary: str = "Some inputs are not valid.") -> None:
        if self:
            detail = "; ".join(f"{k}: {v}" for k, v in list(self.items())[:4])
            raise Invalid(f"{summary} {detail}", fields=dict(self))


def parse_decimal(value) -> Decimal | None:
    """A number from an API value or typed text ("1,250.50", "1 250", "2,5"); None when blank."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("Enter a number.")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("Enter a finite number.")
        number = Decimal(str(value))
    else:
        text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace("_", "")
        if not text:
            return None
        if "," in text and "." not in text and text.count(",") == 1 and len(text.split(",")[1]) != 3:
            text = text.replace(",", ".")  # a decimal comma: "2,5"
        else:
            text = text.replace(",", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError("Enter a number, e.g. 1250 or 2.5.") from None
    if not number.is_finite():
        raise ValueError("Enter a finite number.")
    return number


def parse_date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        raise ValueError("Enter a date (YYYY-MM-DD), not a date-time.")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError("Enter a date as YYYY-MM-DD, e.g. 2026-03-31.") from None


def parse_int(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("Enter a whole number.")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.lstrip("-").isdigit() or len(text) > 12:
        raise ValueError("Enter a whole number.")
    return int(text)


def _engine_message(exc: prio.EngineInputError, label: str) -> str:
    message = exc.message
    if exc.field and message.startswith(exc.field):
        message = label + message[len(exc.field) :]
    return message[:1].upper() + message[1:] + "."


# --------------------------------------------------------------------------------------------------
# Prioritisation inputs
# --------------------------------------------------------------------------------------------------

# name -> (label, minimum, minimum inclusive?, maximum, unit)
NUMBER_INPUTS: dict[str, tuple[str, Decimal, bool, Decimal]] = {
    **{
        f"cod_{c}": (label, Decimal(0), True, MONEY_MAX)
        for c, label in (
            ("increase_revenue", "Increase revenue"),
            ("protect_revenue", "Protect revenue"),
            ("reduce_cost", "Reduce cost"),
            ("reduce_risk", "Reduce risk"),
        )
    },
    "fixed_date_penalty": ("Penalty for missing the deadline", Decimal(0), True, MONEY_MAX),
    "urgency_rise_per_week": ("Weekly rise", Decimal(0), True, MONEY_MAX),
    "urgency_life_weeks": ("Life span", Decimal(0), False, Decimal(1000)),
    "duration_low": ("Duration low", Decimal(0), False, Decimal(1000)),
    "duration_likely": ("Duration likely", Decimal(0), False, Decimal(1000)),
    "duration_high": ("Duration high", Decimal(0), False, Decimal(1000)),
    "wsjf_business_value": ("Business value", Decimal(0), False, Decimal(1_000_000)),
    "wsjf_time_criticality": ("Time criticality", Decimal(0), False, Decimal(1_000_000)),
    "wsjf_risk_reduction": ("Risk reduction / opportunity enablement", Decimal(0), False, Decimal(1_000_000)),
    "wsjf_job_size": ("Job size", Decimal(0), False, Decimal(1_000_000)),
    "rice_reach": ("Reach", Decimal(0), True, MONEY_MAX),
    "rice_impact": ("Impact", Decimal(0), False, Decimal(3)),
    "rice_confidence": ("Confidence", Decimal(0), False, Decimal(100)),
    "rice_effort": ("Effort", Decimal(0), False, Decimal(1000)),
    "ice_impact": ("Impact", Decimal(1), True, Decimal(10)),
    "ice_confidence": ("Confidence", Decimal(1), True, Decimal(10)),
    "ice_ease": ("Ease", Decimal(1), True, Decimal(10)),
}
RATIONALES = tuple(f"{f}_rationale" for f in scoring.COD_FIELDS)
INPUT_KEYS = frozenset({*NUMBER_INPUTS, *RATIONALES, "urgency", "deadline", "team_id"})
URGENCIES = {value for value, _ in URGENCY_PROFILES}


def _check_number(name: str, value: Decimal, errors: _FieldErrors) -> Decimal | None:
    label, minimum, inclusive, maximum = NUMBER_INPUTS[name]
    if name == "rice_impact" and float(value) not in prio.RICE_IMPACT:
        errors.add(name, "Impact must be one of 3 (massive), 2, 1, 0.5, 0.25 (minimal).")
        return None
    if name == "rice_confidence" and float(value) not in prio.RICE_CONFIDENCE:
        errors.add(name, "Confidence must be one of 100, 80, 50 (%).")
        return None
    if name.startswith("duration") or name == "urgency_life_weeks":
        try:
            prio.duration_range(value)  # the engine's rule: a duration is > 0
        except prio.PrioritisationError as exc:
            errors.add(name, _engine_message(exc, label) + " Durations are in weeks.")
            return None
    elif name.startswith("cod_"):
        try:
            prio.cost_of_delay([{"component": name[4:], "per_week": value}])
        except prio.PrioritisationError as exc:
            errors.add(name, _engine_message(exc, label))
            return None
    if value < minimum or (value == minimum and not inclusive):
        errors.add(name, f"{label} must be {'at least' if inclusive else 'more than'} {minimum}.")
        return None
    if value > maximum:
        errors.add(name, f"{label} must be at most {maximum:,}.")
        return None
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _clean_inputs(actor: Actor, feature: Feature, changes: dict) -> dict:
    errors = _FieldErrors()
    data: dict = {}
    for name, raw in changes.items():
        if name in NUMBER_INPUTS:
            try:
                number = parse_decimal(raw)
            except ValueError as exc:
                errors.add(name, str(exc))
                continue
            data[name] = None if number is None else _check_number(name, number, errors)
        elif name in RATIONALES:
            text = (raw or "").strip()
            if len(text) > 500:
                errors.add(name, f"Keep the rationale under 500 characters (it has {len(text)}).")
            data[name] = text
        elif name == "urgency":
            if raw not in URGENCIES:
                errors.add(name, f"One of: {', '.join(sorted(URGENCIES))}.")
            data[name] = raw
        elif name == "deadline":
            try:
                data[name] = parse_date(raw)
            except ValueError as exc:
                errors.add(name, str(exc))
        elif name == "team_id":
            try:
                team_id = parse_int(raw)
            except ValueError as exc:
                errors.add(name, str(exc))
                continue
            if team_id is None:
                data["team"] = None
            else:
                team = Team.objects.filter(workspace=actor.workspace, pk=team_id).first()
                if team is None:
                    errors.add(name, "No such team in this workspace.")
                data["team"] = team
    merged = {name: getattr(feature, name) for name in (*NUMBER_INPUTS, "urgency", "deadline")}
    merged.update({k: v for k, v in data.items() if k in merged})
    _cross_checks(merged, errors, set(data))
    errors.raise_if_any("Some prioritisation inputs are not valid.")
    return data


def _cross_checks(merged: dict, errors: _FieldErrors, given: set[str]) -> None:
    likely, low, high = merged["duration_likely"], merged["duration_low"], merged["duration_high"]
    if not any(n in errors for n in ("duration_likely", "duration_low", "duration_high")):
        if likely is not None:
            try:
                prio.duration_range(likely, low, high)
            except prio.PrioritisationError as exc:
                name = scoring.ENGINE_FIELDS.get(exc.field or "", "duration_likely")
                label = NUMBER_INPUTS[name][0]
                text = exc.message.replace("duration_weeks", "likely").replace("duration_low_weeks", label)
                text = text.replace("duration_high_weeks", label).replace(">=", "at least").replace("<=", "at most")
                errors.add(name, text[:1].upper() + text[1:] + ".")
        elif low is not None and high is not None and low > high:
            errors.add("duration_low", "Duration low must be at most duration high.")
    urgency = merged["urgency"]
    if urgency == "fixed_date":
        if merged["deadline"] is None and "deadline" not in errors:
            errors.add("deadline", "A fixed-date item needs a deadline.")
        elif "fixed_date_penalty" not in errors:
            try:
                prio.make_profile("fixed_date", deadline_weeks=0, penalty=merged["fixed_date_penalty"] or 0)
            except prio.PrioritisationError as exc:
                errors.add("fixed_date_penalty", _engine_message(exc, "Penalty"))
    if urgency in scoring.PEAK_AFFECTED and merged["urgency_life_weeks"] is None and "urgency_life_weeks" not in errors:
        errors.add("urgency_life_weeks", "A peak-affected item needs its life span (weeks until the window closes).")
    rice = [merged[f] for f in scoring.FRAMEWORK_INPUTS["rice"]]
    if all(v is not None for v in rice) and not any(f in errors for f in scoring.FRAMEWORK_INPUTS["rice"]):
        try:
            prio.rice(*rice)
        except prio.PrioritisationError as exc:
            errors.add(f"rice_{exc.field}", _engine_message(exc, (exc.field or "").title()))
    ice = [merged[f] for f in scoring.FRAMEWORK_INPUTS["ice"]]
    if all(v is not None for v in ice) and not any(f in errors for f in scoring.FRAMEWORK_INPUTS["ice"]):
        try:
            prio.ice(*ice)
        except prio.PrioritisationError as exc:
            errors.add(f"ice_{exc.field}", _engine_message(exc, (exc.field or "").title()))


def _derived(feature: Feature, data: dict) -> dict:
    components = [data.get(f, getattr(feature, f)) for f in scoring.COD_FIELDS]
    given = [c for c in components if c is not None]
    cod = sum(given, Decimal(0)) if given else None
    likely = data.get("duration_likely", feature.duration_likely)
    cd3 = float(cod) / float(likely) if cod is not None and likely else None
    return {"cod_per_week": cod, "cd3": cd3}


def _plain(value):
    if isinstance(value, Decimal | dt.date):
        return str(value)
    return value


def _positions(workspace, feature_id: int, frameworks: list[str], ice_method: str) -> dict[str, tuple]:
    if not frameworks:
        return {}
    columns = sorted({c for fw in frameworks for c in selectors.FRAMEWORK_COLUMNS[fw]})
    table = selectors.load_table(workspace, include_ids=[feature_id], columns=columns)
    return {fw: scoring.rank(table, fw, ice_method=ice_method).position(feature_id) for fw in frameworks}


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@transaction.atomic
def prioritisation_update(*, actor: Actor, feature_id: int, expected_version: int | None = None, **changes) -> Feature:
    """Change any prioritisation inputs of a feature (only the ones given)."""
    feature = selectors.access_feature(actor=actor, id=feature_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    unknown = set(changes) - INPUT_KEYS
    if unknown:
        raise Invalid(
            f"Unknown prioritisation inputs: {', '.join(sorted(unknown))}", fields=dict.fromkeys(unknown, "Unknown.")
        )
    check_version(feature, expected_version)
    data = _clean_inputs(actor, feature, changes)
    changed = {}
    for name, value in data.items():
        old = feature.team_id if name == "team" else getattr(feature, name)
        new = (value.pk if value is not None else None) if name == "team" else value
        if old != new:
            changed["team_id" if name == "team" else name] = [_plain(old), _plain(new)]
    if not changed:
        return feature
    settings = selectors.settings_get(actor=actor)
    touched = {"team" if n == "team_id" else n for n in changed}
    frameworks = [fw for fw, inputs in scoring.FRAMEWORK_INPUTS.items() if set(inputs) & touched]
    before = _positions(actor.workspace, feature.pk, frameworks, settings.ice_method)
    values = {**data, **_derived(feature, data)}
    feature = update_audited(actor, feature, values, entity_type="feature", expected_version=expected_version)
    after = _positions(actor.workspace, feature.pk, frameworks, settings.ice_method)
    records = []
    for fw in frameworks:
        (old_score, old_rank), (new_score, new_rank) = before[fw], after[fw]
        if _same(old_score, new_score) and old_rank == new_rank:
            continue
        records.append(
            ScoreChange(
                workspace=actor.workspace,
                feature=feature,
                framework=fw,
                old_score=old_score,
                new_score=new_score,
                old_rank=old_rank,
                new_rank=new_rank,
                changed=changed,
                actor=actor.user if getattr(actor.user, "pk", None) else None,
                actor_label=actor.email,
            )
        )
    ScoreChange.objects.bulk_create(records)
    return feature


# --------------------------------------------------------------------------------------------------
# Delivery items
# --------------------------------------------------------------------------------------------------

DELIVERY_STATUSES = {v for v, _ in DELIVERY_STATUS}
DELIVERY_FIELDS = ["feature", "title", "status", "estimate_weeks", "done_at"]


def _clean_delivery(data: dict, current: DeliveryItem | None) -> dict:
    errors = _FieldErrors()
    out: dict = {}
    if "title" in data:
        out["title"] = (data["title"] or "").strip()
        if not out["title"]:
            errors.add("title", "A title is required.")
        elif len(out["title"]) > 200:
            errors.add("title", "Keep the title under 200 characters.")
    if "estimate_weeks" in data:
        try:
            weeks = parse_decimal(data["estimate_weeks"])
        except ValueError as exc:
            errors.add("estimate_weeks", str(exc))
            weeks = None
        if weeks is not None and not Decimal(0) < weeks <= Decimal(1000):
            errors.add("estimate_weeks", "The estimate must be more than 0 and at most 1000 weeks.")
        out["estimate_weeks"] = weeks.quantize(CENT, rounding=ROUND_HALF_UP) if weeks is not None else None
    status = data.get("status", current.status if current else "todo")
    if status not in DELIVERY_STATUSES:
        errors.add("status", "One of: todo, doing, done.")
    if "status" in data:
        out["status"] = status
    done_at = data.get("done_at")
    if isinstance(done_at, dt.date) and not isinstance(done_at, dt.datetime):
        done_at = timezone.make_aware(dt.datetime.combine(done_at, dt.time(12)))
    if done_at is not None and done_at > timezone.now():
        errors.add("done_at", "The finishing time cannot be in the future.")
    errors.raise_if_any("The delivery item is not valid.")
    if status == "done":
        if done_at is not None:
            out["done_at"] = done_at
        elif current is None or current.done_at is None:
            out["done_at"] = timezone.now()
    elif "status" in data or "done_at" in data:
        if done_at is not None:
            raise Invalid("Only a done item has a finishing time.", fields={"done_at": "Mark the item done first."})
        out["done_at"] = None
    return out


@transaction.atomic
def delivery_item_create(
    *,
    actor: Actor,
    feature_id: int,
    title: str,
    status: str = "todo",
    estimate_weeks=None,
    done_at: dt.datetime | dt.date | None = None,
) -> DeliveryItem:
    feature = selectors.access_feature(actor=actor, id=feature_id, scope=Scope.PORTFOLIO_WRITE)
    data = _clean_delivery(
        {"title": title, "status": status, "estimate_weeks": estimate_weeks, "done_at": done_at}, None
    )
    item = DeliveryItem(workspace=actor.workspace, feature=feature, **data)
    return create_audited(actor, item, entity_type="delivery_item", fields=DELIVERY_FIELDS)


@transaction.atomic
def delivery_item_update(
    *, actor: Actor, delivery_item_id: int, expected_version: int | None = None, **changes
) -> DeliveryItem:
    item = selectors.access_delivery_item(
        actor=actor, id=delivery_item_id, scope=Scope.PORTFOLIO_WRITE, for_update=True
    )
    unknown = set(changes) - {"title", "status", "estimate_weeks", "done_at"}
    if unknown:
        raise Invalid(f"Unknown delivery item fields: {', '.join(sorted(unknown))}")
    return update_audited(
        actor, item, _clean_delivery(changes, item), entity_type="delivery_item", expected_version=expected_version
    )


@transaction.atomic
def delivery_item_delete(*, actor: Actor, delivery_item_id: int) -> None:
    item = selectors.access_delivery_item(
        actor=actor, id=delivery_item_id, scope=Scope.PORTFOLIO_WRITE, for_update=True
    )
    delete_audited(actor, item, entity_type="delivery_item", fields=DELIVERY_FIELDS)


# --------------------------------------------------------------------------------------------------
# Teams, formulas, throughput, settings
# --------------------------------------------------------------------------------------------------


def _clean_team(data: dict) -> dict:
    errors = _FieldErrors()
    out: dict = {}
    if "name" in data:
        out["name"] = (data["name"] or "").strip()
        if not out["name"] or len(out["name"]) > 80:
            errors.add("name", "A name of 1 to 80 characters is required.")
    if "capacity" in data:
        try:
            capacity = parse_decimal(data["capacity"])
        except ValueError as exc:
            errors.add("capacity", str(exc))
            capacity = Decimal(1)
        if capacity is None or not Decimal("0.1") <= capacity <= Decimal(10):
            errors.add("capacity", "Capacity is the speed against the estimates: from 0.1 to 10 (1 = as estimated).")
        else:
            out["capacity"] = capacity.quantize(CENT, rounding=ROUND_HALF_UP)
    if "available_from" in data:
        try:
            out["available_from"] = parse_date(data["available_from"])
        except ValueError as exc:
            errors.add("available_from", str(exc))
    errors.raise_if_any("The team is not valid.")
    return out


@transaction.atomic
def team_create(*, actor: Actor, name: str, capacity=Decimal(1), available_from=None) -> Team:
    actor.require(Scope.PORTFOLIO_WRITE)
    data = _clean_team({"name": name, "capacity": capacity, "available_from": available_from})
    if Team.objects.filter(workspace=actor.workspace, name__iexact=data["name"]).exists():
        raise Conflict(f"A team named “{data['name']}” already exists.", fields={"name": "That name is taken."})
    team = Team(workspace=actor.workspace, **data)
    return create_audited(actor, team, entity_type="team", fields=["name", "capacity", "available_from"])


@transaction.atomic
def team_update(*, actor: Actor, team_id: int, expected_version: int | None = None, **changes) -> Team:
    team = selectors.access_team(actor=actor, id=team_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    unknown = set(changes) - {"name", "capacity", "available_from"}
    if unknown:
        raise Invalid(f"Unknown team fields: {', '.join(sorted(unknown))}")
    data = _clean_team(changes)
    if (
        "name" in data
        and Team.objects.filter(workspace=actor.workspace, name__iexact=data["name"]).exclude(pk=team.pk).exists()
    ):
        raise Conflict(f"A team named “{data['name']}” already exists.", fields={"name": "That name is taken."})
    return update_audited(actor, team, data, entity_type="team", expected_version=expected_version)


@transaction.atomic
def team_delete(*, actor: Actor, team_id: int) -> None:
    team = selectors.access_team(actor=actor, id=team_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    delete_audited(actor, team, entity_type="team", fields=["name", "capacity", "available_from"])


def _clean_formula(data: dict) -> dict:
    errors = _FieldErrors()
    out: dict = {}
    if "name" in data:
        out["name"] = (data["name"] or "").strip()
        if not out["name"] or len(out["name"]) > 80:
            errors.add("name", "A name of 1 to 80 characters is required.")
    if "expression" in data:
        expression = (data["expression"] or "").strip()
        out["expression"] = expression
        if not expression:
            errors.add("expression", "Write a formula, e.g. cost_of_delay / duration.")
        else:
            try:
                scoring.compile_user_formula(expression)
            except FormulaError as exc:
                errors.add("expression", exc.caret)
    errors.raise_if_any("The formula is not valid.")
    return out


@transaction.atomic
def formula_create(*, actor: Actor, name: str, expression: str) -> ScoringFormula:
    actor.require(Scope.PORTFOLIO_WRITE)
    data = _clean_formula({"name": name, "expression": expression})
    if ScoringFormula.objects.filter(workspace=actor.workspace, name__iexact=data["name"]).exists():
        raise Conflict(f"A formula named “{data['name']}” already exists.", fields={"name": "That name is taken."})
    formula = ScoringFormula(workspace=actor.workspace, **data)
    return create_audited(actor, formula, entity_type="scoring_formula", fields=["name", "expression"])


@transaction.atomic
def formula_update(*, actor: Actor, formula_id: int, expected_version: int | None = None, **changes) -> ScoringFormula:
    formula = selectors.access_formula(actor=actor, id=formula_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    unknown = set(changes) - {"name", "expression"}
    if unknown:
        raise Invalid(f"Unknown formula fields: {', '.join(sorted(unknown))}")
    data = _clean_formula(changes)
    if (
        "name" in data
        and ScoringFormula.objects.filter(workspace=actor.workspace, name__iexact=data["name"])
        .exclude(pk=formula.pk)
        .exists()
    ):
        raise Conflict(f"A formula named “{data['name']}” already exists.", fields={"name": "That name is taken."})
    return update_audited(actor, formula, data, entity_type="scoring_formula", expected_version=expected_version)


@transaction.atomic
def formula_delete(*, actor: Actor, formula_id: int) -> None:
    formula = selectors.access_formula(actor=actor, id=formula_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    delete_audited(actor, formula, entity_type="scoring_formula", fields=["name", "expression"])


def _clean_throughput(data: dict) -> dict:
    errors = _FieldErrors()
    out: dict = {}
    if "week_start" in data:
        try:
            day = parse_date(data["week_start"])
        except ValueError as exc:
            errors.add("week_start", str(exc))
            day = None
        if day is None and "week_start" not in errors:
            errors.add("week_start", "Enter the week (any day of it), e.g. 2026-03-02.")
        elif day is not None:
            out["week_start"] = selectors.week_start(day)  # any day names its week; stored as the Monday
    if "finished" in data:
        try:
            finished = parse_int(data["finished"])
        except ValueError as exc:
            errors.add("finished", str(exc))
            finished = 0
        if finished is None or not 0 <= finished <= 100_000:
            errors.add("finished", "Enter how many items were finished that week (0 to 100,000).")
        else:
            out["finished"] = finished
    if "note" in data:
        out["note"] = (data["note"] or "").strip()[:200]
    errors.raise_if_any("The throughput entry is not valid.")
    return out


def _week_taken(actor: Actor, week: dt.date, exclude: int | None = None) -> None:
    query = ThroughputEntry.objects.filter(workspace=actor.workspace, week_start=week)
    if exclude:
        query = query.exclude(pk=exclude)
    if query.exists():
        raise Conflict(
            f"The week of {week:%Y-%m-%d} already has an entry; edit that one.",
            fields={"week_start": "That week already has an entry."},
        )


@transaction.atomic
def throughput_create(*, actor: Actor, week_start, finished, note: str = "") -> ThroughputEntry:
    actor.require(Scope.PORTFOLIO_WRITE)
    data = _clean_throughput({"week_start": week_start, "finished": finished, "note": note})
    _week_taken(actor, data["week_start"])
    entry = ThroughputEntry(workspace=actor.workspace, **data)
    return create_audited(actor, entry, entity_type="throughput", fields=["week_start", "finished", "note"])


@transaction.atomic
def throughput_update(
    *, actor: Actor, throughput_id: int, expected_version: int | None = None, **changes
) -> ThroughputEntry:
    entry = selectors.access_throughput(actor=actor, id=throughput_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    unknown = set(changes) - {"week_start", "finished", "note"}
    if unknown:
        raise Invalid(f"Unknown throughput fields: {', '.join(sorted(unknown))}")
    data = _clean_throughput(changes)
    if "week_start" in data:
        _week_taken(actor, data["week_start"], exclude=entry.pk)
    return update_audited(actor, entry, data, entity_type="throughput", expected_version=expected_version)


@transaction.atomic
def throughput_delete(*, actor: Actor, throughput_id: int) -> None:
    entry = selectors.access_throughput(actor=actor, id=throughput_id, scope=Scope.PORTFOLIO_WRITE, for_update=True)
    delete_audited(actor, entry, entity_type="throughput", fields=["week_start", "finished", "note"])


def _settings_for_update(actor: Actor) -> PlanningSettings:
    PlanningSettings.objects.get_or_create(workspace=actor.workspace)
    return PlanningSettings.objects.select_for_update().get(workspace=actor.workspace)


@transaction.atomic
def settings_update(*, actor: Actor, expected_version: int | None = None, **changes) -> PlanningSettings:
    actor.require(Scope.PORTFOLIO_WRITE)
    allowed = {
        "ice_method": {v for v, _ in ICE_METHODS},
        "default_framework": {v for v, _ in FRAMEWORKS},
        "throughput_source": {v for v, _ in THROUGHPUT_SOURCES},
    }
    errors = _FieldErrors()
    for name, value in changes.items():
        if name not in allowed:
            errors.add(name, "Unknown setting.")
        elif value not in allowed[name]:
            errors.add(name, f"One of: {', '.join(sorted(allowed[name]))}.")
    errors.raise_if_any("The planning settings are not valid.")
    settings = _settings_for_update(actor)
    return update_audited(actor, settings, changes, entity_type="planning_settings", expected_version=expected_version)


# --------------------------------------------------------------------------------------------------
# The product owner's backlog
# --------------------------------------------------------------------------------------------------


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise Invalid(
            "Say why: a hand move needs a reason.", fields={"reason": "A reason is required for a hand move."}
        )
    if len(text) > 1000:
        raise Invalid("The reason is too long.", fields={"reason": "Keep the reason under 1000 characters."})
    return text


@transaction.atomic
def backlog_move(*, actor: Actor, feature_id: int, to_position: int, reason: str) -> BacklogMove:
    """Move an open feature to ``to_position`` (1-based) in the backlog, with a reason.

    The hand order covers the backlog's top down to the lowest position touched; everything
    after keeps following CD3 order.
    """
    feature = selectors.access_feature(actor=actor, id=feature_id, scope=Scope.PORTFOLIO_WRITE)
    text = _reason(reason)
    if feature.status not in OPEN_STATUSES:
        raise Invalid(
            f"“{feature.title}” is {feature.get_status_display().lower()}; only open features are in the backlog.",
            fields={"feature_id": "Not in the backlog."},
        )
    _settings_for_update(actor)  # serialises backlog moves within the workspace
    ids, _, _ = selectors.backlog_order(actor=actor)
    if isinstance(to_position, bool) or not isinstance(to_position, int) or to_position < 1:
        raise Invalid("Positions start at 1.", fields={"to_position": "Enter a position from 1."})
    target = min(to_position, len(ids))
    current = ids.index(feature.pk) + 1
    if target == current:
        raise Invalid(
            f"“{feature.title}” is already at position {current}.", fields={"to_position": "Choose another position."}
        )
    ids.remove(feature.pk)
    ids.insert(target - 1, feature.pk)
    hand = (
        Feature.objects.filter(workspace=actor.workspace, status__in=OPEN_STATUSES)
        .exclude(backlog_position=None)
        .count()
    )
    depth = max(current, target, hand)
    features = {f.pk: f for f in Feature.objects.filter(workspace=actor.workspace, pk__in=ids[:depth])}
    updated = []
    for position, fid in enumerate(ids[:depth], start=1):
        f = features[fid]
        if f.backlog_position != position:
            f.backlog_position = position
            updated.append(f)
    Feature.objects.bulk_update(updated, ["backlog_position"], batch_size=500)
    move = BacklogMove(
        workspace=actor.workspace,
        feature=feature,
        from_position=current,
        to_position=target,
        reason=text,
        actor=actor.user if getattr(actor.user, "pk", None) else None,
        actor_label=actor.email,
    )
    clean_and_save(move)
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="feature",
        entity_id=feature.pk,
        entity_label=str(feature),
        action="backlog_moved",
        changes={"backlog_position": [current, target], "reason": [None, text]},
    )
    return move


@transaction.atomic
def backlog_reset(*, actor: Actor, reason: str) -> BacklogMove:
    """Drop every hand position: the backlog follows CD3 order again. Needs a reason too."""
    actor.require(Scope.PORTFOLIO_WRITE)
    text = _reason(reason)
    _settings_for_update(actor)
    cleared = (
        Feature.objects.filter(workspace=actor.workspace).exclude(backlog_position=None).update(backlog_position=None)
    )
    move = BacklogMove(
        workspace=actor.workspace,
        feature=None,
        reason=text,
        actor=actor.user if getattr(actor.user, "pk", None) else None,
        actor_label=actor.email,
    )
    clean_and_save(move)
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="backlog",
        entity_id=None,
        entity_label="Backlog",
        action="reset_to_cd3",
        changes={"hand_positions": [cleared, 0], "reason": [None, text]},
    )
    return move


# --------------------------------------------------------------------------------------------------
# Kano answers and outcome scores
# --------------------------------------------------------------------------------------------------


@transaction.atomic
def kano_import(*, actor: Actor, data: bytes | str, dry_run: bool = False) -> dict:
    """Import Kano answers (CSV: feature, respondent, functional, dysfunctional). All or nothing:
    any problem raises ``Invalid`` naming every bad row and column, and nothing is written. A
    respondent's new answers for a feature replace their earlier ones."""
    actor.require(Scope.PORTFOLIO_WRITE)
    features = dict(Feature.objects.filter(workspace=actor.workspace).values_list("pk", "title"))
    by_title: dict[str, int] = {}
    for pk, title in sorted(features.items()):
        by_title.setdefault(title.lower(), pk)
    parsed = kano.read_kano_csv(data, features, by_title)
    if not parsed.problems.ok:
        fields = {f"row {p.row} {p.field}" if p.row else p.field: p.message for p in parsed.problems}
        raise Invalid(
            f"Nothing was imported: {parsed.problems.count} problem(s) in the file. Fix them and import again.",
            fields=fields,
        )
    existing = {
        (r.feature_id, r.respondent): r
        for r in KanoResponse.objects.filter(
            workspace=actor.workspace, feature_id__in={row.feature_id for row in parsed.rows}
        )
    }
    created, updated = [], []
    for row in parsed.rows:
        found = existing.get((row.feature_id, row.respondent))
        if found is None:
            created.append(
                KanoResponse(
                    workspace=actor.workspace,
                    feature_id=row.feature_id,
                    respondent=row.respondent,
                    functional=row.functional,
                    dysfunctional=row.dysfunctional,
                )
            )
        elif (found.functional, found.dysfunctional) != (row.functional, row.dysfunctional):
            found.functional, found.dysfunctional = row.functional, row.dysfunctional
            updated.append(found)
    report = {"rows": len(parsed.rows), "created": len(created), "updated": len(updated), "dry_run": dry_run}
    if dry_run:
        return report
    try:
        KanoResponse.objects.bulk_create(created, batch_size=1000)
        KanoResponse.objects.bulk_update(updated, ["functional", "dysfunctional", "imported_at"], batch_size=1000)
    except IntegrityError as exc:  # a concurrent import of the same answers
        raise Conflict(f"Another import wrote the same answers at the same time; import again. ({exc})") from None
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="kano",
        entity_id=None,
        entity_label="Kano answers",
        action="imported",
        changes={"created": [0, len(created)], "updated": [0, len(updated)]},
    )
    return report


@transaction.atomic
def outcome_update(
    *,
    actor: Actor,
    problem_id: int,
    importance,
    satisfaction,
    respondents: int | None = None,
    expected_version: int | None = None,
) -> dict:
    """Set a problem's importance and satisfaction (0-10, Ulwick's top-two-box share x 10)."""
    problem = selectors.access_problem(actor=actor, id=problem_id)
    actor.require(Scope.PORTFOLIO_WRITE)
    errors = _FieldErrors()
    values = {}
    for name, raw in (("importance", importance), ("satisfaction", satisfaction)):
        try:
            value = parse_decimal(raw)
        except ValueError as exc:
            errors.add(name, str(exc))
            continue
        if value is None:
            errors.add(name, f"{name.title()} is required (0 to 10).")
            continue
        try:
            prio.opportunity(value if name == "importance" else 0, value if name == "satisfaction" else 0)
        except prio.PrioritisationError as exc:
            errors.add(name, _engine_message(exc, name.title()))
            continue
        values[name] = value.quantize(CENT, rounding=ROUND_HALF_UP)
    try:
        count = parse_int(respondents)
    except ValueError as exc:
        errors.add("respondents", str(exc))
        count = None
    if count is not None and not 0 <= count <= 10_000_000:
        errors.add("respondents", "Enter the number of respondents (0 or more).")
    errors.raise_if_any("The outcome score is not valid.")
    values["respondents"] = count
    outcome = OutcomeScore.objects.select_for_update().filter(workspace=actor.workspace, problem_id=problem.pk).first()
    if outcome is None:
        if expected_version not in (None, 0):
            raise Conflict("This outcome score was removed or never saved; reload.", code="stale_version")
        outcome = OutcomeScore(workspace=actor.workspace, problem_id=problem.pk, **values)
        fields = ["importance", "satisfaction", "respondents"]
        create_audited(actor, outcome, entity_type="outcome_score", fields=fields)
    else:
        update_audited(actor, outcome, values, entity_type="outcome_score", expected_version=expected_version or None)
    return selectors.outcome_get(actor=actor, problem_id=problem.pk)
