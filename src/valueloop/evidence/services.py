"""Writes for evidence (links from what customers said to problems and features) and for closing
the loop with the people who asked once a feature is released.

Invariants:
- A link has exactly one source: a feedback item (optionally a quote inside its text, with offsets
  checked against the text), an interview highlight, or an experiment's learning (``learning_link``,
  no customer: it never adds to accounts or ARR). Sources and targets are looked up in the
  actor's workspace: another workspace's id is NotFound, never linked.
- A highlight from an interview without consent is refused as evidence (``Invalid``), and so is a
  detached highlight (its words are no longer in the notes).
- ``customer`` and ``said_at`` are copied from the source; one source links to one target once
  (a second link is ``Conflict``).
- Linking marks the feedback item "linked" (through the feedback facade); removing the last link
  of an item sends it back to "triaged".
- Closing the loop: only for a released feature; never emails an unsubscribed contact; emails each
  address once per feature unless ``resend`` is explicitly asked for; every email carries a signed
  unsubscribe link; who was told is recorded (``LoopNotification``) before the mail is queued, and
  the mail leaves only after the transaction commits.
- Every write is audited in its own transaction.
"""

from __future__ import annotations

import email.policy

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from valueloop.core import extensions
from valueloop.core.audit import audit_record, diff, snapshot
from valueloop.core.entities import resolve_entity
from valueloop.core.errors import Conflict, Invalid, NotFound
from valueloop.core.permissions import Scope
from valueloop.core.services import create_audited
from valueloop.core.tenancy import Actor

from . import selectors
from .models import EVIDENCE_IMPORTANCE, Evidence, LoopNotification

# Linking what customers said to a problem or feature is voice-of-the-customer work: VOICE_WRITE, which
# contributors (support, sales, research) hold as well as admins, product managers and owners.
WRITE_SCOPE = Scope.VOICE_WRITE
# Emailing customers speaks for the company: product managers and owners (PORTFOLIO_WRITE), although
# contributors may link evidence.
NOTIFY_SCOPE = Scope.PORTFOLIO_WRITE
FIELDS = [
    "target_type",
    "target_id",
    "feedback",
    "highlight",
    "customer",
    "importance",
    "quote",
    "quote_start",
    "quote_end",
]
IMPORTANCES = {value for value, _ in EVIDENCE_IMPORTANCE}
MAX_QUOTE = 20000
UNSUBSCRIBE_SALT = "valueloop.evidence.unsubscribe"
MAX_SUBJECT = 200
MAX_BODY = 10000


# --- sources ----------------------------------------------------------------------------------


def feedback_source(actor: Actor, feedback_id: int):
    """The feedback item in the actor's workspace (NotFound otherwise)."""
    from valueloop.feedback.facade import access_feedback

    return access_feedback(actor, feedback_id)


def _mark_feedback(actor: Actor, ids: list[int], linked: bool) -> None:
    """The feedback app owns its items' status: it marks them linked, or unlinked once no evidence is left."""
    if not ids:
        return
    from valueloop.feedback.facade import feedback_mark_linked, feedback_mark_unlinked

    (feedback_mark_linked if linked else feedback_mark_unlinked)(actor, ids)


def link_label(actor: Actor, evidence: Evidence) -> str:
    """What an audit row calls a link, in words: “Alpha feature” ← feedback “Exports time out”."""
    target = resolve_entity(actor.workspace, evidence.target_type, evidence.target_id)
    target_text = f"“{_clip(target.label)}”" if target else f"{evidence.target_type} {evidence.target_id}"
    if evidence.feedback_id:
        item = evidence.feedback
        source = f"feedback “{_clip(item.title or item.text)}”"
    elif evidence.highlight_id:
        source = f"highlight “{_clip(evidence.highlight.text)}”"
    elif evidence.learning_id:
        learning = evidence.learning
        source = f"learning “{_clip(getattr(learning, 'title', '') or getattr(learning, 'text', ''))}”"
    else:
        source = "a source"
    return f"{target_text} ← {source}"[:200]


