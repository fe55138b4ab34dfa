"""Forecasting: the delay cost of a work order, CD3 scheduling across teams, and Monte Carlo delivery forecasts.

Invariants
----------
* Time is in weeks from now (week 0). Items run one after another on a team, without pre-emption; an item's
  completion time includes its own duration. Its delay cost is ``cod_per_week x completion`` (the standard urgency
  profile) unless it carries an :class:`~valueloop.engines.prioritisation.UrgencyProfile`, in which case it is
  ``profile.delay_cost(completion)``.
* For constant Cost of Delay on one team, ordering by CD3 (highest first) minimises the total delay cost: this is
  Smith's rule / weighted shortest job first (W. E. Smith, "Various optimizers for single-stage production", Naval
  Research Logistics Quarterly 3, 1956; Reinertsen, *Principles of Product Development Flow*, F16). Black Swan
  Farming's worked example (A $1,000/wk 5 wk, B $4,000/wk 1 wk, C $5,000/wk 2 wk) costs $69,000 first-in-first-out
  and $27,000 in CD3 order; the tests reproduce both figures and brute-force the optimality claim.
* Every item passed in appears exactly once in every order and schedule. Ties are broken by id ascending (integers
  before strings), so results are deterministic.
* Monte Carlo forecasts resample whole weeks of the throughput history with replacement (the "bootstrap" method
  popularised by Troy Magennis and Daniel Vacanti). Given a seed (or a ``numpy.random.Generator``) results are
  exactly reproducible. Confidence levels are reported as order statistics of the trials, not interpolated:

  - "when" at p %: the smallest number of weeks within which at least p % of trials finished;
  - "how many" at p %: the largest number of items that at least p % of trials delivered or beat. That is the
    (100 - p)th percentile of the simulated totals: the 85 % figure is the 15th percentile, because higher
    confidence means promising fewer items.

* Bad input raises :class:`ForecastError` (a ``ValueError``) carrying ``field`` and ``item_id``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from valueloop.engines.prioritisation import EngineInputError, ItemId, UrgencyProfile

__all__ = [
    "CONFIDENCE_LEVELS",
    "ForecastError",
    "Histogram",
    "HowManyForecast",
    "JobInput",
    "OrderComparison",
    "ScheduledItem",
    "SequenceCost",
    "Strategy",
    "Team",
    "TeamSchedule",
    "WhenForecast",
    "compare_orders",
    "forecast_how_many",
    "forecast_when",
    "order_items",
    "schedule_teams",
    "sequence_delay_cost",
    "sequence_delay_cost_batch",
    "simulate_how_many",
    "simulate_when",
]

TeamId = int | str
CONFIDENCE_LEVELS: tuple[int, ...] = (50, 85, 95)
MAX_TRIALS = 1_000_000
# Keep each simulated block (trials x weeks) around 4 million cells (32 MB of int64) whatever the inputs.
_BLOCK_CELLS = 4_000_000


class ForecastError(EngineInputError):
    """Bad input to a forecasting function."""


def _number(value: object, field: str, item_id: ItemId | None = None) -> float:
    # bool is an int subclass; True as "1 week" is always a bug upstream, so refuse it.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | Fraction | np.integer | np.floating):
        raise ForecastError(f"{field} must be a number", field=field, item_id=item_id)
    number = float(value)
    if not math.isfinite(number):
        raise ForecastError(f"{field} must be a finite number", field=field, item_id=item_id)
    return number


def _whole(value: object, field: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ForecastError(f"{field} must be a whole number", field=field)
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ForecastError(f"{field} must be {bound}", field=field)
    return number


# --------------------------------------------------------------------------------------------------------------------
# Items and sequences
# --------------------------------------------------------------------------------------------------------------------


class JobInput(TypedDict, total=False):
    id: ItemId  # required
    cod_per_week: float  # required, >= 0
    duration_weeks: float  # required, > 0
    created: Any  # optional, for first-in-first-out (dates, datetimes or numbers; all mutually comparable)
    team: TeamId | None  # optional restriction for schedule_teams; None means any team
    profile: UrgencyProfile  # optional; default is the standard (constant) profile


@dataclass(frozen=True, slots=True)
class _Job:
    item_id: ItemId
    cod_per_week: float
    duration_weeks: float
    created: Any
    team: TeamId | None
    profile: UrgencyProfile | None
    index: int  # position in the input, the "current" order

    @property
    def cd3(self) -> float:
        return self.cod_per_week / self.duration_weeks

    def delay_cost(self, completion_week: float) -> float:
        if self.profile is None:
            return self.cod_per_week * completion_week
        return float(self.profile.delay_cost(completion_week))


def _id_key(item_id: ItemId) -> tuple[int, Any]:
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        return (0, item_id)
    return (1, str(item_id))


def _jobs(items: Sequence[Mapping[str, Any]]) -> list[_Job]:
    jobs: list[_Job] = []
    seen: set[tuple[int, Any]] = set()
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ForecastError(f"row {index} must be a mapping of field names to values", field="id")
        item_id = item.get("id")
        if item_id is None or isinstance(item_id, bool) or not isinstance(item_id, int | str):
            raise ForecastError(f"id is required and must be an int or str (row {index})", field="id")
        if _id_key(item_id) in seen:
            raise ForecastError("id is duplicated", field="id", item_id=item_id)
        seen.add(_id_key(item_id))
        for key in ("cod_per_week", "duration_weeks"):
            if item.get(key) is None:
                raise ForecastError(f"{key} is required", field=key, item_id=item_id)
        cod = _number(item["cod_per_week"], "cod_per_week", item_id)
        if cod < 0:
            raise ForecastError("cod_per_week must be >= 0", field="cod_per_week", item_id=item_id)
        duration = _number(item["duration_weeks"], "duration_weeks", item_id)
        if duration <= 0:
            raise ForecastError("duration_weeks must be > 0", field="duration_weeks", item_id=item_id)
        profile = item.get("profile")
        if profile is not None and not isinstance(profile, UrgencyProfile):
            raise ForecastError("profile must be an UrgencyProfile", field="profile", item_id=item_id)
        team = item.get("team")
        if team is not None and (isinstance(team, bool) or not isinstance(team, int | str)):
            raise ForecastError("team must be a team id (int or str) or None", field="team", item_id=item_id)
        jobs.append(_Job(item_id, cod, duration, item.get("created"), team, profile, index))
    return jobs


@dataclass(frozen=True, slots=True)
class ScheduledItem:
    """One item's forecast: it starts at ``start_week`` and is done at ``end_week`` (weeks from now)."""

    item_id: ItemId
    team: TeamId | None
    start_week: float
    end_week: float
    delay_cost: float


