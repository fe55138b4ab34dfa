"""Closing the loop: the people who asked for a released feature are emailed once, through a real
SMTP server (aiosmtpd on localhost), unsubscribed people never; the unsubscribe link works and
cannot be forged."""

from __future__ import annotations

import email
import json
import re
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.test import Client, override_settings

from tests.conftest import token_client
from tests.factories import ContactFactory, CustomerFactory, FeedbackItemFactory
from valueloop.core.errors import Invalid, NotFound
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.customers.models import Contact
from valueloop.evidence.models import LoopNotification
from valueloop.evidence.selectors import requesters
from valueloop.evidence.services import evidence_link, loop_notify, unsubscribe_token
from valueloop.planning.services import feature_update
from valueloop.research.services import highlight_create, interview_create


class Collector:
    def __init__(self):
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.content)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    collector = Collector()
    port = _free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    mailers = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port},
        }
    }
    try:
        with override_settings(MAILERS=mailers, VALUELOOP_PUBLIC_URL="https://vl.example"):
            yield collector
    finally:
        controller.stop()


@pytest.fixture
def asked(world):
    """A released feature with evidence from named contacts and from an interview."""
    ws = world.ws_a
    acme = CustomerFactory(workspace=ws, name="Acme", arr=100000, segment="enterprise")
    bolt = CustomerFactory(workspace=ws, name="Bolt", arr=20000, segment="smb")
    ana = ContactFactory(workspace=ws, name="Ana Ruiz", email="ana@acme.example", customer=acme)
    ana_again = ContactFactory(
        workspace=ws, name="Ana R.", email="ANA@acme.example", customer=acme
    )  # same person, second record
    ben = ContactFactory(workspace=ws, name="Ben Okoro", email="ben@bolt.example", customer=bolt)
    una = ContactFactory(workspace=ws, name="Una Unsub", email="una@bolt.example", customer=bolt)
    una.unsubscribed_at = una.created_at
    una.save(update_fields=["unsubscribed_at"])
    nomail = ContactFactory(workspace=ws, name="No Mail", email="", customer=bolt)
    cleo = ContactFactory(workspace=ws, name="Cleo Park", email="cleo@acme.example", customer=acme)
    items = [
        FeedbackItemFactory(workspace=ws, text="Please add webhook retries", customer=acme, contact=ana),
        FeedbackItemFactory(workspace=ws, text="Retries, please", customer=acme, contact=ana_again),
        FeedbackItemFactory(workspace=ws, text="We lose events", customer=bolt, contact=ben),
        FeedbackItemFactory(workspace=ws, text="Events vanish", customer=bolt, contact=una),
        FeedbackItemFactory(workspace=ws, text="Replay would be great", customer=bolt, contact=nomail),
        FeedbackItemFactory(workspace=ws, text="Someone else's words"),
    ]
    for item in items:
        evidence_link(actor=world.actor_a, target_type="feature", target_id=world.feature_a.pk, feedback_id=item.pk)
    interview = interview_create(
        actor=world.actor_a,
        title="Acme call",
        happened_on="2026-03-01",
        notes="Cleo: we need **replay**.",
        consent=True,
        participant_ids=[cleo.pk],
    )
    highlight = highlight_create(actor=world.actor_a, interview_id=interview.pk, text="we need replay")
    evidence_link(actor=world.actor_a, target_type="feature", target_id=world.feature_a.pk, highlight_id=highlight.pk)
    feature_update(actor=world.actor_a, feature_id=world.feature_a.pk, status="released")
    return {"ana": ana, "ana_again": ana_again, "ben": ben, "una": una, "cleo": cleo, "nomail": nomail}


def test_requesters__deduped_by_email_unsubscribed_apart(world, asked):
    found = requesters(actor=world.actor_a, feature_id=world.feature_a.pk)
    assert sorted(r.email.lower() for r in found.reachable) == [
        "ana@acme.example",
        "ben@bolt.example",
        "cleo@acme.example",
    ]
    assert [r.email for r in found.unsubscribed] == ["una@bolt.example"]
    assert found.without_email == 1
    ana = next(r for r in found.reachable if r.email.lower() == "ana@acme.example")
    assert ana.items == 2


