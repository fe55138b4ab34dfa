"""core.importing.encoding: UTF-8 first, detection otherwise, an explicit choice overrides, nothing replaced."""

from __future__ import annotations

import pytest

from valueloop.core.importing import ImportRefused
from valueloop.core.importing.encoding import decode

TEXT = "name,note\nCafé Noir,Müller – “quoted” 5 €\n"


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (TEXT.encode(), "UTF-8"),
        (TEXT.encode("utf-8-sig"), "UTF-8 with BOM"),
        (TEXT.encode("cp1252"), "Windows-1252 (detected)"),
        (TEXT.encode("utf-16"), "UTF-16 with BOM"),
        (TEXT.encode("utf-32"), "UTF-32 with BOM"),
    ],
)
def test_decode__reads_each_encoding_and_names_it(data, label):
    decoded = decode(data)
    assert (decoded.text, decoded.label) == (TEXT, label)


def test_decode__latin1_and_other_legacy_encodings_are_detected():
    assert decode("name\nCafé\n".encode("latin-1")).text == "name\nCafé\n"
    cyrillic = "имя\nПривет мир, как дела\n"
    assert (decode(cyrillic.encode("cp1251")).text, decode(cyrillic.encode("cp1251")).label) == (
        cyrillic,
        "Windows-1251 (detected)",
    )
    polish = "imię\nZażółć gęślą jaźń\n"
    assert decode(polish.encode("cp1250")).text == polish
    czech = "jméno\nPříliš žluťoučký kůň úpěl ďábelské ódy\n"
    assert decode(czech.encode("cp1250")).label == "Windows-1250 (detected)"
    # French scores the same in Windows-1250 and -1252; read as 1250 it would say "Trčs bien"
    french = "Score;Comments\n9;Très bien\n3;Café crème à la française\n"
    assert (decode(french.encode("cp1252")).text, decode(french.encode("cp1252")).label) == (
        french,
        "Windows-1252 (detected)",
    )


def test_decode__an_explicit_choice_overrides_detection():
    data = "name\nCafé\n".encode("cp1252")
    assert decode(data, "Windows-1252").label == "Windows-1252"
    # chosen UTF-8 for a file that is not: refused naming the byte and line, not detected past the choice
    with pytest.raises(ImportRefused) as exc:
        decode(data, "utf-8")
    assert "byte 0xE9 at byte offset 8 (line 2)" in exc.value.message
    with pytest.raises(ImportRefused) as exc:
        decode(data, "klingon")
    assert set(exc.value.fields) == {"encoding"}


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ("naïve,\n".encode() + "café".encode("cp1252"), "mixes encodings: UTF-8 text at byte offset 2 (line 1)"),
        (b"name\nAcme\x00Corp\n", "NUL byte at byte offset 9 (line 2)"),
        (b"name\n" + bytes(range(0x80, 0x100)) * 4, "byte 0x80 at byte offset 5 (line 2)"),
    ],
)
def test_decode__refuses_what_it_cannot_read_naming_byte_and_line(data, needle):
    with pytest.raises(ImportRefused) as exc:
        decode(data, field="csv")
    assert needle in exc.value.message and set(exc.value.fields) == {"csv"}
