from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "valueloop.core"
    label = "core"

    def ready(self):
        from django.core import checks

        from .outbound import check_settings

        checks.register(check_settings)
