"""Tests for valueloop.engines.prioritisation: published examples, hand-worked arithmetic and batch/scalar parity."""

from __future__ import annotations

import itertools
import random
import time
from decimal import Decimal

import numpy as np
import pytest

from valueloop.engines.prioritisation import (
    FIBONACCI_SCALE,
    CodComponent,
    CodLine,
    DurationRange,
    Expedite,
    FixedDate,
    Framework,
    IceMethod,
    Intangible,
    KanoAnswer,
    KanoCategory,
    LongLifePeakAffected,
    OpportunityBand,
    PrioritisationError,
    ShortLifePeakAffected,
    Standard,
    cd3,
    cd3_batch,
    cost_of_delay,
    duration_range,
    ice,
    ice_batch,
    kano_classify,
    kano_classify_batch,
    kano_feature,
    kano_summary_from_counts,
    make_profile,
    opportunity,
    opportunity_batch,
    rank,
    rank_batch,
    rank_scores,
    rice,
    rice_batch,
    snap_to_scale,
    top_two_box,
    wsjf,
    wsjf_batch,
    wsjf_score,
)

ATTRACTIVE, ONE_DIM, MUST_BE, INDIFFERENT, REVERSE, QUESTIONABLE = (KanoCategory(c) for c in "AOMIRQ")


# --- errors ---------------------------------------------------------------------------------------------------------


def test_error_names_field_and_item():
    with pytest.raises(PrioritisationError) as info:
        cd3(1000, 0, item_id=42)
    assert str(info.value) == "duration_weeks must be > 0 (item 42)"
    assert info.value.field == "duration_weeks"
    assert info.value.item_id == 42
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [True, "5", float("nan"), float("inf"), None])
def test_non_numbers_are_rejected(bad):
    with pytest.raises(PrioritisationError) as info:
        cd3(bad, 2, item_id="x")
    assert info.value.field == "cod_per_week"


# --- Cost of Delay ---------------------------------------------------------------------------------------------------


def test_cost_of_delay_sums_components_with_rationale():
    result = cost_of_delay(
        [
            {"component": "increase_revenue", "per_week": 3000, "rationale": "200 upgrades/wk x $15"},
            {"component": "protect_revenue", "per_week": Decimal("1500.50"), "rationale": "churn"},
            CodLine(CodComponent.REDUCE_COST, 250.0, "support tickets"),
            {"component": "increase_revenue", "per_week": 1000},
        ],
        item_id=7,
    )
    assert result.per_week == pytest.approx(5750.5)
    assert result.by_component[CodComponent.INCREASE_REVENUE] == 4000
    assert result.by_component[CodComponent.REDUCE_RISK] == 0
    assert result.lines[0].rationale == "200 upgrades/wk x $15"
    assert cost_of_delay([]).per_week == 0


def test_cost_of_delay_rejects_negative_and_unknown_components():
    with pytest.raises(PrioritisationError) as info:
        cost_of_delay([{"component": "reduce_risk", "per_week": -1}], item_id=3)
    assert (info.value.field, info.value.item_id) == ("reduce_risk", 3)
    with pytest.raises(PrioritisationError, match="component must be one of"):
        cost_of_delay([{"component": "vibes", "per_week": 1}])


# --- urgency profiles ------------------------------------------------------------------------------------------------


def test_standard_profile_is_linear():
    p = Standard(1000)
    assert p.cod_at(0) == p.cod_at(50) == 1000
    assert p.delay_cost(3) == 3000
    # Starting 2 weeks late on a 5-week item costs 2 weeks of CoD.
    assert p.start_delay_cost(2, 5) == 2000
    assert np.allclose(p.delay_cost(np.array([0, 1, 2.5])), [0, 1000, 2500])


def test_long_life_peak_affected_is_linear_and_capped_at_life_value():
    p = LongLifePeakAffected(cod_per_week=500, life_weeks=100)
    assert p.delay_cost(10) == 5000
    assert p.delay_cost(100) == p.delay_cost(150) == 50_000
    assert p.cod_at(99) == 500 and p.cod_at(100) == 0


