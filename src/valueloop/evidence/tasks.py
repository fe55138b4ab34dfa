"""Background work for evidence: thin wrappers over services."""

from django.tasks import task


@task()
def send_loop_notification_task(notification_id: int, reply_to: str = "") -> str:
    """Send one "you asked, we built it" email (recorded as a LoopNotification) and stamp it."""
    from .services import deliver

    return deliver(notification_id, reply_to)
