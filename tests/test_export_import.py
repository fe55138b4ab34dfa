"""`valueloop export` / `valueloop import`: one workspace as JSON, and back as a new workspace."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from valueloop.accounts.models import User
from valueloop.collaboration import services as collaboration
from valueloop.collaboration.models import Comment, Notification
from valueloop.core.errors import Invalid
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.workspaces import services as ws_services
from valueloop.workspaces.models import Membership, Product, ProductArea, Workspace

OLD = dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def filled(world):
    """Workspace A with two products, an archived area and comments on each kind of entity."""
    a = world.actor_a
    second = ws_services.product_create(actor=a, name="Alpha Mobile", key="MOB", description="On the go")
    old_area = ws_services.area_create(actor=a, product_id=second.pk, name="Legacy sync")
    ws_services.area_archive(actor=a, area_id=old_area.pk)
    pm = world.actor(Role.PRODUCT_MANAGER)
    collaboration.comment_create(actor=pm, entity_type="product", entity_id=world.product_a.pk,
                                 body="Billing retries first, @contributor please size it.")
    collaboration.comment_create(actor=world.actor(Role.CONTRIBUTOR), entity_type="area",
                                 entity_id=world.area_a.pk, body="About **three** weeks.")
    collaboration.comment_create(actor=a, entity_type="workspace", entity_id=world.ws_a.pk, body="Welcome!")
    gone = collaboration.comment_create(actor=a, entity_type="product", entity_id=second.pk, body="Oops, wrong place")
    collaboration.comment_delete(actor=a, comment_id=gone.pk)
    Comment.objects.filter(workspace=world.ws_a, body="Welcome!").update(created_at=OLD)
    return world


def _export(slug: str, path) -> dict:
    call_command("export_workspace", str(path), "--workspace", slug, stdout=io.StringIO(), stderr=io.StringIO())
    return json.loads(path.read_text())


def _import(path, *args) -> str:
    out = io.StringIO()
    call_command("import_workspace", str(path), *args, stdout=out)
    return out.getvalue()


def _shape(workspace: Workspace) -> dict:
    """What an export promises to carry, in id-free form."""
    comments = []
    live = Comment.objects.filter(workspace=workspace, deleted_at=None).select_related("author")
    for c in live.order_by("created_at", "id"):
        if c.entity_type == "product":
            ref = Product.objects.get(pk=c.entity_id).key
        elif c.entity_type == "area":
            area = ProductArea.objects.select_related("product").get(pk=c.entity_id)
            ref = (area.product.key, area.name)
        else:
            ref = None
        comments.append((c.author.email if c.author else None, c.entity_type, ref, c.body, c.body_html, c.created_at))
    return {
        "settings": (workspace.name, workspace.timezone, workspace.currency),
        "members": sorted(
            (m.user.email, m.role, m.function) for m in Membership.objects.filter(workspace=workspace)
        ),
        "products": sorted(
            (p.key, p.name, p.description, p.archived_at is None) for p in Product.objects.filter(workspace=workspace)
        ),
        "areas": sorted(
            (a.product.key, a.name, a.description, a.archived_at is None)
            for a in ProductArea.objects.filter(workspace=workspace).select_related("product")
        ),
        "comments": comments,
    }


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (Workspace, User, Membership, Product, ProductArea, Comment, AuditEvent, Notification)}


def test_export_import__round_trip_creates_an_equal_workspace(filled, tmp_path):
    doc = _export(filled.ws_a.slug, tmp_path / "a.json")
    assert doc["format"] == "valueloop-workspace"
    assert "Oops, wrong place" not in json.dumps(doc)  # deleted comments do not travel
    assert {"type": "area", "product": "ALP", "name": "Billing"} in [c["entity"] for c in doc["comments"]]

    before_users = User.objects.count()
    out = _import(tmp_path / "a.json", "--slug", "alpha-copy")

    copy = Workspace.objects.get(slug="alpha-copy")
    assert "Imported workspace 'alpha-copy'" in out
    assert _shape(copy) == _shape(filled.ws_a)
    assert len(_shape(copy)["comments"]) == 3
    assert Comment.objects.get(workspace=copy, body="Welcome!").created_at == OLD
    assert User.objects.count() == before_users  # every member matched by email
    # Written through the services: audited, as the CLI.
    audited = set(AuditEvent.objects.filter(workspace=copy).values_list("entity_type", "via"))
    assert {("workspace", "cli"), ("product", "cli"), ("area", "cli"), ("comment", "cli"), ("member", "cli")} <= audited
    # History is not news: the mention in the imported comment notifies no one.
    assert not Notification.objects.filter(workspace=copy).exists()
    # And the copy exports to the same document, bar its slug.
    again = _export("alpha-copy", tmp_path / "b.json")
    for d in (doc, again):
        d.pop("exported_at")
        d["workspace"].pop("slug")
    assert again == doc


def test_import__broken_file_names_the_row_and_writes_nothing(filled, tmp_path):
    doc = _export(filled.ws_a.slug, tmp_path / "a.json")
    del doc["products"][1]["name"]
    doc["areas"][0]["product"] = "NOPE"
    doc["comments"][0]["created_at"] = "2024-01-01T00:00:00"  # naive
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc))
    before = _counts()

    with pytest.raises(CommandError) as excinfo:
        _import(broken, "--slug", "broken")

    message = str(excinfo.value)
    assert "nothing was imported" in message
    assert "products[1].name: required" in message
    assert "areas[0].product: no product with key 'NOPE'" in message
    assert "comments[0].created_at: needs a time zone" in message
    assert _counts() == before


def test_import__failure_while_writing_rolls_everything_back(filled, tmp_path, monkeypatch):
    _export(filled.ws_a.slug, tmp_path / "a.json")
    doc = json.loads((tmp_path / "a.json").read_text())
    doc["members"].append({"email": "new.person@elsewhere.test", "name": "New", "handle": "newbie",
                           "role": "contributor", "function": ""})
    (tmp_path / "a.json").write_text(json.dumps(doc))
    before = _counts()
    real = collaboration.comment_create
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise Invalid("Simulated failure.", fields={"body": "Too spicy."})
        return real(**kwargs)

    monkeypatch.setattr("valueloop.portability.collaboration.comment_create", flaky)
    with pytest.raises(CommandError, match=r"comments\[2\]\.body: Too spicy"):
        _import(tmp_path / "a.json", "--slug", "half")
    assert _counts() == before
    assert not User.objects.filter(email="new.person@elsewhere.test").exists()


def test_import__unknown_emails_become_inactive_users(filled, tmp_path):
    doc = _export(filled.ws_a.slug, tmp_path / "a.json")
    doc["members"].append({"email": "New.Person@Elsewhere.test", "name": "New Person", "handle": "admin-b",
                           "role": "contributor", "function": "design"})
    (tmp_path / "a.json").write_text(json.dumps(doc))

    out = _import(tmp_path / "a.json", "--slug", "with-new")

    assert "new.person@elsewhere.test" in out
    assert "handle @admin-b is taken" in out
    user = User.objects.get(email="new.person@elsewhere.test")
    assert not user.is_active and not user.has_usable_password()
    assert user.name == "New Person" and user.handle is None
    assert Membership.objects.get(workspace__slug="with-new", user=user).function == "design"


def test_import__dry_run_writes_nothing(filled, tmp_path):
    _export(filled.ws_a.slug, tmp_path / "a.json")
    before = _counts()
    out = _import(tmp_path / "a.json", "--slug", "rehearsal", "--dry-run")
    assert "Dry run OK" in out
    assert _counts() == before


def test_import__taken_slug_and_unknown_admin_are_refused(filled, tmp_path):
    _export(filled.ws_a.slug, tmp_path / "a.json")
    with pytest.raises(CommandError, match=r"workspace\.slug: a workspace with the slug"):
        _import(tmp_path / "a.json")
    with pytest.raises(CommandError, match=r"--admin: no active user"):
        _import(tmp_path / "a.json", "--slug", "x", "--admin", "nobody@nowhere.test")


def test_import__admin_option_makes_an_existing_user_the_creator(filled, tmp_path):
    _export(filled.ws_a.slug, tmp_path / "a.json")
    _import(tmp_path / "a.json", "--slug", "adopted", "--admin", filled.admin_b.email)
    membership = Membership.objects.get(workspace__slug="adopted", user=filled.admin_b)
    assert membership.role == Role.ADMIN


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "No such file"),
        (b"\x1f\x8b\x08\x00binary", "not a valueloop export file"),
        (b"{not json", "is not valid JSON: Expecting property name"),
        (b"[]", "(document): must be a JSON object"),
        (b'{"format": "something-else"}', "format: must be 'valueloop-workspace'"),
        (b'{"format": "valueloop-workspace", "format_version": 99}', "format_version: 99 is newer"),
    ],
)
def test_import__bad_files_give_a_clear_error(db, tmp_path, content, expected):
    path = tmp_path / "in.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CommandError) as excinfo:
        _import(path)
    assert expected in str(excinfo.value)


def test_export__unknown_workspace_and_existing_file_are_refused(world, tmp_path):
    with pytest.raises(CommandError, match="No workspace with the slug 'nope'"):
        call_command("export_workspace", str(tmp_path / "x.json"), "--workspace", "nope")
    (tmp_path / "x.json").write_text("keep me")
    with pytest.raises(CommandError, match="--force"):
        call_command("export_workspace", str(tmp_path / "x.json"), "--workspace", world.ws_a.slug)
    assert (tmp_path / "x.json").read_text() == "keep me"
