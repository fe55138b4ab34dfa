"""Emerging needs: which feedback themes are rising above their own baseline, each flag explained in words.

Pure functions over plain Python values returning frozen dataclasses. Nothing here touches Django, the database or
any other valueloop package; only the standard library, numpy and scipy (``scipy.special``).

What is compared
----------------
For each theme, mentions (:class:`Mention`: a day, an account or ``None``, the account's ARR) fall in two windows
ending at ``today`` (inclusive)::

    baseline: today - window_days - baseline_days < day <= today - window_days      (T = baseline_days days)
    recent:   today - window_days                  < day <= today                     (w = window_days days)

Older mentions are ignored; a mention dated after ``today`` is an error (the caller chooses ``today``; a future date
is a clock or import problem that must not silently move counts between windows). Two counts per theme are tested:

* **mentions**: ``X`` in the recent window against ``B`` in the baseline;
* **distinct accounts**: ``X_a`` distinct accounts in the recent window against the distinct accounts of each
  window-sized block of the baseline (``T // w`` blocks of ``w`` days, the most recent ones; older leftover days do
  not count for accounts), summed: ``B_a``, over ``T_a = (T // w) * w`` days. Distinct counts are not additive
  over days, so the baseline is cut into blocks of the same length as the recent window. Mentions without an
  account count as mentions only.

The model (null hypothesis: the theme's rate did not rise)
----------------------------------------------------------
Counts are Poisson with an unknown, constant daily rate (generalised for overdispersion below). The rate is known
only through the baseline count, so the test must carry that uncertainty: plugging ``B / T`` in as if it were the
true rate is badly anti-conservative for small themes (a baseline of 2 where 6 were expected makes an ordinary
window look like a surge), which is exactly where whispers live. With a flat prior on the rate (one pseudo-mention,
Gamma(1, 0)), the posterior of the rate is Gamma(B + 1, T) and the count of the recent window is negative binomial
(Gamma-Poisson) with size ``B + 1`` and success probability ``1 - q``, ``q = w / (w + T)``. Its upper tail::

    p = P(X' >= X) = I_q(X, B + 1)          (regularised incomplete beta; p = 1 when X = 0)

is *also* the exact conditional test of two Poisson rates (given the theme's total ``N = B + X``, ``X`` is
Binomial(N, q) under the null: ``P(Bin(N, q) >= X) = I_q(X, N - X + 1)``), so it is a valid p-value for every
baseline size, conservative only through discreteness. The *expected* count reported is the mean of that null
distribution, ``(B + 1) w / T``: the baseline rate scaled to the window plus one pseudo-mention, so a brand-new theme
with no baseline expects ``w / T`` mentions (1/6 with the defaults) instead of zero, and a whisper of 4 mentions
from 4 accounts in a theme with no baseline gives ``p = (1/7)^4 = 0.0004`` while a single mention gives ``p = 1/7``
(and is below ``min_mentions`` anyway). When ``T`` grows with the rate fixed, the tail tends to the Poisson tail
``P(Poisson(B w / T) >= X)`` (the tests check both identities against scipy).

Overdispersion. Feedback comes in bursts (a release, a webinar, one customer sending five tickets), so counts vary more
than Poisson: per 7-day block of the baseline, ``var = mean + phi mean^2`` (the negative binomial / Gamma-mixed Poisson;
``phi = 0`` is Poisson). ``phi`` is estimated by the method of moments from the baseline's weekly counts (the most
recent ``T // 7`` weeks; at least 4): pooled over all themes, ``sum(s^2 - m) / sum(m^2)`` (once they have 24 mentions
between them), and the theme's own ``(s^2 - m) / m^2`` when it has at least 24 baseline mentions; the larger of the two
is used, floored at 0. Pooling matters: one theme's dozen weeks give a variance that is below the truth about half the
time (the weekly rates are skewed), and every underestimate is a false alarm; the pooled estimate is stable, the own one
protects a theme burstier than the rest. Under independent weeks the recent window's count has ``phi_w = phi * 7 / w``.
The null distribution of the recent count is then the window's negative binomial mixed over the rate's posterior (mean
``(B + 1) / T``, variance ``(B + 1) D_B / T^2`` with ``D_B = 1 + phi_w (B + 1) w / T`` the baseline total's
variance-to-mean ratio), approximated by the negative binomial with the same mean ``mu = (B + 1) w / T`` and
variance (law of total variance; ``v`` the variance of the window's mean)::

    var = mu + phi_w (mu^2 + v) + v,   v = (w / T)^2 (B + 1) D_B,   size = mu^2 / (var - mu)
    p = P(NB(mu, size) >= X) = I_{mu / (size + mu)}(X, size)

With ``phi = 0`` this is exactly the Poisson test above (size ``B + 1``). This follows the negative-binomial
thresholds of the outbreak-detection algorithms used in public-health surveillance (Farrington et al. 1996, Noufaily
et al. 2013: a dispersion estimated from the baseline, floored at Poisson, and the baseline mean's own uncertainty in
the threshold). Distinct accounts: the same with ``phi`` estimated from their window-sized blocks, and at least the
mentions' ``phi_w`` (distinct accounts are a thinned count of mentions; assuming them less bursty is not safe).

Global volume. When all feedback rises (more customers, a new import channel, a launch) every theme rises with it; that
is not an emerging need. The expectation (mean and spread of the null distribution) is multiplied by the volume factor
``f >= 1``: a cautious median, over the *established* themes (expected recent mentions ``B w / T >= 3`` before
adjustment; at least 3 of them), of ``(X / w) / (B / T)``: the lower end of a one-standard-error band for the median
(the ``ceil(n/2 - sqrt(n)/2)``-th smallest of the ``n`` ratios; the plain median exceeds 1 half the time by noise
and would blunt every test), floored at 1 (a theme that keeps its volume while the rest goes quiet has
not risen in absolute terms, so the factor never lowers expectations). The median ignores a minority of genuinely
surging themes, which a pooled total would not. ``adjust_for_volume=False`` turns this off.

Decision and multiplicity
-------------------------
Per theme the two p-values are combined conservatively, ``p = min(1, 2 min(p_mentions, p_accounts))`` (Bonferroni); a
theme with no known account in either window has only the mentions test (``p = p_mentions``). Across themes,
Benjamini-Hochberg at ``fdr`` (q-values identical to ``statsmodels`` ``multipletests(method="fdr_bh")``). The family is
the themes whose total ``B + X >= min_mentions``: a smaller theme could never be flagged, and its total is independent
of the conditional p-value under the Poisson null (independent filtering, Bourgon et al. 2010), so dropping it keeps the
FDR while not diluting the rest. Themes outside the family get ``q = 1``. A theme is emerging when ``q <= fdr`` and it
has at least ``min_mentions`` mentions and ``min_accounts`` distinct accounts in the recent window (so a single loud
account is not a trend; pass ``min_accounts=0`` when accounts are unknown).

Calibration (simulated in the tests, 200 runs of 50 themes, rates 0.02-3 a day, fdr 0.1): the share of false flags is
about 0.02 for Poisson streams and 0.03-0.06 for bursty ones (weekly rate CV 45-70%); about 0.1 in the extreme case of
exponentially distributed weekly rates (CV 100%). Without the overdispersion model the bursty streams give 0.35.
Power among 40 stable themes: a 3/day theme x2.2, 98%; 1/day x3, 95%; 0.3/day x5, 93%; a whisper of 4
mentions from 4 accounts on a baseline of 0-1, 20 seeds out of 20. Bursty streams hide growth: 1/day x5 at CV 45%, 82%.

Output: one :class:`EmergingResult` per theme (empty mapping -> empty list; a theme with no mentions is reported with
zeros), sorted emerging first, then by q-value, p-value, growth (descending), then input order. ARR counts once per
account in the recent window (the largest value seen for that account there); mentions without an account add no
ARR. ``explanation`` reads "9 mentions from 7 accounts ($1.2M ARR) in the last 14 days; 1.3 expected" (account and
ARR parts are left out when there are none; money formatted by ``money``, default :func:`format_money`).

Bad input raises :class:`EmergingError` (a ``ValueError``) whose ``field`` names the argument and ``key`` the theme:
a day after ``today``, a day that is not a date (a ``datetime`` is accepted and read as its date), ARR that is not a
real number (int, float and ``Decimal`` are fine; bools and text are not), negative, NaN or infinite ARR,
``window_days < 1``, ``baseline_days < window_days``, ``fdr`` outside (0, 1), ``min_mentions < 1``,
``min_accounts < 0``.

Cost: linear in the mentions (a few microseconds each); 50 themes with 4,000 mentions take about 5 ms.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "EmergingError",
    "EmergingResult",
    "Mention",
    "benjamini_hochberg",
    "detect",
    "format_money",
    "null_distribution",
    "pooled_overdispersion",
    "upper_tail",
]

#: Baseline blocks needed before a block variance is estimated (fewer: no overdispersion estimate).
MIN_BLOCKS = 4
#: Days per block for the mentions' overdispersion.
WEEK = 7
#: Baseline events a theme needs before its own overdispersion estimate counts (below: the pooled one alone).
MIN_OWN_EVENTS = 24
#: A theme is "established" for the volume factor when it expects at least this many recent mentions.
VOLUME_MIN_EXPECTED = 3.0
#: Established themes needed before the volume factor is estimated (fewer: factor 1).
VOLUME_MIN_THEMES = 3
#: Pseudo-events of the flat prior on a theme's rate.
PRIOR_EVENTS = 1.0


class EmergingError(ValueError):
    """Invalid input; ``field`` names the argument, ``key`` the theme when the problem is in one theme's data."""

    def __init__(self, message: str, *, field: str, key: Hashable | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.key = key


@dataclass(frozen=True, slots=True)
class Mention:
    """One piece of feedback in a theme."""

    day: datetime.date
    account: str | None  # customer/account id, None when unknown
    arr: float = 0.0  # the account's ARR (counted once per account in a window)


@dataclass(frozen=True, slots=True)
class EmergingResult:
    """One theme's test. Counts, ARR and expectations are for the recent window."""

    key: Hashable  # the theme id passed in
    mentions: int  # in the recent window
    accounts: int
    arr: float
    expected_mentions: float  # mean of the null distribution (baseline rate x window, prior, volume factor)
    expected_accounts: float
    p_value: float  # combined (Bonferroni over mentions and accounts)
    q_value: float  # Benjamini-Hochberg across themes (1.0 outside the family)
    emerging: bool
    growth: float  # mentions / expected_mentions
    explanation: str
    p_mentions: float = 1.0
    p_accounts: float = 1.0
    overdispersion: float = 0.0  # phi of a window's mention count used in the test (0 = Poisson)


def format_money(amount: float) -> str:
    """``$900``, ``$8.5k``, ``$850k``, ``$1.2M``, ``$12M``, ``$3.4B``: one decimal below 10 of a unit, none above."""
    if not math.isfinite(amount):
        raise EmergingError("amount must be a finite number", field="amount")
    sign = "-" if amount < 0 else ""
    value = abs(float(amount))
    if round(value) < 1000:
        return f"{sign}${round(value):d}"
    for suffix, scale in (("k", 1e3), ("M", 1e6), ("B", 1e9), ("T", 1e12)):
        scaled = value / scale
        text = f"{scaled:.1f}" if scaled < 9.95 else f"{scaled:.0f}"
        if float(text) < 1000 or suffix == "T":
            return f"{sign}${text.removesuffix('.0')}{suffix}"
    raise AssertionError("unreachable")  # pragma: no cover


def upper_tail(count: float, mean: float, size: float) -> float:
    """``P(Y >= count)``, ``Y`` negative binomial with ``mean`` and ``size`` (``inf``: Poisson); 1 when count <= 0."""
    if count <= 0:
        return 1.0
    if math.isinf(size):
        return float(special.gammainc(count, mean))
    return float(special.betainc(count, size, mean / (size + mean)))


def null_distribution(
    baseline: float, *, ratio: float, overdispersion: float = 0.0, volume: float = 1.0
) -> tuple[float, float]:
    """(mean, size) of the negative binomial a recent count follows when the theme's rate did not rise.

    ``baseline`` events over an exposure ``1 / ratio`` times the recent window's; ``overdispersion`` ``phi`` of a
    window-sized count (``var = mu + phi mu^2`` at a known rate); ``volume`` the global volume factor. The rate's
    posterior (flat prior, ``PRIOR_EVENTS`` pseudo-event) has mean ``(B + 1) / T`` and variance ``(B + 1) D_B / T^2``
    with ``D_B = 1 + phi (B + 1) ratio`` the baseline total's variance-to-mean ratio; the recent count mixes the
    window's negative binomial over it, and the result is the negative binomial with the same mean and variance.
    With ``phi = 0`` that is exact: size ``B + 1``, the Gamma-Poisson predictive (= the conditional binomial test).
    """
    if baseline < 0 or ratio <= 0 or overdispersion < 0 or volume <= 0:
        raise EmergingError("need baseline >= 0, ratio > 0, overdispersion >= 0, volume > 0", field="baseline")
    events = baseline + PRIOR_EVENTS
    own = events * ratio  # the baseline rate over the recent window, before the volume factor
    mean = own * volume
    spread = (ratio * volume) ** 2 * events * (1.0 + overdispersion * own)  # variance of the window's mean
    excess = overdispersion * (mean**2 + spread) + spread  # variance beyond Poisson
    return mean, mean**2 / excess


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), same order as given."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


