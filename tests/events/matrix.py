"""Sample request bodies of the events API for the permission-matrix and tenant-isolation suites (no path ids)."""

from __future__ import annotations


def sample_bodies(ids: dict) -> dict:
    return {
        "events_batch_create": {
            "events": [{"type": "matrix_event", "user_id": "matrix-user", "timestamp": "2026-01-05T10:00:00Z"}]
        },
        "events_upload_create": None,  # multipart: no file answers 422 (allowed) or 403 (denied)
        "events_source_update": {"kind": "embedded"},
        "events_source_test": None,  # embedded source: 422 "nothing to test" (allowed) or 403 (denied)
    }
