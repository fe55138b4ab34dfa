"""The CSV importer: every bad input of the issue gets a report naming rows and fields, nothing is
written unless the caller skips bad rows, re-imports change nothing, CRM presets map real exports."""

from __future__ import annotations

import io
import time
from decimal import Decimal
from pathlib import Path

import pytest

from valueloop.core.errors import PermissionDenied
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.customers import importing, services
from valueloop.customers.importing import ImportInvalid, ImportRefused, import_csv
from valueloop.customers.models import Contact, Customer

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = "external_id,name,arr,arr_currency,lifecycle,renewal_date,segment\n"


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(r + "\n" for r in rows)).encode()


def problems(report_or_exc) -> list[tuple]:
    report = getattr(report_or_exc, "report", report_or_exc)
    return [(p.row, p.field) for p in report.problems]


def run(world, data: bytes, **kwargs):
    return import_csv(actor=world.actor_a, data=data, **kwargs)


# --- the happy path, idempotency, update in place ---------------------------------------------


def test_import_csv__creates_accounts_with_arr_in_workspace_currency(world):
    report = run(world, csv_bytes('A1,Acme,"12,500.00",,customer,2026-03-31,SMB', "A2,Beta Corp,900,,trial,,"))
    assert (report.created, report.updated, report.unchanged, report.written) == (2, 0, 0, True)
    acme = Customer.objects.get(workspace=world.ws_a, external_id="A1")
    assert acme.arr == Decimal("12500.00") and acme.arr_currency == "USD" and acme.arr_base == Decimal("12500.00")
    assert acme.segment == "smb" and str(acme.renewal_date) == "2026-03-31"
    # one audit record per account plus one summary record
    assert AuditEvent.objects.filter(workspace=world.ws_a, entity_type="customer", action="created").count() == 2
    summary = AuditEvent.objects.get(workspace=world.ws_a, entity_type="customer_import")
    assert summary.changes["created"] == [None, 2]


def test_import_csv__reimporting_the_same_file_changes_nothing(world):
    data = csv_bytes("A1,Acme,12500,,customer,2026-03-31,smb", "A2,Beta Corp,900,,trial,,")
    run(world, data)
    before = list(Customer.objects.filter(workspace=world.ws_a).values_list("id", "version", "updated_at"))
    audits = AuditEvent.objects.filter(entity_type="customer").count()
    report = run(world, data)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert list(Customer.objects.filter(workspace=world.ws_a).values_list("id", "version", "updated_at")) == before
    assert AuditEvent.objects.filter(entity_type="customer").count() == audits


def test_import_csv__updates_in_place_by_external_id(world):
    run(world, csv_bytes("A1,Acme,12500,,customer,,smb"))
    customer = Customer.objects.get(external_id="A1")
    report = run(world, csv_bytes("A1,Acme Renamed,13000,,customer,,smb"))
    assert (report.created, report.updated) == (0, 1)
    customer.refresh_from_db()
    assert (customer.name, customer.arr, customer.version) == ("Acme Renamed", Decimal("13000.00"), 2)
    event = AuditEvent.objects.filter(entity_type="customer", entity_id=customer.pk, action="updated").get()
    assert event.changes["name"] == ["Acme", "Acme Renamed"]


def test_import_csv__adopts_a_hand_made_account_of_the_same_name(world):
    made = services.customer_create(actor=world.actor_a, name="Acme")
    report = run(world, csv_bytes("A1,acme,100,,customer,,"))
    assert (report.created, report.updated) == (0, 1)
    made.refresh_from_db()
    assert made.external_id == "A1"


def test_import_csv__dry_run_counts_and_writes_nothing(world):
    report = run(world, csv_bytes("A1,Acme,100,,customer,,"), dry_run=True)
    assert (report.created, report.written, report.dry_run) == (1, False, True)
    assert not Customer.objects.exists()


def test_import_csv__needs_the_write_scope(world):
    with pytest.raises(PermissionDenied):
        import_csv(actor=world.actor(Role.CONTRIBUTOR), data=csv_bytes("A1,Acme,100,,customer,,"))


# --- every bad input names its row and field --------------------------------------------------


