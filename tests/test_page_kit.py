"""The shared page-form kit (core.forms) and page pagination (core.pages), without a database."""

from __future__ import annotations

import pytest
from django import forms
from django.test import RequestFactory

from valueloop.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from valueloop.core.forms import FilterForm, IdField, PageForm, ReasonField, SearchField, VersionField
from valueloop.core.pages import Slices, paginate_page, safe_next
from valueloop.core.permissions import Role, Scope
from valueloop.core.tenancy import Actor

WRITER = Actor(user=None, workspace=None, role=Role.PRODUCT_MANAGER)
READER = Actor(user=None, workspace=None, role=Role.STAKEHOLDER)


class ThingForm(PageForm):
    scope = Scope.PORTFOLIO_WRITE
    service_fields = {"done_at": "done_on"}

    title = forms.CharField(max_length=20)
    done_on = forms.DateField(required=False)
    reason = ReasonField(required_message="Say why, please.")
    version = VersionField()


def _service(exc):
    def service(*, actor, **kwargs):
        raise exc

    return service


def test_page_form_run__service_errors_land_beside_the_fields():
    form = ThingForm({"title": "Hi", "reason": "because", "version": "3"}, actor=WRITER)
    assert form.is_valid() and form.version == 3 and "version" not in form.values()
    problem = Invalid("Not valid.", fields={"title": "Too dull.", "done_at": "In the future.", "colour": "Unknown."})
    assert form.submit(_service(problem)) is False
    assert form.errors["title"] == ["Too dull."] and form.errors["done_on"] == ["In the future."]
    assert form.error_summary == {"Title": "Too dull.", "Done on": "In the future.", "colour": "Unknown."}


def test_page_form_run__a_stale_version_is_a_form_error_and_403_404_propagate():
    form = ThingForm({"title": "Hi", "reason": "because", "version": "3"}, actor=WRITER)
    assert form.submit(_service(Conflict("Changed by someone else; reload.", code="stale_version"))) is False
    assert form.non_field_errors() == ["Changed by someone else; reload."]
    for exc in (NotFound("Gone."), PermissionDenied("No.")):
        form = ThingForm({"title": "Hi", "reason": "because"}, actor=WRITER)
        with pytest.raises(type(exc)):
            form.submit(_service(exc))


def test_page_form__binding_needs_the_scope_and_a_blank_reason_is_refused():
    with pytest.raises(PermissionDenied):
        ThingForm({"title": "Hi"}, actor=READER)
    ThingForm(actor=READER)  # showing the empty form is fine
    form = ThingForm({"title": "Hi", "reason": "   \n"}, actor=WRITER)
    assert not form.is_valid() and form.errors["reason"] == ["Say why, please."]
    assert 'aria-invalid="true"' in str(form["reason"])
    assert '<div class="errorlist error field-error" id="id_reason_error"><p>Say why, please.</p></div>' in str(
        form["reason"].errors
    )


class Filters(FilterForm):
    q = SearchField(max_chars=5)
    thing = IdField(required=False)
    sort = forms.ChoiceField(choices=[("new", "new"), ("old", "old")], required=False, initial="new")


def test_filter_form__unreadable_values_read_as_the_default():
    assert Filters({"q": "  abcdefgh ", "thing": "x", "sort": "random"}).values() == {
        "q": "abcde",
        "thing": None,
        "sort": "new",
    }
    assert Filters({"thing": str(2**70)}).values()["thing"] is None  # no row has such an id
    assert Filters({"thing": "7", "sort": "old"}).values() == {"q": "", "thing": 7, "sort": "old"}


def test_paginate_page__reads_only_the_slice_shown_and_clamps_the_page():
    calls = []

    def fetch(start, stop):
        calls.append((start, stop))
        return list(range(start, stop))

    request = RequestFactory().get("/?page=3")
    page = paginate_page(request, Slices(25, fetch), 10)
    assert page.number == 3 and list(page.object_list) == [20, 21, 22, 23, 24] and calls == [(20, 25)]
    assert paginate_page(RequestFactory().get("/?page=99"), Slices(25, fetch), 10).number == 3
    assert paginate_page(RequestFactory().get("/?page=x"), list(range(25)), 10, number=2).number == 2


def test_safe_next__only_paths_on_this_site():
    request = RequestFactory().post("/")
    assert safe_next(request, "/w/a/features/1/", "/home/") == "/w/a/features/1/"
    for target in ("https://evil.example/", "//evil.example/x", "", None, "javascript:alert(1)"):
        assert safe_next(request, target, "/home/") == "/home/"


def test_form_errors_template__fields_named_like_dict_methods_are_listed():
    from django.template.loader import render_to_string

    errors = {"items": "Say how many.", "keys": "Pick one.", "form": "No."}
    html = render_to_string("_form_errors.html", {"errors": errors})
    assert "<strong>items</strong>: Say how many." in html
    assert "<strong>keys</strong>: Pick one." in html
    assert "<li>No.</li>" in html
