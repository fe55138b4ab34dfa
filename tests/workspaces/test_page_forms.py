"""Workspaces' page forms: products and areas, settings, members and invitations, a new workspace. One URL per
form; bad input is answered with the error beside the field and nothing written; another workspace's ids are 404."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.page_forms import audit_unchanged, error_beside  # noqa: F401  (the ``audit_unchanged`` fixture)
from valueloop.core.permissions import Role
from valueloop.workspaces import services
from valueloop.workspaces.models import Invitation, Membership, Product, ProductArea, Workspace


def _client(world, role: Role) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


@pytest.fixture
def admin(world):
    return _client(world, Role.ADMIN)


@pytest.mark.usefixtures("audit_unchanged")
def test_product_list_view__bad_input_beside_each_field_and_typed_values_kept(world, admin):
    url = f"/w/{world.ws_a.slug}/products/"
    blank = admin.post(url, {"name": "  ", "key": "ok", "description": "notes"})
    assert blank.status_code == 400 and error_beside(blank, "p-name") == "Give the product a name."
    assert "notes</textarea>" in blank.content.decode()
    taken = admin.post(url, {"name": "alpha app", "key": "toolongforakey"})
    assert taken.status_code == 400
    assert "at most 12 characters" in error_beside(taken, "p-key")
    clash = admin.post(url, {"name": "alpha app", "key": "NEW"})
    assert clash.status_code == 400 and error_beside(clash, "p-name") == "Choose another name."
    assert Product.objects.filter(workspace=world.ws_a).count() == 1


def test_product_list_view__filters_never_fail(world, admin):
    url = f"/w/{world.ws_a.slug}/products/"
    assert admin.get(f"{url}?q={'x' * 500}&archived=maybe&page=zz").status_code == 200
    assert "Alpha App" in admin.get(f"{url}?q=alp").content.decode()


def test_product_detail_view__stale_or_bad_edit_in_place_and_good_edit_saves(world, admin):
    product = world.product_a
    url = f"/w/{world.ws_a.slug}/products/{product.pk}/"
    bad = admin.post(url, {"name": "Alpha App", "key": "", "version": product.version})
    assert bad.status_code == 400 and error_beside(bad, "e-key") == "This field is required."
    data = {"name": "Alpha App", "key": "ALP", "description": "first", "version": product.version}
    assert admin.post(url, data).status_code == 302
    stale = admin.post(url, {**data, "description": "second"})
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    assert Product.objects.get(pk=product.pk).description == "first"


def test_area_create_view__errors_beside_the_area_fields_on_its_own_url(world, admin):
    url = f"/w/{world.ws_a.slug}/products/{world.product_a.pk}/areas/"
    with_blank = admin.post(url, {"name": " "})
    assert with_blank.status_code == 400 and error_beside(with_blank, "a-name") == "Give the area a name."
    clash = admin.post(url, {"name": "billing", "description": "dup"})
    assert clash.status_code == 400 and error_beside(clash, "a-name") == "Choose another name."
    assert 'value="dup"' in clash.content.decode()
    assert admin.post(url, {"name": "Reports"}).status_code == 302
    assert ProductArea.objects.filter(product=world.product_a, name="Reports").exists()
    beta = f"/w/{world.ws_a.slug}/products/{world.product_b.pk}/areas/"
    assert admin.post(beta, {"name": "Mine"}).status_code == 404
    assert not ProductArea.objects.filter(name="Mine").exists()


def test_archive_views__one_url_each_and_other_rows_are_not_found(world, admin):
    ws, product, area = world.ws_a.slug, world.product_a, world.area_a
    assert admin.post(f"/w/{ws}/products/{product.pk}/areas/{area.pk}/archive/").status_code == 302
    assert ProductArea.objects.get(pk=area.pk).archived_at is not None
    assert admin.post(f"/w/{ws}/products/{product.pk}/areas/{area.pk}/restore/").status_code == 302
    assert ProductArea.objects.get(pk=area.pk).archived_at is None
    other = services.product_create(actor=world.actor_a, name="Other", key="OTH")
    assert admin.post(f"/w/{ws}/products/{other.pk}/areas/{area.pk}/archive/").status_code == 404
    assert admin.post(f"/w/{ws}/products/{product.pk}/areas/{world.area_b.pk}/archive/").status_code == 404
    assert admin.post(f"/w/{ws}/products/{world.product_b.pk}/archive/").status_code == 404
    assert admin.post(f"/w/{ws}/products/{product.pk}/archive/").status_code == 302
    assert Product.objects.get(pk=product.pk).archived_at is not None
    assert Product.objects.get(pk=world.product_b.pk).archived_at is None
    assert ProductArea.objects.get(pk=world.area_b.pk).archived_at is None


@pytest.mark.usefixtures("audit_unchanged")
def test_settings_view__unknown_zone_and_currency_beside_their_fields(world, admin):
    url = f"/w/{world.ws_a.slug}/settings/"
    data = {"name": "Alpha Co", "timezone": "Mars/Olympus", "currency": "XYZ", "version": world.ws_a.version}
    response = admin.post(url, data)
    assert response.status_code == 400
    assert error_beside(response, "ws-timezone").startswith("Mars/Olympus is not a known IANA time zone")
    assert "Select a valid choice" in error_beside(response, "ws-currency")
    assert 'value="Mars/Olympus"' in response.content.decode()
    assert Workspace.objects.get(pk=world.ws_a.pk).timezone == world.ws_a.timezone


def test_settings_view__good_input_saves_and_a_stale_version_is_refused(world, admin):
    url = f"/w/{world.ws_a.slug}/settings/"
    data = {"name": "Alpha Co", "timezone": "Europe/Berlin", "currency": "EUR", "version": world.ws_a.version}
    assert admin.post(url, data).status_code == 302
    stale = admin.post(url, {**data, "name": "Again"})
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    workspace = Workspace.objects.get(pk=world.ws_a.pk)
    assert (workspace.name, workspace.timezone, workspace.currency) == ("Alpha Co", "Europe/Berlin", "EUR")


@pytest.mark.usefixtures("audit_unchanged")
def test_invitation_create_view__bad_email_and_role_beside_the_fields(world, admin):
    url = f"/w/{world.ws_a.slug}/members/invite/"
    response = admin.post(url, {"email": "not-an-email", "role": "owner"})
    assert response.status_code == 400
    assert error_beside(response, "inv-email") == "Enter a valid email address."
    assert "Select a valid choice" in error_beside(response, "inv-role")
    assert 'value="not-an-email"' in response.content.decode()
    member = admin.post(url, {"email": "contributor@a.test", "role": "contributor"})
    assert member.status_code == 400 and "already a member" in member.content.decode()
    assert not Invitation.objects.filter(workspace=world.ws_a).exists()


def test_invitation_views__a_link_is_shown_once_and_revoked_on_its_own_url(world, admin):
    ws = world.ws_a.slug
    response = admin.post(f"/w/{ws}/members/invite/", {"email": "", "role": "stakeholder"})
    assert response.status_code == 200 and "Share this invitation link." in response.content.decode()
    invitation = Invitation.objects.get(workspace=world.ws_a)
    assert admin.post(f"/w/{ws}/invitations/{invitation.pk}/revoke/").status_code == 302
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is not None
    beta, _ = services.invitation_create(actor=world.actor_b, role="contributor", email="x@b.test")
    assert admin.post(f"/w/{ws}/invitations/{beta.pk}/revoke/").status_code == 404
    assert Invitation.objects.get(pk=beta.pk).revoked_at is None


def test_member_role_view__bad_role_beside_that_members_field(world, admin):
    member = world.member(Role.CONTRIBUTOR)
    url = f"/w/{world.ws_a.slug}/members/{member.pk}/role/"
    response = admin.post(url, {"role": "owner", "function": "design"})
    assert response.status_code == 400
    assert "Select a valid choice" in error_beside(response, f"role-{member.pk}")
    assert '<option value="design" selected>' in response.content.decode()  # what was picked is kept
    assert admin.post(url, {"role": "product_owner", "function": "design"}).status_code == 302
    member.refresh_from_db()
    assert (member.role, member.function) == ("product_owner", "design")


def test_member_views__last_admin_refused_in_place_and_other_workspaces_members_not_found(world, admin):
    ws = world.ws_a.slug
    last_admin = world.member(Role.ADMIN)
    demote = admin.post(f"/w/{ws}/members/{last_admin.pk}/role/", {"role": "contributor", "function": ""})
    assert demote.status_code == 400 and "at least one admin" in demote.content.decode()
    remove = admin.post(f"/w/{ws}/members/{last_admin.pk}/remove/")
    assert remove.status_code == 400 and "The last admin cannot be removed." in remove.content.decode()
    beta = Membership.objects.get(workspace=world.ws_b, user=world.admin_b)
    for action in ("remove/", "tokens/revoke/", "role/"):
        assert admin.post(f"/w/{ws}/members/{beta.pk}/{action}", {"role": "stakeholder"}).status_code == 404
    assert Membership.objects.get(pk=beta.pk).role == "admin"
    contributor = world.member(Role.CONTRIBUTOR)
    assert admin.post(f"/w/{ws}/members/{contributor.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=contributor.pk).exists()
    assert Membership.objects.filter(pk=last_admin.pk, role="admin").exists()


def test_workspace_create_view__unknown_zone_beside_the_field_and_nothing_created(world, admin):
    response = admin.post("/workspaces/new/", {"name": "Gamma", "timezone": "Nowhere/Else", "currency": "EUR"})
    assert response.status_code == 400
    assert error_beside(response, "nw-timezone").startswith("Nowhere/Else is not a known IANA time zone")
    assert 'value="Gamma"' in response.content.decode()
    assert not Workspace.objects.filter(name="Gamma").exists()
    assert admin.post("/workspaces/new/", {"name": "Gamma", "timezone": "", "currency": ""}).status_code == 302
    assert Workspace.objects.get(name="Gamma").timezone == "UTC"