def test_import_csv__windows_1252_is_detected_and_a_wrong_explicit_choice_names_byte_and_line(world):
    data = csv_bytes("A1,Acme,100,,customer,,", "A2,Caf\u00e9 Noir,100,,customer,,").replace(
        "Café".encode(), b"Caf\xe9"
    )
    offset = data.index(b"\xe9")
    # chosen UTF-8 explicitly: the choice holds, and the refusal names the byte and its line
    with pytest.raises(ImportRefused) as exc:
        run(world, data, encoding="utf-8")
    assert f"byte offset {offset}" in exc.value.message and "(line 3)" in exc.value.message
    assert not Customer.objects.exists()
    # by default the encoding is detected, and the report says which was used
    report = run(world, data)
    assert (report.created, report.encoding) == (2, "Windows-1252 (detected)")
    assert Customer.objects.filter(name="Café Noir").exists()


def test_import_csv__a_file_mixing_encodings_is_refused_naming_both(world):
    data = "name\nMüller\n".encode() + "Café\n".encode("cp1252")
    with pytest.raises(ImportRefused) as exc:
        run(world, data)
    assert "mixes encodings" in exc.value.message and "(line 2)" in exc.value.message
    assert "byte 0xE9 at byte offset 16 (line 3)" in exc.value.message
    assert not Customer.objects.exists()


def test_import_csv__accepts_utf8_with_bom_and_semicolons(world):
    data = "\ufeffexternal_id;name;arr\nA1;Müller GmbH;12.500,50\n".encode()
    report = run(world, data)
    assert (report.encoding, report.delimiter, report.created) == ("UTF-8 with BOM", ";", 1)
    assert Customer.objects.get(external_id="A1").arr == Decimal("12500.50")


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"n\x00a\x00", "UTF-16 without a byte-order mark"),
        (b"PK\x03\x04rest-of-a-zip", "Excel workbook"),
        (b"name\nAcme\x00Corp\n", "NUL byte at byte offset 9 (line 2)"),
        (b"   \n", "empty"),
    ],
)
def test_import_csv__refuses_what_is_not_csv_text(world, data, needle):
    with pytest.raises(ImportRefused) as exc:
        run(world, data)
    assert needle in exc.value.message


def test_import_csv__missing_required_column_is_a_file_problem(world):
    data = csv_bytes("A1,100", header="external_id,arr\n")
    with pytest.raises(ImportInvalid) as exc:
        run(world, data)
    assert (None, "name") in problems(exc.value)
    assert "required column for Name is missing" in exc.value.report.problems[0].message
    # skipping invalid rows cannot skip a missing column
    with pytest.raises(ImportInvalid):
        run(world, data, skip_invalid=True)
    assert not Customer.objects.exists()


def test_import_csv__extra_columns_are_reported_as_ignored(world):
    data = csv_bytes("A1,Acme,100,Retail,42", header="external_id,name,arr,Industry,Employees\n")
    report = run(world, data)
    assert report.ignored_columns == ["Industry", "Employees"]
    assert report.created == 1


def test_import_csv__mapping_to_a_column_that_is_not_there(world):
    with pytest.raises(ImportInvalid) as exc:
        run(world, csv_bytes("A1,Acme,100,,customer,,"), mapping={"region": "Country"})
    assert (None, "region") in problems(exc.value)
    assert "'Country' is not in the file" in str(exc.value.report.problems[0])


def test_import_csv__unparseable_dates_name_row_and_field(world):
    data = csv_bytes("A1,Acme,100,,customer,2026-03-31,", "A2,Beta,100,,customer,31/31/2026,", "A3,Gamma,1,,,soon,")
    with pytest.raises(ImportInvalid) as exc:
        run(world, data)
    assert problems(exc.value) == [(3, "renewal_date"), (4, "renewal_date")]
    assert "cannot read '31/31/2026' as a date" in exc.value.report.problems[0].message
    assert exc.value.report.problems[0].column == "renewal_date"
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-31", "2026-03-31"),
        ("2026-03-31T10:00:00Z", "2026-03-31"),
        ("31.03.2026", "2026-03-31"),
        ("31 Mar 2026", "2026-03-31"),
        ("March 31, 2026", "2026-03-31"),
        ("31-Mar-26", "2026-03-31"),
    ],
)
def test_parse_date__common_formats(value, expected):
    assert importing.parse_date(value).isoformat() == expected


