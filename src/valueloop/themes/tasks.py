"""Background work for themes: thin wrappers over ``runs`` and ``services`` (see their invariants)."""

from __future__ import annotations

from django.tasks import task


def _workspace(workspace_id: int):
    from valueloop.workspaces.facade import Workspace

    return Workspace.objects.filter(pk=workspace_id).first()


@task()
def embed_items_task(workspace_id: int, feedback_ids: list[int] | None = None, trigger: str = "arrival") -> dict:
    """Embed new or edited items of a workspace and place them in the nearest theme."""
    from . import runs

    workspace = _workspace(workspace_id)
    if workspace is None:
        return {"skipped": "no such workspace"}
    run = runs.process_new_items(workspace, feedback_ids=feedback_ids or None, trigger=trigger)
    return {"run": run.pk if run else None, "status": run.status if run else "nothing new"}


@task()
def recluster_task(workspace_id: int, trigger: str = "schedule", user_id: int | None = None) -> dict:
    """Re-cluster every item of a workspace; a failure is recorded on the run, the themes stay."""
    from valueloop.accounts.facade import User

    from . import runs

    workspace = _workspace(workspace_id)
    if workspace is None:
        return {"skipped": "no such workspace"}
    user = User.objects.filter(pk=user_id).first() if user_id else None
    run = runs.recluster(workspace, trigger=trigger, user=user)
    return {"run": run.pk, "status": run.status}


@task()
def digest_task(workspace_id: int) -> dict:
    """This ISO week's digest (idempotent: a second call in the same week sends nothing)."""
    from . import services

    workspace = _workspace(workspace_id)
    if workspace is None:
        return {"skipped": "no such workspace"}
    digest = services.digest_send(workspace)
    return {"digest": digest.pk if digest else None}
