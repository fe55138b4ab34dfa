from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "valueloop.customers"
    label = "customers"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("customer", selectors.customer_ref)