def test_import_csv__detects_day_first_and_month_first_dates(world):
    run(world, csv_bytes("A1,Acme,1,,,04/03/2026,", "A2,Beta,1,,,25/12/2026,"))
    assert str(Customer.objects.get(external_id="A1").renewal_date) == "2026-03-04"
    report = run(world, csv_bytes("B1,Gamma,1,,,04/03/2026,", "B2,Delta,1,,,12/25/2026,"))
    assert report.date_order == "mdy"
    assert str(Customer.objects.get(external_id="B1").renewal_date) == "2026-04-03"


def test_import_csv__negative_and_invalid_arr(world):
    data = csv_bytes("A1,Acme,-500,,,,", "A2,Beta,(1200),,,,", "A3,Gamma,lots,,,,", 'A4,Delta,"1,000",,,,')
    with pytest.raises(ImportInvalid) as exc:
        run(world, data)
    assert problems(exc.value) == [(2, "arr"), (3, "arr"), (4, "arr")]
    assert "ARR cannot be negative (-500)" in exc.value.report.problems[0].message
    assert "'lots' is not a number" in exc.value.report.problems[2].message


def test_import_csv__unknown_currency_and_missing_rate(world):
    data = csv_bytes("A1,Acme,100,XYZ,,,", "A2,Beta,100,GBP,,,", "A3,Gamma,£200,,,,")
    with pytest.raises(ImportInvalid) as exc:
        run(world, data)
    assert problems(exc.value) == [(2, "arr_currency"), (3, "arr_currency"), (4, "arr_currency")]
    assert "unknown currency 'XYZ'" in exc.value.report.problems[0].message
    assert exc.value.report.problems[1].message == "no exchange rate for GBP; add one in Customers › Currencies"
    services.currency_rate_set(actor=world.actor_a, currency="GBP", rate="1.25")
    report = run(world, csv_bytes("A2,Beta,100,GBP,,,", "A3,Gamma,£200,,,,"))
    assert report.created == 2
    assert Customer.objects.get(external_id="A3").arr_base == Decimal("250.00")


def test_import_csv__unknown_lifecycle_segment_and_synonyms(world):
    data = csv_bytes("A1,Acme,1,,Closed Won Maybe,,", "A2,Beta,1,,Former customer,,Mid Market", "A3,C,1,,,,Huge")
    with pytest.raises(ImportInvalid) as exc:
        run(world, data)
    assert problems(exc.value) == [(2, "lifecycle"), (4, "segment")]
    report = run(world, data, skip_invalid=True)
    assert report.created == 1
    beta = Customer.objects.get(external_id="A2")
    assert (beta.lifecycle, beta.segment) == ("churned", "mid_market")


def test_import_csv__duplicate_external_ids_inside_one_file(world):
    data = csv_bytes("A1,Acme,1,,,,", "A2,Beta,1,,,,", "A1,Acme again,2,,,,")
    with pytest.raises(ImportInvalid) as exc:
        run(world, data)
    assert problems(exc.value) == [(2, "external_id"), (4, "external_id")]
    assert "duplicate external id 'A1' in this file (rows 2, 4)" in exc.value.report.problems[0].message
    assert not Customer.objects.exists()


def test_import_csv__owner_must_be_a_member(world):
    header = "external_id,name,owner\n"
    data = csv_bytes("A1,Acme,admin@a.test", "A2,Beta,admin@b.test", "A3,Gamma,Admin A", header=header)
    with pytest.raises(ImportInvalid) as exc:
        run(world, data)
    assert problems(exc.value) == [(3, "owner")]
    assert "is not a member of this workspace" in exc.value.report.problems[0].message


def test_import_csv__row_with_more_cells_than_the_header(world):
    with pytest.raises(ImportInvalid) as exc:
        run(world, csv_bytes("A1,Acme,1,,,,,surprise"))
    assert problems(exc.value) == [(2, "")]
    assert "8 cells but the header has 7 columns" in exc.value.report.problems[0].message


def test_import_csv__all_or_nothing_by_default_skip_invalid_writes_the_valid_rows(world):
    data = csv_bytes("A1,Acme,1,,,,", "A2,Beta,-1,,,,", "A3,Gamma,3,,,,")
    with pytest.raises(ImportInvalid) as exc:
        run(world, data)
    assert exc.value.report.invalid_rows == 1 and exc.value.report.valid_rows == 2
    assert "nothing was imported" in exc.value.message
    assert exc.value.fields == {"row 3: arr": "ARR cannot be negative (-1)"}
    assert not Customer.objects.exists()
    assert not AuditEvent.objects.filter(entity_type__in=["customer", "customer_import"]).exists()
    report = run(world, data, skip_invalid=True)
    assert (report.created, report.skipped) == (2, 1)
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["A1", "A3"]


