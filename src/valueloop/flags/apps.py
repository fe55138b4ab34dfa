from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "valueloop.flags"
    label = "flags"
    verbose_name = "Feature flags"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("flag", selectors.flag_ref)

        from valueloop.core import search

        search.register(
            search.IndexedKind(
                kind="flag",
                label="Flags",
                table="flags_flag",
                title=("key",),
                body=("description",),
                url_name="flags:flag_detail",
                order=80,
            )
        )