def _clip(text: str, size: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def quote_span(text: str, start: int | None, end: int | None, quote: str = "") -> tuple[int | None, int | None, str]:
    """Check a quote against the item's text: (start, end, quote), whitespace trimmed.

    Offsets are code points. When ``quote`` is given and the offsets do not cover it exactly (the
    browser normalises line breaks, for instance), the occurrence nearest ``start`` is taken; a quote
    that does not occur in the text is refused.
    """
    quote = quote or ""
    if start is None and end is None:
        if not quote.strip():
            return None, None, ""
        start = text.find(quote)
        if start < 0:
            raise Invalid("The quote does not occur in the item's text.", fields={"quote": "Not found in the text."})
        end = start + len(quote)
    elif start is None or end is None:
        raise Invalid("Give both ends of the quote.", fields={"quote_start": "Give start and end together."})
    if isinstance(start, bool) or isinstance(end, bool) or not 0 <= start < end <= len(text):
        raise Invalid(
            f"The quote must lie inside the text (0 to {len(text)}) and not be empty.",
            fields={"quote_start": "Out of range.", "quote_end": "Out of range."},
        )
    if quote and text[start:end] != quote:
        occurrences = []
        at = text.find(quote)
        while at != -1:
            occurrences.append(at)
            at = text.find(quote, at + 1)
        if not occurrences:
            raise Invalid(
                "The quote does not match the item's text at those offsets.",
                fields={"quote": "Does not match the text."},
            )
        start = min(occurrences, key=lambda o: (abs(o - start), o))
        end = start + len(quote)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:
        raise Invalid("The quote is empty.", fields={"quote": "Select some words."})
    if end - start > MAX_QUOTE:
        raise Invalid(f"A quote is at most {MAX_QUOTE:,} characters.", fields={"quote": "Too long."})
    return start, end, text[start:end]


def _importance(value) -> int:
    if isinstance(value, bool) or value not in IMPORTANCES:
        raise Invalid(
            "Importance is 1 (low) to 4 (critical).", fields={"importance": "1 low, 2 medium, 3 high, 4 critical."}
        )
    return int(value)


# --- evidence links ---------------------------------------------------------------------------


@transaction.atomic
def evidence_link(
    *,
    actor: Actor,
    target_type: str,
    target_id: int,
    feedback_id: int | None = None,
    highlight_id: int | None = None,
    importance: int = 2,
    quote_start: int | None = None,
    quote_end: int | None = None,
    quote: str = "",
) -> Evidence:
    if bool(feedback_id) == bool(highlight_id):
        raise Invalid(
            "Link either a feedback item or an interview highlight, not both and not neither.",
            fields={"feedback_id": "Give exactly one source.", "highlight_id": "Give exactly one source."},
        )
    importance = _importance(importance)
    evidence = Evidence(workspace=actor.workspace, importance=importance)
    if feedback_id:
        item = feedback_source(actor, feedback_id)
        selectors.access_target(actor=actor, target_type=target_type, target_id=target_id)
        actor.require(WRITE_SCOPE)
        start, end, text = quote_span(item.text, quote_start, quote_end, quote)
        evidence.feedback_id = item.pk
        evidence.customer_id = item.customer_id
        evidence.said_at = item.received_at
        evidence.quote, evidence.quote_start, evidence.quote_end = text, start, end
        duplicate = Evidence.objects.filter(feedback_id=item.pk, target_type=target_type, target_id=target_id)
    else:
        from valueloop.research.facade import highlight_source

        source = highlight_source(actor, highlight_id)  # type: ignore[arg-type]
        selectors.access_target(actor=actor, target_type=target_type, target_id=target_id)
        actor.require(WRITE_SCOPE)
        if not source.consent:
            raise Invalid(
                f"“{source.interview_title}” has no consent to quote its participants, so its highlights cannot "
                "be used as evidence. Record their consent on the interview first.",
                fields={"highlight_id": "The interview has no consent."},
                code="no_consent",
            )
        if source.detached:
            raise Invalid(
                "This highlight is detached: its words are no longer in the interview notes. "
                "Highlight the passage again.",
                fields={"highlight_id": "Detached highlight."},
            )
        evidence.highlight_id = source.id
        evidence.customer_id = source.customer_id
        evidence.said_at = source.said_at
        evidence.quote = source.quote[:MAX_QUOTE]
        duplicate = Evidence.objects.filter(highlight_id=source.id, target_type=target_type, target_id=target_id)
    evidence.target_type, evidence.target_id = target_type, int(target_id)
    evidence.created_by = actor.user if getattr(actor.user, "pk", None) else None
    if duplicate.exists():
        raise Conflict(f"This is already evidence for that {target_type}.", code="duplicate")
    try:
        with transaction.atomic():
            create_audited(actor, evidence, entity_type="evidence", fields=FIELDS, label=link_label(actor, evidence))
    except (IntegrityError, Invalid) as exc:
        if duplicate.exists():
            raise Conflict(f"This is already evidence for that {target_type}.", code="duplicate") from exc
        raise
    if evidence.feedback_id:
        _mark_feedback(actor, [evidence.feedback_id], linked=True)
    return evidence


@transaction.atomic
def learning_link(*, actor: Actor, learning, target_type: str, target_id: int) -> Evidence:
    """An experiment's learning as evidence on a problem or feature (the experiments app calls this when a
    decision is recorded). The learning must belong to the actor's workspace; it carries no customer, so it adds
    nothing to unique accounts or ARR. Linking the same learning to the same target twice is ``Conflict``."""
    if learning is None or getattr(learning, "workspace_id", None) != actor.workspace.pk:
        raise NotFound("Learning not found.")
    selectors.access_target(actor=actor, target_type=target_type, target_id=target_id)
    actor.require(Scope.PORTFOLIO_WRITE)
    duplicate = Evidence.objects.filter(learning_id=learning.pk, target_type=target_type, target_id=target_id)
    if duplicate.exists():
        raise Conflict(f"This learning is already evidence for that {target_type}.", code="duplicate")
    evidence = Evidence(
        workspace=actor.workspace,
        learning_id=learning.pk,
        target_type=target_type,
        target_id=int(target_id),
        importance=3,
        quote=(learning.text or "")[:MAX_QUOTE],
        said_at=getattr(learning, "created_at", None) or timezone.now(),
        created_by=actor.user if getattr(actor.user, "pk", None) else None,
    )
    return create_audited(
        actor, evidence, entity_type="evidence", fields=[*FIELDS, "learning"], label=link_label(actor, evidence)
    )


@transaction.atomic
def evidence_link_many(
    *,
    actor: Actor,
    target_type: str,
    target_id: int,
    feedback_ids: list[int],
    importance: dict[int, int] | int = 2,
    quotes: dict[int, str] | None = None,
) -> int:
    """Link many feedback items to one target at once (bulk triage, demo data, imports).

    Same rules as ``evidence_link`` for each item; ``quotes`` (item id -> a passage of its text) are
    checked as ``evidence_link`` checks a quote, and one that does not occur in its item's text fails
    the whole call (Invalid naming the item). Items already linked to the target are skipped (their
    quotes too); an id outside the workspace fails the whole call (NotFound). One audit record with
    the counts. Returns how many links were created.
    """
    from valueloop.feedback.facade import FeedbackItem

    selectors.access_target(actor=actor, target_type=target_type, target_id=target_id)
    actor.require(WRITE_SCOPE)
    quotes = quotes or {}
    wanted = list(dict.fromkeys(int(i) for i in feedback_ids))
    items = FeedbackItem.objects.filter(workspace=actor.workspace, pk__in=wanted)
    # The texts only when there are quotes to check: a bulk link of 50,000 items need not read them.
    rows = list(items.values_list("id", "customer_id", "received_at", "text" if quotes else "customer_id"))
    if len(rows) != len(wanted):
        raise NotFound("Some of these feedback items are not in this workspace.")
    done = set(
        Evidence.objects.filter(target_type=target_type, target_id=target_id, feedback_id__in=wanted).values_list(
            "feedback_id", flat=True
        )
    )
    user = actor.user if getattr(actor.user, "pk", None) else None
    links = []
    for pk, customer_id, received_at, text in rows:
        if pk in done:
            continue
        level = importance.get(pk, 2) if isinstance(importance, dict) else importance
        start = end = None
        quote = ""
        if quotes.get(pk):
            try:
                start, end, quote = quote_span(text, None, None, quotes[pk])
            except Invalid as exc:
                raise Invalid(f"Feedback item {pk}: {exc.message}", fields={"quotes": f"item {pk}: {exc.message}"})
        links.append(
            Evidence(
                workspace=actor.workspace,
                feedback_id=pk,
                target_type=target_type,
                target_id=int(target_id),
                customer_id=customer_id,
                said_at=received_at,
                importance=_importance(level),
                quote=quote,
                quote_start=start,
                quote_end=end,
                created_by=user,
            )
        )
    Evidence.objects.bulk_create(links, batch_size=2000)
    if links:
        changes = {"feedback_items": [None, len(links)]}
        quoted = sum(1 for link in links if link.quote)
        if quoted:
            changes["quoted"] = [None, quoted]
        audit_record(
            actor=user,
            workspace=actor.workspace,
            via=actor.via,
            entity_type=target_type,
            entity_id=int(target_id),
            entity_label=f"{target_type} {target_id}",
            action="evidence_linked",
            changes=changes,
        )
        _mark_feedback(actor, [link.feedback_id for link in links], linked=True)
    return len(links)


@transaction.atomic
def evidence_update(
    *,
    actor: Actor,
    evidence_id: int,
    importance: int | None = None,
    quote_start: int | None = None,
    quote_end: int | None = None,
    quote: str | None = None,
    clear_quote: bool = False,
) -> Evidence:
    """Change how much it matters, or the quoted part of a feedback item's text."""
    evidence = selectors.access_evidence(actor=actor, id=evidence_id, scope=WRITE_SCOPE, for_update=True)
    before = snapshot(evidence, FIELDS)
    if importance is not None:
        evidence.importance = _importance(importance)
    quoting = clear_quote or quote_start is not None or quote_end is not None or quote is not None
    if quoting:
        if evidence.learning_id:
            raise Invalid(
                "A learning's text is the experiment's decision; it is not edited here.",
                fields={"quote": "Not editable here."},
            )
        if not evidence.feedback_id:
            raise Invalid(
                "A highlight's quote is changed on the interview, by highlighting again.",
                fields={"quote": "Not editable here."},
            )
        if clear_quote:
            evidence.quote, evidence.quote_start, evidence.quote_end = "", None, None
        else:
            item = feedback_source(actor, evidence.feedback_id)
            start, end, text = quote_span(item.text, quote_start, quote_end, quote or "")
            evidence.quote, evidence.quote_start, evidence.quote_end = text, start, end
    changes = diff(before, snapshot(evidence, FIELDS))
    if changes:
        evidence.full_clean()
        evidence.save(update_fields=["importance", "quote", "quote_start", "quote_end"])
        audit_record(
            actor=actor.user,
            workspace=actor.workspace,
            via=actor.via,
            entity_type="evidence",
            entity_id=evidence.pk,
            entity_label=link_label(actor, evidence),
            action="updated",
            changes=changes,
        )
    return evidence


@transaction.atomic
def evidence_unlink(*, actor: Actor, evidence_id: int) -> None:
    evidence = selectors.access_evidence(actor=actor, id=evidence_id, scope=WRITE_SCOPE, for_update=True)
    feedback_id = evidence.feedback_id
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="evidence",
        entity_id=evidence.pk,
        entity_label=link_label(actor, evidence),
        action="deleted",
        changes=diff(snapshot(evidence, FIELDS), {}),
    )
    evidence.delete()
    if feedback_id and not Evidence.objects.filter(feedback_id=feedback_id).exists():
        _mark_feedback(actor, [feedback_id], linked=False)


