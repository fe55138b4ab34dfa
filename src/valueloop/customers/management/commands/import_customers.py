"""``valueloop import customers FILE --workspace SLUG [--contacts] [--preset P] [--mapping JSON]
[--skip-invalid] [--dry-run] [--encoding cp1252] [--date-order dmy|mdy] [--as EMAIL]``

Imports accounts (or, with --contacts, contacts) from CSV into a workspace, all or nothing: every
row is validated first and any problem is printed row by row with nothing written, unless
--skip-invalid. Re-running with the same file changes nothing. See valueloop.customers.importing.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from valueloop.accounts.facade import User
from valueloop.core.errors import DomainError
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.customers import importing
from valueloop.workspaces.facade import membership_for

MAX_PROBLEMS_SHOWN = 200


class Command(BaseCommand):
    help = (
        "Import customer accounts (or contacts with --contacts) from a CSV file into a workspace, all or nothing. "
        "Rows are matched to existing records by external id (else account name / contact email), so re-importing "
        "a file updates in place. Problems are printed per row and field; the exit status is non-zero and nothing "
        "is written unless --skip-invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV file (UTF-8; see --encoding).")
        parser.add_argument("--workspace", required=True, metavar="SLUG", help="The workspace to import into.")
        parser.add_argument("--contacts", action="store_true", help="The file holds contacts, not accounts.")
        parser.add_argument(
            "--preset",
            choices=importing.PRESETS_OFFERED,
            default="auto",
            help="Column names of a CRM export (default: detect from the header).",
        )
        parser.add_argument(
            "--mapping",
            metavar="JSON",
            default="",
            help='Override the column mapping: {"our_field": "Their column"}; "" unmaps a field.',
        )
        parser.add_argument("--skip-invalid", action="store_true", help="Import the valid rows, skip the others.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count; write nothing.")
        parser.add_argument("--encoding", choices=importing.ENCODINGS, default="auto")
        parser.add_argument("--date-order", choices=importing.DATE_ORDERS, default="auto")
        parser.add_argument(
            "--as",
            dest="as_email",
            metavar="EMAIL",
            help="Import as this member (default: the workspace's first admin).",
        )

    def handle(self, *args, **opts):
        path = Path(opts["path"]).expanduser()
        actor = self._actor(opts["workspace"], opts["as_email"])
        mapping = self._mapping(opts["mapping"])
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}")
        except OSError as exc:
            raise CommandError(f"Could not read {path}: {exc.strerror or exc}.")
        if path.is_dir():
            raise CommandError(f"{path} is a directory, not a CSV file.")
        try:
            importing.check_size(size)
            with path.open("rb") as handle:
                data = importing.read_limited(handle)
            report = importing.import_csv(
                actor=actor,
                data=data,
                kind="contacts" if opts["contacts"] else "accounts",
                preset=opts["preset"],
                mapping=mapping,
                skip_invalid=opts["skip_invalid"],
                dry_run=opts["dry_run"],
                encoding=opts["encoding"],
                date_order=opts["date_order"],
                filename=path.name,
            )
        except importing.ImportInvalid as exc:
            raise CommandError(self._problems(path, exc.report))
        except DomainError as exc:
            raise CommandError(f"{path}: {exc.message} Nothing was imported.")
        for note in report.notes:
            self.stdout.write(f"Note: {note}")
        if report.dry_run and report.problem_count:
            raise CommandError(self._problems(path, report, dry_run=True))
        if report.skipped:
            self.stdout.write(self._problems(path, report, skipped=True))
        self.stdout.write(self.style.SUCCESS(report.summary()))

    def _actor(self, slug: str, email: str | None) -> Actor:
        if email:
            user = User.objects.filter(email__iexact=email, is_active=True).first()
            if user is None:
                raise CommandError(f"No active user with the email {email}.")
        else:
            user = (
                User.objects.filter(memberships__workspace__slug=slug, memberships__role=Role.ADMIN, is_active=True)
                .order_by("memberships__joined_at", "pk")
                .first()
            )
            if user is None:
                raise CommandError(f"No workspace {slug!r} (or it has no active admin; use --as EMAIL).")
        membership = membership_for(user=user, workspace_slug=slug)
        if membership is None:
            raise CommandError(f"{user.email} is not a member of a workspace {slug!r}.")
        return Actor(user=user, workspace=membership.workspace, role=Role(membership.role), via="cli")

    def _mapping(self, text: str) -> dict[str, str] | None:
        if not text.strip():
            return None
        try:
            mapping = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"--mapping is not valid JSON: {exc}.")
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise CommandError('--mapping must be a JSON object such as {"name": "Account Name"}.')
        return mapping

    def _problems(self, path: Path, report: importing.ImportReport, *, dry_run=False, skipped=False) -> str:
        shown = report.problems[:MAX_PROBLEMS_SHOWN]
        lines = [f"  {p}" for p in shown]
        more = report.problem_count - len(shown)
        if more:
            lines.append(f"  ... and {more} more")
        if skipped:
            head = f"{path}: skipped {report.skipped} invalid row(s):"
        elif dry_run:
            head = f"{path}: {report.problem_count} problem(s) (dry run, nothing written):"
        else:
            head = f"{path}: {report.problem_count} problem(s) in {report.invalid_rows} row(s), nothing was imported:"
        return "\n".join([head, *lines])
