"""Writes for the feedback inbox: items, triage, bulk actions, tags, saved views, imports.

Invariants:
- Every write runs in one transaction with its audit record(s). Single-item writes audit the
  item; bulk actions write one audit record per item changed (so each item's history shows it);
  imports and API batches write ONE record with counts (100,000 rows must not mean 100,000 records).
- Status: new -> triaged -> linked -> archived. People set new/triaged/archived; "linked" is set
  only through ``feedback_mark_linked`` (the evidence app, when evidence points at the item) and
  left only by archiving or ``feedback_mark_unlinked`` (the last evidence removed).
- Items carry ``version``; an edit against an old version is refused (Conflict).
- Bulk actions are all-or-nothing: an id outside the workspace fails the whole action (404).
- Imports and batches are all-or-nothing unless the caller chose to skip invalid rows, and
  idempotent by (source, external_id).
- Customers, contacts and personas named in input are re-checked against the workspace.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from valueloop.core.audit import audit_record
from valueloop.core.errors import Conflict, Invalid, NotFound
from valueloop.core.permissions import Scope
from valueloop.core.services import create_audited, delete_audited, update_audited
from valueloop.core.tenancy import Actor

from . import importing, search, selectors, signals
from .models import IMPORTANCE, SOURCES, STATUSES, FeedbackItem, IdempotencyKey, SavedView, Tag

# The scope that lets someone create, triage and import feedback: VOICE_WRITE, which contributors
# (support, sales, research) hold as well as admins, product managers and owners; stakeholders only read.
WRITE_SCOPE = Scope.VOICE_WRITE
ITEM_FIELDS = ["title", "text", "source", "customer", "contact", "received_at", "url", "importance", "status"]
SETTABLE_STATUSES = ("new", "triaged", "archived")
MAX_BULK = 1000
MAX_BATCH = 1000
BULK_ACTIONS = ("triage", "new", "archive", "add_tag", "remove_tag", "assign_customer")
SOURCE_KEYS = [k for k, _ in SOURCES]
IMPORTANCE_KEYS = [k for k, _ in IMPORTANCE]


def _clean(value) -> str:
    """Trimmed text without NUL characters (PostgreSQL refuses them in text columns)."""
    return str(value or "").replace("\x00", "").strip()


def _audit(actor: Actor, item: FeedbackItem, action: str, changes: dict) -> None:
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="feedback",
        entity_id=item.pk,
        entity_label=str(item),
        action=action,
        changes=changes,
    )


def _customer_and_contact(actor: Actor, customer_id: int | None, contact_id: int | None):
    """(customer, contact) inside the workspace; a contact implies its customer when none is given."""
    from valueloop.customers import facade as customers

    customer = contact = None
    if contact_id:
        try:
            contact = customers.access_contact(actor=actor, id=contact_id)
        except NotFound:
            raise Invalid("No such contact in this workspace.", fields={"contact_id": "Unknown contact."}) from None
    if customer_id:
        try:
            customer = customers.access_customer(actor=actor, id=customer_id)
        except NotFound:
            raise Invalid("No such customer in this workspace.", fields={"customer_id": "Unknown customer."}) from None
    elif contact is not None and contact.customer_id:
        customer = contact.customer
    return customer, contact


def _personas(actor: Actor, persona_ids) -> list:
    from valueloop.customers import facade as customers

    ids = sorted({int(i) for i in persona_ids or []})
    personas = customers.personas_by_ids(actor=actor, ids=ids)
    if len(personas) != len(ids):
        raise Invalid("No such persona in this workspace.", fields={"persona_ids": "Unknown persona."})
    return personas


def _tag_names(names) -> list[str]:
    if isinstance(names, str):
        names = names.split(",")
    out: list[str] = []
    for name in names or []:
        tag = importing.normalise_tag(_clean(name))
        if not tag:
            continue
        if len(tag) > importing.MAX_TAG:
            raise Invalid(
                f"The tag {tag[:80]!r} is too long.", fields={"tags": f"At most {importing.MAX_TAG} characters."}
            )
        if tag not in out:
            out.append(tag)
    if len(out) > importing.MAX_TAGS_PER_ITEM:
        raise Invalid("Too many tags.", fields={"tags": f"At most {importing.MAX_TAGS_PER_ITEM} per item."})
    return out


def _tags_for(actor: Actor, names: list[str]) -> list[Tag]:
    """Tags by name, created when missing (tags are cheap labels, not curated entities)."""
    if not names:
        return []
    existing = {t.name: t for t in Tag.objects.filter(workspace=actor.workspace, name__in=names)}
    missing = [Tag(workspace=actor.workspace, name=n) for n in names if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(workspace=actor.workspace, name__in=names)}
    return [existing[n] for n in names]


def _check_choice(name: str, value: str, allowed: list[str]) -> None:
    if value not in allowed:
        raise Invalid(
            f"Unknown {name} {value!r}.", fields={name: f"Choose one of: {', '.join(a for a in allowed if a)}."}
        )


@transaction.atomic
def feedback_create(
    *,
    actor: Actor,
    text: str,
    title: str = "",
    source: str = "other",
    received_at: dt.datetime | None = None,
    customer_id: int | None = None,
    contact_id: int | None = None,
    url: str = "",
    importance: str = "",
    tags: list[str] | str | None = None,
    persona_ids: list[int] | None = None,
    external_id: str = "",
) -> FeedbackItem:
    actor.require(WRITE_SCOPE)
    text = _clean(text)
    if not text:
        raise Invalid("Feedback needs the customer's words.", fields={"text": "This field is required."})
    _check_choice("source", source, SOURCE_KEYS)
    _check_choice("importance", importance or "", IMPORTANCE_KEYS)
    if received_at is not None and timezone.is_naive(received_at):
        raise Invalid("The date needs a time zone.", fields={"received_at": "Give a time zone offset."})
    customer, contact = _customer_and_contact(actor, customer_id, contact_id)
    external_id = _clean(external_id)
    if (
        external_id
        and FeedbackItem.objects.filter(workspace=actor.workspace, source=source, external_id=external_id).exists()
    ):
        raise Conflict(f"Feedback from {source} with external id {external_id!r} already exists.", code="duplicate")
    item = FeedbackItem(
        workspace=actor.workspace,
        title=_clean(title),
        text=text,
        source=source,
        customer=customer,
        contact=contact,
        received_at=received_at or timezone.now(),
        url=_clean(url),
        importance=importance or "",
        external_id=external_id,
        created_by=actor.user if getattr(actor.user, "pk", None) else None,
    )
    create_audited(actor, item, entity_type="feedback", fields=ITEM_FIELDS)
    signals.announce(workspace_id=actor.workspace.pk, ids=[item.pk], created=True)
    tag_objects = _tags_for(actor, _tag_names(tags))
    if tag_objects:
        item.tags.set(tag_objects)
    if persona_ids:
        item.personas.set(_personas(actor, persona_ids))
    return item


@transaction.atomic
def feedback_update(
    *, actor: Actor, feedback_id: int, expected_version: int | None = None, **changes: Any
) -> FeedbackItem:
    """Edit fields, status (new/triaged/archived), tags (names) and personas (ids) of one item."""
    item = selectors.access_feedback(actor=actor, id=feedback_id, scope=WRITE_SCOPE, for_update=True)
    allowed = {
        "title",
        "text",
        "source",
        "received_at",
        "customer_id",
        "contact_id",
        "url",
        "importance",
        "status",
        "tags",
        "persona_ids",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise Invalid(f"Unknown feedback fields: {', '.join(sorted(unknown))}")
    tags = changes.pop("tags", None)
    persona_ids = changes.pop("persona_ids", None)
    if "status" in changes:
        _check_status(changes["status"], current=item.status)
    if "source" in changes:
        _check_choice("source", changes["source"], SOURCE_KEYS)
    if "importance" in changes:
        changes["importance"] = changes["importance"] or ""
        _check_choice("importance", changes["importance"], IMPORTANCE_KEYS)
    if "text" in changes:
        changes["text"] = _clean(changes["text"])
        if not changes["text"]:
            raise Invalid("Feedback needs the customer's words.", fields={"text": "This field is required."})
    for name in ("title", "url"):
        if name in changes:
            changes[name] = _clean(changes[name])
    if "received_at" in changes and (changes["received_at"] is None or timezone.is_naive(changes["received_at"])):
        raise Invalid("The date needs a time zone.", fields={"received_at": "Give a date with a time zone offset."})
    if "customer_id" in changes or "contact_id" in changes:
        customer, contact = _customer_and_contact(
            actor,
            changes.pop("customer_id", item.customer_id),
            changes.pop("contact_id", item.contact_id),
        )
        changes["customer"], changes["contact"] = customer, contact
    check_version_first = expected_version is not None and expected_version != item.version
    if check_version_first or changes:
        item = update_audited(actor, item, changes, entity_type="feedback", expected_version=expected_version)
        if changes.keys() & {"title", "text", "customer", "received_at"}:
            signals.announce(workspace_id=actor.workspace.pk, ids=[item.pk], created=False)
    m2m_changes: dict[str, list] = {}
    if tags is not None:
        before = sorted(item.tags.values_list("name", flat=True))
        names = _tag_names(tags)
        if sorted(names) != before:
            item.tags.set(_tags_for(actor, names))
            m2m_changes["tags"] = [before, sorted(names)]
    if persona_ids is not None:
        before_ids = sorted(item.personas.values_list("id", flat=True))
        personas = _personas(actor, persona_ids)
        if sorted(p.pk for p in personas) != before_ids:
            item.personas.set(personas)
            m2m_changes["personas"] = [before_ids, sorted(p.pk for p in personas)]
    if m2m_changes:
        if not changes:  # the row itself did not change: still a new version for the edit
            FeedbackItem.objects.filter(pk=item.pk).update(version=F("version") + 1, updated_at=timezone.now())
            item.refresh_from_db(fields=["version", "updated_at"])
        _audit(actor, item, "updated", m2m_changes)
    return item


def _check_status(status: str, *, current: str) -> None:
    if current == "linked" and status in ("new", "triaged"):
        raise Invalid(
            "This item is linked to a problem or feature; it goes back to triage when its evidence is removed.",
            fields={"status": "Linked items can only be archived."},
        )
    if status == "linked" and current != "linked":
        raise Invalid(
            "An item becomes “linked” when evidence links it to a problem or feature.",
            fields={"status": "Link it from the item page instead."},
        )
    if status not in (*SETTABLE_STATUSES, "linked"):
        raise Invalid(
            f"Unknown status {status!r}.", fields={"status": f"Choose one of: {', '.join(SETTABLE_STATUSES)}."}
        )


@transaction.atomic
def feedback_set_status(
    *, actor: Actor, feedback_id: int, status: str, expected_version: int | None = None
) -> FeedbackItem:
    item = selectors.access_feedback(actor=actor, id=feedback_id, scope=WRITE_SCOPE, for_update=True)
    _check_status(status, current=item.status)
    return update_audited(
        actor,
        item,
        {"status": status},
        entity_type="feedback",
        expected_version=expected_version,
        action="status_changed",
    )


def _bulk_items(actor: Actor, ids) -> list[FeedbackItem]:
    ids = sorted({int(i) for i in ids or []})
    if not ids:
        raise Invalid("Select at least one feedback item.", fields={"ids": "Nothing selected."})
    if len(ids) > MAX_BULK:
        raise Invalid(f"At most {MAX_BULK} items at once.", fields={"ids": f"{len(ids)} selected."})
    items = list(FeedbackItem.objects.select_for_update().filter(workspace=actor.workspace, pk__in=ids))
    if len(items) != len(ids):
        missing = sorted(set(ids) - {item.pk for item in items})
        raise NotFound(f"{len(missing)} of the selected items do not exist in this workspace.")
    return items


@transaction.atomic
def feedback_bulk(
    *,
    actor: Actor,
    ids: list[int],
    action: str,
    tag: str = "",
    customer_id: int | None = None,
    customer: str = "",
) -> int:
    """Apply one action to many items, all or nothing; returns how many items changed.

    Actions: triage, new, archive (status), add_tag / remove_tag (``tag``), assign_customer
    (``customer_id``, or ``customer`` as a name, domain or external id; neither clears it).
    """
    actor.require(WRITE_SCOPE)
    if action not in BULK_ACTIONS:
        raise Invalid(
            f"Unknown bulk action {action!r}.", fields={"action": f"Choose one of: {', '.join(BULK_ACTIONS)}."}
        )
    items = _bulk_items(actor, ids)
    now = timezone.now()
    changed: list[FeedbackItem] = []
    if action in ("triage", "new", "archive"):
        status = {"triage": "triaged", "new": "new", "archive": "archived"}[action]
        # Linked items keep their status (their evidence says they are triaged); archiving works.
        changed = [
            item for item in items if item.status != status and not (item.status == "linked" and status != "archived")
        ]
        for item in changed:
            _audit(actor, item, "status_changed", {"status": [item.status, status]})
        FeedbackItem.objects.filter(pk__in=[i.pk for i in changed]).update(
            status=status, version=F("version") + 1, updated_at=now
        )
    elif action in ("add_tag", "remove_tag"):
        names = _tag_names([tag])
        if not names:
            raise Invalid("Name the tag.", fields={"tag": "This field is required."})
        through = FeedbackItem.tags.through
        if action == "add_tag":
            (tag_obj,) = _tags_for(actor, names)
            having = set(
                through.objects.filter(tag=tag_obj, feedbackitem_id__in=[i.pk for i in items]).values_list(
                    "feedbackitem_id", flat=True
                )
            )
            changed = [item for item in items if item.pk not in having]
            through.objects.bulk_create([through(feedbackitem_id=i.pk, tag_id=tag_obj.pk) for i in changed])
            verb = "tagged"
        else:
            tag_obj = Tag.objects.filter(workspace=actor.workspace, name=names[0]).first()
            if tag_obj is None:
                return 0
            links = through.objects.filter(tag=tag_obj, feedbackitem_id__in=[i.pk for i in items])
            having = set(links.values_list("feedbackitem_id", flat=True))
            changed = [item for item in items if item.pk in having]
            links.delete()
            verb = "untagged"
        for item in changed:
            _audit(actor, item, verb, {"tags": [None, names[0]] if verb == "tagged" else [names[0], None]})
        FeedbackItem.objects.filter(pk__in=[i.pk for i in changed]).update(version=F("version") + 1, updated_at=now)
    else:  # assign_customer
        target_id = _resolve_customer(actor, customer_id, customer)
        changed = [item for item in items if item.customer_id != target_id]
        for item in changed:
            _audit(actor, item, "updated", {"customer": [item.customer_id, target_id]})
        # The contact stays only when it belongs to the new customer.
        FeedbackItem.objects.filter(pk__in=[i.pk for i in changed]).update(
            customer_id=target_id, version=F("version") + 1, updated_at=now
        )
        FeedbackItem.objects.filter(pk__in=[i.pk for i in changed]).exclude(contact=None).exclude(
            contact__customer_id=target_id
        ).update(contact=None)
    return len(changed)


def _resolve_customer(actor: Actor, customer_id: int | None, reference: str) -> int | None:
    from valueloop.customers import facade as customers

    if customer_id:
        return customers.access_customer(actor=actor, id=customer_id).pk
    reference = (reference or "").strip()
    if not reference:
        return None
    found = importing.CustomerIndex(actor.workspace).customer(reference)
    if found is None:
        raise Invalid(
            f"No customer named {reference[:80]!r} (or with that domain or external id).",
            fields={"customer": "Unknown customer."},
        )
    return found


@transaction.atomic
def feedback_mark_linked(*, actor: Actor, ids: list[int]) -> int:
    """Evidence now points at these items: new/triaged ones become "linked" (archived stay)."""
    items = list(
        FeedbackItem.objects.select_for_update().filter(
            workspace=actor.workspace, pk__in=list(ids), status__in=["new", "triaged"]
        )
    )
    for item in items:
        _audit(actor, item, "status_changed", {"status": [item.status, "linked"]})
    FeedbackItem.objects.filter(pk__in=[i.pk for i in items]).update(
        status="linked", version=F("version") + 1, updated_at=timezone.now()
    )
    return len(items)


@transaction.atomic
def feedback_mark_unlinked(*, actor: Actor, ids: list[int]) -> int:
    """No evidence points at these items any more: "linked" ones go back to "triaged"."""
    items = list(
        FeedbackItem.objects.select_for_update().filter(workspace=actor.workspace, pk__in=list(ids), status="linked")
    )
    for item in items:
        _audit(actor, item, "status_changed", {"status": ["linked", "triaged"]})
    FeedbackItem.objects.filter(pk__in=[i.pk for i in items]).update(
        status="triaged", version=F("version") + 1, updated_at=timezone.now()
    )
    return len(items)


# --- tags -----------------------------------------------------------------------------------


@transaction.atomic
def tag_create(*, actor: Actor, name: str) -> Tag:
    actor.require(WRITE_SCOPE)
    (clean,) = _tag_names([name]) or [""]
    if not clean:
        raise Invalid("A tag needs a name.", fields={"name": "This field is required."})
    if Tag.objects.filter(workspace=actor.workspace, name=clean).exists():
        raise Invalid(f"The tag {clean!r} exists already.", fields={"name": "Choose another name."})
    return create_audited(
        actor, Tag(workspace=actor.workspace, name=clean), entity_type="feedback_tag", fields=["name"]
    )


@transaction.atomic
def tag_rename(*, actor: Actor, tag_id: int, name: str) -> Tag:
    """Rename a tag; renaming onto an existing tag merges the two."""
    tag = selectors.access_tag(actor=actor, id=tag_id, scope=WRITE_SCOPE)
    (clean,) = _tag_names([name]) or [""]
    if not clean:
        raise Invalid("A tag needs a name.", fields={"name": "This field is required."})
    if clean == tag.name:
        return tag
    target = Tag.objects.filter(workspace=actor.workspace, name=clean).first()
    if target is None:
        before = tag.name
        tag.name = clean
        tag.save(update_fields=["name"])
        audit_record(
            actor=actor.user,
            workspace=actor.workspace,
            via=actor.via,
            entity_type="feedback_tag",
            entity_id=tag.pk,
            entity_label=clean,
            action="renamed",
            changes={"name": [before, clean]},
        )
        return tag
    through = FeedbackItem.tags.through
    already = set(through.objects.filter(tag=target).values_list("feedbackitem_id", flat=True))
    moving = through.objects.filter(tag=tag).exclude(feedbackitem_id__in=already)
    moving.update(tag=target)
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="feedback_tag",
        entity_id=tag.pk,
        entity_label=tag.name,
        action="merged",
        changes={"name": [tag.name, clean]},
    )
    tag.delete()
    return target


@transaction.atomic
def tag_delete(*, actor: Actor, tag_id: int) -> None:
    tag = selectors.access_tag(actor=actor, id=tag_id, scope=WRITE_SCOPE)
    delete_audited(actor, tag, entity_type="feedback_tag", fields=["name"])


# --- saved views ----------------------------------------------------------------------------


def _clean_query(query: str) -> str:
    """Only the inbox filters we know, normalised (a saved view can never carry anything else)."""
    from django.http import QueryDict

    return selectors.FeedbackFilters.from_query(QueryDict((query or "").lstrip("?")[:2000])).querystring()


@transaction.atomic
def saved_view_create(*, actor: Actor, name: str, query: str, shared: bool = False) -> SavedView:
    actor.require(Scope.WORKSPACE_READ)
    name = _clean(name)
    if not name:
        raise Invalid("A saved view needs a name.", fields={"name": "This field is required."})
    if SavedView.objects.filter(workspace=actor.workspace, owner=actor.user, name__iexact=name).exists():
        raise Invalid(f"You already have a view named {name!r}.", fields={"name": "Choose another name."})
    view = SavedView(workspace=actor.workspace, owner=actor.user, name=name, query=_clean_query(query), shared=shared)
    return create_audited(actor, view, entity_type="feedback_view", fields=["name", "query", "shared"])


@transaction.atomic
def saved_view_update(*, actor: Actor, view_id: int, **changes: Any) -> SavedView:
    view = selectors.access_saved_view(actor=actor, id=view_id, own=True)
    unknown = set(changes) - {"name", "query", "shared"}
    if unknown:
        raise Invalid(f"Unknown saved view fields: {', '.join(sorted(unknown))}")
    if "query" in changes:
        changes["query"] = _clean_query(changes["query"])
    if "name" in changes:
        changes["name"] = _clean(changes["name"])
        if not changes["name"]:
            raise Invalid("A saved view needs a name.", fields={"name": "This field is required."})
    before = {k: getattr(view, k) for k in changes}
    for key, value in changes.items():
        setattr(view, key, value)
    delta = {k: [before[k], v] for k, v in changes.items() if before[k] != v}
    if delta:
        view.full_clean()
        view.save(update_fields=list(delta))
        audit_record(
            actor=actor.user,
            workspace=actor.workspace,
            via=actor.via,
            entity_type="feedback_view",
            entity_id=view.pk,
            entity_label=view.name,
            action="updated",
            changes=delta,
        )
    return view


@transaction.atomic
def saved_view_delete(*, actor: Actor, view_id: int) -> None:
    view = selectors.access_saved_view(actor=actor, id=view_id, own=True)
    delete_audited(actor, view, entity_type="feedback_view", fields=["name"])


# --- imports and batches ----------------------------------------------------------------------


_INSERT_COLUMNS = (
    "workspace_id",
    "title",
    "text",
    "source",
    "customer_id",
    "contact_id",
    "received_at",
    "url",
    "importance",
    "status",
    "external_id",
    "created_by_id",
    "created_at",
    "updated_at",
    "version",
)
_CHUNK = 5000


def _write_rows(actor: Actor, rows: list[importing.Row]) -> list[int]:
    """Insert prepared rows; returns their new ids in row order.

    The hot path of imports: 100,000 rows must take seconds, and building a model instance per
    row costs more than the database does. So the rows go in with ``executemany`` (one prepared
    statement, values converted by the model fields themselves), tags likewise. Everything else
    about a write still holds: same transaction, validated input (``importing.prepare``), one
    audit record by the caller, the FTS index kept by its triggers.
    """
    from django.db import connection

    if not rows:
        return []
    workspace_id = actor.workspace.pk
    names = sorted({name for row in rows for name in row.tags})
    tag_ids: dict[str, int] = {}
    if names:
        existing = dict(Tag.objects.filter(workspace=actor.workspace, name__in=names).values_list("name", "id"))
        missing = [Tag(workspace=actor.workspace, name=n) for n in names if n not in existing]
        if missing:
            Tag.objects.bulk_create(missing, ignore_conflicts=True, batch_size=500)
            existing = dict(Tag.objects.filter(workspace=actor.workspace, name__in=names).values_list("name", "id"))
        tag_ids = existing
    user_id = getattr(actor.user, "pk", None)
    received = FeedbackItem._meta.get_field("received_at")
    now = received.get_db_prep_value(timezone.now(), connection)
    table = connection.ops.quote_name(FeedbackItem._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _INSERT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(_INSERT_COLUMNS))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - constant identifiers
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        (before,) = cursor.fetchone()
        try:
            with transaction.atomic(), search.bulk_insert(rows=len(rows), after_id=before):
                for start in range(0, len(rows), _CHUNK):
                    cursor.executemany(
                        sql,
                        [
                            (
                                workspace_id,
                                row.title,
                                row.text,
                                row.source,
                                row.customer_id,
                                row.contact_id,
                                received.get_db_prep_value(row.received_at, connection),
                                row.url,
                                row.importance,
                                row.status,
                                row.external_id,
                                user_id,
                                now,
                                now,
                                1,
                            )
                            for row in rows[start : start + _CHUNK]
                        ],
                    )
        except IntegrityError as exc:
            raise Conflict(
                "Some of these items were written by another import at the same time. Run the import again: "
                "it skips what already exists.",
                code="concurrent_import",
            ) from exc
    # Ids by key: every prepared row has an external id (a content hash when the file had none).
    ids_by_key = {
        (source, external_id): pk
        for pk, source, external_id in FeedbackItem.objects.filter(workspace=actor.workspace, pk__gt=before)
        .values_list("id", "source", "external_id")
        .iterator(chunk_size=20000)
    }
    ids = [ids_by_key[(row.source, row.external_id)] for row in rows]
    _insert_links(
        FeedbackItem.tags.through,
        "tag_id",
        [(pk, tag_ids[n]) for pk, row in zip(ids, rows, strict=True) for n in row.tags],
    )
    _insert_links(
        FeedbackItem.personas.through,
        "persona_id",
        [(pk, persona) for pk, row in zip(ids, rows, strict=True) for persona in row.persona_ids],
    )
    signals.announce(workspace_id=workspace_id, ids=ids, created=True)
    return ids


def _insert_links(through, column: str, links: list[tuple[int, int]]) -> None:
    from django.db import connection

    if not links:
        return
    table = connection.ops.quote_name(through._meta.db_table)
    sql = f"INSERT INTO {table} (feedbackitem_id, {column}) VALUES (%s, %s)"  # noqa: S608 - constant identifiers
    with connection.cursor() as cursor:
        for start in range(0, len(links), _CHUNK * 4):
            cursor.executemany(sql, links[start : start + _CHUNK * 4])


@transaction.atomic
def feedback_load_rows(*, actor: Actor, rows: list[importing.Row], label: str) -> list[int]:
    """Write already-validated rows (the demo, other apps' bulk loaders) with ONE audit record.

    Rows must come from ``importing.prepare`` or be built with ids of the actor's workspace."""
    actor.require(WRITE_SCOPE)
    ids = _write_rows(actor, rows)
    if ids:
        audit_record(
            actor=actor.user,
            workspace=actor.workspace,
            via=actor.via,
            entity_type="feedback_import",
            entity_id=None,
            entity_label=label[:200],
            action="imported",
            changes={"created": [None, len(ids)]},
        )
    return ids


@transaction.atomic
def feedback_import(
    *, actor: Actor, data: bytes, filename: str = "", options: importing.ImportOptions
) -> importing.ImportReport:
    """Validate a file and, unless it is a dry run, write it: everything, or (skip_invalid) the valid
    rows; nothing at all when a row is invalid and skip_invalid was not chosen."""
    actor.require(WRITE_SCOPE)
    prepared = importing.prepare(workspace=actor.workspace, data=data, filename=filename, options=options)
    report = prepared.report
    if options.dry_run or not report.can_write:
        return report
    report.created_ids = _write_rows(actor, prepared.rows)
    report.created = len(report.created_ids)
    report.written = True
    audit_record(
        actor=actor.user,
        workspace=actor.workspace,
        via=actor.via,
        entity_type="feedback_import",
        entity_id=None,
        entity_label=(filename or "feedback import")[:200],
        action="imported",
        changes={
            "file": [None, filename],
            "preset": [None, options.preset],
            "rows": [None, report.total_rows],
            "created": [None, report.created],
            "unchanged": [None, report.unchanged],
            "skipped_invalid": [None, report.invalid_rows],
        },
    )
    if report.created >= 5000:
        transaction.on_commit(search.optimize_index)
    return report


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _stored_response(actor: Actor, key: str, digest: str) -> dict | None:
    stored = IdempotencyKey.objects.filter(workspace=actor.workspace, key=key).first()
    if stored is None:
        return None
    if stored.request_hash != digest:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body. Use a new key for a new batch.",
            code="idempotency_key_reused",
        )
    return {**stored.response, "replayed": True}


