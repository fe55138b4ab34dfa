"""``valueloop backup PATH``: one tar.gz archive of an embedded (SQLite) install.

The archive holds a consistent snapshot of the database, made with SQLite's online-backup
API (safe while the server runs: WAL readers do not block the writer), the ``uploads/`` and
``events/`` folders, the ``secret_key`` file if there is one, and ``manifest.json`` with the
sha256 of every file, which ``valueloop restore`` checks before it writes anything.

The archive is written to a temporary file beside PATH and renamed into place, so a failed
or interrupted backup never leaves a half-written archive under PATH. It is created with
mode 0600: it holds password hashes and the secret key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from contextlib import closing
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "valueloop-backup"
FORMAT_VERSION = 1
DATABASE_NAME = "valueloop.sqlite3"
SECRET_KEY_NAME = "secret_key"
FOLDERS = ("uploads", "events")
SWAP_LOCK_NAME = ".swap.lock"  # the event store's per-workspace lock (events/store.py)


@contextlib.contextmanager
def _shared_lock(path: Path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def valueloop_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("valueloop")
    except PackageNotFoundError:
        return "unknown"


def require_sqlite(verb: str) -> Path:
    """The SQLite database file of this install; CommandError for any other database."""
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("sqlite3"):
        vendor = db["ENGINE"].rsplit(".", 1)[-1]
        raise CommandError(
            f"valueloop {verb} works with the embedded SQLite database only; this install uses {vendor} "
            "(DATABASE_URL is set). For PostgreSQL use pg_dump (e.g. `pg_dump --format=custom`) / pg_restore, "
            f"plus a copy of the data directory ({settings.DATA_DIR}: uploads/ and events/)."
        )
    return Path(db["NAME"]).resolve()


def archive_path_ok(name: str) -> bool:
    """Whether ``name`` may appear in a backup archive: a relative path under a known root, no ``..``."""
    if not name or "\\" in name or "\x00" in name:
        return False
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("", ".", "..") for part in name.split("/")):
        return False
    if len(path.parts) == 1:
        return name in (MANIFEST_NAME, DATABASE_NAME, SECRET_KEY_NAME, *FOLDERS)
    return path.parts[0] in FOLDERS


def migration_heads(db_file: Path) -> dict[str, list[str]]:
    """Per app, the applied migrations that no other applied migration of that app builds on."""
    from django.db.migrations.loader import MigrationLoader

    with closing(sqlite3.connect(db_file)) as conn:
        try:
            applied = {(app, name) for app, name in conn.execute("SELECT app, name FROM django_migrations")}
        except sqlite3.DatabaseError:
            return {}
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    heads: dict[str, list[str]] = {}
    for app, name in applied:
        node = graph.node_map.get((app, name))
        children = {child.key for child in node.children} if node else set()
        if not any(key in applied and key[0] == app for key in children):
            heads.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(heads.items())}


class _HashingReader:
    """Reads a file for tarfile while hashing exactly the bytes that go into the archive."""

    def __init__(self, handle):
        self.handle = handle
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.sha.update(data)
        return data


class Command(BaseCommand):
    help = (
        "Write one tar.gz archive of this install: a consistent snapshot of the SQLite database (safe while "
        "the server runs), uploads/, events/, the secret key and a manifest with sha256 checksums. "
        "For PostgreSQL installs use pg_dump plus a copy of the data directory instead."
    )
    # Django's system checks open (and so create) the SQLite file; a backup must not.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("path", help="Where to write the archive, e.g. valueloop-2025-01-31.tar.gz")
        parser.add_argument("--force", action="store_true", help="Overwrite PATH if it exists.")

    def handle(self, *args, **opts):
        db_file = require_sqlite("backup")
        data_dir = Path(settings.DATA_DIR).resolve()
        target = Path(opts["path"]).expanduser().resolve()
        if target.is_dir():
            raise CommandError(f"{target} is a directory; give the archive's file name.")
        if target.exists() and not opts["force"]:
            raise CommandError(f"{target} exists; pass --force to overwrite it.")
        if not target.parent.is_dir():
            raise CommandError(f"The folder {target.parent} does not exist.")
        for folder in FOLDERS:
            if target.is_relative_to(data_dir / folder):
                raise CommandError(f"Write the backup outside {data_dir / folder}: it would contain itself.")
        if not db_file.is_file():
            raise CommandError(f"There is no database at {db_file} to back up (run `valueloop migrate` first?).")

        files: list[dict] = []
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".valueloop-backup-") as work:
                snapshot = Path(work) / DATABASE_NAME
                self._snapshot_database(db_file, snapshot)
                heads = migration_heads(snapshot)
                if not heads:
                    raise CommandError(f"The database {db_file} is empty (never migrated): nothing to back up.")
                with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                    files.append(self._add(tar, snapshot, DATABASE_NAME, mode=0o600))
                    key_file = data_dir / SECRET_KEY_NAME
                    if key_file.is_file() and not key_file.is_symlink():
                        files.append(self._add(tar, key_file, SECRET_KEY_NAME, mode=0o600))
                    for folder in FOLDERS:
                        files.extend(self._add_folder(tar, data_dir, folder))
                    manifest = {
                        "format": FORMAT_NAME,
                        "format_version": FORMAT_VERSION,
                        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                        "valueloop_version": valueloop_version(),
                        "database": {
                            "engine": "sqlite", "file": DATABASE_NAME, "sqlite_version": sqlite3.sqlite_version,
                        },
                        "migrations": heads,
                        "files": files,
                    }
                    body = json.dumps(manifest, indent=2).encode()
                    info = tarfile.TarInfo(MANIFEST_NAME)
                    info.size, info.mode, info.mtime = len(body), 0o600, int(dt.datetime.now(dt.UTC).timestamp())
                    tar.addfile(info, io.BytesIO(body))
                    raw.flush()
                    os.fsync(raw.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise CommandError(f"The backup failed and was not written: {exc}") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        size = target.stat().st_size
        self.stdout.write(self.style.SUCCESS(
            f"Backed up {len(files)} files ({size / 1e6:.1f} MB) to {target}."
        ))
        self.stdout.write(
            "The archive holds password hashes and the secret key: keep it as safe as a password. "
            "Restore it with `valueloop restore PATH` into an empty data directory."
        )

    def _snapshot_database(self, source: Path, destination: Path) -> None:
        try:
            with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(destination)) as dst:
                # One step (pages=-1): the copy is one read transaction, a consistent snapshot;
                # under WAL the server keeps writing meanwhile.
                src.backup(dst, pages=-1)
                # A self-contained file: no -wal beside it in the archive.
                dst.execute("PRAGMA journal_mode=DELETE")
                result = dst.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.Error as exc:
            raise CommandError(f"Could not copy the database {source}: {exc}") from exc
        if result != "ok":
            raise CommandError(f"The database copy failed its integrity check ({result}); the backup was not written.")

    def _add(self, tar: tarfile.TarFile, path: Path, arcname: str, mode: int | None = None) -> dict:
        with open(path, "rb") as handle:
            info = tar.gettarinfo(arcname=arcname, fileobj=handle)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if mode is not None:
                info.mode = mode
            reader = _HashingReader(handle)
            tar.addfile(info, reader)
        return {"path": arcname, "size": info.size, "sha256": reader.sha.hexdigest()}

    def _add_folder(self, tar: tarfile.TarFile, data_dir: Path, folder: str) -> list[dict]:
        root = data_dir / folder
        if not root.is_dir():
            return []
        if folder != "events":
            return self._add_tree(tar, data_dir, root)
        # The event store compacts a workspace's Parquet parts by swapping a merged part in under an exclusive
        # lock on ``w<id>/.swap.lock``; copying each workspace under the shared lock means the archive holds
        # either the old parts or the merged one, never both (which would count the events twice).
        entries = self._add_tree(tar, data_dir, root, recurse=False)
        for child in sorted(root.iterdir()):
            if child.is_dir() and not child.is_symlink():
                with _shared_lock(child / SWAP_LOCK_NAME):
                    entries.extend(self._add_tree(tar, data_dir, child))
        return entries

    def _add_tree(self, tar: tarfile.TarFile, data_dir: Path, root: Path, *, recurse: bool = True) -> list[dict]:
        entries = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            if not recurse:
                dirnames.clear()
            for name in sorted(filenames):
                if name.startswith(".tmp-") or name.endswith(".lock"):
                    continue  # a part being written, or a lock file: not data
                path = Path(dirpath) / name
                arcname = path.relative_to(data_dir).as_posix()
                if path.is_symlink() or not path.is_file():
                    self.stderr.write(f"Skipped {arcname}: not a regular file.")
                    continue
                if not archive_path_ok(arcname):
                    self.stderr.write(f"Skipped {arcname}: a name the archive format does not allow.")
                    continue
                try:
                    entries.append(self._add(tar, path, arcname))
                except FileNotFoundError:  # removed by the running server since we listed it
                    continue
        return entries