@dataclass(frozen=True, slots=True)
class SequenceCost:
    """A single-team work order and its total delay cost; ``items`` are in the order worked."""

    strategy: str
    order: tuple[ItemId, ...]
    items: tuple[ScheduledItem, ...]
    total_delay_cost: float


class Strategy(StrEnum):
    CURRENT = "current"  # the order given
    CD3 = "cd3"  # Cost of Delay / duration, highest first
    VALUE = "value"  # Cost of Delay, highest first ("value only")
    SHORTEST = "shortest"  # shortest duration first
    FIFO = "fifo"  # first in, first out: by ``created``, else the order given


def _ordered(jobs: list[_Job], strategy: Strategy) -> list[_Job]:
    if strategy is Strategy.CURRENT:
        return list(jobs)
    if strategy is Strategy.CD3:
        return sorted(jobs, key=lambda j: (-j.cd3, _id_key(j.item_id)))
    if strategy is Strategy.VALUE:
        return sorted(jobs, key=lambda j: (-j.cod_per_week, _id_key(j.item_id)))
    if strategy is Strategy.SHORTEST:
        return sorted(jobs, key=lambda j: (j.duration_weeks, _id_key(j.item_id)))
    with_date = [j for j in jobs if j.created is not None]
    if not with_date:
        return list(jobs)  # nothing records arrival, so the given order is the arrival order
    if len(with_date) != len(jobs):
        missing = next(j for j in jobs if j.created is None)
        raise ForecastError(
            "created is required for every item once any item has it", field="created", item_id=missing.item_id
        )
    try:
        # Stable on the input position, so same-day arrivals keep the order given.
        return sorted(jobs, key=lambda j: (j.created, j.index))
    except TypeError:
        raise ForecastError("created values must all be of one comparable kind (e.g. all dates)",
                            field="created") from None


