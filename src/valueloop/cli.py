"""The ``valueloop`` command: a thin dispatcher onto Django management commands.

valueloop serve [--host H] [--port P] [--workers N]
valueloop worker
valueloop demo [--scale small|large] [--seed N]
valueloop migrate
valueloop createadmin --email E [--name N]
valueloop backup PATH | restore PATH
valueloop export PATH --workspace SLUG | import PATH
valueloop manage <any django management command>
"""

from __future__ import annotations

import os
import sys

COMMANDS = {
    "serve": "serve",
    "worker": "db_worker",
    "demo": "demo",
    "migrate": "migrate",
    "createadmin": "createadmin",
    "backup": "backup",
    "restore": "restore",
    "export": "export_workspace",
    "import": "import_workspace",
}

# `valueloop import KIND FILE ...` for the kinds with their own importer; plain `import PATH` loads a workspace.
IMPORTERS = {"customers": "import_customers", "feedback": "import_feedback"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valueloop.settings")
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__.strip())
        return 0
    name, rest = argv[0], argv[1:]
    from django.core.management import execute_from_command_line

    if name == "manage":
        execute_from_command_line(["valueloop", *rest])
        return 0
    if name == "import" and rest[:1] and rest[0] in IMPORTERS:
        execute_from_command_line(["valueloop", IMPORTERS[rest[0]], *rest[1:]])
        return 0
    if name not in COMMANDS:
        print(f"valueloop: unknown command {name!r}. Commands: {', '.join(COMMANDS)}, manage.", file=sys.stderr)
        return 2
    execute_from_command_line(["valueloop", COMMANDS[name], *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