def feedback_batch_create(
    *, actor: Actor, items: list[dict], idempotency_key: str = "", body_for_hash: Any = None
) -> dict:
    """Create up to 1,000 items, all or nothing, idempotent by (source, external_id) and, with a
    key, by the request itself: the same key and body answer the stored response without writing;
    the same key with another body is a Conflict."""
    actor.require(WRITE_SCOPE)
    if len(items) > MAX_BATCH:
        raise Invalid(
            f"A batch holds at most {MAX_BATCH} items; this one has {len(items)}. Split it.",
            fields={"items": f"At most {MAX_BATCH} items."},
        )
    key = (idempotency_key or "").strip()
    if len(key) > 200:
        raise Invalid("The Idempotency-Key is too long.", fields={"Idempotency-Key": "At most 200 characters."})
    digest = request_hash(body_for_hash if body_for_hash is not None else items)
    if key:
        replay = _stored_response(actor, key, digest)
        if replay is not None:
            return replay
    try:
        with transaction.atomic():
            response = _batch_write(actor, items)
            if key:
                IdempotencyKey.objects.create(
                    workspace=actor.workspace, key=key, request_hash=digest, response=response
                )
    except IntegrityError:
        # A concurrent request with the same key won the race: answer what it stored.
        replay = _stored_response(actor, key, digest) if key else None
        if replay is None:
            raise
        return replay
    return {**response, "replayed": False}


