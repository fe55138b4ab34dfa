"""Writes for interviews, highlights and survey responses.

Invariants:
- Every write runs in one transaction with its audit record(s) and checks ``WRITE_SCOPE``.
- An interview's account and participants are re-checked to be in the actor's workspace.
- Highlights are stored over the markdown source (offsets, text, prefix/suffix). Whenever the notes
  change, every highlight of the interview is re-anchored in the same transaction (see
  ``anchoring.reanchor``): kept, moved onto the same words, or marked detached (and re-attached if
  the words come back); each change is audited. A highlight is never moved onto different words.
- Survey imports are all-or-nothing (one invalid row writes nothing) and idempotent by
  (kind, response id). Each comment becomes a feedback item (source "survey") in the inbox, linked
  through ``SurveyResponse.feedback``. One audit record per import, with counts.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from valueloop.core.audit import audit_record, diff, snapshot
from valueloop.core.errors import Conflict, Invalid
from valueloop.core.markdown import render_markdown
from valueloop.core.permissions import Scope
from valueloop.core.services import clean_and_save, create_audited, update_audited
from valueloop.core.tenancy import Actor
from valueloop.customers.facade import Contact, Customer

from . import anchoring, selectors
from . import survey_import as importing
from .models import Highlight, Interview, SurveyResponse

# Interviews and survey imports are research work: VOICE_WRITE, which contributors (research, support,
# sales) hold as well as admins, product managers and owners; stakeholders only read.
WRITE_SCOPE = Scope.VOICE_WRITE
INTERVIEW_FIELDS = ["title", "happened_on", "customer", "notes", "consent"]
HIGHLIGHT_FIELDS = ["start", "end", "text", "detached"]


def _audit(actor: Actor, entity_type: str, obj, action: str, changes: dict) -> None:
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type=entity_type,
        entity_id=obj.pk,
        entity_label=str(obj),
        action=action,
        changes=changes,
    )


def _customer(actor: Actor, customer_id: int | None) -> Customer | None:
    if not customer_id:
        return None
    customer = Customer.objects.filter(workspace=actor.workspace, pk=customer_id).first()
    if customer is None:
        raise Invalid("No such account in this workspace.", fields={"customer_id": "Unknown account."})
    return customer


def _participants(actor: Actor, ids) -> list[Contact]:
    wanted = {int(i) for i in ids or [] if i}
    if not wanted:
        return []
    found = list(Contact.objects.filter(workspace=actor.workspace, pk__in=wanted))
    if len(found) != len(wanted):
        raise Invalid(
            "A participant is not a contact of this workspace.", fields={"participant_ids": "Unknown contact."}
        )
    return found


def _happened_on(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise Invalid("Give the interview's date.", fields={"happened_on": "Use a date like 2026-03-31."}) from None


def _clean(actor: Actor, data: dict) -> dict:
    data = dict(data)
    if "title" in data:
        data["title"] = (data["title"] or "").strip()
        if not data["title"]:
            raise Invalid("The interview needs a title.", fields={"title": "This field is required."})
    if "happened_on" in data:
        data["happened_on"] = _happened_on(data["happened_on"])
    if "notes" in data:
        data["notes"] = (data["notes"] or "").replace("\r\n", "\n").replace("\r", "\n")
    if "consent" in data:
        data["consent"] = bool(data["consent"])
    if "customer_id" in data:
        data["customer"] = _customer(actor, data.pop("customer_id"))
    return data


def _audit_participants(actor: Actor, interview: Interview, before: list[int], after: list[int]) -> None:
    if sorted(before) != sorted(after):
        _audit(actor, "interview", interview, "participants_changed", {"participants": [sorted(before), sorted(after)]})


@transaction.atomic
def interview_create(
    *,
    actor: Actor,
    title: str,
    happened_on,
    notes: str = "",
    consent: bool = False,
    customer_id: int | None = None,
    participant_ids: list[int] | None = None,
) -> Interview:
    actor.require(WRITE_SCOPE)
    data = _clean(
        actor,
        {"title": title, "happened_on": happened_on, "notes": notes, "consent": consent, "customer_id": customer_id},
    )
    participants = _participants(actor, participant_ids)
    if data.get("customer") is None:
        accounts = {c.customer_id for c in participants if c.customer_id}
        if len(accounts) == 1:
            data["customer"] = Customer.objects.get(pk=accounts.pop())
    interview = Interview(
        workspace=actor.workspace, interviewer=actor.user if getattr(actor.user, "pk", None) else None, **data
    )
    create_audited(actor, interview, entity_type="interview", fields=INTERVIEW_FIELDS)
    if participants:
        interview.participants.set(participants)
        _audit_participants(actor, interview, [], [c.pk for c in participants])
    return interview


def _reanchor_all(actor: Actor, interview: Interview, notes: str) -> dict[str, int]:
    counts = {"kept": 0, "moved": 0, "reflowed": 0, "detached": 0}
    for highlight in Highlight.objects.select_for_update().filter(interview=interview).order_by("id"):
        anchor = anchoring.reanchor(
            notes,
            text=highlight.text,
            start=highlight.start,
            end=highlight.end,
            prefix=highlight.prefix,
            suffix=highlight.suffix,
        )
        was_detached = highlight.detached
        counts[anchor.status] += 1
        if anchor.status == "kept" and not was_detached:
            continue
        before = snapshot(highlight, HIGHLIGHT_FIELDS)
        if not anchor.detached:
            highlight.start, highlight.end = anchor.start, anchor.end
            highlight.prefix, highlight.suffix = anchoring.context(notes, anchor.start, anchor.end)
        highlight.detached = anchor.detached
        changes = diff(before, snapshot(highlight, HIGHLIGHT_FIELDS))
        if not changes:
            continue
        highlight.save(update_fields=["start", "end", "prefix", "suffix", "detached"])
        action = "detached" if anchor.detached else ("reattached" if was_detached else "reanchored")
        _audit(actor, "highlight", highlight, action, changes)
    return counts


@transaction.atomic
def interview_update(*, actor: Actor, interview_id: int, expected_version: int | None = None, **changes) -> Interview:
    """Edit an interview. When the notes change, every highlight is re-anchored (see module doc);
    the outcome is left on ``interview.reanchored`` (counts per status) for the page to report."""
    interview = selectors.access_interview(actor=actor, id=interview_id, scope=WRITE_SCOPE, for_update=True)
    unknown = set(changes) - {"title", "happened_on", "notes", "consent", "customer_id", "participant_ids"}
    if unknown:
        raise Invalid(f"Unknown interview fields: {', '.join(sorted(unknown))}")
    participant_ids = changes.pop("participant_ids", None)
    data = _clean(actor, changes)
    notes_changed = "notes" in data and data["notes"] != interview.notes
    interview = update_audited(actor, interview, data, entity_type="interview", expected_version=expected_version)
    if participant_ids is not None:
        participants = _participants(actor, participant_ids)
        before = list(interview.participants.values_list("pk", flat=True))
        interview.participants.set(participants)
        _audit_participants(actor, interview, before, [c.pk for c in participants])
    interview.reanchored = _reanchor_all(actor, interview, interview.notes) if notes_changed else {}
    return interview


@transaction.atomic
def interview_delete(*, actor: Actor, interview_id: int) -> None:
    """Delete an interview with its highlights (and the evidence made from them); the audit record
    keeps every field of the interview."""
    interview = selectors.access_interview(actor=actor, id=interview_id, scope=WRITE_SCOPE, for_update=True)
    before = snapshot(interview, INTERVIEW_FIELDS)
    before["highlights"] = interview.highlights.count()
    _audit(actor, "interview", interview, "deleted", diff(before, {}))
    interview.delete()


# --- highlights -------------------------------------------------------------------------------


@transaction.atomic
def highlight_create(
    *,
    actor: Actor,
    interview_id: int,
    text: str = "",
    start: int | None = None,
    end: int | None = None,
    rendered_offset: int | None = None,
) -> Highlight:
    """Save a highlight over the notes' markdown source.

    Either exact source offsets (``start``/``end``; ``text``, if given, must be what they cover), or
    the ``text`` a reader selected in the rendered notes, located in the source (``rendered_offset``,
    the number of characters of rendered text before the selection, picks among repeats).
    """
    interview = selectors.access_interview(actor=actor, id=interview_id, scope=WRITE_SCOPE)
    notes = interview.notes
    if start is not None or end is not None:
        if start is None or end is None or not 0 <= start < end <= len(notes):
            raise Invalid(
                f"The highlight must lie within the notes (0 to {len(notes)}) and not be empty.",
                fields={"start": "Out of range.", "end": "Out of range."},
            )
        if text and notes[start:end] != text:
            raise Invalid(
                "The notes at those offsets do not read as the given text (were they edited meanwhile?).",
                fields={"text": "Does not match the notes."},
            )
    else:
        try:
            rendered = anchoring.html_to_text(render_markdown(notes)) if rendered_offset is not None else None
            start, end = anchoring.locate_selection(
                notes, text or "", rendered_text=rendered, rendered_offset=rendered_offset
            )
        except anchoring.AnchorError as exc:
            raise Invalid(str(exc), fields={"text": str(exc)}) from None
    if end - start > 20000:
        raise Invalid("A highlight is at most 20,000 characters.", fields={"text": "Too long."})
    prefix, suffix = anchoring.context(notes, start, end)
    if Highlight.objects.filter(interview=interview, start=start, end=end, detached=False).exists():
        raise Conflict("This passage is already highlighted.", code="duplicate")
    highlight = Highlight(
        workspace=actor.workspace,
        interview=interview,
        start=start,
        end=end,
        text=notes[start:end],
        prefix=prefix,
        suffix=suffix,
        created_by=actor.user if getattr(actor.user, "pk", None) else None,
    )
    return create_audited(actor, highlight, entity_type="highlight", fields=["interview", *HIGHLIGHT_FIELDS])


@transaction.atomic
def highlight_delete(*, actor: Actor, highlight_id: int) -> None:
    highlight = selectors.access_highlight(actor=actor, id=highlight_id, scope=WRITE_SCOPE, for_update=True)
    _audit(actor, "highlight", highlight, "deleted", diff(snapshot(highlight, ["interview", *HIGHLIGHT_FIELDS]), {}))
    highlight.delete()


# --- surveys ----------------------------------------------------------------------------------


def _feedback_title(row: importing.PreparedRow) -> str:
    if row.kind == "nps":
        group = "promoter" if row.score >= 9 else "passive" if row.score >= 7 else "detractor"
        return f"NPS {row.score}/10 ({group})"
    return f"CSAT {row.score}/5"


def _write_feedback(actor: Actor, rows: list[importing.PreparedRow]) -> dict[int, int]:
    """Feedback items for rows with a comment (line -> item id), written by the feedback app (so themes hear
    of them at once). Items a previous import already created (same survey external id) are reused."""
    from valueloop.feedback.facade import ForeignComment, feedback_from_elsewhere

    with_comment = [r for r in rows if r.comment.strip()]
    if not with_comment:
        return {}
    comments = [
        ForeignComment(
            key=f"{row.kind}:{row.external_id}" if row.external_id else "",
            title=_feedback_title(row),
            text=row.comment,
            received_at=row.responded_at,
            customer_id=row.customer_id,
            contact_id=row.contact_id,
        )
        for row in with_comment
    ]
    ids = feedback_from_elsewhere(actor=actor, source="survey", comments=comments)
    return {row.line: pk for row, pk in zip(with_comment, ids, strict=True)}


@transaction.atomic
def survey_import(
    *,
    actor: Actor,
    data: bytes,
    filename: str = "",
    default_kind: str = "",
    allow_unknown_accounts: bool = False,
    dry_run: bool = False,
) -> importing.SurveyImportReport:
    """Import NPS/CSAT responses from CSV: everything or (on any invalid row) nothing."""
    actor.require(WRITE_SCOPE)
    rows, report = importing.prepare(
        workspace=actor.workspace,
        data=data,
        default_kind=default_kind,
        allow_unknown_accounts=allow_unknown_accounts,
        filename=filename,
    )
    report.dry_run = dry_run
    if dry_run or not report.ok or not rows:
        return report
    feedback_ids = _write_feedback(actor, rows)
    responses = [
        SurveyResponse(
            workspace=actor.workspace,
            kind=row.kind,
            score=row.score,
            comment=row.comment,
            customer_id=row.customer_id,
            contact_id=row.contact_id,
            responded_at=row.responded_at,
            feedback_id=feedback_ids.get(row.line),
            external_id=row.external_id,
        )
        for row in rows
    ]
    try:
        with transaction.atomic():
            SurveyResponse.objects.bulk_create(responses, batch_size=2000)
    except IntegrityError as exc:
        raise Conflict(
            f"Another import wrote some of these responses at the same time; run it again ({exc}).",
            code="concurrent_import",
        ) from exc
    report.created = len(responses)
    report.feedback_created = len(set(feedback_ids.values()))
    report.written = True
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="survey_import",
        entity_id=None,
        entity_label=(filename or "survey import")[:200],
        action="imported",
        changes={
            "file": [None, filename],
            "rows": [None, report.total_rows],
            "created": [None, report.created],
            "unchanged": [None, report.unchanged],
            "feedback_created": [None, report.feedback_created],
        },
    )
    return report


@transaction.atomic
def survey_response_create(
    *,
    actor: Actor,
    kind: str,
    score: int,
    responded_at: dt.datetime | None = None,
    comment: str = "",
    customer_id: int | None = None,
    contact_id: int | None = None,
    external_id: str = "",
) -> SurveyResponse:
    """One response (the API's single-response endpoint): same rules as a one-row import."""
    actor.require(WRITE_SCOPE)
    if kind not in importing.SCALES:
        raise Invalid("The survey kind is nps or csat.", fields={"kind": "One of: nps, csat."})
    low, high = importing.SCALES[kind]
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise Invalid(f"A {kind.upper()} score is from {low} to {high}.", fields={"score": f"{low} to {high}."})
    customer = _customer(actor, customer_id)
    contact = None
    if contact_id:
        contact = Contact.objects.filter(workspace=actor.workspace, pk=contact_id).first()
        if contact is None:
            raise Invalid("No such contact in this workspace.", fields={"contact_id": "Unknown contact."})
        customer = customer or contact.customer
    if responded_at is not None and timezone.is_naive(responded_at):
        raise Invalid("The date needs a time zone.", fields={"responded_at": "Give a time zone offset."})
    external_id = (external_id or "").strip()
    if (
        external_id
        and SurveyResponse.objects.filter(workspace=actor.workspace, kind=kind, external_id=external_id).exists()
    ):
        raise Conflict(f"A {kind.upper()} response with id {external_id!r} exists.", code="duplicate")
    row = importing.PreparedRow(
        1,
        kind,
        score,
        (comment or "").strip(),
        customer.pk if customer else None,
        contact.pk if contact else None,
        responded_at or timezone.now(),
        external_id,
    )
    feedback_id = _write_feedback(actor, [row]).get(1)
    response = SurveyResponse(
        workspace=actor.workspace,
        kind=kind,
        score=score,
        comment=row.comment,
        customer=customer,
        contact=contact,
        responded_at=row.responded_at,
        feedback_id=feedback_id,
        external_id=external_id,
    )
    clean_and_save(response)
    _audit(actor, "survey_response", response, "created", diff({}, snapshot(response, ["kind", "score", "customer"])))
    return response
