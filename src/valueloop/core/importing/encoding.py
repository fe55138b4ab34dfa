"""The one encoding policy for imported text files (CSV, JSON, JSON lines).

Invariants:
- An explicit choice (``encoding="cp1252"``) overrides everything: the file is decoded with it, strictly, and a
  byte it cannot read is refused naming the byte, its offset and its line.
- Otherwise, in this order: a UTF-16/UTF-32 byte-order mark decodes with that encoding (Excel's "Unicode Text");
  a NUL byte without a BOM means a binary file and is refused; UTF-8 with or without a BOM is tried first
  (strictly); a file that holds UTF-8 sequences *and* bytes that are not UTF-8 mixes encodings (two exports
  pasted together) and is refused, because any one reading would garble part of it; anything else is
  detected with ``charset-normalizer`` among the legacy encodings spreadsheets export (Windows-125x,
  ISO-8859-1/15). When candidates tie, or read the bytes identically, Windows-1252 is chosen (it is what
  Excel writes for "CSV"); when none can read them, the refusal names the first byte that is not UTF-8.
- Nothing is replaced: no ``errors="replace"``, so a bad byte is never silently turned into "�".
- ``Decoded.label`` is shown to the user in the import report ("Windows-1252 (detected)"), so they can check
  the reading and re-import with an explicit choice.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from .reading import ImportRefused, line_of

# The encodings detection may pick. Restricting it matters: unrestricted, charset-normalizer reads a short
# Windows-1252 CSV ("name\nCafé\n") as cp1006 (Urdu), which no spreadsheet writes.
DETECTABLE = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257", "iso8859_15", "latin_1")

_NAMES = {
    "utf_8": "UTF-8",
    "utf_8_sig": "UTF-8 with BOM",
    "utf_16": "UTF-16",
    "utf_16_le": "UTF-16",
    "utf_16_be": "UTF-16",
    "utf_32": "UTF-32",
    "cp1252": "Windows-1252",
    "cp1250": "Windows-1250",
    "cp1251": "Windows-1251",
    "cp1253": "Windows-1253",
    "cp1254": "Windows-1254",
    "cp1257": "Windows-1257",
    "iso8859_15": "ISO-8859-15",
    "latin_1": "Latin-1 (ISO-8859-1)",
}

_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf_32", "UTF-32 with BOM"),
    (codecs.BOM_UTF32_BE, "utf_32", "UTF-32 with BOM"),
    (codecs.BOM_UTF16_LE, "utf_16", "UTF-16 with BOM"),
    (codecs.BOM_UTF16_BE, "utf_16", "UTF-16 with BOM"),
)

# A UTF-8 lead byte with its continuation bytes: in a file that is not UTF-8 these are mojibake in the making.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")

UTF8_ADVICE = "Save it as UTF-8 (in Excel: “CSV UTF-8”), or import it again choosing its encoding."


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the Python codec name used ("utf_8", "cp1252")
    label: str  # what the report shows ("UTF-8 with BOM", "Windows-1252 (detected)")
    detected: bool = False


def codec_name(encoding: str, *, field: str = "encoding") -> str:
    """The normalised codec name of a user's choice ("Windows-1252" -> "cp1252"); an unknown name is refused
    naming the form field."""
    try:
        return codecs.lookup(encoding.strip()).name.replace("-", "_")
    except (LookupError, AttributeError):
        message = f"Unknown encoding {encoding!r}; choose UTF-8, Windows-1252 or leave it to detection."
        raise ImportRefused(message, fields={field: message}) from None


def label_of(encoding: str) -> str:
    name = encoding.replace("-", "_")
    return _NAMES.get(name, name.replace("_", "-").upper())


class EncodingRefused(ImportRefused):
    """The bytes cannot be read as text; ``line`` is where (1-based), for reports that list problems by row."""

    def __init__(self, message: str, *, line: int, field: str = "file"):
        super().__init__(message, field=field)
        self.line = line


def _cannot_read(data: bytes, offset: int, what: str, advice: str, field: str) -> EncodingRefused:
    line = line_of(data, offset)
    return EncodingRefused(
        f"The file is not valid {what}: byte 0x{data[offset]:02X} at byte offset {offset} "
        f"(line {line}) cannot be read. {advice}",
        line=line,
        field=field,
    )


def _strict(data: bytes, encoding: str, *, skip: int, advice: str, field: str) -> str:
    try:
        return data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        raise _cannot_read(data, exc.start + skip, label_of(encoding), advice, field) from None


def decode(data: bytes, encoding: str | None = None, *, field: str = "file", advice: str = UTF8_ADVICE) -> Decoded:
    """Decode an uploaded text file by the policy above; every refusal is an ``ImportRefused`` naming the byte
    offset and line (``field`` names the form field refused, ``advice`` ends the message)."""
    if encoding and encoding.strip().lower() not in ("", "auto"):
        name = codec_name(encoding)
        skip = 0
        if name in ("utf_8", "utf_8_sig") and data.startswith(codecs.BOM_UTF8):
            name, skip = "utf_8", len(codecs.BOM_UTF8)
        text = _strict(data, name, skip=skip, advice=advice, field=field)
        return Decoded(text.removeprefix("\ufeff"), name, label_of(name) + (" with BOM" if skip else ""))
    for bom, name, label in _BOMS:
        if data.startswith(bom):
            return Decoded(_strict(data, name, skip=0, advice=advice, field=field).removeprefix("\ufeff"), name, label)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise EncodingRefused(
            f"The file contains a NUL byte at byte offset {nul} (line {line_of(data, nul)}): it is binary (or "
            "UTF-16 without a byte-order mark), not text.",
            line=line_of(data, nul),
            field=field,
        )
    bom = data.startswith(codecs.BOM_UTF8)
    skip = len(codecs.BOM_UTF8) if bom else 0
    try:
        return Decoded(data[skip:].decode("utf-8"), "utf_8", "UTF-8 with BOM" if bom else "UTF-8")
    except UnicodeDecodeError as exc:
        bad = exc.start + skip
    mixed = _UTF8_SEQUENCE.search(data)
    if mixed:
        raise EncodingRefused(
            f"The file mixes encodings: UTF-8 text at byte offset {mixed.start()} (line {line_of(data, mixed.start())})"
            f" and byte 0x{data[bad]:02X} at byte offset {bad} (line {line_of(data, bad)}), which is not UTF-8. "
            "Save the whole file as UTF-8.",
            line=line_of(data, bad),
            field=field,
        )
    name = _detect(data)
    if name is None:
        raise _cannot_read(data, bad, "UTF-8 and its encoding cannot be detected", advice, field)
    text = _strict(data, name, skip=0, advice=advice, field=field)
    return Decoded(text, name, f"{label_of(name)} (detected)", detected=True)


def _detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes  # imported here: only files that are not UTF-8 need it

    matches = from_bytes(data, cp_isolation=list(DETECTABLE))
    best = matches.best()
    if best is None:
        return None
    # A short Western file scores the same in Windows-1250 and Windows-1252 ("Très bien" is "Trčs bien" in
    # 1250): on a tie, or when 1252 reads the bytes identically, name the one Excel writes for "CSV".
    tied = {
        m.encoding
        for m in matches
        if (m.percent_chaos, m.percent_coherence) == (best.percent_chaos, best.percent_coherence)
    }
    if "cp1252" in tied:
        return "cp1252"
    try:
        if data.decode("cp1252") == str(best):
            return "cp1252"
    except UnicodeDecodeError:
        pass
    return best.encoding.replace("-", "_")
