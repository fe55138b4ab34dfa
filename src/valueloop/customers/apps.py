from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "valueloop.customers"
    label = "customers"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("customer", selectors.customer_ref)
        register_entity("persona", selectors.persona_ref)

        from valueloop.core import search

        search.register(
            search.IndexedKind(
                kind="customer",
                label="Customers",
                table="customers_customer",
                title=("name",),
                body=("domain", "plan", "region"),
                url_name="customers:customer_detail",
                markdown=False,
                order=40,
            )
        )
        search.register(
            search.IndexedKind(
                kind="contact",
                label="Contacts",
                table="customers_contact",
                title=("name", "email"),
                body=("title",),
                describe=selectors.contact_search_describe,
                markdown=False,
                order=45,
            )
        )

        from valueloop.workspaces.facade import workspace_currency_changed

        from .facade import workspace_currency_changed as reconvert

        workspace_currency_changed.connect(
            lambda sender, actor, **kwargs: reconvert(actor=actor), weak=False, dispatch_uid="customers-reconvert"
        )
