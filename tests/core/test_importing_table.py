"""core.importing.table: one table from CSV or JSON records, rows numbered as the user sees them, presets."""

from __future__ import annotations

import pytest

from valueloop.core.importing import ImportRefused, UploadLimits
from valueloop.core.importing.table import (
    detect_preset,
    match_columns,
    normalise_header,
    read_csv_table,
    records_table,
    sniff_delimiter,
)

LIMITS = UploadLimits()


def test_read_csv_table__sniffs_the_delimiter_keeps_row_numbers_and_drops_blank_rows():
    table = read_csv_table('\n"Name; Inc";ARR\n"Acme; Inc";100\n;\nBeta;7\n', LIMITS)
    assert (table.header, table.delimiter) == (["Name; Inc", "ARR"], ";")
    assert table.rows == [(2, ["Acme; Inc", "100"]), (4, ["Beta", "7"])]
    assert table.column("name;  INC") == 0 and table.column("missing") is None


def test_read_csv_table__honours_excel_sep_line_and_names_blank_headers():
    table = read_csv_table("sep=|\na||c\n1|2|3\n", LIMITS)
    assert (table.header, table.delimiter, table.rows) == (["a", "(column 2)", "c"], "|", [(2, ["1", "2", "3"])])
    with pytest.raises(ImportRefused, match="no header row"):
        read_csv_table("\n\n", LIMITS)


def test_records_table__json_records_become_the_same_table():
    table = records_table([{"text": "Hi", "score": 9}, {}, {"text": "Ho", "tags": None, "extra": True}])
    assert table.header == ["text", "score", "tags", "extra"]
    assert table.rows == [(2, ["Hi", "9", "", ""]), (4, ["Ho", "", "", "True"])]


def test_headers_and_presets():
    assert normalise_header("  Renewal_Date\ufeff ") == normalise_header("RENEWAL   date") == "renewal date"
    assert sniff_delimiter('"a,b"\tc\td') == "\t" and sniff_delimiter("single") == ","
    presets = {"salesforce": {"name": ["Account Name"], "id": ["Account ID"]}, "hubspot": {"name": ["Company name"]}}
    assert detect_preset(["account name", "ARR"], presets) == "salesforce"
    assert detect_preset(["Company Name"], presets) == "hubspot"
    assert detect_preset(["Account Name", "Company name"], presets) is None  # a tie decides nothing
    mapping = match_columns(["Name", "Account_Name", "ARR"], {"name": ["Account Name", "name"], "alias": ["Name"]})
    assert mapping == {"name": "Account_Name", "alias": "Name"}
