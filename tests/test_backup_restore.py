"""`valueloop backup` / `valueloop restore` against real on-disk SQLite installs.

The round trip runs the CLI in subprocesses (local mode, its own data directories), because
the test database is not a file that a backup could copy. Restores into scratch data dirs, and
refusals, run in-process (the command needs no database connection), many of them against small
hand-made archives.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

REPO = Path(__file__).resolve().parent.parent


def cli(data_dir: Path, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "VALUELOOP_SECRET_KEY"}}
    env.update({"VALUELOOP_MODE": "local", "VALUELOOP_DATA_DIR": str(data_dir), **(extra_env or {})})
    return subprocess.run([sys.executable, "-m", "valueloop.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=180)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def refused(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("CommandError: "), result.stderr
    for needle in needles:
        assert needle in result.stderr
    return result.stderr


def _all_rows(conn: sqlite3.Connection, table: str) -> list[tuple]:
    try:
        return conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
    except sqlite3.OperationalError:  # WITHOUT ROWID tables (e.g. the full-text index's shadow tables)
        return sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)


def table_rows(db: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        rows = {t: _all_rows(conn, t) for t in tables}
        rows["(schema)"] = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    return rows


def tree(root: Path) -> dict[str, bytes]:
    """Every data file below ``root`` (the event store's locks and half-written parts are not backed up)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock") and not p.name.startswith(".tmp-")
    }


@pytest.fixture(scope="module")
def demo_backup(tmp_path_factory) -> tuple[Path, Path]:
    """A demo install one migration behind this code (as if backed up by an older version), and its backup."""
    root = tmp_path_factory.mktemp("backup")
    source = root / "a"
    ok(cli(source, "demo"))
    ok(cli(source, "manage", "migrate", "django_tasks_database", "0020_update_db_task_result_ordering"))
    (source / "uploads" / "attachments").mkdir(parents=True)
    (source / "uploads" / "attachments" / "spec.pdf").write_bytes(bytes(range(256)) * 40)
    (source / "uploads" / "note.txt").write_text("hello\n")
    (source / "events").mkdir(exist_ok=True)  # the demo's events (Parquet parts under events/w<id>/) are there
    (source / "events" / "2025-01.parquet").write_bytes(os.urandom(5000))
    # A part still being written by the event store (temporary name): not data yet, never archived.
    workspace_events = next((source / "events").glob("w*"))
    (workspace_events / "events" / ".tmp-0123456789abcdef.parquet").write_bytes(b"half")
    archive = root / "backup.tar.gz"
    ok(cli(source, "backup", str(archive)))
    return source, archive


@pytest.mark.slow
def test_backup_restore__round_trip_gives_back_the_same_data(demo_backup, tmp_path):
    source, archive = demo_backup
    assert oct(archive.stat().st_mode & 0o777) == "0o600"  # it holds password hashes and the secret key
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["format"] == "valueloop-backup"
    assert manifest["migrations"]["django_tasks_database"] == ["0020_update_db_task_result_ordering"]
    paths = {f["path"] for f in manifest["files"]}
    events = {p for p in paths if p.startswith("events/")}
    assert paths - events == {"valueloop.sqlite3", "secret_key", "uploads/attachments/spec.pdf", "uploads/note.txt"}
    assert "events/2025-01.parquet" in events
    assert not any(".tmp-" in p or p.endswith(".lock") for p in events)
    parts = [p for p in events if p.startswith("events/w") and p.rsplit("/", 1)[1].startswith("part-")]
    assert {p.split("/")[2] for p in parts} == {"exposures", "events"}  # the demo's event store is in the backup

    target = tmp_path / "b"
    out = ok(cli(target, "restore", str(archive))).stdout
    assert "Restored the backup" in out

    assert table_rows(target / "valueloop.sqlite3") == table_rows(source / "valueloop.sqlite3")
    assert tree(target / "uploads") == tree(source / "uploads")
    assert tree(target / "events") == tree(source / "events")
    assert (target / "secret_key").read_text() == (source / "secret_key").read_text()

    # Newer code on an older backup: migrate brings it up to date.
    migrated = ok(cli(target, "migrate")).stdout
    assert "Applying django_tasks_database.0021" in migrated


@pytest.fixture
def target_dir(tmp_path, settings):
    """Point an in-process restore at an empty scratch data dir and its database file."""
    target = tmp_path / "target"
    settings.DATA_DIR = target
    # The command reads the settings only (it never connects), so this also holds on the PostgreSQL run.
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": target / "valueloop.sqlite3"}
    with mock.patch.dict(settings.DATABASES["default"], sqlite):
        yield target


