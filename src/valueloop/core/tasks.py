"""Background tasks shared by every app. Thin wrappers: the work itself lives in plain functions."""

from django.core.mail import send_mail
from django.tasks import task


@task()
def send_email_task(subject: str, body: str, recipients: list[str]) -> int:
    """Send one plain-text email through the configured mailer; runs on the task worker."""
    return send_mail(subject, body, None, recipients)
