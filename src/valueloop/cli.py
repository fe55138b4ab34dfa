"""The ``valueloop`` command: a thin dispatcher onto Django management commands.

valueloop serve [--host H] [--port P] [--workers N]
valueloop worker                 (also runs the periodic due-checks, e.g. themes re-clustering, weekly digests)
valueloop themes-cron [--once]   the themes due-check on its own (for a system cron instead of the worker)
valueloop demo [--scale small|large] [--seed N]
valueloop migrate
valueloop createadmin --email E [--name N]
valueloop backup PATH | restore PATH
valueloop export PATH --workspace SLUG | import PATH
valueloop search-reindex          rebuild the full-text search index of every kind from the rows
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
    "themes-cron": "themes_cron",
    "search-reindex": "search_reindex",
}

# Jobs the worker runs besides queued tasks: (dotted path of a function taking no arguments, seconds
# between calls). Each runs in a daemon thread of the worker process and only queues tasks.
PERIODIC = [("valueloop.themes.facade.scheduled_tick", 300)]

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
    if name == "worker" and "--batch" not in rest:
        _start_periodic()
    execute_from_command_line(["valueloop", COMMANDS[name], *rest])
    return 0


def _start_periodic() -> None:
    """Run the PERIODIC jobs in daemon threads (they die with the worker); a failing call is logged
    and retried at the next interval. VALUELOOP_PERIODIC=0 turns them off (e.g. on all but one worker)."""
    import logging
    import threading
    import time
    from importlib import import_module

    if os.environ.get("VALUELOOP_PERIODIC", "1").strip().lower() in {"0", "false", "no", "off"}:
        return
    import django

    django.setup()
    from django.db import close_old_connections

    logger = logging.getLogger("valueloop.periodic")

    def loop(path: str, every: int) -> None:
        module, _, attr = path.rpartition(".")
        time.sleep(10)  # let the worker start (and migrations finish) first
        while True:
            try:
                getattr(import_module(module), attr)()
            except Exception:
                logger.exception("periodic job %s failed", path)
            finally:
                close_old_connections()
            time.sleep(every)

    for path, every in PERIODIC:
        threading.Thread(target=loop, args=(path, every), name=f"periodic:{path}", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