def order_items(items: Sequence[Mapping[str, Any]], strategy: Strategy | str) -> list[ItemId]:
    """The ids of ``items`` in the order ``strategy`` would work them."""
    return [j.item_id for j in _ordered(_jobs(items), _strategy(strategy))]


def _strategy(strategy: Strategy | str) -> Strategy:
    try:
        return Strategy(strategy)
    except ValueError:
        allowed = ", ".join(s.value for s in Strategy)
        raise ForecastError(f"strategy must be one of {allowed}; got {strategy!r}", field="strategy") from None


def _run_sequence(ordered: list[_Job], strategy: str) -> SequenceCost:
    clock = 0.0
    scheduled: list[ScheduledItem] = []
    for job in ordered:
        start, clock = clock, clock + job.duration_weeks
        scheduled.append(ScheduledItem(job.item_id, None, start, clock, job.delay_cost(clock)))
    total = math.fsum(s.delay_cost for s in scheduled)
    return SequenceCost(strategy, tuple(j.item_id for j in ordered), tuple(scheduled), total)


def sequence_delay_cost(
    items: Sequence[Mapping[str, Any]], order: Sequence[ItemId] | None = None
) -> SequenceCost:
    """Total delay cost of working ``items`` one after another, in ``order`` (ids) or as given.

    ``order`` must be a permutation of the item ids: a missing or unknown id is an error, never a silent drop.
    """
    jobs = _jobs(items)
    if order is None:
        return _run_sequence(jobs, "given")
    by_key = {_id_key(j.item_id): j for j in jobs}
    ordered: list[_Job] = []
    used: set[tuple[int, Any]] = set()
    for item_id in order:
        key = _id_key(item_id)
        if key not in by_key:
            raise ForecastError("order names an unknown item", field="order", item_id=item_id)
        if key in used:
            raise ForecastError("order names an item twice", field="order", item_id=item_id)
        used.add(key)
        ordered.append(by_key[key])
    if len(ordered) != len(jobs):
        missing = next(j for j in jobs if _id_key(j.item_id) not in used)
        raise ForecastError("order leaves out an item", field="order", item_id=missing.item_id)
    return _run_sequence(ordered, "given")


def sequence_delay_cost_batch(
    cod_per_week: npt.ArrayLike, duration_weeks: npt.ArrayLike, order: npt.ArrayLike | None = None
) -> float:
    """Vectorised total delay cost (standard profile) of working rows in ``order`` (row indices; default as given)."""
    cod = np.asarray(cod_per_week, dtype=np.float64)
    duration = np.asarray(duration_weeks, dtype=np.float64)
    if cod.ndim != 1 or cod.shape != duration.shape:
        raise ForecastError("cod_per_week and duration_weeks must be equally long 1-D arrays")
    for name, array, ok in (("cod_per_week", cod, cod >= 0), ("duration_weeks", duration, duration > 0)):
        bad = ~(np.isfinite(array) & ok)
        if bad.any():
            requirement = ">= 0" if name == "cod_per_week" else "> 0"
            raise ForecastError(f"{name} must be a finite number {requirement}", field=name,
                                item_id=int(np.flatnonzero(bad)[0]))
    if order is not None:
        index = np.asarray(order, dtype=np.intp)
        if index.shape != cod.shape or not np.array_equal(np.sort(index), np.arange(cod.shape[0])):
            raise ForecastError("order must be a permutation of the row indices", field="order")
        cod, duration = cod[index], duration[index]
    return float(np.dot(cod, np.cumsum(duration)))


@dataclass(frozen=True, slots=True)
class OrderComparison:
    """Each strategy's sequence and what CD3 saves against it (``cost[strategy] - cost[cd3]``, >= 0 for constant
    Cost of Delay). ``best`` is the cheapest strategy (CD3 wins ties, then the enum order)."""

    costs: Mapping[Strategy, SequenceCost]
    cd3_saving: Mapping[Strategy, float]
    best: Strategy


def compare_orders(items: Sequence[Mapping[str, Any]]) -> OrderComparison:
    jobs = _jobs(items)
    costs = {s: _run_sequence(_ordered(jobs, s), s.value) for s in Strategy}
    cd3_total = costs[Strategy.CD3].total_delay_cost
    saving = {s: c.total_delay_cost - cd3_total for s, c in costs.items()}
    preference = [Strategy.CD3, *(s for s in Strategy if s is not Strategy.CD3)]
    best = min(preference, key=lambda s: costs[s].total_delay_cost)  # min keeps the first of equals
    return OrderComparison(costs, saving, best)


