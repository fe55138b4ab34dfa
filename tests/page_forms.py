"""Helpers for page-form tests: where a form shows its error."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from valueloop.core.models import AuditEvent


def error_beside(response, control_id: str) -> str:
    """The error shown beside the form control ``control_id``: the control is marked ``aria-invalid`` and points
    (``aria-describedby``) at the element holding the message, which is returned as text."""
    page = response.content.decode()
    tag = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(control_id)}"[^>]*>', page)
    assert tag, f"no control #{control_id} on the page"
    assert 'aria-invalid="true"' in tag.group(0), f"#{control_id} is not marked invalid: {tag.group(0)}"
    described = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert described, f"#{control_id} points at no message: {tag.group(0)}"
    message = re.search(rf'\bid="{re.escape(described.group(1))}"[^>]*>(.*?)</(?:p|div)>', page, re.S)
    assert message, f"no message #{described.group(1)} for #{control_id}"
    return html_lib.unescape(re.sub(r"<[^>]+>", "", message.group(1))).strip()


@pytest.fixture
def audit_unchanged(world):
    """Asserts, at the end of the test, that no write was audited (nothing half-written). Import it into a test
    module to use it (after ``world``'s rows exist, so that only the test's own writes count)."""
    before = AuditEvent.objects.count()
    yield
    assert AuditEvent.objects.count() == before