def test_short_life_peak_affected_loses_faster_than_linear_and_all_at_end():
    p = ShortLifePeakAffected(cod_per_week=1000, life_weeks=20)
    whole_life = 1000 * 20
    # Delivering halfway keeps (1 - 1/2)^2 = 1/4 of the life value.
    assert p.delay_cost(10) == pytest.approx(whole_life * 0.75)
    assert p.delay_cost(20) == p.delay_cost(40) == pytest.approx(whole_life)
    t = np.linspace(0.1, 19.9, 50)
    assert (p.delay_cost(t) > Standard(1000).delay_cost(t)).all()
    assert p.cod_at(0) == 2000  # twice the peak at first: a week lost and a lower peak


def test_fixed_date_is_a_step_at_latest_start():
    p = FixedDate(deadline_weeks=10, penalty=50_000)
    assert p.latest_start(4) == 6
    assert p.start_delay_cost(6, 4) == 0  # delivered exactly on the deadline
    assert p.start_delay_cost(6.5, 4) == 50_000
    assert p.delay_cost(9.99) == 0 and p.delay_cost(10.01) == 50_000
    q = FixedDate(deadline_weeks=10, penalty=50_000, cod_after_per_week=1000)
    assert q.delay_cost(13) == 53_000
    assert q.cod_at(5) == 0 and q.cod_at(11) == 1000


def test_intangible_rises_and_expedite_is_immediate():
    p = Intangible(cod_per_week=100, rise_per_week=20)
    assert p.cod_at(0) == 100 and p.cod_at(10) == 300
    assert p.delay_cost(10) == pytest.approx(100 * 10 + 20 * 100 / 2)
    e = Expedite(50_000)
    assert e.is_expedite and not Standard(1).is_expedite
    assert e.delay_cost(0.5) == 25_000


@pytest.mark.parametrize(
    "profile",
    [
        Standard(1000),
        LongLifePeakAffected(700, 30),
        ShortLifePeakAffected(900, 25),
        Intangible(50, 12),
        Expedite(10_000),
        FixedDate(8, 0, 300),
    ],
)
def test_delay_cost_is_the_integral_of_cod_at(profile):
    # Trapezoid integration of the rate reproduces the closed-form cost (no one-off step here). atol covers the
    # trapezoid error of half a grid cell where the rate itself jumps (300 x 0.001 / 2 = 0.15).
    t = np.linspace(0, 40, 40_001)
    rate = profile.cod_at(t)
    integral = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) / 2 * np.diff(t))])
    assert np.allclose(integral, profile.delay_cost(t), rtol=1e-4, atol=0.2)


def test_profile_validation_and_factory():
    with pytest.raises(PrioritisationError) as info:
        ShortLifePeakAffected(100, 0)
    assert info.value.field == "life_weeks"
    with pytest.raises(PrioritisationError):
        Standard(100).delay_cost(-1)
    assert make_profile("fixed_date", deadline_weeks=4, penalty=10) == FixedDate(4, 10)
    with pytest.raises(PrioritisationError, match="urgency profile must be one of"):
        make_profile("someday")
    with pytest.raises(PrioritisationError, match="bad parameters"):
        make_profile("standard", cod=1)


# --- duration and CD3 ------------------------------------------------------------------------------------------------


def test_cd3_and_its_range():
    r = cd3(4000, DurationRange(low=2, likely=4, high=8), item_id="B")
    assert (r.cd3, r.cd3_low, r.cd3_high) == (1000, 500, 2000)
    assert cd3(5000, 2).cd3 == 2500
    assert duration_range(3) == DurationRange(3, 3, 3)


