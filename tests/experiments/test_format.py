"""The results page's number formats never make a row look like it contradicts itself."""

from __future__ import annotations

from valueloop.experiments.templatetags.experiment_format import confidence, pval, sabs, share, spct


def test_pval__below_alpha_never_reads_as_alpha():
    assert pval(0.04996, 0.05) == "< 0.05"  # not "0.050" beside a significant verdict
    assert pval(0.0504, 0.05) == "0.050" and pval(0.05, 0.05) == "0.050"
    assert pval(0.0123, 0.05) == "0.012" and pval(0.00001, 0.05) == "< 0.0001"
    assert pval(0.0996, 0.1) == "< 0.1"


def test_spct_and_sabs__interval_ends_near_zero_keep_their_sign_and_digits():
    assert spct(0.00004) == "+0.004%" and spct(-0.0004) == "-0.04%"  # not "+0.0%" / "-0.0%"
    assert spct(0.0452) == "+4.5%" and spct(0.0) == "+0.0%"
    assert sabs(0.000001, "binomial") == "+0.0001 pp" and sabs(0.01, "binomial") == "+1.00 pp"


def test_confidence_and_share__name_the_level_of_an_interval():
    assert confidence(0.0125) == "98.75%" and confidence(0.05 / 3) == "98.33%" and confidence(0.05, 2) == "97.5%"
    assert share(0.05, 2) == "2.5%" and confidence(None) == "—"