# --------------------------------------------------------------------------------------------------------------------
# Several teams
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Team:
    """A team that works one item at a time.

    ``available_from_weeks``: when it can start new work (e.g. 2 if busy for two more weeks). ``capacity``: speed
    relative to the estimates, so an item of ``d`` weeks takes ``d / capacity`` weeks on this team (1 = as estimated).
    """

    team_id: TeamId
    available_from_weeks: float = 0.0
    capacity: float = 1.0


@dataclass(frozen=True, slots=True)
class TeamSchedule:
    """Forecast start and end per item (``items`` in the order they were assigned, i.e. CD3 order)."""

    items: tuple[ScheduledItem, ...]
    total_delay_cost: float
    team_finish_weeks: Mapping[TeamId, float]


def _teams(teams: Sequence[Team | Mapping[str, Any] | TeamId]) -> list[Team]:
    parsed: list[Team] = []
    for raw in teams:
        if isinstance(raw, Team):
            team = raw
        elif isinstance(raw, Mapping):
            team = Team(raw.get("team_id"), raw.get("available_from_weeks", 0.0), raw.get("capacity", 1.0))
        else:
            team = Team(raw)
        if team.team_id is None or isinstance(team.team_id, bool) or not isinstance(team.team_id, int | str):
            raise ForecastError("team_id must be an int or str", field="team_id")
        available = _number(team.available_from_weeks, "available_from_weeks")
        capacity = _number(team.capacity, "capacity")
        if available < 0:
            raise ForecastError(f"available_from_weeks must be >= 0 (team {team.team_id})",
                                field="available_from_weeks")
        if capacity <= 0:
            raise ForecastError(f"capacity must be > 0 (team {team.team_id})", field="capacity")
        if any(t.team_id == team.team_id for t in parsed):
            raise ForecastError(f"team {team.team_id} is listed twice", field="team_id")
        parsed.append(Team(team.team_id, available, capacity))
    if not parsed:
        raise ForecastError("at least one team is required", field="teams")
    return parsed


def schedule_teams(
    items: Sequence[Mapping[str, Any]], teams: Sequence[Team | Mapping[str, Any] | TeamId]
) -> TeamSchedule:
    """Greedy CD3 list scheduling across teams.

    Items are taken in CD3 order (highest first, ties by id). Each goes to the eligible team that frees up first
    (its ``team`` if restricted, else any team; ties go to the team listed first), starting when that team is free
    and taking ``duration / capacity`` weeks. With one team this is exactly the CD3 sequence. Greedy list
    scheduling is not guaranteed optimal for several teams (that problem is NP-hard), but it is the rule people
    can follow by hand and the one the forecast should match.
    """
    jobs = _jobs(items)
    team_list = _teams(teams)
    free_at = {t.team_id: t.available_from_weeks for t in team_list}
    position = {t.team_id: k for k, t in enumerate(team_list)}
    capacity = {t.team_id: t.capacity for t in team_list}
    scheduled: list[ScheduledItem] = []
    for job in _ordered(jobs, Strategy.CD3):
        if job.team is not None:
            if job.team not in free_at:
                raise ForecastError(f"team {job.team!r} is not one of the teams given", field="team",
                                    item_id=job.item_id)
            team_id: TeamId = job.team
        else:
            team_id = min(free_at, key=lambda t: (free_at[t], position[t]))
        start = free_at[team_id]
        end = start + job.duration_weeks / capacity[team_id]
        free_at[team_id] = end
        scheduled.append(ScheduledItem(job.item_id, team_id, start, end, job.delay_cost(end)))
    total = math.fsum(s.delay_cost for s in scheduled)
    return TeamSchedule(tuple(scheduled), total, dict(free_at))