def _batch_write(actor: Actor, items: list[dict]) -> dict:
    options = importing.ImportOptions(preset="generic", default_received_now=True)
    prepared = importing.prepare(workspace=actor.workspace, options=options, records=items)
    report = prepared.report
    if report.error_count:
        raise Invalid(
            f"{report.invalid_rows} of {len(items)} items are not valid; nothing was written.",
            fields={f"items[{p.row}].{p.field or 'item'}": p.message for p in report.errors},
        )
    created_ids = _write_rows(actor, prepared.rows)
    created_by_number = {row.number: pk for row, pk in zip(prepared.rows, created_ids, strict=True)}
    existing = {}
    unchanged_rows = [row for row in prepared.all_rows if row.exists]
    if unchanged_rows:
        keys = {(row.source, row.external_id) for row in unchanged_rows}
        for pk, source, external_id in FeedbackItem.objects.filter(
            workspace=actor.workspace,
            external_id__in=[k[1] for k in keys],
        ).values_list("id", "source", "external_id"):
            existing[(source, external_id)] = pk
    results = []
    for row in prepared.all_rows:
        if row.number in created_by_number:
            results.append(
                {
                    "index": row.number,
                    "id": created_by_number[row.number],
                    "external_id": row.external_id,
                    "result": "created",
                }
            )
        else:
            results.append(
                {
                    "index": row.number,
                    "id": existing.get((row.source, row.external_id)),
                    "external_id": row.external_id,
                    "result": "unchanged",
                }
            )
    if created_ids:
        audit_record(
            actor=actor.user,
            workspace=actor.workspace,
            via=actor.via,
            entity_type="feedback_import",
            entity_id=None,
            entity_label="API batch",
            action="imported",
            changes={"created": [None, len(created_ids)], "unchanged": [None, report.unchanged]},
        )
    return {"created": len(created_ids), "unchanged": report.unchanged, "items": results}


