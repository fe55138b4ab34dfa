"""Create an admin account. The password is asked for (twice) on a terminal, or generated,
printed once and never stored in clear."""

from __future__ import annotations

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from valueloop.accounts.services import admin_create
from valueloop.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an admin user (and optionally a first workspace)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--workspace", default="", help="Also create a workspace with this name.")
        parser.add_argument(
            "--generate-password",
            action="store_true",
            help="Generate a strong password and print it once (default when not on a terminal).",
        )

    def handle(self, *args, **opts):
        password = None
        if not opts["generate_password"] and sys.stdin.isatty():
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        try:
            user, password_used = admin_create(email=opts["email"], password=password, name=opts["name"])
            if opts["workspace"]:
                from valueloop.workspaces.facade import workspace_create

                workspace_create(user=user, name=opts["workspace"], via="cli")
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Admin {user.email} created."))
        if password is None:
            self.stdout.write(f"Generated password (shown once, store it now): {password_used}")
