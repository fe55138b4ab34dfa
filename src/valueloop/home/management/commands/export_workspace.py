"""``valueloop export PATH --workspace SLUG``: one workspace as a JSON document.

The document names things (emails, product keys, area names) rather than database ids, so
``valueloop import`` can bring it into any install. See ``valueloop.portability``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from valueloop.portability import workspace_export
from valueloop.workspaces.facade import workspace_by_slug, workspace_slugs


class Command(BaseCommand):
    help = (
        "Export one workspace as JSON: settings, members (email, name, handle, role, function), products, "
        "areas and comments (by author email and the name of what they are on). Deleted comments are left out. "
        "PATH '-' writes to standard output."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The JSON file to write, or - for standard output.")
        parser.add_argument("--workspace", required=True, metavar="SLUG", help="The workspace's slug.")
        parser.add_argument("--force", action="store_true", help="Overwrite PATH if it exists.")

    def handle(self, *args, **opts):
        workspace = workspace_by_slug(opts["workspace"])
        if workspace is None:
            slugs = ", ".join(workspace_slugs()) or "none"
            raise CommandError(f"No workspace with the slug {opts['workspace']!r} (workspaces: {slugs}).")
        result = workspace_export(workspace=workspace)
        text = json.dumps(result.document, indent=2, ensure_ascii=False) + "\n"
        for item in result.skipped:
            self.stderr.write(f"Not exported: {item}.")
        if opts["path"] == "-":
            sys.stdout.write(text)
            return
        target = Path(opts["path"]).expanduser().resolve()
        if target.is_dir():
            raise CommandError(f"{target} is a directory; give the file name to write.")
        if target.exists() and not opts["force"]:
            raise CommandError(f"{target} exists; pass --force to overwrite it.")
        if not target.parent.is_dir():
            raise CommandError(f"The folder {target.parent} does not exist.")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        doc = result.document
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {workspace.slug!r}: {len(doc['members'])} members, {len(doc['products'])} products, "
                f"{len(doc['areas'])} areas, {len(doc['comments'])} comments to {target}."
            )
        )