__all__ = [
    "BULK_ACTIONS",
    "STATUSES",
    "feedback_batch_create",
    "feedback_bulk",
    "feedback_create",
    "feedback_import",
    "feedback_mark_linked",
    "feedback_set_status",
    "feedback_update",
]


@dataclass(frozen=True)
class ForeignComment:
    """A customer's words captured by another app (a survey comment, say) that belong in the inbox too.

    ``key`` is the caller's stable id for it (stored as ``external_id`` with the given ``source``), so that
    importing the same thing again reuses the item instead of duplicating it."""

    key: str
    title: str
    text: str
    received_at: dt.datetime
    customer_id: int | None = None
    contact_id: int | None = None


def feedback_from_elsewhere(*, actor: Actor, source: str, comments: list[ForeignComment]) -> list[int]:
    """Put other apps' comments into the inbox as new items (one bulk write; one id per comment, in order).

    Comments whose key an earlier call already stored are not written again: their existing item's id is
    returned. New items are announced with ``feedback_changed`` after commit, like every other write, so
    themes embed them at once instead of at the next periodic scan."""
    actor.require(WRITE_SCOPE)
    if source not in dict(SOURCES):
        raise Invalid(f"Unknown feedback source {source!r}.", fields={"source": "Not a feedback source."})
    keys = {c.key for c in comments if c.key}
    existing = (
        dict(
            FeedbackItem.objects.filter(workspace=actor.workspace, source=source, external_id__in=keys).values_list(
                "external_id", "id"
            )
        )
        if keys
        else {}
    )
    user = actor.user if getattr(actor.user, "pk", None) else None
    now = timezone.now()
    new_items: dict[int, FeedbackItem] = {}
    for index, comment in enumerate(comments):
        if comment.key and comment.key in existing:
            continue
        new_items[index] = FeedbackItem(
            workspace=actor.workspace,
            title=comment.title,
            text=comment.text.strip(),
            source=source,
            customer_id=comment.customer_id,
            contact_id=comment.contact_id,
            received_at=comment.received_at,
            status="new",
            external_id=comment.key,
            created_by=user,
            created_at=now,
            updated_at=now,
        )
    FeedbackItem.objects.bulk_create(list(new_items.values()), batch_size=2000)
    created = [item.pk for item in new_items.values()]
    if created:
        signals.announce(workspace_id=actor.workspace.pk, ids=created, created=True)
    return [new_items[i].pk if i in new_items else existing[c.key] for i, c in enumerate(comments)]
