"""The import engine: every kind of bad input is reported by row and field, nothing is written
unless the user chose to skip bad rows, re-imports change nothing, and each preset reads a
realistic export."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.feedback.conftest import FIXTURES, run_import
from valueloop.core.models import AuditEvent
from valueloop.feedback import importing
from valueloop.feedback.models import FeedbackItem

HEADER = "external_id,title,text,received_at,customer,contact_email,tags\n"


def errors_of(report):
    return [(p.row, p.field) for p in report.errors]


def test_import__valid_csv_creates_items_with_customers_contacts_and_tags(world, accounts):
    data = HEADER + (
        'T-1,Dunning twice,Reminders went out twice,2025-03-01T10:00:00Z,CUST-1,,"dunning, billing"\n'
        "T-2,,Bank feed is slow,2025-03-02,Globex Ltd,,bank\n"
        "T-3,,Needs DATEV export,2025-03-03 09:30,initech.example,,\n"
        "T-4,,Receipts blurry,2025-03-04,,ada@acme.example,mobile\n"
    )
    report = run_import(world, data)
    assert report.ok and report.written, report.as_text()
    assert report.created == 4 and report.unchanged == 0
    items = {i.external_id: i for i in FeedbackItem.objects.filter(workspace=world.ws_a)}
    assert items["T-1"].customer == accounts.acme  # by external id
    assert items["T-2"].customer == accounts.globex  # by name
    assert items["T-3"].customer == accounts.initech  # by domain
    assert items["T-4"].contact == accounts.ada and items["T-4"].customer == accounts.acme  # via the contact
    assert sorted(items["T-1"].tags.values_list("name", flat=True)) == ["billing", "dunning"]
    assert items["T-2"].received_at == dt.datetime(2025, 3, 2, tzinfo=dt.UTC)  # workspace time zone: UTC
    assert all(i.status == "new" and i.source == "other" for i in items.values())
    # one audit record for the whole import, with counts
    audit = AuditEvent.objects.get(workspace=world.ws_a, entity_type="feedback_import")
    assert audit.changes["created"] == [None, 4]


def test_import__same_file_twice_changes_nothing(world, accounts):
    data = HEADER + "T-1,,Reminders went out twice,2025-03-01,CUST-1,,dunning\n"
    first = run_import(world, data)
    assert first.created == 1
    before = FeedbackItem.objects.get(external_id="T-1")
    second = run_import(world, data)
    assert second.ok and second.created == 0 and second.unchanged == 1
    assert "1 unchanged" in second.summary()
    assert FeedbackItem.objects.filter(workspace=world.ws_a).count() == 1
    after = FeedbackItem.objects.get(external_id="T-1")
    assert (after.version, after.updated_at) == (before.version, before.updated_at)


def test_import__rows_without_external_id_are_idempotent_by_content(world):
    data = "text,date\nFirst thing,2025-01-01\nSecond thing,2025-01-02\n"
    assert run_import(world, data).created == 2
    again = run_import(world, data)
    assert again.created == 0 and again.unchanged == 2


def test_import__one_bad_row_writes_nothing_and_names_row_and_field(world, accounts):
    data = HEADER + (
        "T-1,,Fine row,2025-03-01,CUST-1,,\nT-2,,Bad date,31/02/2025x,CUST-1,,\nT-3,,Fine too,2025-03-03,,,\n"
    )
    report = run_import(world, data)
    assert not report.ok and not report.written
    assert errors_of(report) == [(3, "received_at")]  # the header is row 1
    assert "31/02/2025x" in report.errors[0].message
    assert "Nothing was written" in report.summary()
    assert not FeedbackItem.objects.filter(workspace=world.ws_a).exists()
    assert not AuditEvent.objects.filter(entity_type="feedback_import").exists()


def test_import__skip_invalid_writes_only_the_valid_rows(world, accounts):
    data = HEADER + (
        "T-1,,Fine row,2025-03-01,CUST-1,,\nT-2,,,2025-03-02,CUST-1,,\nT-3,,Unknown customer,2025-03-03,Nobody Inc,,\n"
    )
    report = run_import(world, data, skip_invalid=True)
    assert report.written and report.created == 1 and report.invalid_rows == 2
    assert errors_of(report) == [(3, "text"), (4, "customer")]
    assert list(FeedbackItem.objects.values_list("external_id", flat=True)) == ["T-1"]


def test_import__dry_run_reports_without_writing(world):
    report = run_import(world, "text,date\nHello,2025-01-01\n", dry_run=True)
    assert report.ok and report.to_create == 1 and not report.written
    assert report.preview[0]["text"] == "Hello"
    assert not FeedbackItem.objects.exists()


def test_import__not_utf8_is_detected_and_a_wrong_explicit_choice_names_line_and_byte(world):
    data = "text,date\nFine,2025-01-01\nCaf\xe9 au lait,2025-01-02\n".encode("latin-1")
    report = run_import(world, data, encoding="utf-8")
    assert report.fatal and not report.written
    (problem,) = report.errors
    assert problem.row == 3
    assert "not valid UTF-8" in problem.message and "byte 0xE9" in problem.message and "line 3" in problem.message
    report = run_import(world, data)
    assert report.ok and report.created == 2 and report.encoding == "Windows-1252 (detected)"
    assert FeedbackItem.objects.filter(text="Café au lait").exists()


def test_import__a_file_mixing_encodings_names_the_line(world):
    data = "text,date\nMüller,2025-01-01\n".encode() + "Caf\xe9,2025-01-02\n".encode("cp1252")
    report = run_import(world, data)
    assert report.fatal and not FeedbackItem.objects.exists()
    assert report.errors[0].row == 3 and "mixes encodings" in report.errors[0].message


def test_import__utf8_with_bom_and_semicolons_is_fine(world):
    data = "\ufefftext;date\nKäse und Überweisung;2025-01-01\n".encode()
    report = run_import(world, data)
    assert report.ok and report.created == 1
    assert FeedbackItem.objects.get().text == "Käse und Überweisung"


def test_import__utf16_is_read_with_its_bom_and_refused_without(world):
    report = run_import(world, "text,date\nHi,2025-01-01\n".encode("utf-16"))
    assert report.ok and report.created == 1 and report.encoding == "UTF-16 with BOM"
    report = run_import(world, "text,date\nHo,2025-01-01\n".encode("utf-16-le"))
    assert report.fatal and "UTF-16 without a byte-order mark" in report.errors[0].message


def test_import__missing_required_column_is_named(world):
    report = run_import(world, "external_id,body_text,when\n1,Hi,2025-01-01\n")
    assert report.fatal
    fields = {p.field for p in report.errors}
    assert fields == {"text", "received_at"}
    assert all("body_text" in p.message for p in report.errors)  # lists the columns found


def test_import__extra_columns_are_listed_as_ignored(world):
    report = run_import(world, "text,date,Votes,Internal note\nHi,2025-01-01,3,x\n")
    assert report.ok and report.ignored_columns == ["Votes", "Internal note"]
    assert any("Ignored columns" in w.message for w in report.warnings)


def test_import__explicit_mapping_to_a_missing_column_is_an_error(world):
    report = run_import(world, "text,date\nHi,2025-01-01\n", mapping={"received_at": "Created"})
    assert report.fatal and errors_of(report) == [(None, "received_at")]
    assert "'Created'" in report.errors[0].message


def test_import__mapping_with_unknown_field_is_refused(world):
    report = run_import(world, "text,date\nHi,2025-01-01\n", mapping={"votes": "Votes"})
    assert report.fatal and errors_of(report)[0] == (None, "votes")


def test_import__rows_with_missing_or_extra_values(world):
    data = "text,date,source\nOne,2025-01-01,support\nTwo,2025-01-02\nThree,2025-01-03,email,surprise\n"
    report = run_import(world, data)
    assert errors_of(report) == [(3, None), (4, None)]
    assert "no value for: source" in report.errors[0].message
    assert "extra values" in report.errors[1].message and "surprise" in report.errors[1].message


def test_import__dates_in_common_formats_and_clear_errors(world):
    rows = [
        ("2025-03-01T10:00:00+01:00", dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)),
        ("2025-03-01 10:00", dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)),
        ("2025/03/02", dt.datetime(2025, 3, 2, tzinfo=dt.UTC)),
        ("02.03.2025", dt.datetime(2025, 3, 2, tzinfo=dt.UTC)),
        ("Mar 5, 2025", dt.datetime(2025, 3, 5, tzinfo=dt.UTC)),
        ("Tue, 04 Mar 2025 14:22:01 +0000", dt.datetime(2025, 3, 4, 14, 22, 1, tzinfo=dt.UTC)),
        ("1741000000", dt.datetime.fromtimestamp(1741000000, tz=dt.UTC)),
        ("20250306", dt.datetime(2025, 3, 6, tzinfo=dt.UTC)),
    ]
    data = "external_id,text,date\n" + "".join(f'{i},Item {i},"{value}"\n' for i, (value, _) in enumerate(rows))
    report = run_import(world, data)
    assert report.ok, report.as_text()
    got = dict(FeedbackItem.objects.values_list("external_id", "received_at"))
    for i, (_, expected) in enumerate(rows):
        assert got[str(i)] == expected, (rows[i][0], got[str(i)])


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("yesterday", "could not read the date 'yesterday'"),
        ("2999-01-01", "in the future"),
        ("03/04/2025", "ambiguous"),
        ("1900-01-01", "before 1970"),
        ("", "no date given"),
    ],
)
def test_import__unreadable_dates_say_what_was_found(world, value, words):
    report = run_import(world, f'text,date\nHello,"{value}"\n')
    assert errors_of(report) == [(2, "received_at")]
    assert words in report.errors[0].message.lower() or words in report.errors[0].message
    assert "column 'date'" in report.errors[0].message


def test_import__slash_dates_follow_the_file_or_the_date_format(world):
    # 31/01 can only be day-first, so the whole file is read day-first
    report = run_import(world, "external_id,text,date\n1,A,31/01/2025\n2,B,03/04/2025\n")
    assert report.ok, report.as_text()
    assert FeedbackItem.objects.get(external_id="2").received_at.date() == dt.date(2025, 4, 3)
    report = run_import(world, "external_id,text,date\n3,C,03/04/2025\n", date_format="%m/%d/%Y")
    assert report.ok and FeedbackItem.objects.get(external_id="3").received_at.date() == dt.date(2025, 3, 4)


def test_import__unknown_customer_is_an_error_unless_skip_link(world, accounts):
    data = "external_id,text,date,customer\n1,Hi,2025-01-01,Beta Acme\n"  # exists, but in workspace B
    report = run_import(world, data)
    assert errors_of(report) == [(2, "customer")]
    assert "Unknown customer 'Beta Acme'" in report.errors[0].message
    report = run_import(world, data, unknown_customer="skip_link")
    assert report.ok and report.created == 1
    assert FeedbackItem.objects.get().customer is None


def test_import__duplicate_external_ids_inside_one_file(world):
    data = "id,text,date\nA-1,First,2025-01-01\nA-2,Second,2025-01-02\nA-1,Again,2025-01-03\n"
    report = run_import(world, data)
    assert errors_of(report) == [(4, "external_id")]
    assert "'A-1'" in report.errors[0].message and "row 2" in report.errors[0].message
    assert not FeedbackItem.objects.exists()


def test_import__bad_source_importance_url_and_long_tag(world):
    data = (
        "text,date,source,importance,url,tags\n"
        "A,2025-01-01,fax,,,\n"
        "B,2025-01-01,zendesk,whenever,,\n"
        "C,2025-01-01,,,javascript:alert(1),\n"
        f"D,2025-01-01,,,,{'x' * 61}\n"
        "E,2025-01-01,Sales call,Critical / blocker,https://gong.example/call/1,\n"
    )
    report = run_import(world, data)
    assert errors_of(report) == [(2, "source"), (3, "importance"), (4, "url"), (5, "tags")]
    assert report.valid_rows == 1


def test_import__file_over_the_limit_is_refused_before_reading(world):
    report = run_import(world, b"text,date\n" + b"x,2025-01-01\n" * 100, max_bytes=500)
    assert report.fatal and "limit is" in report.errors[0].message
    with pytest.raises(importing.ImportRefused) as refused:
        importing.check_size(200 * 1024 * 1024, importing.ImportOptions())
    assert "The file is 200 MB;" in refused.value.report.errors[0].message
    assert "the limit is 50 MB" in refused.value.report.errors[0].message


def test_import__invalid_json_and_json_lines(world):
    report = run_import(world, '[{"text": "a", "received_at": "2025-01-01"},', filename="x.json")
    assert report.fatal and "line 1" in report.errors[0].message
    lines = '{"text": "a", "received_at": "2025-01-01"}\n{"text": oops}\n{"text": "c", "received_at": "2025-01-03"}\n'
    report = run_import(world, lines, filename="x.jsonl")
    assert errors_of(report) == [(2, None)] and report.row_unit == "line"
    report = run_import(world, lines, filename="x.jsonl", skip_invalid=True)
    assert report.created == 2


def test_import__generic_json_array_with_nested_keys(world, accounts):
    items = [
        {"id": 7, "text": "Approve from Slack", "date": "2025-01-05", "account": {"name": "Acme GmbH"}},
        {"id": 8, "text": "Teams too", "date": "2025-01-06", "account": {"name": "Initech"}},
    ]
    report = run_import(
        world, json.dumps(items), filename="x.json", mapping={"customer": "account.name", "received_at": "date"}
    )
    assert report.ok, report.as_text()
    assert dict(FeedbackItem.objects.values_list("external_id", "customer__name")) == {
        "7": "Acme GmbH",
        "8": "Initech",
    }


def test_preset_zendesk_csv(world, accounts):
    report = run_import(world, (FIXTURES / "zendesk_tickets.csv").read_bytes(), preset="zendesk")
    assert report.ok, report.as_text()
    assert report.created == 3 and "Votes" not in report.ignored_columns and "Priority" in report.ignored_columns
    item = FeedbackItem.objects.get(external_id="48213")
    assert item.source == "support" and item.title == "Dunning reminders sent twice"
    assert item.text.startswith("Hi team,\nour customers") and item.customer == accounts.acme
    assert item.contact == accounts.ada
    assert sorted(item.tags.values_list("name", flat=True)) == ["billing", "dunning", "zendesk"]
    assert FeedbackItem.objects.get(external_id="48215").customer is None  # no organisation, unknown email


def test_preset_zendesk_json_lines(world, accounts):
    report = run_import(
        world, (FIXTURES / "zendesk_tickets.jsonl").read_bytes(), preset="zendesk", filename="tickets.json"
    )
    assert report.ok and report.format == "jsonl", report.as_text()
    item = FeedbackItem.objects.get(external_id="48214")
    assert item.customer == accounts.globex and item.contact == accounts.gus
    assert item.url.endswith("48214.json")
    # the same tickets from the CSV export are the same items: nothing new
    again = run_import(world, (FIXTURES / "zendesk_tickets.csv").read_bytes(), preset="zendesk")
    assert again.unchanged == 2 and again.created == 1


def test_preset_intercom_json_strips_html_and_reads_epoch_dates(world, accounts):
    report = run_import(
        world, (FIXTURES / "intercom_conversations.json").read_bytes(), preset="intercom", filename="conversations.json"
    )
    assert report.ok, report.as_text()
    first = FeedbackItem.objects.get(external_id="1911149811")
    assert first.source == "in_app" and "<" not in first.text
    assert first.text == "Hi! The receipt scanner freezes since the iOS update.\nCan you add a flash toggle?"
    assert first.received_at == dt.datetime.fromtimestamp(1741000000, tz=dt.UTC)
    assert first.contact == accounts.ada and first.customer == accounts.acme
    assert sorted(first.tags.values_list("name", flat=True)) == ["intercom", "mobile", "receipts"]
    second = FeedbackItem.objects.get(external_id="1911149812")
    assert second.title == "Webhooks" and second.text == "Webhook retries & a replay button, please."


def test_preset_intercom_csv_matches_first_known_company(world, accounts):
    report = run_import(world, (FIXTURES / "intercom_conversations.csv").read_bytes(), preset="intercom")
    assert report.ok, report.as_text()
    assert FeedbackItem.objects.get(external_id="1911149811").customer == accounts.acme
    assert sorted(FeedbackItem.objects.get(external_id="1911149812").tags.values_list("name", flat=True)) == [
        "api",
        "intercom",
        "webhooks",
    ]


def test_preset_canny_posts_use_the_title_when_details_are_empty(world, accounts):
    report = run_import(world, (FIXTURES / "canny_posts.csv").read_bytes(), preset="canny")
    assert report.ok, report.as_text()
    sepa = FeedbackItem.objects.get(external_id="64a1f0c2e4b0a1b2c3d4e5f7")
    assert sepa.text == "SEPA direct debit" and sepa.customer == accounts.globex
    assert sepa.url.startswith("https://ledgerly.canny.io/")
    assert set(report.ignored_columns) >= {"Votes", "Board", "Status"}


def test_import_command__prints_report_and_fails_without_writing(world, tmp_path, accounts):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "T-1,,Fine,2025-03-01,CUST-1,,\nT-2,,Bad,not a date,CUST-1,,\n")
    err = StringIO()
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_feedback", str(bad), "--workspace", world.ws_a.slug, stderr=err)
    assert "row 3 · received_at" in err.getvalue()
    assert not FeedbackItem.objects.exists()
    out = StringIO()
    call_command("import_feedback", str(bad), "--workspace", world.ws_a.slug, "--skip-invalid", stdout=out)
    assert "1 created" in out.getvalue()
    assert FeedbackItem.objects.get().external_id == "T-1"


def test_import_command__refuses_a_200_mb_file_without_reading_it(world, tmp_path):
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:  # sparse: costs no disk
        handle.truncate(200 * 1024 * 1024)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_feedback", str(huge), "--workspace", world.ws_a.slug, stderr=err)
    assert "200 MB" in err.getvalue() and "limit is 50 MB" in err.getvalue()


def test_import_command__is_wired_as_a_management_command():
    result = subprocess.run(
        [sys.executable, "-m", "django", "help", "import_feedback", "--settings=valueloop.settings"],
        capture_output=True,
        text=True,
        env={"VALUELOOP_MODE": "test", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--skip-invalid" in result.stdout
