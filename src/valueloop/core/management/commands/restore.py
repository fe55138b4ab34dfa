"""``valueloop restore PATH``: put a ``valueloop backup`` archive back into an empty data directory.

Order of work, so that a bad archive changes nothing:
1. read the archive and its manifest; every member must be a regular file (or folder) under a
   known name, with no absolute path and no ``..``, and match the manifest one to one;
2. check every file's size and sha256 against the manifest, and that this version of Valueloop
   knows every migration the backup's database has applied (a newer backup is refused);
3. only then touch the data directory: refuse if it already holds a database (or uploads/events)
   unless ``--force``, which first moves its contents aside to ``<datadir>.before-restore-<time>``;
4. extract (``filter="data"``) into a staging folder inside the data directory, check the hashes
   again, and move the files into place, the database last.

The database comes back exactly as it was backed up; ``valueloop migrate`` (or ``serve``,
which migrates) then brings it up to this version's schema.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from .backup import (
    DATABASE_NAME,
    FOLDERS,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    SECRET_KEY_NAME,
    archive_path_ok,
    require_sqlite,
)

MANIFEST_MAX_BYTES = 64 * 1024 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024
READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error)


def _sha256_of(stream) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size


class Command(BaseCommand):
    help = (
        "Restore a `valueloop backup` archive into an empty data directory, after checking every file "
        "against the manifest's sha256. --force moves the current data directory's contents aside first. "
        "Run `valueloop migrate` afterwards (serve does it for you)."
    )
    # Nothing here needs the database; a restore must not open (and so create) it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("path", help="The archive written by `valueloop backup`.")
        parser.add_argument(
            "--force", action="store_true",
            help="Restore even if the data directory holds data: its contents are first moved to "
                 "<datadir>.before-restore-<timestamp>.",
        )

    def handle(self, *args, **opts):
        db_file = require_sqlite("restore")
        data_dir = Path(settings.DATA_DIR).resolve()
        archive = Path(opts["path"]).expanduser().resolve()
        if not archive.exists():
            raise CommandError(f"No such file: {archive}")
        if not archive.is_file():
            raise CommandError(f"{archive} is not a file.")

        manifest = self._read_and_verify(archive)
        self._check_migrations(manifest)
        aside = self._prepare_target(data_dir, db_file, force=opts["force"])
        key_replaced = self._install(archive, manifest, data_dir, db_file)

        files = manifest["files"]
        self.stdout.write(self.style.SUCCESS(
            f"Restored the backup of {manifest.get('created_at', '?')} (Valueloop "
            f"{manifest.get('valueloop_version', '?')}, {len(files)} files) into {data_dir}."
        ))
        if aside:
            self.stdout.write(f"The previous contents of the data directory are in {aside}.")
        if key_replaced:
            self.stdout.write("The secret key was restored from the backup too.")
        self.stdout.write("Next: `valueloop migrate` (or `valueloop serve`, which migrates) to update the schema.")

    # --- 1 and 2: read and check, writing nothing ---------------------------------------------

    def _read_and_verify(self, archive: Path) -> dict:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = self._members(tar, archive)
                manifest = self._manifest(tar, members, archive)
                for entry in manifest["files"]:
                    stream = tar.extractfile(members[entry["path"]])
                    sha, size = _sha256_of(stream)
                    if size != entry["size"] or sha != entry["sha256"]:
                        raise CommandError(
                            f"{archive} is damaged or was changed: {entry['path']} does not match the sha256 "
                            "in its manifest. Nothing was restored."
                        )
        except tarfile.ReadError as exc:
            raise CommandError(f"{archive} is not a Valueloop backup: not a readable tar.gz archive ({exc}).") from exc
        except READ_ERRORS as exc:
            raise CommandError(f"{archive} could not be read as a Valueloop backup: {exc}") from exc
        return manifest

    def _members(self, tar: tarfile.TarFile, archive: Path) -> dict[str, tarfile.TarInfo]:
        members: dict[str, tarfile.TarInfo] = {}
        for info in tar:
            name = info.name.rstrip("/") if info.isdir() else info.name
            if not archive_path_ok(name):
                raise CommandError(f"{archive} holds the entry {info.name!r}, which a Valueloop backup never has; "
                                   "refusing to restore it.")
            if info.isdir():
                continue
            if not info.isreg():
                raise CommandError(f"{archive} holds {info.name!r}, which is not a regular file; refusing it.")
            if name in members:
                raise CommandError(f"{archive} holds {name!r} twice; refusing to restore it.")
            members[name] = info
        return members

    def _manifest(self, tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], archive: Path) -> dict:
        def bad(reason: str) -> CommandError:
            return CommandError(f"{archive} has an invalid manifest.json: {reason}.")

        info = members.get(MANIFEST_NAME)
        if info is None:
            raise CommandError(f"{archive} is not a Valueloop backup: it has no {MANIFEST_NAME}.")
        if info.size > MANIFEST_MAX_BYTES:
            raise bad("it is implausibly large")
        try:
            manifest = json.loads(tar.extractfile(info).read())
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad(f"not JSON ({exc})") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
            raise bad(f"'format' is not {FORMAT_NAME!r}")
        version = manifest.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise bad("'format_version' is missing")
        if version > FORMAT_VERSION:
            raise CommandError(
                f"{archive} was written by a newer Valueloop (backup format {version}; this version reads up to "
                f"{FORMAT_VERSION}). Upgrade Valueloop, then restore."
            )
        files = manifest.get("files")
        if not isinstance(files, list):
            raise bad("'files' is not a list")
        listed: set[str] = set()
        for i, entry in enumerate(files):
            if not isinstance(entry, dict):
                raise bad(f"files[{i}] is not an object")
            path, size, sha = entry.get("path"), entry.get("size"), entry.get("sha256")
            if not isinstance(path, str) or not archive_path_ok(path) or path == MANIFEST_NAME:
                raise bad(f"files[{i}].path is not a valid file name")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise bad(f"files[{i}].size is not a size")
            if not isinstance(sha, str) or not SHA256.match(sha):
                raise bad(f"files[{i}].sha256 is not a sha256")
            if path in listed:
                raise bad(f"files[{i}].path {path!r} is listed twice")
            if path in FOLDERS:
                raise bad(f"files[{i}].path {path!r} names a folder")
            listed.add(path)
        if DATABASE_NAME not in listed:
            raise bad(f"it lists no {DATABASE_NAME}")
        in_archive = set(members) - {MANIFEST_NAME}
        if missing := sorted(listed - in_archive):
            raise CommandError(f"{archive} is incomplete: {', '.join(missing[:5])} listed in the manifest but missing.")
        if extra := sorted(in_archive - listed):
            raise CommandError(f"{archive} holds files its manifest does not list: {', '.join(extra[:5])}.")
        migrations = manifest.get("migrations", {})
        if not isinstance(migrations, dict) or not all(
            isinstance(names, list) and all(isinstance(n, str) for n in names) for names in migrations.values()
        ):
            raise bad("'migrations' is not a mapping of app to migration names")
        manifest["migrations"] = migrations
        return manifest

    def _check_migrations(self, manifest: dict) -> None:
        from django.db.migrations.loader import MigrationLoader

        loader = MigrationLoader(None, ignore_no_migrations=True)
        unknown = [
            f"{app}.{name}"
            for app, names in manifest["migrations"].items()
            for name in names
            if app in loader.migrated_apps and (app, name) not in loader.disk_migrations
        ]
        if unknown:
            raise CommandError(
                f"This backup was made by a newer Valueloop ({manifest.get('valueloop_version', '?')}): its database "
                f"has migrations this version does not know ({', '.join(unknown[:5])}). Upgrade, then restore."
            )

    # --- 3 and 4: the data directory ------------------------------------------------------------

    def _prepare_target(self, data_dir: Path, db_file: Path, *, force: bool) -> Path | None:
        if db_file != data_dir / DATABASE_NAME:
            raise CommandError(f"The database {db_file} is not in the data directory {data_dir}; restore by hand.")
        occupied = [
            p.name for p in (db_file, *(db_file.with_name(db_file.name + s) for s in ("-wal", "-shm", "-journal")))
            if p.exists()
        ]
        occupied += [f"{f}/" for f in FOLDERS if (data_dir / f).exists() and any((data_dir / f).iterdir())]
        if occupied and not force:
            raise CommandError(
                f"{data_dir} is not empty (it holds {', '.join(occupied)}). Restore into an empty data directory, "
                f"or pass --force to move its contents aside to {data_dir.name}.before-restore-<timestamp> first."
            )
        data_dir.mkdir(parents=True, exist_ok=True)
        if not force:
            return None
        contents = list(data_dir.iterdir())
        if not contents:
            return None
        from django.db import connections

        connections.close_all()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = data_dir.with_name(f"{data_dir.name}.before-restore-{stamp}")
        try:
            aside.mkdir()
            for entry in contents:
                shutil.move(entry, aside / entry.name)
        except OSError as exc:
            raise CommandError(f"Could not move the current data aside to {aside}: {exc}. Nothing restored.") from exc
        return aside

    def _install(self, archive: Path, manifest: dict, data_dir: Path, db_file: Path) -> bool:
        staging = Path(tempfile.mkdtemp(dir=data_dir, prefix=".restore-"))
        try:
            try:
                with tarfile.open(archive, "r:gz") as tar:
                    wanted = {entry["path"] for entry in manifest["files"]}
                    tar.extractall(staging, members=[m for m in tar.getmembers() if m.name in wanted], filter="data")
            except READ_ERRORS as exc:
                raise CommandError(f"Could not extract {archive}: {exc}. Nothing was restored.") from exc
            for entry in manifest["files"]:
                with open(staging / entry["path"], "rb") as handle:
                    sha, size = _sha256_of(handle)
                if (sha, size) != (entry["sha256"], entry["size"]):
                    raise CommandError(f"{archive} changed while it was being restored ({entry['path']}). "
                                       "Nothing was restored.")
            key_replaced = False
            for folder in FOLDERS:
                if (staging / folder).is_dir():
                    if (data_dir / folder).is_dir():
                        (data_dir / folder).rmdir()  # empty: checked in _prepare_target
                    (staging / folder).replace(data_dir / folder)
            if (staging / SECRET_KEY_NAME).is_file():
                key_replaced = True
                (staging / SECRET_KEY_NAME).chmod(0o600)
                (staging / SECRET_KEY_NAME).replace(data_dir / SECRET_KEY_NAME)
            # The database last: once it is there, the restore is complete.
            (staging / DATABASE_NAME).chmod(0o600)
            (staging / DATABASE_NAME).replace(db_file)
            return key_replaced
        except OSError as exc:
            raise CommandError(f"The restore into {data_dir} failed: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