def test_duration_range_must_be_ordered():
    with pytest.raises(PrioritisationError) as info:
        duration_range(4, low=5, item_id=9)
    assert (info.value.field, info.value.item_id) == ("duration_low_weeks", 9)
    with pytest.raises(PrioritisationError) as info:
        duration_range(4, high=3)
    assert info.value.field == "duration_high_weeks"
    with pytest.raises(PrioritisationError):
        DurationRange(0, 1, 2)


def test_cd3_batch_matches_scalar_and_names_bad_row():
    rng = np.random.default_rng(3)
    cod = rng.uniform(0, 10_000, 200)
    likely = rng.uniform(0.5, 20, 200)
    low, high = likely * rng.uniform(0.3, 1, 200), likely * rng.uniform(1, 3, 200)
    batch = cd3_batch(cod, likely, low, high)
    for k in range(200):
        one = cd3(cod[k], DurationRange(low[k], likely[k], high[k]))
        assert (batch.cd3[k], batch.cd3_low[k], batch.cd3_high[k]) == (one.cd3, one.cd3_low, one.cd3_high)
    likely[17] = 0
    with pytest.raises(PrioritisationError) as info:
        cd3_batch(cod, likely, ids=np.arange(1000, 1200))
    assert str(info.value) == "duration_weeks must be > 0 (item 1017)"


# --- WSJF ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "snapped"),
    [(0.2, 1), (1, 1), (1.49, 1), (1.5, 2), (2.5, 3), (4, 5), (4.5, 5), (10, 8), (10.5, 13), (16.5, 20), (30, 40),
     (69.9, 40), (70, 100), (5000, 100)],
)
def test_snap_to_scale(value, snapped):
    assert snap_to_scale(value) == snapped


def test_wsjf_normalises_each_column_to_its_smallest_item():
    items = [
        {"id": 1, "business_value": 2, "time_criticality": 1, "risk_reduction": 4, "job_size": 3},
        {"id": 2, "business_value": 5, "time_criticality": 1, "risk_reduction": 8, "job_size": 6},
        {"id": 3, "business_value": 9, "time_criticality": 3, "risk_reduction": 40, "job_size": 30},
    ]
    # By hand. BV / 2 = 1, 2.5, 4.5 -> 1, 3, 5. TC / 1 = 1, 1, 3. RR / 4 = 1, 2, 10 -> 1, 2, 8.
    # Size / 3 = 1, 2, 10 -> 1, 2, 8. WSJF = (1+1+1)/1 = 3, (3+1+2)/2 = 3, (5+3+8)/8 = 2.
    results = wsjf(items)
    assert [(r.business_value, r.time_criticality, r.risk_reduction, r.job_size) for r in results] == [
        (1, 1, 1, 1), (3, 1, 2, 2), (5, 3, 8, 8)]
    assert [r.score for r in results] == [3, 3, 2]
    assert [r.cost_of_delay for r in results] == [3, 6, 16]
    ranked = rank(items, "wsjf")
    assert [(r.item_id, r.rank, r.shared_rank) for r in ranked] == [(1, 1, 1), (2, 2, 1), (3, 3, 3)]


def test_wsjf_without_normalisation_requires_scale_values():
    assert wsjf_score(8, 5, 3, 2) == 8
    with pytest.raises(PrioritisationError, match="must be one of 1, 2, 3, 5, 8, 13, 20, 40, 100"):
        wsjf_score(8, 4, 3, 2, item_id=5)
    batch = wsjf_batch([1, 13], [2, 20], [3, 1], [5, 100], normalise=False)
    assert np.allclose(batch.score, [6 / 5, 34 / 100])
    with pytest.raises(PrioritisationError) as info:
        wsjf_batch([1, 13], [2, 20], [3, 1], [5, 99], normalise=False, ids=["a", "b"])
    assert (info.value.field, info.value.item_id) == ("job_size", "b")