# --- closing the loop -------------------------------------------------------------------------


def unsubscribe_token(workspace_id: int, contact_id: int) -> str:
    return signing.dumps([workspace_id, contact_id], salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(workspace_id: int, contact_id: int) -> str:
    path = reverse("evidence:unsubscribe", args=[unsubscribe_token(workspace_id, contact_id)])
    return settings.VALUELOOP_PUBLIC_URL.rstrip("/") + path


def read_unsubscribe_token(token: str) -> tuple[int, int]:
    """(workspace id, contact id) from a link we signed; NotFound for anything else."""
    try:
        workspace_id, contact_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        return int(workspace_id), int(contact_id)
    except (signing.BadSignature, ValueError, TypeError):
        raise NotFound("This unsubscribe link is not valid.") from None


def default_message(*, actor: Actor, feature) -> tuple[str, str]:
    sender = getattr(actor.user, "display_name", "") or getattr(actor.user, "name", "") or actor.workspace.name
    subject = f"{feature.title} is live — thanks for asking"
    body = (
        "Hi {name},\n\n"
        f"A while ago you told us what you needed, and we listened: “{feature.title}” is now live.\n\n"
        "Thank you for taking the time to tell us. If you have questions, or it is not quite what you "
        "had in mind, just reply to this email; it comes straight to the team that built it.\n\n"
        f"{sender}\n{actor.workspace.name}"
    )
    return subject, body


def _first_name(name: str) -> str:
    return (name or "").strip().split(" ")[0] or "there"


def personalise(body: str, *, name: str, unsubscribe: str, workspace_name: str) -> str:
    text = body.replace("{name}", _first_name(name))
    return (
        f"{text.rstrip()}\n\n--\nYou are receiving this because you asked {workspace_name} for it.\n"
        f"Unsubscribe: {unsubscribe}\n"
    )


def check_message(subject: str, body: str) -> tuple[str, str]:
    subject = (subject or "").strip()
    body = (body or "").replace("\r\n", "\n").strip()
    errors = {}
    if not subject:
        errors["subject"] = "Write a subject."
    elif len(subject) > MAX_SUBJECT or "\n" in subject or "\r" in subject:
        errors["subject"] = f"One line, at most {MAX_SUBJECT} characters."
    if not body:
        errors["body"] = "Write the message."
    elif len(body) > MAX_BODY:
        errors["body"] = f"At most {MAX_BODY:,} characters."
    if errors:
        raise Invalid("The email is not ready to send.", fields=errors)
    return subject, body


# Extension points evidence asks (core.extensions): the apps that own the targets answer them.
FEATURE_FOR_LOOP = "evidence.feature"  # (workspace, feature_id) -> the feature (title, status, pk) or None
TARGET_CHOICES = "evidence.target_choices"  # (workspace) -> {"problems": [(id, title)]} / {"features": [...]}


def released_or_not_feature(workspace, feature_id: int):
    """The feature with this id in ``workspace`` as planning answers it (None when absent or no planning)."""
    return extensions.ask(FEATURE_FOR_LOOP, workspace=workspace, feature_id=int(feature_id))


def feature_for_loop(actor: Actor, feature_id: int):
    """The feature (NotFound outside the workspace), released or not: callers check the status."""
    feature = released_or_not_feature(actor.workspace, feature_id)
    if feature is None:
        raise NotFound("Feature not found.")
    return feature


@transaction.atomic
def loop_notify(
    *,
    actor: Actor,
    feature_id: int,
    subject: str,
    body: str,
    contact_ids: list[int] | None = None,
    resend: bool = False,
) -> list[LoopNotification]:
    """Email the people who asked for a released feature; returns the notifications recorded.

    ``body`` may use ``{name}`` (the contact's first name). ``contact_ids`` narrows the recipients
    to some of the requesters; ``resend`` includes people already told about this feature.
    """
    feature = feature_for_loop(actor, feature_id)
    actor.require(NOTIFY_SCOPE)
    if feature.status != "released":
        raise Invalid(
            "Tell requesters once the feature is released (set its status to Released first).",
            fields={"feature": "Not released yet."},
            code="not_released",
        )
    subject, body = check_message(subject, body)
    found = selectors.requesters(actor=actor, feature_id=feature.pk)
    candidates = list(found.reachable) + (list(found.already_told) if resend else [])
    if contact_ids is not None:
        wanted = {int(c) for c in contact_ids}
        known = {r.contact_id for r in candidates}
        blocked = {r.contact_id for r in found.unsubscribed}
        if wanted & blocked:
            raise Invalid(
                "Some of these people unsubscribed; they are never emailed.", fields={"contact_ids": "Unsubscribed."}
            )
        if wanted - known:
            raise Invalid(
                "Some of these contacts did not ask for this feature, or were already told (choose re-send).",
                fields={"contact_ids": "Not a requester to notify."},
            )
        candidates = [r for r in candidates if r.contact_id in wanted]
    if not candidates:
        raise Invalid(
            "Nobody to notify: every requester has been told already, unsubscribed, or has no email address.",
            fields={"contact_ids": "No recipients."},
            code="no_recipients",
        )
    user = actor.user if getattr(actor.user, "pk", None) else None
    notifications = [
        LoopNotification(
            workspace=actor.workspace,
            feature=feature,
            contact_id=r.contact_id,
            email=r.email,
            subject=subject,
            body=personalise(
                body,
                name=r.name,
                unsubscribe=unsubscribe_url(actor.workspace.pk, r.contact_id),
                workspace_name=actor.workspace.name,
            ),
            resend=resend and r.told_at is not None,
            created_by=user,
        )
        for r in candidates
    ]
    LoopNotification.objects.bulk_create(notifications)
    audit_record(
        actor=user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="feature",
        entity_id=feature.pk,
        entity_label=str(feature),
        action="requesters_notified",
        changes={
            "subject": [None, subject],
            "recipients": [None, len(notifications)],
            "emails": [None, [n.email for n in notifications][:500]],
            "resend": [None, resend],
        },
    )
    ids = [n.pk for n in notifications]
    reply_to = getattr(actor.user, "email", "") or ""

    def queue() -> None:
        from .tasks import send_loop_notification_task

        for pk in ids:
            send_loop_notification_task.enqueue(pk, reply_to)

    transaction.on_commit(queue)
    return notifications


class _LoopEmail(EmailMessage):
    """Headers are not folded at 78 characters: folding a long ``List-Unsubscribe`` URL (no spaces
    to fold at) would turn it into RFC 2047 encoded words, which mail clients do not read as a URL.
    Lines stay within RFC 5322's hard limit of 998 characters."""

    def message(self, *, policy=email.policy.default):
        return super().message(policy=policy.clone(max_line_length=998))


def deliver(notification_id: int, reply_to: str = "") -> str:
    """Send one recorded notification (the task's body). Never sends twice; never sends to a
    contact who unsubscribed after it was queued. Returns the resulting status."""
    with transaction.atomic():
        notification = (
            LoopNotification.objects.select_for_update(of=("self",))
            .select_related("contact")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.status == "sent":
            return notification.status if notification else "missing"
        if notification.contact is not None and notification.contact.unsubscribed_at is not None:
            notification.status, notification.error = "failed", "Unsubscribed before the email left."
            notification.save(update_fields=["status", "error"])
            return notification.status
        unsubscribe = (
            unsubscribe_url(notification.workspace_id, notification.contact_id) if notification.contact_id else ""
        )
        message = _LoopEmail(
            subject=notification.subject,
            body=notification.body,
            to=[notification.email],
            reply_to=[reply_to] if reply_to else None,
            headers=(
                {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
                if unsubscribe
                else None
            ),
        )
        try:
            message.send()
        except Exception as exc:
            notification.status, notification.error = "failed", str(exc)[:500]
            notification.save(update_fields=["status", "error"])
            return notification.status
        notification.status, notification.sent_at, notification.error = "sent", timezone.now(), ""
        notification.save(update_fields=["status", "sent_at", "error"])
        return notification.status


def unsubscribe_preview(*, token: str) -> dict:
    """What the unsubscribe page shows before the person confirms (NotFound for a bad link)."""
    from valueloop.customers.facade import Contact

    workspace_id, contact_id = read_unsubscribe_token(token)
    contact = Contact.objects.filter(workspace_id=workspace_id, pk=contact_id).select_related("workspace").first()
    if contact is None:
        raise NotFound("This unsubscribe link is no longer valid.")
    return {
        "email": contact.email,
        "workspace_name": contact.workspace.name,
        "already": contact.unsubscribed_at is not None,
    }


@transaction.atomic
def unsubscribe(*, token: str) -> tuple[int, str]:
    """The person behind a signed link stops receiving our mail: every contact of that workspace with
    the same address. Returns (contacts changed, email). Idempotent."""
    from valueloop.customers.facade import Contact

    workspace_id, contact_id = read_unsubscribe_token(token)
    contact = Contact.objects.filter(workspace_id=workspace_id, pk=contact_id).select_related("workspace").first()
    if contact is None:
        raise NotFound("This unsubscribe link is no longer valid.")
    from valueloop.customers.facade import unsubscribe_contact

    changed = unsubscribe_contact(workspace=contact.workspace, email=contact.email, contact_id=contact.pk)
    return changed, contact.email
