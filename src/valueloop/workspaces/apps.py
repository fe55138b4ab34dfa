from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "valueloop.workspaces"
    label = "workspaces"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("product", selectors.product_ref)
        register_entity("area", selectors.area_ref)
        register_entity("workspace", selectors.workspace_ref)