def test_wsjf_normalised_rejects_zero():
    with pytest.raises(PrioritisationError) as info:
        wsjf([{"id": "z", "business_value": 0, "time_criticality": 1, "risk_reduction": 1, "job_size": 1}])
    assert (info.value.field, info.value.item_id) == ("business_value", "z")


def test_wsjf_batch_values_are_always_on_the_scale():
    rng = np.random.default_rng(5)
    cols = [rng.uniform(0.1, 500, 1000) for _ in range(4)]
    batch = wsjf_batch(*cols)
    for column in (batch.business_value, batch.time_criticality, batch.risk_reduction, batch.job_size):
        assert set(np.unique(column)) <= set(FIBONACCI_SCALE)
        assert column.min() == 1


# --- RICE ------------------------------------------------------------------------------------------------------------

# Sean McBride, "RICE: Simple prioritization for product managers" (Intercom, 2016). Its three worked projects:
#   Project 1: reach 500/month x 30% x 3 = 450/quarter, impact 3, confidence 100%, effort 2 person-months
#   Project 2: reach 2,000/quarter, impact 1, confidence 80%, effort 4 person-months
#   Project 3: reach 800/quarter, impact 2, confidence 50%, effort 1 person-month
INTERCOM_PROJECTS = [
    {"id": "Project 1", "reach": 500 * 0.30 * 3, "impact": 3, "confidence": 100, "effort": 2},
    {"id": "Project 2", "reach": 2000, "impact": 1, "confidence": 80, "effort": 4},
    {"id": "Project 3", "reach": 800, "impact": 2, "confidence": 50, "effort": 1},
]


def test_rice_reproduces_intercom_example():
    scores = {p["id"]: rice(p["reach"], p["impact"], p["confidence"], p["effort"]).score for p in INTERCOM_PROJECTS}
    assert scores == {"Project 1": pytest.approx(675), "Project 2": pytest.approx(400), "Project 3": pytest.approx(800)}
    assert [r.item_id for r in rank(INTERCOM_PROJECTS, Framework.RICE)] == ["Project 3", "Project 1", "Project 2"]


@pytest.mark.parametrize(
    ("field", "value"), [("impact", 4), ("impact", 0), ("confidence", 90), ("confidence", 0.8), ("effort", 0),
                         ("reach", -1)]
)
def test_rice_rejects_off_scale_values(field, value):
    args = {"reach": 100, "impact": 1, "confidence": 80, "effort": 1, field: value}
    with pytest.raises(PrioritisationError) as info:
        rice(**args, item_id=11)
    assert (info.value.field, info.value.item_id) == (field, 11)


def test_rice_batch_matches_scalar():
    batch = rice_batch(*([p[f] for p in INTERCOM_PROJECTS] for f in ("reach", "impact", "confidence", "effort")))
    assert np.allclose(batch, [675, 400, 800])
    with pytest.raises(PrioritisationError) as info:
        rice_batch([1, 1], [1, 1], [80, 75], [1, 1], ids=[5, 6])
    assert (info.value.field, info.value.item_id) == ("confidence", 6)


# --- ICE -------------------------------------------------------------------------------------------------------------


def test_ice_both_conventions():
    assert ice(8, 6, 4).score == 6
    assert ice(8, 6, 4, method="product").score == 192
    assert ice(8, 6, 4, method=IceMethod.PRODUCT).method is IceMethod.PRODUCT
    assert np.allclose(ice_batch([8, 1], [6, 1], [4, 10], method="product"), [192, 10])
    with pytest.raises(PrioritisationError) as info:
        ice(11, 5, 5, item_id=1)
    assert info.value.field == "impact"
    with pytest.raises(PrioritisationError, match="'average' or 'product'"):
        ice(1, 1, 1, method="sum")


# --- Kano ------------------------------------------------------------------------------------------------------------


