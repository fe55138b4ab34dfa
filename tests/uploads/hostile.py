"""A small corpus of hostile upload files, generated at test time (nothing large is kept in git).

``build(directory)`` writes each file and returns {file name: bytes}. Run ``python -m tests.uploads.hostile DIR``
to write them out for a manual try against a running server.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def _parquet(table: pa.Table, **options) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


def corpus() -> dict[str, bytes]:
    rows = "type,timestamp,text,score,date,kind,feature,respondent,functional,dysfunctional,name\n"
    row = "purchase,2026-01-01T00:00:00Z,x,9,2026-01-01,nps,1,r1,like,dislike,N\n"
    return {
        # JSON nested 5,000 deep (as an array and as an object), and as a .csv to every CSV importer
        "deep.json": b"[" * 5000 + b"]" * 5000,
        "deep-object.json": b'{"text":' * 5000 + b'"x"' + b"}" * 5000,
        "deep.csv": b"[" * 5000 + b"]" * 5000,
        # huge declared sizes: an integer of 100,000 digits; Parquet declaring 20 MB of plain strings in a few KB;
        # Parquet whose dictionary of one 1,000-character string expands over 50,000 rows (issue 10 item 1)
        "huge-number.json": b'[{"text": ' + b"9" * 100_000 + b"}]",
        "declared-20mb.parquet": _parquet(
            pa.table({"type": ["y" * 10_000] * 2000, "timestamp": ["2026-01-01T00:00:00Z"] * 2000}),
            use_dictionary=False,
            compression="zstd",
        ),
        "dictionary-bomb.parquet": _parquet(
            pa.table(
                {
                    "type": pa.DictionaryArray.from_arrays(pa.array([0] * 50_000, pa.int32()), pa.array(["x" * 1000])),
                    "timestamp": pa.array(["2026-01-01T00:00:00Z"] * 50_000),
                }
            ),
            use_dictionary=True,
            compression="zstd",
        ),
        # wrong magic bytes: a PNG under every extension an importer accepts
        "image.parquet": PNG,
        "image.csv": PNG,
        "image.json": PNG,
        "PAR1-but-not.parquet": b"PAR1" + b"\x00" * 64 + b"PAR1",
        # NUL bytes inside otherwise plain CSV and JSON
        "nul.csv": (rows + row.replace(",x,", ",hello\x00world,")).encode(),
        "nul.json": b'[{"text": "hello\x00world"}]',
        # mixed encodings: a UTF-8 row and a Windows-1252 row in one file; UTF-16 without its BOM (UTF-16 *with*
        # a BOM is read, as every importer reads it: tests/test_importers_encoding.py)
        "mixed.csv": rows.encode()
        + "purchase,2026-01-01T00:00:00Z,Très bien,9,2026-01-01,nps,1,r1,like,dislike,Zoë\n".encode()
        + "purchase,2026-01-02T00:00:00Z,café,8,2026-01-02,nps,1,r2,like,dislike,Renée\n".encode("cp1252"),
        "utf16-no-bom.csv": (rows + row).encode("utf-16-le"),
        # empty files
        "empty.csv": b"",
        "empty.json": b"",
        "empty.parquet": b"",
        # a CSV with one 10 MB field, and one line of two million delimiters
        "field-10mb.csv": b'text,name\n"' + b"x" * (10 * 1024 * 1024) + b'",N\n',
        "delimiters.csv": b"text\n" + b"," * 2_000_000 + b"\n",
    }


def build(directory: Path) -> dict[str, bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    files = corpus()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return files


if __name__ == "__main__":
    written = build(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile"))
    print(f"{len(written)} files")
