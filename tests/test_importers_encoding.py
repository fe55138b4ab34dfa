"""The five importers decode by the one encoding policy (core.importing.encoding): the same bytes read the same
way everywhere, and a file that cannot be read is refused everywhere, naming the byte and its line."""

from __future__ import annotations

import pytest

from valueloop.core.importing import ImportRefused
from valueloop.customers.importing import import_csv
from valueloop.customers.models import Customer
from valueloop.events import files as event_files
from valueloop.feedback import importing as feedback_importing
from valueloop.feedback import services as feedback_services
from valueloop.feedback.models import FeedbackItem
from valueloop.planning.kano import read_kano_csv
from valueloop.research.services import survey_import

VALUE = "Café crème Müller"  # in Windows-1252, Latin-1 and UTF-8 alike


def customers(world, encode):
    import_csv(actor=world.actor_a, data=encode(f"external_id,name\nA1,{VALUE}\n"))
    return Customer.objects.get(workspace=world.ws_a, external_id="A1").name


def feedback(world, encode):
    report = feedback_services.feedback_import(
        actor=world.actor_a,
        data=encode(f"text,date\n{VALUE},2025-01-01\n"),
        filename="feedback.csv",
        options=feedback_importing.ImportOptions(),
    )
    if report.fatal:  # feedback reports whole-file problems instead of raising
        raise ImportRefused(report.errors[0].message)
    return FeedbackItem.objects.get(workspace=world.ws_a).text


def surveys(world, encode):
    survey_import(
        actor=world.actor_a,
        data=encode(f"id,kind,score,comment,date\nr1,nps,9,{VALUE},2026-01-05\n"),
        allow_unknown_accounts=True,
    )
    return FeedbackItem.objects.get(workspace=world.ws_a).text


def kano(world, encode):
    result = read_kano_csv(
        encode(f"feature,respondent,functional,dysfunctional\n7,{VALUE},like,dislike\n"), {7: "Export"}, {"export": 7}
    )
    assert not result.problems
    return result.rows[0].respondent


def events(world, encode):
    _format, rows, _label = event_files.read(
        encode(f"type,user_id,timestamp\npurchase,{VALUE},2026-01-01T00:00:00Z\n"), "events.csv"
    )
    return rows[0]["user_id"]


IMPORTERS = [customers, feedback, surveys, kano, events]


@pytest.mark.parametrize("importer", IMPORTERS)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])
def test_every_importer_reads_every_encoding_alike(world, importer, encoding):
    assert importer(world, lambda text: text.encode(encoding)) == VALUE


def mixed(text: str) -> bytes:
    """The header in UTF-8 with a non-ASCII character, the rows in Windows-1252: two exports pasted together."""
    header, rest = text.split("\n", 1)
    return f"{header}\n".replace("\n", ",Ünused\n").encode() + rest.encode("cp1252")


@pytest.mark.parametrize("importer", IMPORTERS)
def test_every_importer_refuses_a_file_mixing_encodings_naming_byte_and_line(world, importer):
    with pytest.raises(ImportRefused) as exc:
        importer(world, mixed)
    assert "mixes encodings" in exc.value.message and "byte 0xE9 at byte offset" in exc.value.message
    assert "(line 2)" in exc.value.message
