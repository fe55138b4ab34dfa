"""Keeping an uploaded CSV between the import preview and its confirmation.

Invariants:
- A kept file lives under ``UPLOADS_DIR/customer-imports/`` with a random name; the session holds
  only that name (checked against a strict pattern), the workspace it belongs to and the
  options, so no user input ever becomes a path.
- A kept file is deleted on confirm, on cancel, when a new file replaces it, and by a sweep of
  files older than a day that runs at every upload.
- An upload larger than the limit is dropped while it streams in (never stored); the request is
  marked ``upload_too_large`` so the page can say why.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


class SizeLimitUploadHandler(FileUploadHandler):
    """First in the chain: passes chunks on until the limit, then skips the rest of the file."""

    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit = limit

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.request.upload_too_large = True
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None


def folder() -> Path:
    path = Path(settings.UPLOADS_DIR) / "customer-imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_for(token: str) -> Path | None:
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    return folder() / f"{token}.csv"


def keep(uploaded) -> str:
    """Store an uploaded file under a new random name; returns the token."""
    sweep()
    token = secrets.token_hex(16)
    path = path_for(token)
    assert path is not None
    with path.open("wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    return token


def read(token: str, limit: int) -> bytes | None:
    path = path_for(token)
    if path is None or not path.is_file():
        return None
    with path.open("rb") as handle:
        return handle.read(limit + 1)


def discard(token: str | None) -> None:
    path = path_for(token or "")
    if path is not None:
        path.unlink(missing_ok=True)


def sweep(max_age: int = MAX_AGE_SECONDS) -> None:
    cutoff = time.time() - max_age
    for path in folder().glob("*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue
