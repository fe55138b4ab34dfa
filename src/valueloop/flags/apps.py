from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "valueloop.flags"
    label = "flags"
    verbose_name = "Feature flags"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("flag", selectors.flag_ref)
