"""Workspace export and import: one workspace as a JSON document, and back as a NEW workspace.

Invariants:
- The document names things, never database ids: members by email, products by key, areas by
  (product key, name), a comment's subject by type plus those names. It can therefore be
  imported into any install, beside the workspace it came from.
- Import validates the whole document first and reports every problem by its JSON path
  (``products[3].name: required``); only a document without problems is written.
- Import is all-or-nothing: one transaction. The writes go through the services
  (``workspace_create``, ``product_create``, ``area_create``, ``comment_create``) as an admin
  actor with ``via="cli"``, so they are audited like any other change.
- Members are matched to existing users by email. Unknown emails become inactive users with
  unusable passwords (reported), who can be activated by a password reset or an admin.
- History is not news: comments keep their original ``created_at``/``edited_at``, and the
  notifications that re-creating them would send are not kept.
- Soft-deleted comments are not exported: deleted text does not travel.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import transaction
from django.utils import timezone

from valueloop.accounts.models import User
from valueloop.collaboration import services as collaboration
from valueloop.collaboration.models import Comment, Notification
from valueloop.core.audit import audit_record
from valueloop.core.errors import DomainError
from valueloop.core.money import DEFAULT_LOCALE, known_locales
from valueloop.core.permissions import Role
from valueloop.core.tenancy import Actor
from valueloop.workspaces import services as workspaces
from valueloop.workspaces.models import (
    CONTRIBUTOR_FUNCTIONS,
    CURRENCIES,
    Membership,
    Product,
    ProductArea,
    Workspace,
)

FORMAT_NAME = "valueloop-workspace"
FORMAT_VERSION = 1
MAX_NAME = 120
MAX_TEXT = 20000
ENTITY_TYPES = ("workspace", "product", "area")
FUNCTIONS = {value for value, _ in CONTRIBUTOR_FUNCTIONS}


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("valueloop")
    except PackageNotFoundError:
        return "unknown"


# --- export -------------------------------------------------------------------------------------


@dataclass
class ExportResult:
    document: dict
    skipped: list[str] = field(default_factory=list)


def workspace_export(*, workspace: Workspace) -> ExportResult:
    """The workspace as a JSON-ready document (see the module docstring for its shape)."""
    products = list(Product.objects.filter(workspace=workspace).order_by("id"))
    areas = list(ProductArea.objects.filter(workspace=workspace).select_related("product").order_by("id"))
    product_by_id = {p.pk: p for p in products}
    area_by_id = {a.pk: a for a in areas}
    skipped: list[str] = []

    def entity(comment: Comment) -> dict | None:
        if comment.entity_type == "workspace" and comment.entity_id == workspace.pk:
            return {"type": "workspace"}
        if comment.entity_type == "product" and comment.entity_id in product_by_id:
            return {"type": "product", "key": product_by_id[comment.entity_id].key}
        if comment.entity_type == "area" and comment.entity_id in area_by_id:
            area = area_by_id[comment.entity_id]
            return {"type": "area", "product": area.product.key, "name": area.name}
        return None

    comments = []
    live = Comment.objects.filter(workspace=workspace, deleted_at=None)
    for comment in live.select_related("author").order_by("created_at", "id"):
        ref = entity(comment)
        if ref is None:
            skipped.append(f"comment {comment.pk} on {comment.entity_type} {comment.entity_id} (not exportable)")
            continue
        comments.append({
            "author": comment.author.email if comment.author else None,
            "entity": ref,
            "body": comment.body,
            "created_at": _iso(comment.created_at),
            "edited_at": _iso(comment.edited_at),
        })
    deleted = Comment.objects.filter(workspace=workspace).exclude(deleted_at=None).count()
    if deleted:
        skipped.append(f"{deleted} deleted comment(s)")

    memberships = Membership.objects.filter(workspace=workspace).select_related("user").order_by("joined_at", "id")
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "exported_at": _iso(timezone.now()),
        "valueloop_version": _version(),
        "workspace": {
            "name": workspace.name,
            "slug": workspace.slug,
            "timezone": workspace.timezone,
            "currency": workspace.currency,
            "locale": workspace.locale,
        },
        "members": [
            {"email": m.user.email, "name": m.user.name, "handle": m.user.handle, "role": m.role,
             "function": m.function}
            for m in memberships
        ],
        "products": [
            {"key": p.key, "name": p.name, "description": p.description, "archived_at": _iso(p.archived_at)}
            for p in products
        ],
        "areas": [
            {"product": a.product.key, "name": a.name, "description": a.description, "archived_at": _iso(a.archived_at)}
            for a in areas
        ],
        "comments": comments,
    }
    return ExportResult(document=document, skipped=skipped)


# --- import: validation ---------------------------------------------------------------------------


class ImportInvalid(Exception):
    """The document has problems; ``errors`` name each one by its JSON path."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


