"""Page forms: the pieces every app's ``forms.py`` builds on.

Invariants:
- A page form parses and type-checks what was posted (field types, choices, lengths); the service stays the one
  place of business validation. ``PageForm.run`` calls the service and puts a ``DomainError`` it raises back on the
  form's fields (``add_service_error``), so the page shows the message beside the field, in place. A 403 or 404
  from the service is not a form error: it propagates to the page decorator.
- An id picked in a form comes from choices read inside the actor's workspace (a selector or a facade, per
  request): another workspace's id, an archived row's or a made-up number is a field error, never a lookup outside
  the workspace and never a 500.
- A record several people edit posts back the version that was shown (``VersionField``); the service refuses a
  stale one (``Conflict``, code ``stale_version``) and the form shows its "changed by someone else, reload" message.
- A reason (``ReasonField``) is required: empty or only spaces is a field error.
- Filter forms (``FilterForm``) never fail: a missing, blank or unreadable filter reads as the field's default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.forms.utils import ErrorList

from .api_support import MAX_ID
from .errors import DomainError
from .money import AmountError, read_money
from .permissions import Scope


class FieldErrorList(ErrorList):
    """Errors as ``<p class="error field-error">`` under the field (the style the pages already use)."""

    template_name = "core/forms/errors.html"

    def __init__(self, initlist=None, error_class=None, renderer=None, field_id=None):
        super().__init__(initlist, f"error {error_class or 'field-error'}", renderer, field_id)


class PageForm(forms.Form):
    """A form of a workspace page: knows the ``actor`` and maps a service's errors onto its fields.

    ``instance``: the record an edit form starts from (its values are the initial ones); ``edit_only`` names the
    fields a new record's form does not have (its version). ``auto_ids``: the element ids of a new record's form
    and of an edit's (``{pk}`` in it keeps the ids of several edit forms on one page apart).
    ``scope``: binding posted data needs it (403 before any validation, so a role that may not write never gets
    a form error instead). ``service_fields`` renames a service's field names to the form's
    (``{"done_at": "done_on"}``); a service field the form does not have is listed under its own name in
    ``error_summary``. ``actor`` is None on a signed-in page outside a workspace (the profile): the service is then
    called without one, and the page names the user in the fixed arguments.
    """

    scope: Scope | None = None
    service_fields: dict[str, str] = {}
    edit_only: tuple[str, ...] = ()
    auto_ids: tuple[str, str] | None = None

    def __init__(self, *args, actor, instance=None, **kwargs):
        kwargs.setdefault("error_class", FieldErrorList)
        kwargs.setdefault("label_suffix", "")  # "Name", as the pages' own labels read (not "Name:")
        if self.auto_ids is not None:
            new, edit = self.auto_ids
            kwargs.setdefault("auto_id", edit.replace("{pk}", str(instance.pk)) if instance is not None else new)
        if instance is not None and "initial" not in kwargs:
            # An edit starts from the record's values (``product_id`` reads the foreign key's id).
            kwargs["initial"] = {name: getattr(instance, name) for name in self.base_fields if hasattr(instance, name)}
        self.actor = actor
        self.instance = instance
        self.other_errors: dict[str, str] = {}
        self.result: Any = None
        super().__init__(*args, **kwargs)
        if instance is None:
            for name in self.edit_only:
                del self.fields[name]
        if self.is_bound and self.scope is not None:
            actor.require(self.scope)

    def add_service_error(self, exc: DomainError) -> None:
        if not exc.fields:
            self.add_error(None, exc.message)
            return
        for name, message in exc.fields.items():
            target = self.service_fields.get(name, name)
            if target in self.fields and target not in self.errors:
                self.add_error(target, message)
            elif target not in self.fields:
                self.other_errors[name] = message
        if self.other_errors and not self.errors:
            # Keep the form invalid even when every message belongs to no field of this form.
            self.add_error(None, exc.message)

    def run(self, service: Callable[..., Any], /, **kwargs) -> Any:
        """``service(actor=..., **kwargs)`` (without ``actor`` when the form has none); a ``DomainError`` other than
        403/404 becomes the form's errors (check ``form.errors`` after the call)."""
        try:
            # A page outside a workspace (the profile) has no actor: its service is told who acts by ``kwargs``.
            return service(**kwargs) if self.actor is None else service(actor=self.actor, **kwargs)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            self.add_service_error(exc)
            return None

    def submit(self, service: Callable[..., Any], /, **fixed) -> bool:
        """When the form is valid, ``service(actor=..., **fixed, **values())`` (with ``expected_version`` when the
        form posts a version); its result is kept in ``result``. True when the service succeeded."""
        if not self.is_valid():
            return False
        if "version" in self.fields:
            fixed.setdefault("expected_version", self.version)
        self.result = self.run(service, **fixed, **self.values())
        return self.is_valid()

    @property
    def error_summary(self) -> dict[str, str]:
        """The messages for ``_form_errors.html``: {field label: message}, field-less ones under "form"."""
        summary: dict[str, str] = {}
        if self.non_field_errors():
            summary["form"] = " ".join(self.non_field_errors())
        for name, errors in self.errors.items():
            if name != forms.forms.NON_FIELD_ERRORS:
                # The label ("Items"), never the bare name: the template reads ``errors.items``.
                summary[str(self[name].label)] = " ".join(errors)
        summary.update(self.other_errors)
        return summary

    def set_choices(self, name: str, choices: Iterable, *, empty_label: str | None = None) -> None:
        field = self.fields[name]
        field.choices = [("", empty_label), *choices] if empty_label is not None else list(choices)

    def values(self) -> dict[str, Any]:
        """The cleaned values for the service, without the version (passed as ``expected_version``)."""
        return {k: v for k, v in self.cleaned_data.items() if not isinstance(self.fields[k], VersionField)}

    @property
    def version(self) -> int | None:
        return self.cleaned_data.get("version")

    @property
    def errors_by_name(self) -> dict[str, str]:
        """{field name: message}, field-less messages under "form" (for pages that lay fields out themselves)."""
        out = {
            ("form" if name == forms.forms.NON_FIELD_ERRORS else name): " ".join(e) for name, e in self.errors.items()
        }
        return {**out, **self.other_errors}


