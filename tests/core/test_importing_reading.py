"""core.importing.reading: every limit refuses with an ImportRefused naming it, before the data is expanded."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from valueloop.core.importing import ImportRefused, UploadLimits, human_size, reading


def refused(call, *args, **kwargs) -> ImportRefused:
    with pytest.raises(ImportRefused) as exc:
        result = call(*args, **kwargs)
        if hasattr(result, "__next__"):
            list(result)
    return exc.value


def parquet(table: pa.Table, **options) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


def test_human_size__one_format():
    assert [human_size(n) for n in (0, 1000, 1024, 12 * 1024 + 1, 1024 * 1024, 1536 * 1024, 50 * 1024 * 1024)] == [
        "0 bytes",
        "1000 bytes",
        "1 KB",
        "12 KB",
        "1 MB",
        "1.5 MB",
        "50 MB",
    ]


def test_upload_limits__from_settings_and_tighter_never_raises(settings):
    settings.UPLOAD_LIMITS = {"max_rows": 10, "max_json_depth": 5}
    limits = UploadLimits.from_settings(max_rows=100, max_bytes=1000)
    assert (limits.max_rows, limits.max_bytes, limits.max_json_depth) == (10, 1000, 5)
    assert limits.tightened == {"max_bytes"}
    assert "VALUELOOP_UPLOAD_MAX_ROWS" in refused(limits.refuse, "max_rows", "11 rows").message
    assert "for this import" in refused(limits.refuse, "max_bytes", "2 KB").message


def test_check_size_and_read_upload__refuse_from_the_size():
    limits = UploadLimits(max_bytes=10)
    error = refused(reading.check_size, 11, limits)
    assert error.limit == "max_bytes" and "11 bytes" in error.message and error.fields == {"file": error.message}
    handle = io.BytesIO(b"x" * 100)  # no .size: refused after limit + 1 bytes, never read further
    assert refused(reading.read_upload, handle, limits).limit == "max_bytes" and handle.tell() == 11
    assert reading.read_upload(io.BytesIO(b"x" * 10), limits) == b"x" * 10


def test_check_json_depth__5000_deep_is_refused_without_recursion():
    error = refused(reading.load_json, "[" * 5000 + "]" * 5000, UploadLimits())
    assert error.limit == "max_json_depth" and "more than 64 levels" in error.message
    deep_object = '{"a":' * 5000 + "1" + "}" * 5000
    assert refused(reading.load_json, deep_object, UploadLimits()).limit == "max_json_depth"


def test_check_json_depth__brackets_in_strings_do_not_count():
    text = '[{"text": "[[[[[[[[[[ \\" {{{{{{{{{{"}]'
    assert reading.load_json(text, UploadLimits(max_json_depth=2)) == [{"text": '[[[[[[[[[[ " {{{{{{{{{{'}]


def test_load_json__unreadable_numbers_and_syntax_are_refusals():
    assert "cannot be read" in refused(reading.load_json, "[" + "9" * 10_000 + "]", UploadLimits()).message
    assert "line 2, column 1" in refused(reading.load_json, "[1,\n]", UploadLimits()).message


def test_csv_rows__rows_fields_lines_and_nul():
    limits = UploadLimits(max_rows=2, max_string_length=10)
    assert list(reading.csv_rows("a,b\n1,2\n\n3,4\n", limits)) == [["a", "b"], ["1", "2"], [], ["3", "4"]]
    assert refused(reading.csv_rows, "a\n1\n2\n3\n", limits).limit == "max_rows"
    error = refused(reading.csv_rows, 'a\n"' + "x" * 11 + '"\n', limits)
    assert error.limit == "max_string_length" and "11 characters" in error.message
    assert refused(reading.csv_rows, "a\n" + "," * 2000 + "\n", limits).limit == "max_string_length"
    assert "NUL byte at byte offset 4 (line 2)" in refused(reading.csv_rows, "a,b\n\x00\n", limits).message


def test_csv_rows__a_10_mb_field_is_refused():
    error = refused(reading.csv_rows, 'a,b\n1,"' + "x" * (10 * 1024 * 1024) + '"\n', UploadLimits())
    assert error.limit == "max_string_length"


def _dictionary_table(rows: int, value: str) -> pa.Table:
    return pa.table({"s": pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array([value]))})


def test_parquet__string_length_is_checked_on_the_dictionary():
    data = parquet(_dictionary_table(50_000, "x" * 1000), use_dictionary=True, compression="zstd")
    handle = reading.open_parquet(data, UploadLimits(max_string_length=500))
    error = refused(reading.parquet_batches, handle, UploadLimits(max_string_length=500))
    assert error.limit == "max_string_length" and "column 's' has 1,000 characters" in error.message


def test_parquet__batch_and_total_decoded_bytes():
    data = parquet(_dictionary_table(20_000, "x" * 100), use_dictionary=True)
    limits = UploadLimits(max_batch_bytes=100_000, batch_rows=1000)
    assert refused(reading.parquet_batches, reading.open_parquet(data, limits), limits).limit == "max_batch_bytes"
    limits = UploadLimits(max_decoded_bytes=1_000_000, batch_rows=1000)
    assert refused(reading.parquet_batches, reading.open_parquet(data, limits), limits).limit == "max_decoded_bytes"
    rows = list(
        reading.iter_batches_as_rows(
            reading.parquet_batches(reading.open_parquet(data, UploadLimits()), UploadLimits())
        )
    )
    assert len(rows) == 20_000 and rows[0] == {"s": "x" * 100}


def test_parquet__declared_rows_and_sizes_are_checked_first():
    data = parquet(pa.table({"n": list(range(1000))}))
    assert refused(reading.open_parquet, data, UploadLimits(max_rows=999)).limit == "max_rows"
    plain = parquet(pa.table({"s": ["y" * 1000] * 2000}), use_dictionary=False, compression="zstd")
    assert len(plain) < 50_000
    error = refused(reading.open_parquet, plain, UploadLimits(max_decoded_bytes=1_000_000))
    assert error.limit == "max_decoded_bytes" and "declares" in error.message


def test_parquet__not_parquet():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    assert "Not a Parquet file" in refused(reading.open_parquet, png, UploadLimits()).message
    assert "Not a readable Parquet file" in refused(reading.open_parquet, b"PAR1 garbage PAR1", UploadLimits()).message
