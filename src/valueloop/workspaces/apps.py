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

        from valueloop.core import search

        search.register(
            search.IndexedKind(
                kind="product",
                label="Products",
                table="workspaces_product",
                title=("name", "key"),
                body=("description",),
                url_name="workspaces:product_detail",
                order=100,
            )
        )
        search.register(
            search.IndexedKind(
                kind="area",
                label="Product areas",
                table="workspaces_productarea",
                title=("name",),
                body=("description",),
                describe=selectors.area_search_describe,
                order=105,
            )
        )
        search.register(
            search.SearchProvider(kind="member", label="Members", search=selectors.member_search, order=110)
        )