def test_import_csv__refuses_a_file_over_the_limit_without_reading_it(world, settings):
    settings.CUSTOMER_IMPORT_MAX_BYTES = 1000

    class Huge:
        size = 200 * 1024 * 1024

        def read(self, n=-1):
            raise AssertionError("a file over the limit must not be read")

    with pytest.raises(ImportRefused) as exc:
        importing.read_limited(Huge())
    assert "The file is 200 MB; the limit is 1000 bytes" in exc.value.message
    # a stream without a size is cut off after limit + 1 bytes
    stream = io.BytesIO(b"x" * 5000)
    with pytest.raises(ImportRefused):
        importing.read_limited(stream)
    assert stream.tell() == 1001
    with pytest.raises(ImportRefused):
        run(world, b"name\n" + b"a" * 2000)


# --- contacts ---------------------------------------------------------------------------------


def test_import_csv__contacts_link_to_accounts_and_report_unknown_customers(world):
    run(world, csv_bytes("A1,Acme,1,,,,"))
    header = "external_id,first_name,last_name,email,account_external_id\n"
    data = csv_bytes("C1,Ada,Lovelace,ada@acme.test,A1", "C2,Bob,Stone,bob@nowhere.test,A9", header=header)
    with pytest.raises(ImportInvalid) as exc:
        run(world, data, kind="contacts")
    assert problems(exc.value) == [(3, "account_external_id")]
    assert "unknown customer: no account has the external id 'A9'" in exc.value.report.problems[0].message
    report = run(world, data, kind="contacts", skip_invalid=True)
    assert report.created == 1
    ada = Contact.objects.get(external_id="C1")
    assert (ada.name, ada.customer.external_id) == ("Ada Lovelace", "A1")


def test_import_csv__contacts_need_an_email_or_id_and_a_valid_email(world):
    header = "external_id,name,email\n"
    data = csv_bytes(
        ",Nobody,", "C2,Bad Mail,not-an-email", "C3,Dup,dup@x.test", "C4,Dup Two,dup@x.test", header=header
    )
    with pytest.raises(ImportInvalid) as exc:
        run(world, data, kind="contacts")
    assert problems(exc.value) == [(2, "email"), (3, "email"), (4, "email"), (5, "email")]


def test_import_csv__contacts_unsubscribe_but_never_resubscribe(world):
    header = "external_id,email,unsubscribed\n"
    run(world, csv_bytes("C1,a@x.test,yes", "C2,b@x.test,no", header=header), kind="contacts")
    a, b = Contact.objects.get(external_id="C1"), Contact.objects.get(external_id="C2")
    assert a.unsubscribed_at is not None and b.unsubscribed_at is None
    report = run(world, csv_bytes("C1,a@x.test,no", "C2,b@x.test,no", header=header), kind="contacts")
    assert report.unchanged == 2
    a.refresh_from_db()
    assert a.unsubscribed_at is not None


# --- CRM presets on realistic exports ---------------------------------------------------------