def test_kano_evaluation_table():
    assert kano_classify("like", "dislike") is ONE_DIM
    assert kano_classify("like", "neutral") is ATTRACTIVE
    assert kano_classify("like", "live with") is ATTRACTIVE
    assert kano_classify("expect", "dislike") is MUST_BE
    assert kano_classify("neutral", "dislike") is MUST_BE
    assert kano_classify("neutral", "neutral") is INDIFFERENT
    assert kano_classify("dislike", "like") is REVERSE
    assert kano_classify("like", "like") is QUESTIONABLE
    assert kano_classify(KanoAnswer.DISLIKE, KanoAnswer.DISLIKE) is QUESTIONABLE
    with pytest.raises(PrioritisationError):
        kano_classify("love", "dislike")


def test_kano_feature_counts_dominant_and_coefficients_by_hand():
    responses = (
        [("like", "neutral")] * 8  # A
        + [("like", "dislike")] * 5  # O
        + [("neutral", "dislike")] * 4  # M
        + [("neutral", "neutral")] * 2  # I
        + [("dislike", "like")] * 1  # R
    )
    result = kano_feature(responses, item_id="dark-mode")
    assert result.counts == {ATTRACTIVE: 8, ONE_DIM: 5, MUST_BE: 4, INDIFFERENT: 2, REVERSE: 1, QUESTIONABLE: 0}
    assert result.responses == 20
    assert result.dominant is ATTRACTIVE
    # R is left out: A+O+M+I = 8+5+4+2 = 19. better = (8+5)/19, worse = -(5+4)/19.
    assert result.better == pytest.approx(13 / 19)  # 0.6842
    assert result.worse == pytest.approx(-9 / 19)  # -0.4737


def test_kano_published_percentages():
    # Warwick WMG (DFSS notes), electric cable reel on a vacuum cleaner: A 53.9, O 28.2, M 7.4, I 8.4, R 0.3,
    # Q 1.8 (% of replies), category A. Berger et al.'s formula gives better = 82.1/97.9 = 0.839 and worse =
    # -35.6/97.9 = -0.364. (The page prints 0.82 and -0.36: its "better" divides by all 100% of replies.)
    result = kano_summary_from_counts({"A": 539, "O": 282, "M": 74, "I": 84, "R": 3, "Q": 18})
    assert result.dominant is ATTRACTIVE
    assert result.better == pytest.approx(821 / 979)
    assert round(result.better, 2) == 0.84
    assert result.worse == pytest.approx(-356 / 979)
    assert round(result.worse, 2) == -0.36


def test_kano_ties_prefer_must_be_then_one_dimensional_then_attractive():
    assert kano_summary_from_counts({"A": 3, "O": 3, "M": 3, "I": 3}).dominant is MUST_BE
    assert kano_summary_from_counts({"A": 3, "O": 3, "I": 3}).dominant is ONE_DIM
    assert kano_summary_from_counts({"A": 3, "I": 3}).dominant is ATTRACTIVE
    only_reverse = kano_feature([("dislike", "like")])
    assert only_reverse.dominant is REVERSE
    assert only_reverse.better is None and only_reverse.worse is None
    with pytest.raises(PrioritisationError):
        kano_feature([])


def test_kano_batch_matches_scalar():
    rng = np.random.default_rng(9)
    f, d, feature = rng.integers(0, 5, 5000), rng.integers(0, 5, 5000), rng.integers(0, 7, 5000)
    counts = kano_classify_batch(f, d, feature, 7)
    answers = list(KanoAnswer)
    for k in range(7):
        pairs = [(answers[a], answers[b]) for a, b in zip(f[feature == k], d[feature == k], strict=True)]
        scalar = kano_feature(pairs).counts
        assert list(counts[k]) == [scalar[c] for c in KanoCategory]