class _Checker:
    def __init__(self):
        self.errors: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def obj(self, value: Any, path: str) -> dict | None:
        if not isinstance(value, dict):
            self.error(path, "must be an object")
            return None
        return value

    def rows(self, doc: dict, key: str) -> list[tuple[str, dict]]:
        value = doc.get(key, [])
        if not isinstance(value, list):
            self.error(key, "must be a list")
            return []
        out = []
        for i, row in enumerate(value):
            if (checked := self.obj(row, f"{key}[{i}]")) is not None:
                out.append((f"{key}[{i}]", checked))
        return out

    def text(self, row: dict, path: str, name: str, *, required: bool, max_length: int) -> str:
        value = row.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(f"{path}.{name}", "required")
            return ""
        if not isinstance(value, str):
            self.error(f"{path}.{name}", "must be a string")
            return ""
        value = value.strip()
        if len(value) > max_length:
            self.error(f"{path}.{name}", f"at most {max_length} characters (has {len(value)})")
        return value

    def when(self, row: dict, path: str, name: str) -> dt.datetime | None:
        value = row.get(name)
        if value is None:
            return None
        try:
            parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            self.error(f"{path}.{name}", "must be an ISO 8601 date-time, e.g. 2025-01-31T09:30:00Z")
            return None
        if parsed.tzinfo is None:
            self.error(f"{path}.{name}", "needs a time zone (e.g. a trailing Z)")
            return None
        return parsed


@dataclass
class _Plan:
    """The validated document, in the shape the writes need."""

    workspace: dict
    members: list[dict]
    products: list[dict]
    areas: list[dict]
    comments: list[dict]
    owner_email: str


