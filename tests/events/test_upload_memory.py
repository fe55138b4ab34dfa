"""Issue 10 item 1: a tiny dictionary-encoded Parquet file must not expand in the server's memory.

The file: 25 KB, N rows whose ``type`` is one 1,000-character string (``use_dictionary=True``, zstd). Its
metadata declares only the dictionary, so the old reader decoded 200 MB of strings and then 200,000 Python
dicts. Posted to ``POST /api/v1/events/upload`` it must be refused with a 422 naming the limit, and the peak
memory of the request must stay under 100 MB above the baseline, measured two ways (both asserted):

- Python allocations: ``tracemalloc``'s peak during the request;
- Arrow's allocations (not seen by tracemalloc): ``pa.total_allocated_bytes()`` sampled every millisecond by a
  thread during the request, and the default pool's ``max_memory()`` high-water mark when the request raised
  it (which catches a spike shorter than a sample).
"""

from __future__ import annotations

import gc
import io
import threading
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import token_client
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.events import store

MB = 1024 * 1024
BUDGET = 100 * MB


def dictionary_bomb(rows: int, store_schema: bool = True) -> bytes:
    """``rows`` events whose ``type`` is the same 1,000-character string, dictionary-encoded and zstd-compressed.

    Without the Arrow schema in the file (``store_schema=False``, as most non-Arrow writers), a plain read
    expands the strings in Arrow's memory (262 MB for 200,000 rows); with it, in Python's (``to_pylist``)."""
    table = pa.table(
        {
            "type": pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["x" * 1000])),
            "user_id": pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["u1"])),
            "timestamp": pa.array(["2026-01-01T00:00:00Z"] * rows),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, use_dictionary=True, compression="zstd", store_schema=store_schema)
    return sink.getvalue()


class PeakMemory:
    """Peak Python (tracemalloc) and Arrow (sampled, plus the pool's high-water mark) memory above the baseline."""

    def __enter__(self) -> PeakMemory:
        gc.collect()
        pool = pa.default_memory_pool()
        self.arrow_base = pa.total_allocated_bytes()
        self.arrow_mark_before = pool.max_memory()
        self.arrow_sampled = self.arrow_base
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        tracemalloc.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.arrow_sampled = max(self.arrow_sampled, pa.total_allocated_bytes())

    def __exit__(self, *exc) -> None:
        _, self.python_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        self._stop.set()
        self._sampler.join()
        mark = pa.default_memory_pool().max_memory()
        raised_mark = mark - self.arrow_base if mark > self.arrow_mark_before else 0
        self.arrow_peak = max(self.arrow_sampled - self.arrow_base, raised_mark)


@pytest.mark.parametrize(
    ("rows", "store_schema"), [(200_000, True), (500_000, True), (200_000, False)], ids=["200k", "500k", "200k-plain"]
)
def test_upload__dictionary_bomb_is_refused_within_100_mb(world, rows, store_schema):
    data = dictionary_bomb(rows, store_schema)
    assert len(data) < 64 * 1024  # the file is tiny: the danger is what it expands to
    client = token_client(world.actor(Role.CONTRIBUTOR))
    warm_up = io.BytesIO(b"PAR1 not really PAR1")  # imports and URL resolving happen outside the measurement
    warm_up.name = "warm-up.parquet"
    assert client.post("/api/v1/events/upload", {"file": warm_up}).status_code == 422
    audits = AuditEvent.objects.count()
    handle = io.BytesIO(data)
    handle.name = "bomb.parquet"
    with PeakMemory() as peak:
        response = client.post("/api/v1/events/upload", {"file": handle})
    assert peak.python_peak < BUDGET, f"Python peak {peak.python_peak / MB:.0f} MB"
    assert peak.arrow_peak < BUDGET, f"Arrow peak {peak.arrow_peak / MB:.0f} MB"
    assert response.status_code == 422, response.content[:300]
    body = response.json()
    assert body["code"] == "import_refused"
    assert "max string length" in body["message"] and "1,000 characters" in body["message"], body["message"]
    assert body["errors"][0]["field"] == "file"
    assert store.list_parts(world.ws_a.pk, "events") == [] and AuditEvent.objects.count() == audits