@dataclass(frozen=True, slots=True)
class _Blocks:
    """Baseline counts per block (weeks for mentions, window-sized blocks for distinct accounts)."""

    total: int  # events over the whole baseline (for accounts: the sum over blocks)
    mean: float  # per block; nan with fewer than MIN_BLOCKS blocks
    var: float  # sample variance (ddof 1) per block; nan likewise

    @classmethod
    def of(cls, total: int, per_block: Sequence[int] | np.ndarray) -> _Blocks:
        values = np.asarray(per_block, dtype=np.float64)
        if values.size < MIN_BLOCKS:
            return cls(total, math.nan, math.nan)
        return cls(total, float(values.mean()), float(values.var(ddof=1)))

    def own_phi(self) -> float | None:
        """Method-of-moments ``phi`` in ``var = mean + phi mean^2`` per block, when there is enough data."""
        if not math.isfinite(self.mean) or self.total < MIN_OWN_EVENTS or self.mean <= 0:
            return None
        return max(0.0, (self.var - self.mean) / self.mean**2)


@dataclass(frozen=True, slots=True)
class _Counts:
    key: Hashable
    mentions: int  # recent
    accounts: int  # recent distinct
    arr: float
    known_accounts: bool  # any account in either window
    base_mentions: _Blocks  # weeks
    base_accounts: _Blocks  # window-sized blocks of distinct accounts


