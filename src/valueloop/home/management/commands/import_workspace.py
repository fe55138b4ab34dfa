"""``valueloop import PATH [--slug NEW] [--dry-run]``: a `valueloop export` file as a NEW workspace.

All or nothing: the file is validated first (every problem named by its JSON path), then
written in one transaction through the audited services. See ``valueloop.portability``.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from valueloop.portability import ImportInvalid, workspace_import

MAX_ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Create a new workspace from a `valueloop export` file, all or nothing. Members are matched to existing "
        "users by email; unknown emails become inactive users with unusable passwords (listed). Comments keep "
        "their original timestamps and authors; re-creating them notifies no one. The first admin in the file "
        "(or --admin) becomes the workspace's creator. --dry-run checks everything and writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The JSON file written by `valueloop export`.")
        parser.add_argument("--slug", help="Slug of the new workspace (default: the one in the file).")
        parser.add_argument("--admin", metavar="EMAIL",
                            help="An existing active user who creates the workspace and is its admin "
                                 "(default: the first admin in the file).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and rehearse the import, then roll back.")

    def handle(self, *args, **opts):
        path = Path(opts["path"]).expanduser()
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}")
        except IsADirectoryError:
            raise CommandError(f"{path} is a directory, not an export file.")
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not a valueloop export file (not UTF-8 text).")
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.")
        except OSError as exc:
            raise CommandError(f"Could not read {path}: {exc.strerror or exc}.")
        try:
            result = workspace_import(document=document, slug=opts["slug"], admin_email=opts["admin"],
                                      dry_run=opts["dry_run"])
        except ImportInvalid as exc:
            shown = exc.errors[:MAX_ERRORS_SHOWN]
            more = len(exc.errors) - len(shown)
            lines = [f"  {e}" for e in shown] + ([f"  ... and {more} more"] if more else [])
            raise CommandError(
                f"{path}: {len(exc.errors)} problem(s), nothing was imported:\n" + "\n".join(lines)
            )
        counts = ", ".join(f"{n} {name}" for name, n in result.counts.items())
        verb = "Dry run OK, would import" if result.dry_run else "Imported"
        self.stdout.write(self.style.SUCCESS(f"{verb} workspace {result.workspace.slug!r}: {counts}."))
        if result.created_users:
            label = "would create" if result.dry_run else "created"
            self.stdout.write(f"Unknown emails ({label} as inactive users without a password):")
            for email in result.created_users:
                self.stdout.write(f"  {email}")
        for note in result.notes:
            self.stdout.write(f"Note: {note}.")
