"""Page forms for themes: the list's and items' filters, and one form per curation on the theme page (rename, pin,
merge, make or link a problem, move items) and the split.

Invariants: forms type the input (lengths; themes and problems picked from this workspace's choices, so another
workspace's id is a field error; item ids are numbers); the services keep every rule (the items are this
workspace's, a stale version is refused) and their errors land beside the fields (``core.forms.PageForm``).
"""

from __future__ import annotations

from django import forms

from valueloop.core.forms import FilterForm, IdListField, PageForm, SearchField, VersionField, WorkspaceChoiceField

from . import selectors, services
from .models import THEME_STATUS

NEW_THEME = "new"


class ThemeFilterForm(FilterForm):
    q = SearchField()
    status = forms.ChoiceField(choices=THEME_STATUS, required=False, initial="active")
    sort = forms.ChoiceField(choices=list(selectors.SORTS.items()), required=False, initial="volume")


class ItemFilterForm(FilterForm):
    q = SearchField()


class SkippedFilterForm(FilterForm):
    reason = SearchField(max_chars=120)


class _ThemeForm(PageForm):
    """A curation of the theme the URL names (``theme``)."""

    scope = services.WRITE_SCOPE

    def __init__(self, *args, actor, theme, **kwargs):
        self.theme = theme
        super().__init__(*args, actor=actor, **kwargs)


class RenameForm(_ThemeForm):
    auto_ids = ("theme-%s", "theme-%s")

    name = forms.CharField(max_length=120, required=False, label="Name")
    version = VersionField()

    def __init__(self, *args, theme, **kwargs):
        kwargs.setdefault("initial", {"name": theme.name, "version": theme.version})
        super().__init__(*args, theme=theme, **kwargs)


class PinForm(_ThemeForm):
    auto_ids = ("pin-%s", "pin-%s")

    version = VersionField()

    def __init__(self, *args, theme, **kwargs):
        kwargs.setdefault("initial", {"version": theme.version})
        super().__init__(*args, theme=theme, **kwargs)


class MergeForm(_ThemeForm):
    auto_ids = ("merge-%s", "merge-%s")

    into_id = WorkspaceChoiceField(
        noun="theme", label="Merge into", required=True, error_messages={"required": "Choose a theme."}
    )
    version = VersionField()

    def __init__(self, *args, theme, **kwargs):
        kwargs.setdefault("initial", {"version": theme.version})
        super().__init__(*args, theme=theme, **kwargs)
        self.set_choices(
            "into_id", selectors.theme_choices(actor=self.actor, exclude=theme.pk), empty_label="Choose a theme…"
        )


class ProblemForm(_ThemeForm):
    auto_ids = ("problem-%s", "problem-%s")

    title = forms.CharField(max_length=200, required=False, label="Title")

    def __init__(self, *args, theme, **kwargs):
        kwargs.setdefault("initial", {"title": theme.name})
        super().__init__(*args, theme=theme, **kwargs)


class LinkProblemForm(_ThemeForm):
    auto_ids = ("link-%s", "link-%s")

    problem_id = WorkspaceChoiceField(noun="problem", required=True, error_messages={"required": "Choose a problem."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from valueloop.discovery.facade import problem_choices  # imported late, as the views did

        self.set_choices("problem_id", problem_choices(self.actor.workspace), empty_label="Choose a problem…")


class MoveForm(_ThemeForm):
    """Move the ticked items to another theme, or to a new one named here."""

    auto_ids = ("move-%s", "move-%s")
    service_fields = {"theme_id": "to_theme_id", "name": "new_theme_name"}

    item_ids = IdListField(error_messages={"required": "Tick the items to move."})
    to_theme_id = forms.ChoiceField(
        choices=(), label="Move selected items to", error_messages={"required": "Choose the theme to move them to."}
    )
    new_theme_name = forms.CharField(max_length=120, required=False, label="New theme's name")

    def __init__(self, *args, theme, **kwargs):
        super().__init__(*args, theme=theme, **kwargs)
        themes = [(str(pk), name) for pk, name in selectors.theme_choices(actor=self.actor, exclude=theme.pk)]
        self.set_choices("to_theme_id", [(NEW_THEME, "A new theme, named…"), *themes], empty_label="Choose a theme…")

    @property
    def ticked(self) -> set[int]:
        """The items that were ticked, so that a form coming back with an error keeps them ticked."""
        if not self.is_bound:
            return set()
        return {int(value) for value in self.data.getlist("item_ids") if str(value).isdigit()}

    def move(self) -> bool:
        """Creates the new theme or moves the items; ``result`` is the theme to show next and the notice."""
        if not self.is_valid():
            return False
        item_ids, target = self.cleaned_data["item_ids"], self.cleaned_data["to_theme_id"]
        if target == NEW_THEME:
            created = self.run(services.theme_create, name=self.cleaned_data["new_theme_name"], item_ids=item_ids)
            if created is not None:
                self.result = (created.pk, f"Created the theme “{created.name}” with {created.size} items.")
        else:
            moved = self.run(services.items_move, item_ids=item_ids, theme_id=int(target))
            if moved is not None:
                self.result = (self.theme.pk, f"Moved {len(moved)} item{'s' if len(moved) != 1 else ''}.")
        return self.is_valid()


class SplitForm(_ThemeForm):
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    version = VersionField()
