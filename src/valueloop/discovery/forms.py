"""Page forms for problems. Types, lengths and choices here; the rules (a title, a product and area of this
workspace) stay in ``services``."""

from __future__ import annotations

from django import forms

from valueloop.core.forms import FilterForm, ProductAreaForm, SearchField, VersionField
from valueloop.core.permissions import Scope
from valueloop.workspaces.facade import product_choices

from .models import PROBLEM_STATUS


class ProblemForm(ProductAreaForm):
    """New problem (``version`` absent) or an edit of ``problem``."""

    scope = Scope.PORTFOLIO_WRITE
    auto_ids = ("np-%s", "ep-%s")
    edit_only = ("version",)

    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=50000, widget=forms.Textarea(attrs={"rows": 3}))
    status = forms.TypedChoiceField(choices=PROBLEM_STATUS, required=False, empty_value="open")
    version = VersionField()

    def __init__(self, *args, actor, instance=None, **kwargs):
        super().__init__(*args, actor=actor, instance=instance, products=product_choices(actor.workspace), **kwargs)
        if instance is not None:
            self.fields["description"].widget.attrs["rows"] = 5


class ProblemFilterForm(FilterForm):
    q = SearchField()
    status = forms.ChoiceField(choices=[("", "Any"), *PROBLEM_STATUS], required=False)
