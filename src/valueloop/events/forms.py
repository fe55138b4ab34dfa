"""The events app's page forms: the event file upload and the event source setting.

Invariants: a form types what was posted (choices, lengths) and calls the same service as the API
(``services.events_upload``, ``services.event_source_update``); the services keep every business rule and their
errors land beside the fields (``core.forms.PageForm``). An uploaded file is read only through
``files.read_upload`` (``core.importing.reading`` limits): a refused file is an error beside the file field and
nothing is written. The warehouse password is never shown back: the URL is shown masked (``***``) and an empty
password field keeps the stored one.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from valueloop.core.errors import DomainError
from valueloop.core.forms import PageForm, VersionField
from valueloop.core.importing.reading import ImportRefused
from valueloop.core.permissions import Scope

from . import files, warehouse
from .models import SOURCE_KINDS
from .services import COLUMN_FIELDS

UPLOAD_FORMATS = [("", "Detect"), ("csv", "CSV"), ("parquet", "Parquet")]


class EventUploadForm(PageForm):
    """A CSV or Parquet file of event rows; ``values()`` hands the service the file's bytes, read within limits."""

    scope = Scope.EVENTS_WRITE
    auto_ids = ("events-%s", "events-%s")

    file = forms.FileField(
        label="File",
        error_messages={"required": "Choose a CSV or Parquet file to upload."},
        widget=forms.FileInput(attrs={"accept": ".csv,.parquet,text/csv"}),
    )
    format = forms.ChoiceField(choices=UPLOAD_FORMATS, required=False, label="Format")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            self.data_read = files.read_upload(upload)
        except ImportRefused as exc:  # too large: named beside the field, nothing read past the limit
            raise ValidationError(exc.message) from exc
        return upload

    def values(self) -> dict[str, Any]:
        upload = self.cleaned_data["file"]
        return {"data": self.data_read, "filename": upload.name or "", "fmt": self.cleaned_data["format"] or None}

    def add_service_error(self, exc: DomainError) -> None:
        # The row errors' summary ("2 rows are not valid; nothing was stored.") once, then each row's problem.
        summary = getattr(exc, "summary", None)
        if summary and exc.fields:
            self.add_error(None, summary)
            self.other_errors.update({k: v for k, v in exc.fields.items() if k not in self.fields})
            for name in exc.fields.keys() & self.fields.keys():
                self.add_error(name, exc.fields[name])
            return
        super().add_service_error(exc)


class EventSourceForm(PageForm):
    """Where analysis reads events: the embedded store, or a warehouse (URL, tables, column names).

    The column mapping is one text field per (table, field) of ``services.COLUMN_FIELDS``, named
    ``col_<table>_<field>``; the service's errors name them ``columns.<table>.<field>``.
    """

    scope = Scope.WORKSPACE_MANAGE
    auto_ids = ("src-%s", "src-%s")

    kind = forms.ChoiceField(choices=SOURCE_KINDS, widget=forms.RadioSelect, label="Source", initial="embedded")
    url = forms.CharField(required=False, max_length=500, label="SQLAlchemy URL", strip=True)
    password = forms.CharField(
        required=False,
        max_length=500,
        strip=False,
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    exposures_table = forms.CharField(required=False, max_length=130, label="Exposures table")
    events_table = forms.CharField(required=False, max_length=130, label="Events table")
    version = VersionField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        source = self.instance
        self.service_fields = {}
        for table, names in COLUMN_FIELDS.items():
            mapping = ((source.columns if source is not None else None) or {}).get(table, {})
            for name in names:
                field_name = f"col_{table}_{name}"
                self.fields[field_name] = forms.CharField(
                    required=False,
                    max_length=63,
                    label=f"{table} {name} column",
                    initial=mapping.get(name, ""),
                    widget=forms.TextInput(attrs={"placeholder": name}),
                )
                self.service_fields[f"columns.{table}.{name}"] = field_name
        if source is not None and not self.is_bound:
            self.initial["url"] = warehouse.masked(source.url, bool(source.password))
        self.fields["url"].widget.attrs["autocomplete"] = "off"

    def column_rows(self) -> list[tuple[str, str, forms.BoundField]]:
        """(table, field, bound field) of the column mapping, in the order of ``COLUMN_FIELDS``."""
        return [(table, name, self[f"col_{table}_{name}"]) for table, names in COLUMN_FIELDS.items() for name in names]

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "url": data["url"],
            "password": data["password"] or None,  # empty: keep the stored password
            "exposures_table": data["exposures_table"].strip(),
            "events_table": data["events_table"].strip(),
            "columns": {
                table: {name: data[f"col_{table}_{name}"].strip() for name in names}
                for table, names in COLUMN_FIELDS.items()
            },
        }
