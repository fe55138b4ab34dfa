"""Checks on experiment and metric input. Every failure raises ``Invalid`` naming the field, so a form shows the
message beside the field and an API client knows what to fix ("weights": "They add up to 0.9; ...").

The flag-facing parts (variation values against the flag's type, the targeting condition, the hash attribute) are
checked by the flags validation itself (``flags.facade.clean_experiment_rule``), so an experiment that passes here
is one the flags services will accept when it starts.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from valueloop.core.errors import Invalid

from .models import AGGREGATIONS, CORRECTIONS, METHODS, METRIC_KINDS, ROLES

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
EVENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\- ]{0,119}$")
MAX_VARIATIONS = 20
MAX_METRICS = 20
WEIGHT_TOLERANCE = 1e-6
MAX_TEXT = 20000


def _has_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 32:
        return False
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def clean_key(value: Any, *, what: str = "experiment") -> str:
    key = value.strip() if isinstance(value, str) else value
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise Invalid(
            f"The {what} key must be 1–64 lower-case letters, digits, '-' or '_', starting with a letter or digit.",
            fields={"key": "Use lower-case letters, digits, '-' and '_' (e.g. checkout-copy-test)."},
        )
    return key


def clean_text(value: Any, *, field: str, label: str, limit: int, required: bool = True) -> str:
    text = value if isinstance(value, str) else ("" if value is None else value)
    if not isinstance(text, str):
        raise Invalid(f"{label} must be text.", fields={field: "Text."})
    text = text.strip()
    if "\x00" in text:
        raise Invalid(f"{label} contains a NUL character.", fields={field: "Remove the NUL (\\x00) character."})
    if required and not text:
        raise Invalid(f"{label} is required.", fields={field: "Required."})
    if len(text) > limit:
        raise Invalid(f"{label} is too long (at most {limit:,} characters).", fields={field: f"At most {limit:,}."})
    return text


def _number(value: Any, *, field: str, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{label} must be a number.", fields={field: "A number."})
    return float(value)


def clean_variations(variations: Any) -> tuple[list[str], list[Any]]:
    """``[{"name", "value"}, ...]`` (the control first) -> (names, values). Values are checked by the flags."""
    if not isinstance(variations, list) or not 2 <= len(variations) <= MAX_VARIATIONS:
        raise Invalid(
            f"An experiment needs 2 to {MAX_VARIATIONS} variations, the control first.",
            fields={"variations": f"2 to {MAX_VARIATIONS} variations."},
        )
    names: list[str] = []
    values: list[Any] = []
    for i, item in enumerate(variations):
        if not isinstance(item, dict) or set(item) - {"name", "value"} or "value" not in item:
            raise Invalid(
                f'Variation {i + 1} must be {{"name": ..., "value": ...}}.',
                fields={"variations": f"Variation {i + 1}: a name and a value."},
            )
        name = clean_text(item.get("name"), field="variations", label=f"Variation {i + 1}'s name", limit=60)
        if name.lower() in (n.lower() for n in names):
            raise Invalid(
                f"Two variations are called “{name}”; give each a different name.",
                fields={"variations": f"“{name}” is used twice."},
            )
        if _has_nul(item.get("value")):
            raise Invalid(f"Variation {i + 1}'s value contains a NUL character.", fields={"variations": "NUL."})
        names.append(name)
        values.append(item.get("value"))
    return names, values


def clean_weights(weights: Any, count: int) -> list[float]:
    """One weight per variation, each > 0, summing to 1; none given means an equal split."""
    if weights in (None, []):
        return [1.0 / count] * count
    if not isinstance(weights, list) or len(weights) != count:
        raise Invalid(
            f"Give one weight per variation ({count}).", fields={"weights": f"{count} weights, one per variation."}
        )
    for i, w in enumerate(weights):
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or not 0 < w < 1:
            raise Invalid(
                f"Weight {i + 1} must be between 0 and 1 (a share of the traffic, e.g. 0.5); a variation with no "
                "traffic cannot be compared.",
                fields={"weights": f"Weight {i + 1}: more than 0 and less than 1."},
            )
    total = math.fsum(weights)
    if abs(total - 1) > WEIGHT_TOLERANCE:
        raise Invalid(
            f"The weights add up to {total:g}, not 1. Make them add up to exactly 1 (100 %).",
            fields={"weights": f"They add up to {total:g}; they must add up to 1."},
        )
    return [float(w) / total for w in weights]


def clean_coverage(value: Any) -> float:
    coverage = _number(value, field="coverage", label="Coverage")
    if not 0 < coverage <= 1:
        raise Invalid(
            "Coverage is the share of eligible users in the experiment: more than 0 and at most 1 (100 %).",
            fields={"coverage": "More than 0, at most 1."},
        )
    return coverage


def clean_settings(data: dict[str, Any]) -> dict[str, Any]:
    """Analysis settings and the plan (only the keys present in ``data``)."""
    out: dict[str, Any] = {}
    if "method" in data:
        if data["method"] not in dict(METHODS):
            raise Invalid("The method is frequentist, sequential or bayesian.", fields={"method": "Unknown method."})
        out["method"] = data["method"]
    if "alpha" in data:
        alpha = _number(data["alpha"], field="alpha", label="The significance level")
        if not 0 < alpha <= 0.5:
            raise Invalid(
                "The significance level alpha is between 0 and 0.5 (usually 0.05).", fields={"alpha": "0 < α ≤ 0.5."}
            )
        out["alpha"] = alpha
    if "correction" in data:
        correction = data["correction"] or "none"
        if correction not in dict(CORRECTIONS):
            raise Invalid("The correction is none, holm or bh.", fields={"correction": "none, holm or bh."})
        out["correction"] = correction
    if "cuped_days" in data:
        days = data["cuped_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 90:
            raise Invalid(
                "CUPED looks back 0 (off) to 90 days before each user's first exposure.",
                fields={"cuped_days": "0 to 90 days."},
            )
        out["cuped_days"] = days
    if "prior_proper" in data:
        if not isinstance(data["prior_proper"], bool):
            raise Invalid("prior_proper must be true or false.", fields={"prior_proper": "true or false."})
        out["prior_proper"] = data["prior_proper"]
    if "prior_mean" in data:
        mean = _number(data["prior_mean"], field="prior_mean", label="The prior mean")
        if abs(mean) > 10:
            raise Invalid("The prior mean (a relative effect) is between -10 and 10.", fields={"prior_mean": "±10."})
        out["prior_mean"] = mean
    if "prior_sd" in data:
        sd = _number(data["prior_sd"], field="prior_sd", label="The prior standard deviation")
        if not 0 < sd <= 10:
            raise Invalid(
                "The prior standard deviation (of the relative effect) is more than 0 and at most 10.",
                fields={"prior_sd": "0 < sd ≤ 10."},
            )
        out["prior_sd"] = sd
    if "planned_days" in data:
        days = data["planned_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
            raise Invalid("The planned duration is 1 to 365 days.", fields={"planned_days": "1 to 365 days."})
        out["planned_days"] = days
    if "planned_start" in data:
        start = data["planned_start"]
        if isinstance(start, str):
            try:
                start = dt.date.fromisoformat(start.strip()) if start.strip() else None
            except ValueError:
                raise Invalid(
                    "The planned start is a date (YYYY-MM-DD).", fields={"planned_start": "A date, e.g. 2026-03-01."}
                ) from None
        if start is not None and not isinstance(start, dt.date):
            raise Invalid("The planned start is a date (YYYY-MM-DD).", fields={"planned_start": "A date."})
        out["planned_start"] = start
    if "daily_traffic" in data:
        traffic = data["daily_traffic"]
        if traffic is not None and (
            isinstance(traffic, bool) or not isinstance(traffic, int) or not 1 <= traffic <= 10**9
        ):
            raise Invalid(
                "Daily traffic is the number of eligible users per day (1 to 10^9).",
                fields={"daily_traffic": "A whole number of users per day."},
            )
        out["daily_traffic"] = traffic
    method = out.get("method", data.get("_current_method"))
    correction = out.get("correction", data.get("_current_correction"))
    if method == "bayesian" and correction not in (None, "none"):
        raise Invalid(
            "A p-value correction does not apply to the Bayesian method (it reports chances to win, not p-values).",
            fields={"correction": "Use none with the Bayesian method."},
        )
    return out


def clean_metric_links(items: Any) -> list[tuple[int, str]]:
    """``[{"metric_id", "role"}, ...]`` -> [(metric id, role)]: one primary at most, each metric once."""
    if items is None:
        return []
    if not isinstance(items, list) or len(items) > MAX_METRICS:
        raise Invalid(f"Give at most {MAX_METRICS} metrics.", fields={"metrics": "A list of metrics and roles."})
    roles = dict(ROLES)
    out: list[tuple[int, str]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) - {"metric_id", "role"}:
            raise Invalid(f"Metric {i + 1} must be {{metric_id, role}}.", fields={"metrics": "metric_id and role."})
        metric_id, role = item.get("metric_id"), item.get("role")
        if isinstance(metric_id, bool) or not isinstance(metric_id, int) or metric_id < 1:
            raise Invalid(f"Metric {i + 1}: metric_id must be an id.", fields={"metrics": "An id."})
        if role not in roles:
            raise Invalid(
                f"Metric {i + 1}: the role is primary, secondary or guardrail.", fields={"metrics": "Unknown role."}
            )
        if any(m == metric_id for m, _ in out):
            raise Invalid("A metric can be used once per experiment.", fields={"metrics": "Each metric once."})
        out.append((metric_id, role))
    if sum(1 for _, r in out if r == "primary") > 1:
        raise Invalid(
            "An experiment has one primary metric: the one the decision rests on. Make the others secondary.",
            fields={"metrics": "One primary metric."},
        )
    return out


def clean_metric(data: dict[str, Any]) -> dict[str, Any]:
    """A metric definition as stored (every field present)."""
    kind = data.get("kind") or "binomial"
    if kind not in dict(METRIC_KINDS):
        raise Invalid("The kind is binomial, mean or ratio.", fields={"kind": "binomial, mean or ratio."})
    out: dict[str, Any] = {
        "name": clean_text(data.get("name"), field="name", label="The metric's name", limit=120),
        "description": clean_text(
            data.get("description"), field="description", label="The description", limit=500, required=False
        ),
        "kind": kind,
    }
    event = data.get("event")
    event = event.strip() if isinstance(event, str) else event
    if not isinstance(event, str) or not EVENT_RE.match(event):
        raise Invalid(
            "The event is the name your product sends (letters, digits, '_', '.', ':', '-'; at most 120).",
            fields={"event": "An event name such as checkout_completed."},
        )
    out["event"] = event
    aggregation = data.get("aggregation") or "count"
    if aggregation not in dict(AGGREGATIONS):
        raise Invalid("The aggregation is count or sum.", fields={"aggregation": "count or sum."})
    out["aggregation"] = "count" if kind == "binomial" else aggregation
    denominator = data.get("denominator_event") or ""
    denominator = denominator.strip() if isinstance(denominator, str) else denominator
    if kind == "ratio":
        if not isinstance(denominator, str) or not EVENT_RE.match(denominator):
            raise Invalid(
                "A ratio metric needs a denominator event (e.g. orders for revenue per order).",
                fields={"denominator_event": "Required for a ratio metric."},
            )
    else:
        denominator = ""
    out["denominator_event"] = denominator
    denominator_aggregation = data.get("denominator_aggregation") or "count"
    if denominator_aggregation not in dict(AGGREGATIONS):
        raise Invalid("The aggregation is count or sum.", fields={"denominator_aggregation": "count or sum."})
    out["denominator_aggregation"] = denominator_aggregation if kind == "ratio" else "count"
    window = data.get("window_hours")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 8760):
        raise Invalid(
            "The window is 1 to 8,760 hours after each user's first exposure (or empty: until the end).",
            fields={"window_hours": "1 to 8760 hours, or empty."},
        )
    out["window_hours"] = window
    lower = data.get("lower_is_better", False)
    if not isinstance(lower, bool):
        raise Invalid("lower_is_better must be true or false.", fields={"lower_is_better": "true or false."})
    out["lower_is_better"] = lower
    return out