def _as_day(value: object, key: Hashable) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    raise EmergingError(f"theme {key!r}: day must be a date, got {type(value).__name__}", field="day", key=key)


def _check_arr(value: object, key: Hashable) -> float:
    # Any real number (int, float, Decimal from a DecimalField); not bools or text.
    if isinstance(value, bool | str | bytes):
        raise EmergingError(f"theme {key!r}: arr must be a number", field="arr", key=key)
    try:
        arr = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise EmergingError(f"theme {key!r}: arr must be a number", field="arr", key=key) from None
    if not math.isfinite(arr) or arr < 0:
        raise EmergingError(f"theme {key!r}: arr must be a finite number >= 0, got {value!r}", field="arr", key=key)
    return arr


def _count(key: Hashable, mentions: Sequence[Mention], today: datetime.date, w: int, t: int) -> _Counts:
    # age 0 = today. Recent: age < w. Baseline: w <= age < w + t.
    mention_blocks = np.zeros(t // WEEK, dtype=np.int64)
    account_blocks: list[set[str]] = [set() for _ in range(t // w)]
    recent_arr: dict[str, float] = {}
    recent = base = 0
    known = False
    for mention in mentions:
        day, arr = mention.day, mention.arr
        if type(day) is not datetime.date:  # fast path for the common case; datetimes and junk go through checks
            day = _as_day(day, key)
        if not (type(arr) is float and 0.0 <= arr < math.inf):
            arr = _check_arr(arr, key)
        age = (today - day).days
        if age < 0:
            raise EmergingError(
                f"theme {key!r}: mention dated {day.isoformat()} is after today ({today.isoformat()})",
                field="day",
                key=key,
            )
        if age >= w + t:
            continue
        account = mention.account
        if account is not None:
            known = True
        if age < w:
            recent += 1
            if account is not None:
                recent_arr[account] = max(arr, recent_arr.get(account, 0.0))
            continue
        base += 1
        back = age - w  # days before the start of the recent window
        if back // WEEK < mention_blocks.size:
            mention_blocks[back // WEEK] += 1
        if account is not None and back // w < len(account_blocks):
            account_blocks[back // w].add(account)
    account_counts = [len(block) for block in account_blocks]
    return _Counts(
        key=key,
        mentions=recent,
        accounts=len(recent_arr),
        arr=float(sum(recent_arr.values())),
        known_accounts=known,
        base_mentions=_Blocks.of(base, mention_blocks),
        base_accounts=_Blocks.of(sum(account_counts), account_counts),
    )


def pooled_overdispersion(blocks: Sequence[tuple[float, float, float]]) -> float:
    """Common ``phi`` in ``var = mean + phi mean^2`` from (events, block mean, block variance) of several themes.

    Method of moments pooled over themes, ``sum(var - mean) / sum(mean^2)``, floored at 0; 0 when the themes
    together have fewer than ``MIN_OWN_EVENTS`` events (two mentions in one week are no evidence of burstiness).
    Stable where one theme's dozen weeks are not: a single theme's estimate is below the truth about half the time,
    and then its test is too liberal.
    """
    usable = [(m, v) for n, m, v in blocks if math.isfinite(m) and math.isfinite(v) and m > 0 and n > 0]
    events = sum(n for n, m, v in blocks if math.isfinite(m) and m > 0)
    denominator = sum(m * m for m, _ in usable)
    if events < MIN_OWN_EVENTS or denominator <= 0:
        return 0.0
    return max(0.0, sum(v - m for m, v in usable) / denominator)


def _volume_factor(counts: Sequence[_Counts], w: int, t: int) -> float:
    ratios = [
        c.mentions * t / (c.base_mentions.total * w)
        for c in counts
        if c.base_mentions.total * w / t >= VOLUME_MIN_EXPECTED
    ]
    if len(ratios) < VOLUME_MIN_THEMES:
        return 1.0
    # The lower end of a one-standard-error band for the median (an order statistic: distribution-free). The plain
    # median exceeds 1 half the time by noise alone, and every such excess would blunt the tests of all themes.
    n = len(ratios)
    k = max(1, math.ceil(n / 2 - math.sqrt(n) / 2))
    return max(1.0, sorted(ratios)[k - 1])


def _format_expected(value: float) -> str:
    if value < 0.05:
        return "under 0.1"
    if value < 9.95:
        return f"{value:.1f}"
    return f"{value:.0f}"


def _explain(c: _Counts, expected: float, w: int, money: Callable[[float], str]) -> str:
    period = "in the last day" if w == 1 else f"in the last {w} days"
    if c.mentions == 0:
        head = "No mentions"
    else:
        head = f"{c.mentions} mention{'s' if c.mentions != 1 else ''}"
        if c.accounts:
            head += f" from {c.accounts} account{'s' if c.accounts != 1 else ''}"
            if c.arr > 0:
                head += f" ({money(c.arr)} ARR)"
    return f"{head} {period}; {_format_expected(expected)} expected"


def _check_int(value: object, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise EmergingError(f"{field} must be an integer >= {minimum}, got {value!r}", field=field)
    return value


def detect(
    themes: Mapping[Hashable, Sequence[Mention]],
    *,
    today: datetime.date,
    window_days: int = 14,
    baseline_days: int = 84,
    fdr: float = 0.1,
    min_mentions: int = 3,
    min_accounts: int = 2,
    money: Callable[[float], str] = format_money,
    adjust_for_volume: bool = True,
) -> list[EmergingResult]:
    """Test every theme's recent window against its own baseline; see the module docstring for the model."""
    today = _as_day(today, None)
    w = _check_int(window_days, "window_days", 1)
    t = _check_int(baseline_days, "baseline_days", 1)
    if t < w:
        raise EmergingError("baseline_days must be at least window_days", field="baseline_days")
    if isinstance(fdr, bool) or not isinstance(fdr, int | float) or not 0 < fdr < 1:
        raise EmergingError(f"fdr must lie strictly between 0 and 1, got {fdr!r}", field="fdr")
    min_mentions = _check_int(min_mentions, "min_mentions", 1)
    min_accounts = _check_int(min_accounts, "min_accounts", 0)

    counts = [_count(key, mentions, today, w, t) for key, mentions in themes.items()]
    if not counts:
        return []
    factor = _volume_factor(counts, w, t) if adjust_for_volume else 1.0
    t_accounts = (t // w) * w
    # phi per week for mentions, per window-sized block for accounts; the window's phi for mentions is 7/w of the
    # weekly one (independent weeks: the variance of a sum of w/7 weeks grows with w/7, its mean squared with (w/7)^2).
    phi_mentions = pooled_overdispersion(
        [(c.base_mentions.total, c.base_mentions.mean, c.base_mentions.var) for c in counts]
    )
    phi_accounts = pooled_overdispersion(
        [(c.base_accounts.total, c.base_accounts.mean, c.base_accounts.var) for c in counts]
    )

    rows = []
    for c in counts:
        own = c.base_mentions.own_phi()
        phi_m = max(phi_mentions, own or 0.0) * WEEK / w
        own = c.base_accounts.own_phi()
        # Distinct accounts are a thinned count of mentions: at least as overdispersed is the safe assumption.
        phi_a = max(phi_accounts, own or 0.0, phi_m)
        expected_m, size_m = null_distribution(c.base_mentions.total, ratio=w / t, overdispersion=phi_m, volume=factor)
        p_m = upper_tail(c.mentions, expected_m, size_m)
        expected_a, size_a = null_distribution(
            c.base_accounts.total, ratio=w / t_accounts, overdispersion=phi_a, volume=factor
        )
        if c.known_accounts:
            p_a = upper_tail(c.accounts, expected_a, size_a)
            p = min(1.0, 2.0 * min(p_m, p_a))
        else:
            p_a = 1.0
            p = p_m
        rows.append((c, p, p_m, p_a, expected_m, expected_a, phi_m))

    family = [i for i, (c, *_rest) in enumerate(rows) if c.mentions + c.base_mentions.total >= min_mentions]
    q_values = np.ones(len(rows))
    if family:
        q_values[family] = benjamini_hochberg([rows[i][1] for i in family])

    results = []
    for (c, p, p_m, p_a, expected_m, expected_a, phi_m), q in zip(rows, q_values, strict=True):
        emerging = bool(q <= fdr and c.mentions >= min_mentions and c.accounts >= min_accounts)
        results.append(
            EmergingResult(
                key=c.key,
                mentions=c.mentions,
                accounts=c.accounts,
                arr=c.arr,
                expected_mentions=float(expected_m),
                expected_accounts=float(expected_a),
                p_value=float(p),
                q_value=float(q),
                emerging=emerging,
                growth=float(c.mentions / expected_m),
                explanation=_explain(c, expected_m, w, money),
                p_mentions=float(p_m),
                p_accounts=float(p_a),
                overdispersion=float(phi_m),
            )
        )
    order = sorted(
        range(len(results)),
        key=lambda i: (not results[i].emerging, results[i].q_value, results[i].p_value, -results[i].growth, i),
    )
    return [results[i] for i in order]