def _validate(doc: Any, slug: str | None, admin_email: str | None) -> _Plan:
    check = _Checker()
    if not isinstance(doc, dict):
        raise ImportInvalid(["(document): must be a JSON object"])
    if doc.get("format") != FORMAT_NAME:
        raise ImportInvalid([f"format: must be {FORMAT_NAME!r} (is this a `valueloop export` file?)"])
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ImportInvalid(["format_version: required"])
    if version > FORMAT_VERSION:
        raise ImportInvalid([f"format_version: {version} is newer than this Valueloop reads ({FORMAT_VERSION}); "
                             "upgrade first"])

    # workspace
    ws = check.obj(doc.get("workspace"), "workspace") or {}
    name = check.text(ws, "workspace", "name", required=True, max_length=MAX_NAME)
    tz_name = check.text(ws, "workspace", "timezone", required=False, max_length=64) or "UTC"
    if tz_name not in zoneinfo.available_timezones():
        check.error("workspace.timezone", f"{tz_name!r} is not a known IANA time zone")
    currency = check.text(ws, "workspace", "currency", required=False, max_length=3) or "USD"
    if currency not in CURRENCIES:
        check.error("workspace.currency", f"{currency!r} is not one of {', '.join(CURRENCIES)}")
    locale = check.text(ws, "workspace", "locale", required=False, max_length=20) or DEFAULT_LOCALE
    if locale not in known_locales():
        check.error("workspace.locale", f"{locale!r} is not a known locale (e.g. en, de, fr, de_CH)")
    slug_path = "--slug" if slug else "workspace.slug"
    slug = slug or check.text(ws, "workspace", "slug", required=True, max_length=60)
    if slug:
        try:
            validate_slug(slug)
        except ValidationError:
            check.error(slug_path, f"{slug!r} is not a slug (letters, digits, hyphens, underscores)")
        if len(slug) > 60:
            check.error(slug_path, "at most 60 characters")
        elif Workspace.objects.filter(slug=slug).exists():
            check.error(slug_path, f"a workspace with the slug {slug!r} exists already; pass --slug NEW")

    # members
    members, emails, handles, owner = [], set(), set(), ""
    for path, row in check.rows(doc, "members"):
        email = check.text(row, path, "email", required=True, max_length=254).lower()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                check.error(f"{path}.email", f"{email!r} is not an email address")
            if email in emails:
                check.error(f"{path}.email", f"{email} is listed twice")
            emails.add(email)
        role = row.get("role")
        if not isinstance(role, str) or role not in {r.value for r in Role}:
            check.error(f"{path}.role", f"must be one of {', '.join(r.value for r in Role)}")
        elif role == Role.ADMIN and not owner:
            owner = email
        function = row.get("function") or ""
        if not isinstance(function, str) or function not in FUNCTIONS:
            check.error(f"{path}.function", f"must be one of {', '.join(sorted(f for f in FUNCTIONS if f))} or empty")
        handle = check.text(row, path, "handle", required=False, max_length=40)
        if handle:
            try:
                validate_slug(handle)
            except ValidationError:
                check.error(f"{path}.handle", f"{handle!r} is not a valid handle")
            if handle in handles:
                check.error(f"{path}.handle", f"{handle} is used twice")
            handles.add(handle)
        members.append({"path": path, "email": email, "role": role, "function": function, "handle": handle or None,
                        "name": check.text(row, path, "name", required=False, max_length=MAX_NAME)})
    if admin_email:
        owner = admin_email.strip().lower()
        if not User.objects.filter(email=owner, is_active=True).exists():
            check.error("--admin", f"no active user with the email {owner} on this install")
    elif not owner and not any(e.startswith("members") for e in check.errors):
        check.error("members", "at least one member must be an admin")

    # products and areas
    products, keys, names = [], set(), set()
    for path, row in check.rows(doc, "products"):
        pname = check.text(row, path, "name", required=True, max_length=MAX_NAME)
        key = check.text(row, path, "key", required=True, max_length=12).upper()
        if key and not key.replace("_", "").isalnum():
            check.error(f"{path}.key", "letters, digits and underscores only")
        if key and key in keys:
            check.error(f"{path}.key", f"{key} is used twice")
        if pname and pname.lower() in names:
            check.error(f"{path}.name", f"{pname!r} is used twice")
        keys.add(key)
        names.add(pname.lower())
        products.append({"path": path, "name": pname, "key": key,
                         "description": check.text(row, path, "description", required=False, max_length=MAX_TEXT),
                         "archived_at": check.when(row, path, "archived_at")})
    areas, area_names = [], set()
    for path, row in check.rows(doc, "areas"):
        product_key = check.text(row, path, "product", required=True, max_length=12).upper()
        if product_key and product_key not in keys:
            check.error(f"{path}.product", f"no product with key {product_key!r} in products")
        aname = check.text(row, path, "name", required=True, max_length=MAX_NAME)
        if aname and (product_key, aname.lower()) in area_names:
            check.error(f"{path}.name", f"{product_key} has two areas named {aname!r}")
        area_names.add((product_key, aname.lower()))
        areas.append({"path": path, "product": product_key, "name": aname,
                      "description": check.text(row, path, "description", required=False, max_length=MAX_TEXT),
                      "archived_at": check.when(row, path, "archived_at")})

    # comments
    comments = []
    for path, row in check.rows(doc, "comments"):
        author = row.get("author")
        if author is not None:
            author = check.text(row, path, "author", required=True, max_length=254).lower()
            try:
                if author:
                    validate_email(author)
            except ValidationError:
                check.error(f"{path}.author", f"{author!r} is not an email address (or null)")
        ref = check.obj(row.get("entity"), f"{path}.entity")
        kind, target = (ref or {}).get("type"), None
        if ref is None:
            pass  # reported
        elif kind not in ENTITY_TYPES:
            check.error(f"{path}.entity.type", f"must be one of {', '.join(ENTITY_TYPES)}")
        elif kind == "workspace":
            target = ("workspace",)
        elif kind == "product":
            pkey = str(ref.get("key") or "").upper()
            if pkey not in keys:
                check.error(f"{path}.entity.key", f"no product with key {pkey!r} in products")
            target = ("product", pkey)
        else:
            pkey, aname = str(ref.get("product") or "").upper(), str(ref.get("name") or "").strip()
            if (pkey, aname.lower()) not in area_names:
                check.error(f"{path}.entity", f"no area {aname!r} of product {pkey!r} in areas")
            target = ("area", pkey, aname.lower())
        body = check.text(row, path, "body", required=True, max_length=MAX_TEXT)
        comments.append({"path": path, "author": author, "target": target, "body": body,
                         "created_at": check.when(row, path, "created_at"),
                         "edited_at": check.when(row, path, "edited_at")})

    if check.errors:
        raise ImportInvalid(check.errors)
    return _Plan(
        workspace={"name": name, "slug": slug, "timezone": tz_name, "currency": currency, "locale": locale},
        members=members, products=products, areas=areas, comments=comments, owner_email=owner,
    )


# --- import: writes -------------------------------------------------------------------------------


@dataclass
class ImportResult:
    workspace: Workspace
    dry_run: bool
    counts: dict[str, int]
    created_users: list[str]
    notes: list[str]


class _DryRun(Exception):
    pass


def _at(path: str, exc: DomainError) -> ImportInvalid:
    if exc.fields:
        return ImportInvalid([f"{path}.{name}: {message}" for name, message in exc.fields.items()])
    return ImportInvalid([f"{path}: {exc.message}"])