# --- opportunity -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("importance", "satisfaction", "score", "band", "underserved", "overserved"),
    [
        (9.2, 2.0, 16.4, OpportunityBand.EXTREME, True, False),
        (9, 3, 15, OpportunityBand.HIGH, True, False),  # 15 is not "> 15"
        (8, 4, 12, OpportunityBand.HIGH, True, False),
        (7, 5.5, 8.5, OpportunityBand.LOW, False, False),
        (8, 6, 10, OpportunityBand.SOLID, False, False),  # exactly 10: solid, not (yet) underserved
        (6, 8, 6, OpportunityBand.LOW, False, True),
    ],
)
def test_opportunity_bands(importance, satisfaction, score, band, underserved, overserved):
    r = opportunity(importance, satisfaction)
    assert r.score == pytest.approx(score)
    assert (r.band, r.underserved, r.overserved) == (band, underserved, overserved)
    b = opportunity_batch([importance], [satisfaction])
    assert b.score[0] == pytest.approx(score) and b.band[0] == band.value


def test_top_two_box_and_validation():
    # 6 of 10 respondents rate 4 or 5 -> 6.0.
    assert top_two_box([5, 4, 4, 5, 3, 2, 4, 1, 5, 3]) == 6.0
    with pytest.raises(PrioritisationError):
        top_two_box([6])
    with pytest.raises(PrioritisationError) as info:
        opportunity(11, 2, item_id="job-3")
    assert (info.value.field, info.value.item_id) == ("importance", "job-3")


# --- ranking ---------------------------------------------------------------------------------------------------------


def _random_items(rng: random.Random, n: int) -> list[dict]:
    scale = list(FIBONACCI_SCALE)
    items = []
    for k in range(n):
        likely = rng.choice([1, 2, 3, 5, 8])
        items.append(
            {
                "id": k * 7 % n,  # ids not in input order
                "cod_per_week": rng.choice([0, 500, 1000, 2000, 4000]),
                "duration_weeks": likely,
                "duration_low_weeks": likely / 2,
                "duration_high_weeks": likely * 2,
                "business_value": rng.choice(scale),
                "time_criticality": rng.choice(scale),
                "risk_reduction": rng.choice(scale),
                "job_size": rng.choice(scale),
                "reach": rng.choice([100, 200, 400]),
                "impact": rng.choice([3, 2, 1, 0.5, 0.25]),
                "confidence": rng.choice([100, 80, 50]),
                "effort": rng.choice([0.5, 1, 2]),
                "ease": rng.randint(1, 10),
                "importance": rng.choice([2.0, 5.0, 8.0]),
                "satisfaction": rng.choice([2.0, 5.0, 8.0]),
            }
        )
    return items


@pytest.mark.parametrize("framework", list(Framework))
def test_rank_keeps_every_item_and_matches_batch(framework):
    rng = random.Random(framework.value)
    items = _random_items(rng, 97)  # 97 is prime, so k * 7 % 97 is a permutation
    if framework is Framework.ICE:
        for item in items:
            item["confidence"] = rng.randint(1, 10)
            item["impact"] = rng.randint(1, 10)
    ranked = rank(items, framework)
    assert sorted(r.item_id for r in ranked) == sorted(i["id"] for i in items)
    assert [r.rank for r in ranked] == list(range(1, 98))
    # Best first; equal scores in ascending id order.
    for before, after in itertools.pairwise(ranked):
        assert (before.score > after.score) or (before.score == after.score and before.item_id < after.item_id)
    columns = {key: np.asarray([i[key] for i in items]) for key in items[0] if key != "id"}
    batch = rank_batch(framework, columns, ids=[i["id"] for i in items])
    assert list(batch.ids) == [r.item_id for r in ranked]
    assert np.allclose(batch.scores, [r.score for r in ranked])
    assert list(batch.shared_rank[batch.order]) == [r.shared_rank for r in ranked]


def test_rank_breaks_ties_by_id_with_ints_before_strings():
    items = [{"id": i, "cod_per_week": 100, "duration_weeks": 1} for i in ("b", 10, "a", 9)]
    assert [r.item_id for r in rank(items, "cd3")] == [9, 10, "a", "b"]
    assert [r.shared_rank for r in rank(items, "cd3")] == [1, 1, 1, 1]
    batch = rank_scores([1, 1, 1, 1], ids=["b", 10, "a", 9])
    assert list(batch.ids) == [9, 10, "a", "b"]


