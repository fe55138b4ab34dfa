"""Idempotency by external id: importing the same file twice writes nothing the second time.

Invariants:
- A row is identified by a key the importer chooses, ending with the source system's external id
  (``(source, external_id)``, ``(kind, external_id)``); a row without an external id is always new.
- ``split_already_imported`` keeps the file's order: the fresh rows are written, the others counted as
  unchanged. Existing keys are read in one query (streamed in chunks), never one query per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


def existing_keys(queryset, fields: Iterable[str]) -> set[tuple]:
    """The key tuples already stored: ``queryset`` is scoped (workspace, sources) by the importer."""
    return set(queryset.exclude(external_id="").values_list(*fields).iterator(chunk_size=10_000))


def split_already_imported[Row](
    rows: Iterable[Row], key: Callable[[Row], tuple], existing: set[tuple]
) -> tuple[list[Row], list[Row]]:
    """(fresh, already imported): a row whose key is in ``existing`` (and has an external id, the key's last
    part) was imported before."""
    fresh: list[Row] = []
    seen: list[Row] = []
    for row in rows:
        row_key = key(row)
        (seen if row_key[-1] and row_key in existing else fresh).append(row)
    return fresh, seen
