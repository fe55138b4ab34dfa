"""Page forms for comments, follows and notifications.

Invariants: the entity a comment or follow is about is a registered entity type and a row id (typed here); the
service checks that the row exists in the actor's workspace (another workspace's id is a 404, never a comment on
it). A refused comment body (empty, too long) is shown under the comment box with the service's message, and the
text typed is kept.
"""

from __future__ import annotations

from django import forms

from valueloop.core.entities import entity_types
from valueloop.core.errors import DomainError
from valueloop.core.forms import FilterForm, IdField, IdListField, PageForm
from valueloop.core.permissions import Scope


class _EntityForm(PageForm):
    """Names the thread's entity (hidden fields of the discussion panel)."""

    scope = Scope.COMMENT_WRITE

    entity_type = forms.ChoiceField(choices=(), widget=forms.HiddenInput)
    entity_id = IdField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices("entity_type", [(name, name) for name in entity_types()])

    @property
    def names_no_entity(self) -> bool:
        """True when the posted entity is not even well-formed (the view answers 404, as for a missing row)."""
        return self.is_bound and not self.is_valid() and bool({"entity_type", "entity_id"} & set(self.errors))


class CommentForm(_EntityForm):
    auto_ids = ("comment-%s", "comment-%s")

    # Blank and overlong bodies are the service's to refuse, with the messages the API gives too.
    body = forms.CharField(required=False, strip=False, max_length=100_000, widget=forms.Textarea)

    def add_service_error(self, exc: DomainError) -> None:
        if "body" in exc.fields:
            self.add_error("body", exc.message)  # "A comment cannot be empty." says more than "Write something."
        else:
            super().add_service_error(exc)


class FollowForm(_EntityForm):
    # Posted as "1" or "0" from a hidden input (a checkbox widget would read "0" as ticked).
    following = forms.BooleanField(required=False, widget=forms.HiddenInput)


class NotificationsReadForm(PageForm):
    """Mark the posted notifications (``id``, repeated) read, or all of them when none is posted; then go back to
    ``next`` (a path on this site)."""

    id = IdListField()
    next = forms.CharField(max_length=2000, required=False)

    def values(self) -> dict:
        return {"notification_ids": self.cleaned_data["id"] or None}


class NotificationFilterForm(FilterForm):
    unread = forms.BooleanField(required=False)