def test_rank_reports_bad_rows():
    items = [{"id": 1, "cod_per_week": 10, "duration_weeks": 1}, {"id": 42, "cod_per_week": 10, "duration_weeks": 0}]
    with pytest.raises(PrioritisationError) as info:
        rank(items, "cd3")
    assert str(info.value) == "duration_weeks must be > 0 (item 42)"
    with pytest.raises(PrioritisationError) as info:
        rank([{"id": 1, "cod_per_week": 10}], "cd3")
    assert (info.value.field, info.value.item_id) == ("duration_weeks", 1)
    with pytest.raises(PrioritisationError, match="id is duplicated"):
        rank([{"id": 1, "cod_per_week": 1, "duration_weeks": 1}] * 2, "cd3")
    with pytest.raises(PrioritisationError, match="row 0"):
        rank([{"cod_per_week": 1, "duration_weeks": 1}], "cd3")
    with pytest.raises(PrioritisationError, match="framework must be one of"):
        rank([], "moscow")
    with pytest.raises(PrioritisationError) as info:
        rank_batch("rice", {"reach": [1]})
    assert info.value.field == "impact"


def test_rank_scores_shared_ranks_and_nan():
    batch = rank_scores([5.0, 9.0, 5.0, 1.0, 9.0], ids=[10, 20, 30, 40, 50])
    assert list(batch.ids) == [20, 50, 10, 30, 40]
    assert list(batch.rank) == [3, 1, 4, 5, 2]
    assert list(batch.shared_rank) == [3, 1, 3, 5, 1]
    with pytest.raises(PrioritisationError) as info:
        rank_scores([1.0, float("nan")], ids=["a", "b"])
    assert info.value.item_id == "b"


def test_empty_inputs_rank_to_nothing():
    assert rank([], "rice") == []
    assert rank_scores([]).order.size == 0


# --- performance -----------------------------------------------------------------------------------------------------

N = 100_000


def _big_columns(rng: np.random.Generator) -> dict[str, np.ndarray]:
    likely = rng.uniform(0.5, 26, N)
    return {
        "cod_per_week": rng.uniform(0, 50_000, N).round(),
        "duration_weeks": likely,
        "duration_low_weeks": likely * 0.5,
        "duration_high_weeks": likely * 2,
        "business_value": rng.integers(1, 100, N).astype(float),
        "time_criticality": rng.integers(1, 100, N).astype(float),
        "risk_reduction": rng.integers(1, 100, N).astype(float),
        "job_size": rng.integers(1, 100, N).astype(float),
        "reach": rng.integers(0, 10_000, N).astype(float),
        "impact": rng.choice([3, 2, 1, 0.5, 0.25], N),
        "confidence": rng.choice([100, 80, 50], N),
        "effort": rng.choice([0.5, 1, 2, 3, 5], N),
        "ease": rng.integers(1, 11, N).astype(float),
        "importance": rng.uniform(0, 10, N),
        "satisfaction": rng.uniform(0, 10, N),
    }


@pytest.mark.parametrize("framework", list(Framework))
def test_rank_batch_100k_items_under_a_second(framework):
    rng = np.random.default_rng(1)
    columns = _big_columns(rng)
    if framework is Framework.ICE:
        columns["impact"] = rng.integers(1, 11, N).astype(float)
        columns["confidence"] = rng.integers(1, 11, N).astype(float)
    ids = np.arange(N) * 3 + 1
    start = time.perf_counter()
    result = rank_batch(framework, columns, ids=ids)
    elapsed = time.perf_counter() - start
    assert result.ids.shape == (N,)
    assert np.array_equal(np.sort(result.ids), ids)
    assert elapsed < 1.0, f"{framework} took {elapsed:.3f}s"
