from django.core.management import call_command
from django.core.management.base import BaseCommand

from valueloop.demo import build_demo


class Command(BaseCommand):
    help = "Create (or complete) the demo workspace. Idempotent; deterministic for a given --seed."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=["small", "large"], default="small")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args, **opts):
        if not opts["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        result = build_demo(scale=opts["scale"], seed=opts["seed"])
        verb = "Created" if result.created else "Checked"
        self.stdout.write(self.style.SUCCESS(f"{verb} demo workspace '{result.workspace.name}' ({opts['scale']})."))
        self.stdout.write(f"Demo logins (password for all: {result.logins[0][1]}):")
        for email, _, role in result.logins:
            self.stdout.write(f"  {email:<40} {role}")