def test_loop_notify__sends_through_smtp_once_and_records_who_was_told(
    world, asked, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = loop_notify(
            actor=world.actor_a,
            feature_id=world.feature_a.pk,
            subject="Webhook retries are live",
            body="Hi {name},\n\nRetries are live. Thanks for asking!",
        )
    assert len(sent) == 3
    recipients = sorted(rcpt.lower() for _, rcpts, _ in smtp.messages for rcpt in rcpts)
    assert recipients == ["ana@acme.example", "ben@bolt.example", "cleo@acme.example"]
    assert "una@bolt.example" not in recipients
    by_to = {m["To"].lower(): m for _, _, m in smtp.messages}
    ben = by_to["ben@bolt.example"]
    assert ben["Subject"] == "Webhook retries are live"
    text = ben.get_content()
    assert text.startswith("Hi Ben,") and "Unsubscribe: https://vl.example/unsubscribe/" in text
    assert ben["List-Unsubscribe"].startswith("<https://vl.example/unsubscribe/")
    assert ben["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # the header travels as a plain <URL> (not RFC 2047 encoded words, which clients cannot use)
    assert all(b"\r\nList-Unsubscribe: <https://vl.example/unsubscribe/" in raw for raw in smtp.raw)
    assert ben["Reply-To"] == world.users[Role.ADMIN].email
    rows = LoopNotification.objects.filter(feature=world.feature_a)
    assert rows.count() == 3 and set(rows.values_list("status", flat=True)) == {"sent"}
    assert all(r.sent_at for r in rows)
    audit = AuditEvent.objects.get(entity_type="feature", entity_id=world.feature_a.pk, action="requesters_notified")
    assert audit.changes["recipients"] == [None, 3]

    # Never twice: everyone has been told, so a second send has nobody to email.
    with pytest.raises(Invalid) as excinfo, django_capture_on_commit_callbacks(execute=True):
        loop_notify(actor=world.actor_a, feature_id=world.feature_a.pk, subject="Again", body="Again")
    assert excinfo.value.code == "no_recipients"
    assert len(smtp.messages) == 3
    # ...unless explicitly re-sent.
    with django_capture_on_commit_callbacks(execute=True):
        again = loop_notify(
            actor=world.actor_a,
            feature_id=world.feature_a.pk,
            subject="Reminder",
            body="Hi {name}",
            resend=True,
            contact_ids=[asked["ben"].pk],
        )
    assert [n.email for n in again] == ["ben@bolt.example"] and again[0].resend
    assert len(smtp.messages) == 4


def test_unsubscribe_link__works_and_cannot_be_forged(world, asked, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        loop_notify(actor=world.actor_a, feature_id=world.feature_a.pk, subject="Live", body="Hi {name}")
    message = next(m for _, rcpts, m in smtp.messages if rcpts == ["ana@acme.example"] or rcpts == ["ANA@acme.example"])
    url = re.search(r"Unsubscribe: (\S+)", message.get_content()).group(1)
    path = url.replace("https://vl.example", "")
    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    assert page.status_code == 200 and "ana@acme.example" in page.content.decode().lower()
    assert Contact.objects.get(pk=asked["ana"].pk).unsubscribed_at is None  # a GET (link scanners) changes nothing
    done = client.post(path)  # one-click: no CSRF token needed, the signature is the credential
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    # every contact with that address stops receiving mail
    assert Contact.objects.get(pk=asked["ana"].pk).unsubscribed_at is not None
    assert Contact.objects.get(pk=asked["ana_again"].pk).unsubscribed_at is not None
    assert Contact.objects.get(pk=asked["ben"].pk).unsubscribed_at is None
    found = requesters(actor=world.actor_a, feature_id=world.feature_a.pk)
    assert "ana@acme.example" in [r.email.lower() for r in found.unsubscribed]

    token = path.rstrip("/").rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/unsubscribe/{tampered}/").status_code == 404
    assert client.post(f"/unsubscribe/{tampered}/").status_code == 404
    forged = unsubscribe_token(world.ws_a.pk, asked["ben"].pk).split(":")
    forged[0] = unsubscribe_token(world.ws_a.pk, asked["cleo"].pk).split(":")[0]  # payload of another contact
    assert client.post(f"/unsubscribe/{':'.join(forged)}/").status_code == 404
    assert Contact.objects.get(pk=asked["cleo"].pk).unsubscribed_at is None


def test_loop_notify__refuses_unreleased_features_and_unsubscribed_choices(world, asked):
    with pytest.raises(Invalid) as excinfo:
        loop_notify(
            actor=world.actor_a, feature_id=world.feature_a.pk, subject="x", body="y", contact_ids=[asked["una"].pk]
        )
    assert "unsubscribed" in excinfo.value.message
    feature_update(actor=world.actor_a, feature_id=world.feature_a.pk, status="in_progress")
    with pytest.raises(Invalid) as excinfo:
        loop_notify(actor=world.actor_a, feature_id=world.feature_a.pk, subject="x", body="y")
    assert excinfo.value.code == "not_released"
    with pytest.raises(NotFound):
        loop_notify(actor=world.actor_a, feature_id=world.feature_b.pk, subject="x", body="y")
    with pytest.raises(Invalid):
        feature_update(actor=world.actor_a, feature_id=world.feature_a.pk, status="released")
        loop_notify(actor=world.actor_a, feature_id=world.feature_a.pk, subject="two\nlines", body="y")


def test_unsubscribed_after_queueing__the_email_does_not_leave(world, asked, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        loop_notify(actor=world.actor_a, feature_id=world.feature_a.pk, subject="Live", body="Hi")
    Contact.objects.filter(pk=asked["ben"].pk).update(unsubscribed_at=asked["una"].unsubscribed_at)
    for callback in callbacks:
        callback()
    assert "ben@bolt.example" not in [r for _, rcpts, _ in smtp.messages for r in rcpts]
    assert LoopNotification.objects.get(email="ben@bolt.example").status == "failed"


def test_notify_page__compose_preview_send(world, asked, smtp, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    url = f"/w/{world.ws_a.slug}/evidence/feature/{world.feature_a.pk}/notify/"
    page = client.get(url).content.decode()
    assert "Alpha feature is live" in page and "Una Unsub" in page and "unsubscribed" in page
    feature_page = client.get(f"/w/{world.ws_a.slug}/features/{world.feature_a.pk}/").content.decode()
    assert "Close the loop" in feature_page and "Notify requesters" in feature_page and "unsubscribed" in feature_page
    chosen = [asked["ana"].pk, asked["ben"].pk]
    form = {"subject": "Retries are live", "body": "Hello {name}, it is live.", "contact_ids": chosen}
    preview = client.post(url, {**form, "action": "preview"})
    html = preview.content.decode()
    assert preview.status_code == 200 and "Preview" in html and "Hello Ana, it is live." in html
    assert "Send 2 emails" in html and not smtp.messages
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url, {**form, "action": "send"})
    assert sent.status_code == 302
    assert sorted(r for _, rcpts, _ in smtp.messages for r in rcpts) == ["ana@acme.example", "ben@bolt.example"]
    html = client.get(url).content.decode()
    assert "Who was told" in html and "ben@bolt.example" in html and "Sent" in html
    empty = client.post(url, {"subject": "", "body": "", "action": "preview"})
    assert empty.status_code == 400 and "Please fix the following" in empty.content.decode()


def test_notify_page__contributors_and_stakeholders_cannot_send(world, asked):
    for role in (Role.CONTRIBUTOR, Role.STAKEHOLDER):
        client = Client()
        client.force_login(world.users[role])
        url = f"/w/{world.ws_a.slug}/evidence/feature/{world.feature_a.pk}/notify/"
        assert client.get(url).status_code == 403
        assert client.post(url, {"subject": "x", "body": "y", "action": "send"}).status_code == 403
    assert not LoopNotification.objects.exists()


def test_api__requesters_and_notifications(world, asked, smtp, django_capture_on_commit_callbacks):
    client = token_client(world.actor(Role.PRODUCT_MANAGER))
    rows = client.get(f"/api/v1/features/{world.feature_a.pk}/requesters").json()
    assert {r["email"].lower(): r["status"] for r in rows} == {
        "ana@acme.example": "to_tell",
        "ben@bolt.example": "to_tell",
        "cleo@acme.example": "to_tell",
        "una@bolt.example": "unsubscribed",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/features/{world.feature_a.pk}/notifications",
            json.dumps({"subject": "Live", "body": "Hi {name}", "contact_ids": [asked["cleo"].pk]}),
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    assert [n["email"] for n in response.json()] == ["cleo@acme.example"]
    listing = client.get(f"/api/v1/features/{world.feature_a.pk}/notifications").json()
    assert listing["count"] == 1 and listing["items"][0]["status"] == "sent"