def test_import_csv__salesforce_accounts_and_contacts(world):
    services.currency_rate_set(actor=world.actor_a, currency="EUR", rate="1.10")
    services.currency_rate_set(actor=world.actor_a, currency="GBP", rate="1.30")
    data = (FIXTURES / "salesforce_accounts.csv").read_bytes()
    report = run(world, data)  # preset detected from the header
    assert report.preset == "salesforce"
    assert report.mapping["external_id"] == "Account ID" and report.mapping["arr"] == "Annual Revenue"
    assert report.mapping["arr_currency"] == "Annual Revenue Currency"
    assert report.mapping["lifecycle"] == "Type" and report.mapping["owner"] == "Account Owner"
    assert set(report.ignored_columns) == {"Industry", "Last Modified Date"}
    assert (report.created, report.date_order) == (4, "mdy")
    acme = Customer.objects.get(external_id="0015g00000AbCdEAA3")
    assert (acme.domain, acme.lifecycle, acme.region) == ("acme-logistics.de", "customer", "Germany")
    assert (acme.arr, acme.arr_currency, acme.arr_base) == (Decimal("120000.00"), "EUR", Decimal("132000.00"))
    assert str(acme.renewal_date) == "2027-03-31" and acme.owner == world.users[Role.ADMIN]
    brightline = Customer.objects.get(name="Brightline Foods Ltd")
    assert (brightline.arr_base, brightline.lifecycle) == (Decimal("59150.00"), "customer")
    assert Customer.objects.get(name="Crescent Health Inc.").lifecycle == "prospect"
    assert run(world, data, preset="salesforce").unchanged == 4

    report = run(world, (FIXTURES / "salesforce_contacts.csv").read_bytes(), kind="contacts")
    assert report.preset == "salesforce" and report.created == 3
    assert report.mapping["account_external_id"] == "Account ID"
    tom = Contact.objects.get(email="tom.smith@brightlinefoods.co.uk")
    assert (tom.name, tom.title, tom.customer, tom.unsubscribed_at is not None) == (
        "Tom Smith",
        "CFO",
        brightline,
        True,
    )


def test_import_csv__hubspot_companies_and_contacts(world):
    data = (FIXTURES / "hubspot_companies.csv").read_bytes()
    report = run(world, data, preset="hubspot")
    assert report.mapping["external_id"] == "Record ID" and report.mapping["domain"] == "Company Domain Name"
    assert report.mapping["region"] == "Country/Region" and report.mapping["lifecycle"] == "Lifecycle Stage"
    assert report.created == 4
    granite = Customer.objects.get(external_id="9876543212")
    assert (granite.lifecycle, granite.arr, granite.region) == ("customer", Decimal("1200000.00"), "France")
    assert Customer.objects.get(external_id="9876543211").lifecycle == "prospect"  # Opportunity
    assert Customer.objects.get(external_id="9876543211").arr == Decimal("0")  # empty ARR on a new account
    assert detect(data) == "hubspot"

    contacts = (FIXTURES / "hubspot_contacts.csv").read_bytes()
    report = run(world, contacts, kind="contacts")
    assert report.preset == "hubspot" and report.created == 3
    assert "Lifecycle Stage" in report.ignored_columns
    omar = Contact.objects.get(external_id="502")
    assert (omar.customer, omar.unsubscribed_at is not None) == (granite, True)
    assert run(world, contacts, kind="contacts").unchanged == 3


def detect(data: bytes) -> str:
    header = data.decode().splitlines()[0].split(",")
    return importing.detect_preset("accounts", header)


# --- speed ------------------------------------------------------------------------------------


def test_import_csv__ten_thousand_accounts_in_a_few_seconds(world, capsys):
    rows = [f"X{i:05d},Account {i:05d},{1000 + i},,customer,2026-0{1 + i % 9}-1{i % 10},smb" for i in range(10_000)]
    data = csv_bytes(*rows)
    started = time.perf_counter()
    report = run(world, data)
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = run(world, data)
    second = time.perf_counter() - started
    assert (report.created, again.unchanged) == (10_000, 10_000)
    assert Customer.objects.filter(workspace=world.ws_a).count() == 10_000
    with capsys.disabled():
        print(f"\n10,000 accounts: import {first:.2f}s, idempotent re-import {second:.2f}s")
    assert first < 30 and second < 30


def test_import_csv__a_concurrent_write_is_a_conflict_not_a_crash(world, monkeypatch):
    from django.db import IntegrityError

    from valueloop.core.errors import Conflict

    def clash(*args):
        Customer.objects.create(workspace=world.ws_a, name="Half written", external_id="A1")
        raise IntegrityError("UNIQUE constraint failed")

    monkeypatch.setattr(importing, "_write", clash)
    with pytest.raises(Conflict) as exc:
        run(world, csv_bytes("A1,Acme,1,,,,"))
    assert exc.value.code == "import_conflict"
    assert not Customer.objects.exists()  # the partial write was rolled back


def test_import_csv__arr_too_large_once_converted(world):
    services.currency_rate_set(actor=world.actor_a, currency="JPY", rate="1000")
    with pytest.raises(ImportInvalid) as exc:
        run(world, csv_bytes("A1,Acme,99999999999999,JPY,,,"))
    assert problems(exc.value) == [(2, "arr")]