def workspace_import(
    *, document: Any, slug: str | None = None, admin_email: str | None = None, dry_run: bool = False
) -> ImportResult:
    """Create a new workspace from an export document; ImportInvalid (nothing written) on any problem.

    The creator (first admin) is ``admin_email``, an existing active user, if given; else the
    first admin among the document's members.
    """
    plan = _validate(document, slug, admin_email)
    result: ImportResult | None = None
    try:
        with transaction.atomic():
            result = _write(plan, dry_run=dry_run)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    assert result is not None
    return result


def _write(plan: _Plan, *, dry_run: bool) -> ImportResult:
    created_users: list[str] = []
    notes: list[str] = []
    wanted = {m["email"] for m in plan.members} | {c["author"] for c in plan.comments if c["author"]}
    wanted.add(plan.owner_email)
    users = {u.email.lower(): u for u in User.objects.filter(email__in=wanted)}
    by_email = {m["email"]: m for m in plan.members}
    for email in sorted(wanted - set(users)):
        info = by_email.get(email, {})
        handle = info.get("handle")
        if handle and User.objects.filter(handle=handle).exists():
            notes.append(f"{email}: the handle @{handle} is taken on this install; created without a handle")
            handle = None
        user = User.objects.create_user(email, None, name=info.get("name", ""), handle=handle, is_active=False)
        users[email] = user
        created_users.append(email)

    owner = users[plan.owner_email]
    ws = plan.workspace
    try:
        workspace = workspaces.workspace_create(
            user=owner, name=ws["name"], timezone_name=ws["timezone"], currency=ws["currency"], via="cli",
            slug=ws["slug"], locale=ws["locale"],
        )
    except DomainError as exc:
        raise _at("workspace", exc) from exc
    admin = Actor(user=owner, workspace=workspace, role=Role.ADMIN, via="cli")

    for member in plan.members:
        user = users[member["email"]]
        if user.pk == owner.pk:
            Membership.objects.filter(workspace=workspace, user=user).update(function=member["function"])
            continue
        membership = Membership.objects.create(workspace=workspace, user=user, role=member["role"],
                                               function=member["function"])
        audit_record(actor=owner, workspace=workspace, via="cli", entity_type="member", entity_id=membership.pk,
                     entity_label=user.email, action="joined", changes={"role": [None, member["role"]]})

    products: dict[str, Product] = {}
    for row in plan.products:
        try:
            product = workspaces.product_create(actor=admin, name=row["name"], key=row["key"],
                                                description=row["description"])
            if row["archived_at"]:
                product = workspaces.product_archive(actor=admin, product_id=product.pk)
                Product.objects.filter(pk=product.pk).update(archived_at=row["archived_at"])
        except DomainError as exc:
            raise _at(row["path"], exc) from exc
        products[row["key"]] = product

    areas: dict[tuple[str, str], ProductArea] = {}
    for row in plan.areas:
        try:
            area = workspaces.area_create(actor=admin, product_id=products[row["product"]].pk, name=row["name"],
                                          description=row["description"])
            if row["archived_at"]:
                area = workspaces.area_archive(actor=admin, area_id=area.pk)
                ProductArea.objects.filter(pk=area.pk).update(archived_at=row["archived_at"])
        except DomainError as exc:
            raise _at(row["path"], exc) from exc
        areas[(row["product"], row["name"].lower())] = area

    for row in plan.comments:
        kind, *names = row["target"]
        if kind == "workspace":
            entity_id = workspace.pk
        elif kind == "product":
            entity_id = products[names[0]].pk
        else:
            entity_id = areas[(names[0], names[1])].pk
        author = users[row["author"]] if row["author"] else owner
        try:
            comment = collaboration.comment_create(
                actor=Actor(user=author, workspace=workspace, role=Role.ADMIN, via="cli"),
                entity_type=kind, entity_id=entity_id, body=row["body"],
            )
        except DomainError as exc:
            raise _at(row["path"], exc) from exc
        history: dict[str, Any] = {"edited_at": row["edited_at"]}
        if row["created_at"]:
            history["created_at"] = row["created_at"]
        if row["author"] is None:
            history["author"] = None
        Comment.objects.filter(pk=comment.pk).update(**history)

    # Re-creating old comments would notify mentions and followers of things long past.
    Notification.objects.filter(workspace=workspace).delete()
    active_admins = Membership.objects.filter(workspace=workspace, role=Role.ADMIN, user__is_active=True)
    if not active_admins.exists():
        notes.append("no admin of the new workspace can sign in (its admins are new, inactive users); import "
                     "again with --admin EMAIL of an active user (e.g. one made by `valueloop createadmin`)")
    counts = {"members": len(plan.members), "products": len(plan.products), "areas": len(plan.areas),
              "comments": len(plan.comments)}
    return ImportResult(workspace=workspace, dry_run=dry_run, counts=counts, created_users=created_users, notes=notes)
