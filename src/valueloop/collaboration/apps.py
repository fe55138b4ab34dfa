from django.apps import AppConfig


class CollaborationConfig(AppConfig):
    name = "valueloop.collaboration"
    label = "collaboration"

    def ready(self) -> None:
        from valueloop.core import search

        from . import selectors

        search.register(
            search.IndexedKind(
                kind="comment",
                label="Comments",
                table="collaboration_comment",
                title=(),
                body=("body",),
                hidden_when_set=("deleted_at",),
                describe=selectors.comment_search_describe,
                order=90,
            )
        )