def restore(*args: str) -> str:
    out = io.StringIO()
    call_command("restore", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.mark.slow
def test_restore__refuses_a_data_dir_in_use_unless_forced(demo_backup, target_dir):
    _, archive = demo_backup
    restore(archive)
    (target_dir / "uploads" / "newer.txt").write_text("made after the restore")

    with pytest.raises(CommandError, match=r"is not empty .* pass --force"):
        restore(archive)
    assert (target_dir / "uploads" / "newer.txt").exists()

    out = restore(archive, "--force")
    aside = [p for p in target_dir.parent.iterdir() if p.name.startswith("target.before-restore-")]
    assert len(aside) == 1 and str(aside[0]) in out
    assert (aside[0] / "uploads" / "newer.txt").exists()
    assert (aside[0] / "valueloop.sqlite3").exists()
    assert not (target_dir / "uploads" / "newer.txt").exists()
    assert (target_dir / "valueloop.sqlite3").exists()


@pytest.mark.slow
def test_restore__tampered_archive_is_refused_and_writes_nothing(demo_backup, tmp_path, target_dir):
    _, archive = demo_backup
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w:gz") as out:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "uploads/note.txt":
                data = b"J" + data[1:]  # same size, one byte changed
            out.addfile(member, io.BytesIO(data))
    with pytest.raises(CommandError, match=r"uploads/note\.txt does not match the sha256") as excinfo:
        restore(tampered)
    assert "\n" not in str(excinfo.value)
    assert not target_dir.exists()


def test_backup_and_restore__refuse_postgres_with_a_pointer_to_pg_dump(tmp_path):
    with mock.patch.dict(settings.DATABASES["default"], {"ENGINE": "django.db.backends.postgresql"}):
        for command in ("backup", "restore"):
            with pytest.raises(CommandError, match=r"SQLite database only; this install uses postgresql.*pg_dump"):
                call_command(command, str(tmp_path / "x.tar.gz"))
    assert not (tmp_path / "x.tar.gz").exists()


# --- refusals before anything is written, on hand-made archives ---------------------------------


def make_archive(path: Path, files: dict[str, bytes], manifest: dict | bytes | None = ...) -> Path:
    if manifest is ...:
        manifest = {
            "format": "valueloop-backup", "format_version": 1, "migrations": {},
            "files": [{"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()],
        }
    entries = dict(files)
    if manifest is not None:
        entries["manifest.json"] = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    with tarfile.open(path, "w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda p: p, "No such file"),
        (lambda p: p.write_bytes(b"just text") and p, "not a Valueloop backup: not a readable tar.gz archive"),
        (lambda p: make_archive(p, {"valueloop.sqlite3": b"x"}, manifest=None), "has no manifest.json"),
        (lambda p: make_archive(p, {"valueloop.sqlite3": b"x"}, manifest=b"{oops"), "invalid manifest.json: not JSON"),
        (lambda p: make_archive(p, {"valueloop.sqlite3": b"x"}, manifest={"format": "zip"}),
         "invalid manifest.json: 'format' is not 'valueloop-backup'"),
        (lambda p: make_archive(p, {"uploads/a": b"x"}), "lists no valueloop.sqlite3"),
        (lambda p: make_archive(p, {"valueloop.sqlite3": b"x", "../evil": b"x"}), "'../evil', which a Valueloop"),
        (lambda p: make_archive(p, {"valueloop.sqlite3": b"x", "/etc/evil": b"x"}), "'/etc/evil', which"),
        (lambda p: make_archive(p, {"valueloop.sqlite3": b"x", "uploads/../../evil": b"x"}), "which a Valueloop"),
        (lambda p: p.write_bytes(make_archive(p, {"valueloop.sqlite3": os.urandom(5000)}).read_bytes()[:-200]) and p,
         "could not be read"),
    ],
    ids=["missing", "not-an-archive", "no-manifest", "manifest-not-json", "wrong-format", "no-database",
         "dotdot", "absolute", "nested-dotdot", "truncated"],
)
def test_restore__bad_archives_give_one_clear_line_and_write_nothing(tmp_path, target_dir, build, expected):
    archive = build(tmp_path / "in.tar.gz")
    with pytest.raises(CommandError) as excinfo:
        call_command("restore", str(archive))
    assert expected in str(excinfo.value)
    assert "\n" not in str(excinfo.value)
    assert not target_dir.exists()
    assert not (tmp_path.parent / "evil").exists()


def test_restore__symlink_members_are_refused(tmp_path, target_dir):
    archive = tmp_path / "in.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        link = tarfile.TarInfo("uploads/passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(CommandError, match="not a regular file"):
        call_command("restore", str(archive))
    assert not target_dir.exists()


def test_restore__a_backup_from_newer_code_is_refused(tmp_path, target_dir):
    archive = make_archive(tmp_path / "in.tar.gz", {"valueloop.sqlite3": b"x"})
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    manifest["migrations"] = {"workspaces": ["0999_from_the_future"]}
    make_archive(archive, {"valueloop.sqlite3": b"x"}, manifest=manifest)
    with pytest.raises(CommandError, match=r"newer Valueloop .*workspaces\.0999_from_the_future"):
        call_command("restore", str(archive))
    assert not target_dir.exists()


def test_backup__refuses_to_overwrite_without_force(tmp_path, target_dir):
    existing = tmp_path / "backup.tar.gz"
    existing.write_text("an older backup")
    with pytest.raises(CommandError, match="exists; pass --force"):
        call_command("backup", str(existing))
    assert existing.read_text() == "an older backup"
