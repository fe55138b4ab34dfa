"""Scoring a table of features under every framework, on top of the pure engines.

Selectors load features into a :class:`Table` (numpy columns, NaN where an input is missing);
this module turns it into per-framework scores and a ranking. No database access here, so the
what-if panel can rank a modified copy of the table without touching anything.

Invariants:
- Every row of the table comes back in every ranking, exactly once: scored rows first in rank
  order (the engines' order: score descending, ties by id), then the rows that cannot be scored,
  by title, each with the fields that stop it (``{"duration_likely": "duration likely missing"}``).
- Row checks mirror the engines' own validation, so the engines never see a bad row; should one
  still raise, the row it names is moved to the unscored list with the engine's message and the
  rest are ranked again, so nothing is ever silently dropped and a ranking never fails as a whole.
- Fixed-date items have a Cost of Delay of zero until their latest start (deadline - likely
  duration); from then on their Cost of Delay per week is the sum of their components.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from valueloop.engines import prioritisation as prio
from valueloop.engines.formula import Formula, FormulaError, compile_formula

COMPONENTS = ("increase_revenue", "protect_revenue", "reduce_cost", "reduce_risk")
COD_FIELDS = tuple(f"cod_{c}" for c in COMPONENTS)
# The inputs that are money (per week, or once for a missed deadline): read as amounts, sent as MoneyOut.
MONEY_INPUTS = (*COD_FIELDS, "fixed_date_penalty", "urgency_rise_per_week")
NUMERIC_FIELDS = (
    *COD_FIELDS,
    "cod_per_week",
    "fixed_date_penalty",
    "urgency_life_weeks",
    "urgency_rise_per_week",
    "duration_low",
    "duration_likely",
    "duration_high",
    "wsjf_business_value",
    "wsjf_time_criticality",
    "wsjf_risk_reduction",
    "wsjf_job_size",
    "rice_reach",
    "rice_impact",
    "rice_confidence",
    "rice_effort",
    "ice_impact",
    "ice_confidence",
    "ice_ease",
    "importance",
    "satisfaction",
)
PEAK_AFFECTED = ("long_life_peak_affected", "short_life_peak_affected")
FRAMEWORK_LABELS = {
    "cd3": "CD3",
    "cod": "Value only",
    "wsjf": "WSJF",
    "rice": "RICE",
    "ice": "ICE",
    "opportunity": "Opportunity",
    "formula": "Formula",
}
# Which inputs move which framework's score (for the score history).
FRAMEWORK_INPUTS: Mapping[str, tuple[str, ...]] = {
    "cd3": (*COD_FIELDS, "urgency", "deadline", "duration_low", "duration_likely", "duration_high"),
    "cod": (*COD_FIELDS, "urgency", "deadline", "duration_likely"),
    "wsjf": ("wsjf_business_value", "wsjf_time_criticality", "wsjf_risk_reduction", "wsjf_job_size"),
    "rice": ("rice_reach", "rice_impact", "rice_confidence", "rice_effort"),
    "ice": ("ice_impact", "ice_confidence", "ice_ease"),
}
# Names a custom formula may use, and the table column each reads.
FORMULA_FIELDS: Mapping[str, str] = {
    "cost_of_delay": "cod_per_week",
    "increase_revenue": "cod_increase_revenue",
    "protect_revenue": "cod_protect_revenue",
    "reduce_cost": "cod_reduce_cost",
    "reduce_risk": "cod_reduce_risk",
    "duration": "duration_likely",
    "duration_low": "duration_low",
    "duration_high": "duration_high",
    "cd3": "cd3",
    "business_value": "wsjf_business_value",
    "time_criticality": "wsjf_time_criticality",
    "risk_reduction": "wsjf_risk_reduction",
    "job_size": "wsjf_job_size",
    "reach": "rice_reach",
    "impact": "rice_impact",
    "confidence": "rice_confidence",
    "effort": "rice_effort",
    "ice_impact": "ice_impact",
    "ice_confidence": "ice_confidence",
    "ease": "ice_ease",
    "importance": "importance",
    "satisfaction": "satisfaction",
    "kano_better": "kano_better",
    "kano_worse": "kano_worse",
}
HUMAN = {
    "cod": "Cost of Delay",
    "duration_likely": "duration likely",
    "duration_low": "duration low",
    "duration_high": "duration high",
    "wsjf_business_value": "business value",
    "wsjf_time_criticality": "time criticality",
    "wsjf_risk_reduction": "risk reduction / opportunity enablement",
    "wsjf_job_size": "job size",
    "rice_reach": "reach",
    "rice_impact": "impact",
    "rice_confidence": "confidence",
    "rice_effort": "effort",
    "ice_impact": "impact",
    "ice_confidence": "confidence",
    "ice_ease": "ease",
    "importance": "importance",
    "satisfaction": "satisfaction",
}
# Engine field names -> ours, to point engine errors at the right input.
ENGINE_FIELDS = {
    "cod_per_week": "cod",
    "duration_weeks": "duration_likely",
    "duration_low_weeks": "duration_low",
    "duration_high_weeks": "duration_high",
    "business_value": "wsjf_business_value",
    "time_criticality": "wsjf_time_criticality",
    "risk_reduction": "wsjf_risk_reduction",
    "job_size": "wsjf_job_size",
}


@dataclass
class Table:
    """Features as columns. ``cols`` holds floats (NaN: not given); ``deadline_days`` is the
    deadline in days from ``today`` (NaN: none)."""

    ids: np.ndarray
    titles: list[str]
    urgency: np.ndarray
    deadline: list[dt.date | None]
    today: dt.date
    cols: dict[str, np.ndarray]
    extra: dict[str, list[Any]] = field(default_factory=dict)
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])

    def _cached(self, key: str, compute) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    @property
    def deadline_days(self) -> np.ndarray:
        """Days from ``today`` to each deadline (NaN: none). Deadlines never change in a what-if."""

        def compute():
            days = np.full(self.n, np.nan)
            for k, d in enumerate(self.deadline):
                if d is not None:
                    days[k] = float((d - self.today).days)
            return days

        return self._cached("deadline_days", compute)

    @property
    def fixed(self) -> np.ndarray:
        return self._cached("fixed", lambda: self.urgency == "fixed_date")

    @property
    def has_problem(self) -> np.ndarray:
        problems = self.extra.get("problem_id")
        if problems is None:
            return np.zeros(self.n, dtype=bool)
        return self._cached("has_problem", lambda: np.asarray([p is not None for p in problems], dtype=bool))

    def copy(self) -> Table:
        return Table(
            self.ids.copy(),
            list(self.titles),
            self.urgency.copy(),
            list(self.deadline),
            self.today,
            {k: v.copy() for k, v in self.cols.items()},
            {k: list(v) for k, v in self.extra.items()},
            dict(self._cache),
        )

    def row_of(self, feature_id: int) -> int | None:
        found = np.flatnonzero(self.ids == feature_id)
        return int(found[0]) if found.size else None


def build_table(columns: Mapping[str, list[Any]], today: dt.date, extra: Iterable[str] = ()) -> Table:
    """A table from column lists (``id``, ``title``, ``urgency``, ``deadline`` and the numeric
    fields; None where a value is missing)."""
    n = len(columns["id"])
    cols = {}
    for name in NUMERIC_FIELDS:
        values = columns.get(name)
        cols[name] = np.full(n, np.nan) if values is None else np.asarray(values, dtype=np.float64).reshape(n)
    table = Table(
        ids=np.asarray(columns["id"], dtype=np.int64).reshape(n),
        titles=list(columns["title"]),
        urgency=np.asarray([u or "standard" for u in columns.get("urgency", [None] * n)], dtype=object).reshape(n),
        deadline=list(columns.get("deadline", [None] * n)),
        today=today,
        cols=cols,
        extra={name: list(columns.get(name, [None] * n)) for name in extra},
    )
    recompute_cod(table)
    return table


def recompute_cod(table: Table) -> None:
    """cod_per_week = the sum of the components given (NaN when none is)."""
    stack = np.vstack([table.cols[f] for f in COD_FIELDS]) if table.n else np.zeros((4, 0))
    any_given = ~np.all(np.isnan(stack), axis=0)
    total = np.nansum(stack, axis=0)
    table.cols["cod_per_week"] = np.where(any_given, total, np.nan)


@dataclass
class Scores:
    framework: str
    scores: np.ndarray  # NaN where the row cannot be scored
    problems: dict[int, dict[str, str]]  # row index -> {field: message}
    detail: dict[str, np.ndarray] = field(default_factory=dict)
    formula_error: FormulaError | None = None


def _flag(problems: dict[int, dict[str, str]], mask: np.ndarray, field_name: str, message: str) -> None:
    for row in np.flatnonzero(mask):
        problems.setdefault(int(row), {}).setdefault(field_name, message)


def _missing(table: Table, problems, names: Iterable[str]) -> np.ndarray:
    bad = np.zeros(table.n, dtype=bool)
    for name in names:
        missing = np.isnan(table.cols[name])
        _flag(problems, missing, name, f"{HUMAN.get(name, name)} missing")
        bad |= missing
    return bad


def cod_now(table: Table) -> np.ndarray:
    """Cost of Delay per week as of today: fixed-date items are 0 before their latest start."""
    cod = table.cols["cod_per_week"].copy()
    fixed = table.fixed
    if fixed.any():
        latest_start_days = table.deadline_days - 7.0 * table.cols["duration_likely"]
        before = fixed & (latest_start_days > 0)
        cod[before] = np.where(np.isnan(cod[before]), np.nan, 0.0)
    return cod


def latest_start(deadline: dt.date | None, duration_weeks: float | None) -> dt.date | None:
    if deadline is None or duration_weeks is None or not np.isfinite(duration_weeks):
        return None
    return deadline - dt.timedelta(days=round(7 * float(duration_weeks)))


def _cd3(table: Table) -> Scores:
    problems: dict[int, dict[str, str]] = {}
    cols = table.cols
    cod = cod_now(table)
    likely = cols["duration_likely"]
    bad = np.isnan(cols["cod_per_week"])
    _flag(problems, bad, "cod", "Cost of Delay missing (enter at least one component)")
    bad |= _duration_checks(table, problems)
    fixed_no_deadline = table.fixed & np.isnan(table.deadline_days)
    _flag(problems, fixed_no_deadline, "deadline", "fixed-date item needs a deadline")
    bad |= fixed_no_deadline | (cod < 0)
    _flag(problems, cod < 0, "cod", "Cost of Delay must not be negative")
    ok = ~bad
    scores = np.full(table.n, np.nan)
    low_out = np.full(table.n, np.nan)
    high_out = np.full(table.n, np.nan)
    if ok.any():
        low = np.where(np.isnan(cols["duration_low"]), likely, cols["duration_low"])
        high = np.where(np.isnan(cols["duration_high"]), likely, cols["duration_high"])
        result = prio.cd3_batch(cod[ok], likely[ok], low[ok], high[ok], ids=table.ids[ok])
        scores[ok], low_out[ok], high_out[ok] = result.cd3, result.cd3_low, result.cd3_high
    return Scores("cd3", scores, problems, {"cd3_low": low_out, "cd3_high": high_out, "cod_now": cod})


def _duration_checks(table: Table, problems) -> np.ndarray:
    cols = table.cols
    likely, low, high = cols["duration_likely"], cols["duration_low"], cols["duration_high"]
    bad = _missing(table, problems, ["duration_likely"])
    for name, values in (("duration_likely", likely), ("duration_low", low), ("duration_high", high)):
        nonpositive = values <= 0  # NaN compares False
        _flag(problems, nonpositive, name, f"{HUMAN[name]} must be more than 0 weeks")
        bad |= nonpositive
    low_above = low > likely
    _flag(problems, low_above, "duration_low", "duration low must not be more than likely")
    high_below = high < likely
    _flag(problems, high_below, "duration_high", "duration high must not be less than likely")
    return bad | low_above | high_below


def _cod(table: Table) -> Scores:
    problems: dict[int, dict[str, str]] = {}
    cod = cod_now(table)
    bad = np.isnan(cod)
    _flag(problems, bad, "cod", "Cost of Delay missing (enter at least one component)")
    fixed_no_deadline = table.fixed & np.isnan(table.deadline_days)
    _flag(problems, fixed_no_deadline, "deadline", "fixed-date item needs a deadline")
    bad |= fixed_no_deadline
    scores = np.where(bad, np.nan, cod)
    return Scores("cod", scores, problems, {"cod_now": cod})


def _positive_inputs(table: Table, names: tuple[str, ...], problems) -> np.ndarray:
    bad = _missing(table, problems, names)
    for name in names:
        nonpositive = table.cols[name] <= 0
        _flag(problems, nonpositive, name, f"{HUMAN[name]} must be more than 0")
        bad |= nonpositive
    return bad


def _wsjf(table: Table) -> Scores:
    problems: dict[int, dict[str, str]] = {}
    names = FRAMEWORK_INPUTS["wsjf"]
    ok = ~_positive_inputs(table, names, problems)
    scores = np.full(table.n, np.nan)
    if ok.any():
        batch = prio.wsjf_batch(*(table.cols[n][ok] for n in names), normalise=True, ids=table.ids[ok])
        scores[ok] = batch.score
    return Scores("wsjf", scores, problems)


def _rice(table: Table) -> Scores:
    problems: dict[int, dict[str, str]] = {}
    cols = table.cols
    bad = _missing(table, problems, FRAMEWORK_INPUTS["rice"])
    checks = (
        ("rice_reach", ~(cols["rice_reach"] >= 0), "reach must not be negative"),
        ("rice_impact", ~np.isin(cols["rice_impact"], prio.RICE_IMPACT), "impact must be one of 3, 2, 1, 0.5, 0.25"),
        (
            "rice_confidence",
            ~np.isin(cols["rice_confidence"], prio.RICE_CONFIDENCE),
            "confidence must be one of 100, 80, 50 %",
        ),
        ("rice_effort", ~(cols["rice_effort"] > 0), "effort must be more than 0 person-months"),
    )
    for name, mask, message in checks:
        mask = mask & ~np.isnan(cols[name])
        _flag(problems, mask, name, message)
        bad |= mask
    ok = ~bad
    scores = np.full(table.n, np.nan)
    if ok.any():
        scores[ok] = prio.rice_batch(*(cols[n][ok] for n in FRAMEWORK_INPUTS["rice"]), ids=table.ids[ok])
    return Scores("rice", scores, problems)


def _ice(table: Table, method: str) -> Scores:
    problems: dict[int, dict[str, str]] = {}
    names = FRAMEWORK_INPUTS["ice"]
    bad = _missing(table, problems, names)
    for name in names:
        values = table.cols[name]
        out = ~np.isnan(values) & ((values < 1) | (values > 10))
        _flag(problems, out, name, f"{HUMAN[name]} must be between 1 and 10")
        bad |= out
    ok = ~bad
    scores = np.full(table.n, np.nan)
    if ok.any():
        scores[ok] = prio.ice_batch(*(table.cols[n][ok] for n in names), method=method, ids=table.ids[ok])
    return Scores("ice", scores, problems)


def _opportunity(table: Table) -> Scores:
    problems: dict[int, dict[str, str]] = {}
    has_problem = table.has_problem
    no_problem = ~has_problem
    _flag(problems, no_problem, "problem", "not linked to a problem (opportunity)")
    no_survey = has_problem & (np.isnan(table.cols["importance"]) | np.isnan(table.cols["satisfaction"]))
    _flag(problems, no_survey, "importance", "its problem has no importance/satisfaction survey data")
    ok = ~(no_problem | no_survey)
    scores = np.full(table.n, np.nan)
    if ok.any():
        scores[ok] = prio.opportunity_batch(
            table.cols["importance"][ok], table.cols["satisfaction"][ok], ids=table.ids[ok]
        ).score
    return Scores("opportunity", scores, problems)


def compile_user_formula(expression: str) -> Formula:
    return compile_formula(expression, FORMULA_FIELDS.keys())


def _formula(table: Table, formula: Formula) -> Scores:
    problems: dict[int, dict[str, str]] = {}
    cd3 = _cd3(table).scores
    columns = {}
    for name in formula.fields_used:
        column = FORMULA_FIELDS[name]
        if column == "cd3":
            columns[name] = cd3
        elif column in table.cols:
            columns[name] = table.cols[column]
        else:
            columns[name] = np.full(table.n, np.nan)
    evaluation = formula.evaluate_batch(columns, ids=table.ids, errors="collect")
    for row, error in evaluation.errors():
        problems[row] = {"formula": str(error)}
    return Scores("formula", np.asarray(evaluation.values, dtype=np.float64), problems)


def score(table: Table, framework: str, *, ice_method: str = "average", formula: Formula | None = None) -> Scores:
    if framework == "cd3":
        return _cd3(table)
    if framework == "cod":
        return _cod(table)
    if framework == "wsjf":
        return _wsjf(table)
    if framework == "rice":
        return _rice(table)
    if framework == "ice":
        return _ice(table, ice_method)
    if framework == "opportunity":
        return _opportunity(table)
    if framework == "formula":
        assert formula is not None
        return _formula(table, formula)
    raise ValueError(f"unknown framework {framework!r}")


@dataclass
class Ranked:
    """``order``: row indices, scored rows by rank then unscored rows by title.
    ``rank``: 1-based position per row (0 for unscored rows)."""

    framework: str
    table: Table
    scores: Scores
    order: np.ndarray
    rank: np.ndarray
    scored: int

    @property
    def unscored(self) -> int:
        return self.table.n - self.scored

    def position(self, feature_id: int) -> tuple[float | None, int | None]:
        row = self.table.row_of(feature_id)
        if row is None or self.rank[row] == 0:
            return None, None
        return float(self.scores.scores[row]), int(self.rank[row])


def rank(table: Table, framework: str, *, ice_method: str = "average", formula: Formula | None = None) -> Ranked:
    scores = _score_safely(table, framework, ice_method, formula)
    ok = np.isfinite(scores.scores)
    for row in np.flatnonzero(~ok):
        scores.problems.setdefault(int(row), {"score": "no score"})
    rows = np.flatnonzero(ok)
    ranks = np.zeros(table.n, dtype=np.int64)
    if rows.size:
        batch = prio.rank_scores(scores.scores[rows], table.ids[rows])
        ordered = rows[batch.order]
        ranks[rows] = batch.rank
    else:
        ordered = rows
    unscored = sorted(np.flatnonzero(~ok).tolist(), key=lambda r: (table.titles[r].lower(), int(table.ids[r])))
    order = np.concatenate([ordered, np.asarray(unscored, dtype=np.intp)]).astype(np.intp)
    return Ranked(framework, table, scores, order, ranks, int(rows.size))


def _score_safely(table: Table, framework: str, ice_method: str, formula: Formula | None) -> Scores:
    """Score; if an engine still refuses a row, move that row out with the engine's message and retry."""
    excluded: dict[int, dict[str, str]] = {}
    work = table
    for _ in range(table.n + 1):
        try:
            result = score(work, framework, ice_method=ice_method, formula=formula)
        except prio.PrioritisationError as exc:
            row = work.row_of(exc.item_id) if isinstance(exc.item_id, int) else None
            if row is None or row in excluded:
                raise
            field_name = ENGINE_FIELDS.get(exc.field or "", exc.field or "score")
            excluded[row] = {field_name: exc.message}
            work = _blank_row(work, row, framework)
            continue
        for row, problems in excluded.items():
            result.scores[row] = np.nan
            result.problems[row] = problems
        return result
    raise AssertionError("unreachable")


def _blank_row(table: Table, row: int, framework: str) -> Table:
    blanked = table.copy()
    names = FRAMEWORK_INPUTS.get(framework, ()) or ("importance", "satisfaction")
    for name in names:
        if name in blanked.cols:
            blanked.cols[name][row] = np.nan
    recompute_cod(blanked)
    return blanked


def problem_text(problems: Mapping[str, str]) -> str:
    return "; ".join(problems.values())