# --------------------------------------------------------------------------------------------------------------------
# Monte Carlo
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts of integer outcomes. Bin ``i`` holds values ``v`` with ``edges[i] <= v < edges[i + 1]``; edges are
    whole numbers, and each bin is one value wide unless the range needs more than ``max_bins`` bins."""

    edges: tuple[int, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class WhenForecast:
    """``weeks[p]``: at least p % of trials finished the items within that many weeks."""

    items: int
    trials: int
    weeks: Mapping[int, int]
    mean_weeks: float
    histogram: Histogram


@dataclass(frozen=True, slots=True)
class HowManyForecast:
    """``items[p]``: at least p % of trials delivered that many items or more in ``weeks`` weeks."""

    weeks: int
    trials: int
    items: Mapping[int, int]
    mean_items: float
    histogram: Histogram


def _history(history: Iterable[object]) -> npt.NDArray[np.int64]:
    if isinstance(history, str | bytes):
        raise ForecastError("throughput_history must be a list of weekly counts", field="throughput_history")
    values = list(history)
    if not values:
        raise ForecastError("cannot forecast: the throughput history is empty", field="throughput_history")
    counts: list[int] = []
    for week, value in enumerate(values):
        number = _number(value, f"throughput_history[{week}]")
        if number < 0:
            raise ForecastError(f"throughput_history[{week}] must be >= 0 (got {value})", field="throughput_history")
        if number != int(number):
            raise ForecastError(f"throughput_history[{week}] must be a whole number of items (got {value})",
                                field="throughput_history")
        counts.append(int(number))
    if not any(counts):
        raise ForecastError(
            "cannot forecast: every week in the throughput history is 0, so nothing ever finishes",
            field="throughput_history",
        )
    return np.asarray(counts, dtype=np.int64)


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0):
        raise ForecastError("seed must be a non-negative whole number or a numpy Generator", field="seed")
    return np.random.default_rng(seed)


def simulate_when(
    history: Iterable[object],
    items: int,
    *,
    trials: int = 10_000,
    seed: int | np.random.Generator | None = None,
    max_weeks: int = 5200,
) -> npt.NDArray[np.int64]:
    """Weeks each trial needed to finish ``items`` items, resampling weekly throughput from ``history``.

    A trial finishes in the first week whose cumulative throughput reaches ``items`` (0 items take 0 weeks). Weeks
    are simulated in blocks and only unfinished trials continue, so memory stays bounded. Raises if any trial has
    not finished within ``max_weeks`` (default 100 years).
    """
    hist = _history(history)
    n_items = _whole(items, "items", minimum=0)
    n_trials = _whole(trials, "trials", minimum=1, maximum=MAX_TRIALS)
    limit = _whole(max_weeks, "max_weeks", minimum=1)
    rng = _rng(seed)
    result = np.zeros(n_trials, dtype=np.int64)
    if n_items == 0:
        return result
    remaining = np.full(n_trials, n_items, dtype=np.int64)
    active = np.arange(n_trials)
    # Size blocks to cover most trials in one pass: the mean number of weeks plus a margin.
    expected_weeks = math.ceil(n_items / float(hist.mean()))
    elapsed = 0
    while active.size:
        if elapsed >= limit:
            raise ForecastError(
                f"cannot forecast: some trials need more than {limit} weeks to finish {n_items} items",
                field="items",
            )
        block = min(max(8, expected_weeks + expected_weeks // 4 + 4), max(8, _BLOCK_CELLS // active.size),
                    limit - elapsed)
        weekly = hist[rng.integers(0, hist.size, size=(active.size, block))]
        cumulative = np.cumsum(weekly, axis=1)
        reached = cumulative >= remaining[active][:, None]
        finished = reached[:, -1]  # cumulative sums never decrease, so the last column says "finished in block"
        first = np.argmax(reached[finished], axis=1)
        result[active[finished]] = elapsed + first + 1
        still = ~finished
        remaining[active[still]] -= cumulative[still, -1]
        active = active[still]
        elapsed += block
    return result


def simulate_how_many(
    history: Iterable[object],
    weeks: int,
    *,
    trials: int = 10_000,
    seed: int | np.random.Generator | None = None,
) -> npt.NDArray[np.int64]:
    """Items each trial finished in ``weeks`` weeks (the sum of ``weeks`` resampled history weeks).

    Summing W draws with replacement equals weighting each distinct history value by a multinomial count of how
    often it was drawn, which needs memory per trial proportional to the number of distinct values, not to W.
    """
    hist = _history(history)
    n_weeks = _whole(weeks, "weeks", minimum=0)
    n_trials = _whole(trials, "trials", minimum=1, maximum=MAX_TRIALS)
    rng = _rng(seed)
    values, counts = np.unique(hist, return_counts=True)
    draws = rng.multinomial(n_weeks, counts / counts.sum(), size=n_trials)
    return draws @ values


def _confidences(confidences: Iterable[object]) -> list[Fraction]:
    parsed: list[Fraction] = []
    for value in confidences:
        number = _number(value, "confidence")
        if not 0 < number <= 100:
            raise ForecastError("confidence levels must be > 0 and <= 100 (percent)", field="confidence")
        parsed.append(Fraction(number))
    if not parsed:
        raise ForecastError("at least one confidence level is required", field="confidence")
    return parsed


def _label(confidence: Fraction) -> Any:
    return int(confidence) if confidence.denominator == 1 else float(confidence)


def _histogram(samples: npt.NDArray[np.int64], max_bins: int) -> Histogram:
    low, high = int(samples.min()), int(samples.max())
    span = high - low + 1
    width = math.ceil(span / max_bins)
    bins = math.ceil(span / width)
    counts = np.bincount((samples - low) // width, minlength=bins)
    edges = tuple(low + width * k for k in range(bins + 1))
    return Histogram(edges, tuple(int(c) for c in counts))


def forecast_when(
    history: Iterable[object],
    items: int,
    *,
    trials: int = 10_000,
    seed: int | np.random.Generator | None = None,
    confidences: Iterable[object] = CONFIDENCE_LEVELS,
    max_bins: int = 40,
    max_weeks: int = 5200,
) -> WhenForecast:
    """When will ``items`` items be done? Weeks from now at each confidence level, plus a histogram."""
    levels = _confidences(confidences)
    bins = _whole(max_bins, "max_bins", minimum=1)
    samples = simulate_when(history, items, trials=trials, seed=seed, max_weeks=max_weeks)
    ordered = np.sort(samples)
    n = ordered.size
    # Smallest w with #(trials finished within w) >= p% of trials: the ceil(p% x n)-th smallest sample.
    weeks = {_label(p): int(ordered[math.ceil(p * n / 100) - 1]) for p in levels}
    return WhenForecast(int(items), n, weeks, float(samples.mean()), _histogram(samples, bins))


def _weeks_between(start: dt.date, until: dt.date) -> int:
    if not isinstance(start, dt.date) or not isinstance(until, dt.date):
        raise ForecastError("start and until must be dates", field="until")
    if isinstance(start, dt.datetime) != isinstance(until, dt.datetime):
        raise ForecastError("start and until must both be dates or both be datetimes", field="until")
    days = (until - start).days
    if days < 0:
        raise ForecastError("until must not be before start", field="until")
    return days // 7  # only whole weeks have a throughput sample


def forecast_how_many(
    history: Iterable[object],
    weeks: int | None = None,
    *,
    start: dt.date | None = None,
    until: dt.date | None = None,
    trials: int = 10_000,
    seed: int | np.random.Generator | None = None,
    confidences: Iterable[object] = CONFIDENCE_LEVELS,
    max_bins: int = 40,
) -> HowManyForecast:
    """How many items in ``weeks`` weeks, or by ``until`` counting whole weeks from ``start`` (default today)?

    ``items[85]`` is the 15th percentile of the simulated totals (see the module docstring).
    """
    if (weeks is None) == (until is None):
        raise ForecastError("give either weeks or until (a date), not both", field="weeks")
    if weeks is None:
        assert until is not None
        begin = start if start is not None else (dt.datetime.now(until.tzinfo) if isinstance(until, dt.datetime)
                                                 else dt.date.today())
        weeks = _weeks_between(begin, until)
    levels = _confidences(confidences)
    bins = _whole(max_bins, "max_bins", minimum=1)
    samples = simulate_how_many(history, weeks, trials=trials, seed=seed)
    ordered = np.sort(samples)
    n = ordered.size
    # Largest m with #(trials delivering >= m) >= p% of trials: the ceil(p% x n)-th largest sample.
    items = {_label(p): int(ordered[n - math.ceil(p * n / 100)]) for p in levels}
    return HowManyForecast(int(weeks), n, items, float(samples.mean()), _histogram(samples, bins))
