from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "valueloop.discovery"
    label = "discovery"

    def ready(self) -> None:
        from valueloop.core import extensions
        from valueloop.core.entities import register_entity

        from . import facade, selectors

        register_entity("problem", selectors.problem_ref)

        from valueloop.core import search

        search.register(
            search.IndexedKind(
                kind="problem",
                label="Problems",
                table="discovery_problem",
                title=("title",),
                body=("description",),
                url_name="discovery:problem_detail",
                order=20,
            )
        )
        extensions.register("evidence.target_choices", facade.problem_target_choices)
