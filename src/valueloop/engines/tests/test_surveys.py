"""NPS, CSAT and SUS against published worked examples and against simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from valueloop.engines.surveys import (
    SurveyError,
    csat,
    csat_from_counts,
    nps,
    nps_category,
    nps_from_counts,
    sus,
    sus_mean,
    z_for,
)


def test_nps_category__boundaries():
    assert [nps_category(s) for s in (0, 6, 7, 8, 9, 10)] == [
        "detractor",
        "detractor",
        "passive",
        "passive",
        "promoter",
        "promoter",
    ]


def test_nps__percent_promoters_minus_percent_detractors():
    result = nps([10, 9, 9, 8, 7, 6, 0, 10, 5, 3])
    assert (result.promoters, result.passives, result.detractors, result.n) == (4, 2, 4, 10)
    assert result.score == pytest.approx(0.0)
    assert nps([10] * 3).score == pytest.approx(100.0)
    assert nps([0, 6]).score == pytest.approx(-100.0)


def test_nps_from_counts__whuber_cross_validated_worked_example():
    """stats.stackexchange.com/a/18609: p_P=1/2, p_0=1/3, p_D=1/6 -> NPS 1/3, variance 5/9 (per respondent),
    SD ~0.75, and for n=324 a standard error of about 4.1 points."""
    result = nps_from_counts(162, 108, 54)
    assert result.score == pytest.approx(100 / 3)
    assert result.variance * result.n == pytest.approx(5 / 9)
    assert math.sqrt(result.variance * result.n) == pytest.approx(0.745, abs=0.001)
    assert result.standard_error == pytest.approx(4.14, abs=0.01)
    assert result.margin_of_error == pytest.approx(1.959964 * result.standard_error)
    assert result.margin_of_error == pytest.approx(8.12, abs=0.01)


def test_nps_from_counts__cybaea_interval_width_rule():
    """CYBAEA (2016): with p_P = p_D = 1/3 the 95% interval is about 320/sqrt(n) points wide."""
    for n in (90, 300, 3000):
        result = nps_from_counts(n // 3, n // 3, n // 3)
        assert 2 * result.margin_of_error == pytest.approx(320 / math.sqrt(n), rel=0.01)


def test_nps__variance_formula_matches_multinomial_form():
    p_p, p_d, n = 0.45, 0.2, 200
    result = nps_from_counts(int(p_p * n), n - int(p_p * n) - int(p_d * n), int(p_d * n))
    multinomial = (p_p * (1 - p_p) + p_d * (1 - p_d) + 2 * p_p * p_d) / n
    assert result.variance == pytest.approx(multinomial)


def test_nps__confidence_level_changes_z():
    assert z_for(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_for(0.90) == pytest.approx(1.644854, abs=1e-6)
    wide = nps_from_counts(50, 30, 20, confidence=0.99)
    narrow = nps_from_counts(50, 30, 20, confidence=0.90)
    assert wide.margin_of_error / narrow.margin_of_error == pytest.approx(2.575829 / 1.644854, rel=1e-5)


def test_nps__interval_is_clipped_and_small_samples_flagged():
    result = nps([10, 10, 9])
    assert result.margin_of_error == 0 and result.high == 100 and result.small_sample
    assert not nps_from_counts(40, 30, 30).small_sample
    assert nps_from_counts(5, 0, 0).low <= 100


def test_nps__simulation_standard_error_and_coverage():
    """Draw many samples from a known population: the spread of the sample NPS matches the formula's
    standard error, and the 95% interval covers the true NPS about 95% of the time."""
    rng = np.random.default_rng(20240611)
    probs = np.array([0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.12, 0.13, 0.15, 0.2])  # scores 0..10
    probs = probs / probs.sum()
    true_p, true_d = probs[9:].sum(), probs[:7].sum()
    true_nps = 100 * (true_p - true_d)
    n, trials = 250, 4000
    samples = rng.choice(11, size=(trials, n), p=probs)
    sample_nps = 100 * ((samples >= 9).mean(axis=1) - (samples <= 6).mean(axis=1))
    theoretical = nps_from_counts(
        int(true_p * 10000), 10000 - int(true_p * 10000) - int(true_d * 10000), int(true_d * 10000)
    )
    expected_se = math.sqrt(theoretical.variance * theoretical.n / n) * 100
    assert sample_nps.std(ddof=1) == pytest.approx(expected_se, rel=0.05)
    covered = 0
    for row in samples[:1000]:
        result = nps(row.tolist())
        covered += result.low <= true_nps <= result.high
    assert 0.93 <= covered / 1000 <= 0.97


def test_nps__bootstrap_agrees_with_closed_form():
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 11, size=400)
    result = nps(scores.tolist())
    boot = rng.choice(scores, size=(5000, scores.size), replace=True)
    boot_nps = 100 * ((boot >= 9).mean(axis=1) - (boot <= 6).mean(axis=1))
    assert boot_nps.std(ddof=1) == pytest.approx(result.standard_error, rel=0.05)


@pytest.mark.parametrize("bad", [11, -1, 7.5, True, "9", float("nan"), None])
def test_nps__refuses_bad_scores(bad):
    with pytest.raises(SurveyError):
        nps([9, bad])


def test_nps__refuses_empty_and_bad_counts():
    with pytest.raises(SurveyError):
        nps([])
    with pytest.raises(SurveyError):
        nps_from_counts(-1, 2, 3)
    with pytest.raises(SurveyError):
        nps_from_counts(1, 2, 3, confidence=1.0)


def test_nps__whole_floats_are_accepted():
    assert nps([9.0, 3.0]).score == pytest.approx(0.0)


def test_csat__share_of_top_two_boxes():
    result = csat([5, 4, 3, 2, 1, 5, 5, 4])
    assert result.satisfied == 5 and result.n == 8
    assert result.share == pytest.approx(62.5)
    assert result.standard_error == pytest.approx(math.sqrt(0.625 * 0.375 / 8) * 100)


def test_csat__configurable_scale_and_threshold():
    result = csat([7, 6, 5, 1], scale_min=1, scale_max=7, satisfied_min=6)
    assert result.share == pytest.approx(50.0)
    assert csat_from_counts(30, 40).share == pytest.approx(75.0)
    with pytest.raises(SurveyError):
        csat([6])  # outside 1-5
    with pytest.raises(SurveyError):
        csat([3], satisfied_min=9)
    with pytest.raises(SurveyError):
        csat_from_counts(5, 4)


def test_csat__simulation_coverage():
    rng = np.random.default_rng(11)
    true_share = 0.72
    covered = 0
    for _ in range(1000):
        sample = np.where(rng.random(200) < true_share, 5, 2)
        result = csat(sample.tolist())
        covered += result.low <= 100 * true_share <= result.high
    assert 0.93 <= covered / 1000 <= 0.97


def test_sus__standard_scoring():
    # Odd items contribute answer-1, even items 5-answer; the sum (0-40) times 2.5.
    assert sus([3] * 10) == 50.0
    assert sus([5, 1] * 5) == 100.0
    assert sus([1, 5] * 5) == 0.0
    # (4-1)+(5-2)+(5-1)+(5-1)+(4-1)+(5-2)+(5-1)+(5-2)+(4-1)+(5-1) = 34 -> 85
    assert sus([4, 2, 5, 1, 4, 2, 5, 2, 4, 1]) == 85.0
    # Brooke's rule worked by hand: X = sum(odd) - 5 = 17 - 5 = 12, Y = 25 - sum(even) = 25 - 15 = 10 -> 55
    assert sus([4, 3, 3, 3, 4, 3, 3, 3, 3, 3]) == 55.0


def test_sus__mean_of_respondents_and_bad_input():
    assert sus_mean([[3] * 10, [5, 1] * 5]) == 75.0
    with pytest.raises(SurveyError):
        sus([3] * 9)
    with pytest.raises(SurveyError):
        sus([3] * 9 + [6])
    with pytest.raises(SurveyError):
        sus_mean([])


def test_sus__random_answers_match_vectorised_scoring():
    rng = np.random.default_rng(3)
    answers = rng.integers(1, 6, size=(500, 10))
    weights = np.where(np.arange(10) % 2 == 0, 1, -1)
    offsets = np.where(np.arange(10) % 2 == 0, -1, 5)
    expected = ((answers * weights + offsets).sum(axis=1) * 2.5).tolist()
    assert [sus(row.tolist()) for row in answers] == expected
