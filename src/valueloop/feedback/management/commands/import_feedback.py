"""``valueloop import feedback FILE --workspace SLUG``: import a CSV / JSON feedback file.

Prints the report (every problem by row and field). Exits non-zero, having written nothing,
when the file has problems and --skip-invalid was not given.
"""

import os

from django.core.management.base import BaseCommand, CommandError

from valueloop.core.errors import DomainError
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.feedback import importing, services


class Command(BaseCommand):
    help = "Import feedback from a CSV or JSON file (Zendesk, Intercom, Canny or generic). All-or-nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV, JSON array or JSON lines file (UTF-8)")
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--preset", choices=sorted(importing.PRESETS), default="generic")
        parser.add_argument("--mapping", default="", help='JSON: {"text": "Body", "received_at": "Date", ...}')
        parser.add_argument("--format", dest="fmt", choices=["csv", "json", "jsonl"], default=None)
        parser.add_argument("--skip-invalid", action="store_true", help="import the valid rows, skip the others")
        parser.add_argument("--dry-run", action="store_true", help="check and report; write nothing")
        parser.add_argument("--unknown-customer", choices=["error", "skip_link"], default="error")
        parser.add_argument("--date-format", default=None, help="strptime format for non-ISO dates, e.g. %%d/%%m/%%Y")
        parser.add_argument("--source", default=None, help="source for rows without one (default: the preset's)")
        parser.add_argument("--max-mb", type=float, default=None, help="size limit in MB (default 50)")
        parser.add_argument("--as", dest="as_email", default=None, help="audit as this member (default: an admin)")

    def handle(self, *args, **opts):
        from valueloop.workspaces.facade import membership_to_act_as, workspace_by_slug

        workspace = workspace_by_slug(opts["workspace"])
        if workspace is None:
            raise CommandError(f"No workspace with the slug {opts['workspace']!r}.")
        membership = membership_to_act_as(workspace, opts["as_email"])
        if membership is None and opts["as_email"]:
            raise CommandError(f"{opts['as_email']} is not a member of {workspace.slug}.")
        if membership is None:
            raise CommandError("The workspace has no admin to act as; pass --as EMAIL.")
        actor = Actor(user=membership.user, workspace=workspace, role=Role(membership.role), via="cli")
        try:
            mapping = importing.parse_mapping(opts["mapping"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        options = importing.ImportOptions(
            preset=opts["preset"],
            fmt=opts["fmt"],
            mapping=mapping,
            default_source=opts["source"],
            unknown_customer=opts["unknown_customer"],
            date_format=opts["date_format"],
            skip_invalid=opts["skip_invalid"],
            dry_run=opts["dry_run"],
            max_bytes=int(opts["max_mb"] * 1024 * 1024) if opts["max_mb"] else None,
        )
        path = opts["file"]
        if not os.path.isfile(path):
            raise CommandError(f"No such file: {path}")
        try:
            importing.check_size(os.path.getsize(path), options, filename=path)  # before reading a byte
        except importing.ImportRefused as refused:
            self.stderr.write(refused.report.as_text())
            raise CommandError("Nothing was imported.") from None
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            report = services.feedback_import(actor=actor, data=data, filename=os.path.basename(path), options=options)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        text = report.as_text(limit=500)
        if report.written or (report.ok and options.dry_run):
            self.stdout.write(text)
        else:
            self.stderr.write(text)
        if not report.ok and not (options.skip_invalid and not report.fatal):
            raise CommandError("Nothing was imported." if not options.dry_run else "The file has problems.")
