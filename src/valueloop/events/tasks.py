"""Background work for events: thin wrappers over services."""

from django.tasks import task


@task()
def compact_events_task(workspace_id: int, kind: str) -> int:
    """Merge a workspace's small Parquet parts of one kind (exposures or events) into one."""
    from .services import events_compact

    return events_compact(workspace_id, kind)