class WorkspaceChoiceField(forms.TypedChoiceField):
    """An id picked from rows of the actor's workspace; the form sets ``choices`` per request from a selector or
    facade (``PageForm.set_choices``). Choices may be grouped (optgroups). Anything else is a field error."""

    def __init__(self, *, noun: str, **kwargs):
        kwargs.setdefault("required", False)
        # Other messages given (a "required" one) add to the "no such row" message instead of replacing it.
        kwargs["error_messages"] = {
            "invalid_choice": f"No such {noun} in this workspace; choose one from the list.",
            **kwargs.get("error_messages", {}),
        }
        super().__init__(coerce=int, empty_value=None, **kwargs)


class IdField(forms.IntegerField):
    """A row id typed or posted as a number: 1 to ``MAX_ID`` (a bigger number names no row, and some databases
    refuse it before answering "not found")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class IdListField(forms.Field):
    """Several row ids posted under one name (``<input name="id" value="3">`` repeated, or checkboxes): each one is
    checked as an ``IdField``; the first bad one is the field's error. Empty is ``[]``."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_ids: int = 1000, **kwargs):
        kwargs.setdefault("required", False)
        self.max_ids = max_ids
        super().__init__(**kwargs)

    def to_python(self, value) -> list[int]:
        if value in self.empty_values:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        if len(values) > self.max_ids:
            raise forms.ValidationError(f"At most {self.max_ids} at a time.", code="too_many")
        one = IdField()
        return [one.clean(v) for v in values]


class VersionField(forms.IntegerField):
    """The version of the record the page showed, posted back hidden; the service refuses a stale one."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class IsoDateField(forms.DateField):
    """A date as the browser's date input sends it (YYYY-MM-DD) and nothing else: "03/04/2026" is ambiguous."""

    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        kwargs.setdefault("error_messages", {"invalid": "Enter a date as YYYY-MM-DD, e.g. 2026-03-31."})
        super().__init__(**kwargs)


class MoneyField(forms.CharField):
    """An amount as people type it in any locale ("12,500.50", "12.500,50 €", "€12,500"), read by
    ``core.money.read_money`` into a Decimal in cents; blank is None. A currency typed with it must be ``currency``
    (the workspace's). Ranges (negative, too large) are the service's business, with its messages."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(self, *, currency: str | None = None, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.currency = currency

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            return read_money(text, currency=self.currency, negative_ok=True)
        except AmountError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None

    def prepare_value(self, value):
        return format(value.normalize(), "f") if isinstance(value, Decimal) else value


class ReasonField(forms.CharField):
    """A required "why?" text: empty or only spaces is an error shown beside the textarea."""

    def __init__(self, *, required_message: str = "Say why.", max_length: int = 1000, rows: int = 2, **kwargs):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows}))
        super().__init__(
            max_length=max_length, strip=True, required=True, error_messages={"required": required_message}, **kwargs
        )


class ProductAreaForm(PageForm):
    """A page form with the product and area pickers (``core/forms/product_area.html``). ``products`` is the
    workspace's ``[(product id, name, [(area id, name)])]``; the areas are grouped under their product."""

    product_id = WorkspaceChoiceField(noun="product", label="Product")
    area_id = WorkspaceChoiceField(noun="area", label="Area")

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices("product_id", [(pid, name) for pid, name, _ in products], empty_label="— none —")
        self.set_choices(
            "area_id", [(name, list(areas)) for _, name, areas in products if areas], empty_label="— none —"
        )


class SearchField(forms.CharField):
    """A search box: stripped and cut to ``max_chars`` (a long paste searches its start instead of failing)."""

    def __init__(self, *, max_chars: int = 200, **kwargs):
        kwargs.setdefault("required", False)
        self.max_chars = max_chars
        super().__init__(**kwargs)

    def to_python(self, value) -> str:
        return super().to_python(value)[: self.max_chars]


class FilterForm(forms.Form):
    """GET query parameters that filter a list. Never an error: ``values()`` answers each field's cleaned value,
    or its ``initial`` (else its empty value) when the parameter is missing, blank or does not parse."""

    def values(self) -> dict[str, Any]:
        self.is_valid()
        out = {}
        for name, field in self.fields.items():
            value = None if name in self.errors else self.cleaned_data.get(name)
            if value in (None, ""):
                value = field.initial if field.initial is not None else field.clean("")
            out[name] = value
        return out
