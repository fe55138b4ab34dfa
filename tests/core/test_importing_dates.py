"""core.importing.dates: ISO everywhere, an explicit order decides, no order reads only what means one thing."""

from __future__ import annotations

import datetime as dt

import pytest

from valueloop.core.importing.dates import AmbiguousDate, DateError, infer_order, order_evidence, parse_date

MARCH_31 = dt.date(2026, 3, 31)


@pytest.mark.parametrize("order", ["dmy", "mdy", None])
def test_parse_date__iso_and_text_dates_read_the_same_under_every_order(order):
    for text in ("2026-03-31", "2026-03-31T14:05:00Z", "2026/3/31", "31 March 2026", "Mar 31st, 2026", "20260331"):
        assert parse_date(text, order) == MARCH_31, text


def test_parse_date__numeric_dates_follow_the_order_chosen():
    assert parse_date("03/04/2026", "dmy") == dt.date(2026, 4, 3)
    assert parse_date("03/04/2026", "mdy") == dt.date(2026, 3, 4)
    assert parse_date("31.03.26", "mdy") == MARCH_31  # dots are always day-first
    assert parse_date("31/03/2026", None) == parse_date("03/31/2026", None) == MARCH_31
    assert parse_date("04/04/2026", None) == dt.date(2026, 4, 4)


def test_parse_date__ambiguous_without_an_order_and_unreadable_dates_say_why():
    with pytest.raises(AmbiguousDate, match="'03/04/2026' could be day/month/year or month/day/year"):
        parse_date("03/04/2026", None)
    with pytest.raises(DateError, match=r"use YYYY-MM-DD \(2026-03-31\) or 03/31/2026"):
        parse_date("31/03/2026", "mdy")  # month 31
    with pytest.raises(DateError, match="cannot read 'soon'"):
        parse_date("soon", "dmy")


def test_infer_order__decides_only_when_the_unambiguous_dates_agree():
    assert order_evidence(["31/03/2026", "03/04/2026", "12/31/2026", "31.03.2026", ""]) == (1, 1)
    assert infer_order(["31/03/2026", "03/04/2026"]) == "dmy"
    assert infer_order(["03/31/2026", "03/04/2026"]) == "mdy"
    assert infer_order(["31/03/2026", "03/31/2026"]) is None
    assert infer_order(["03/04/2026", "2026-01-01"]) is None
