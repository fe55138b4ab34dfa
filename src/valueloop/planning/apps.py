from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "valueloop.planning"
    label = "planning"

    def ready(self) -> None:
        from valueloop.core import extensions
        from valueloop.core.entities import register_entity

        from . import facade, selectors

        register_entity("feature", selectors.feature_ref)

        from valueloop.core import search

        search.register(
            search.IndexedKind(
                kind="feature",
                label="Features",
                table="planning_feature",
                title=("title",),
                body=("description",),
                url_name="planning:feature_detail",
                order=10,
            )
        )
        # Apps below planning in the value flow ask for features through extension points.
        extensions.register("discovery.solutions", facade.solutions_for_problems)
        extensions.register("evidence.feature", facade.feature_in_workspace)
        extensions.register("evidence.target_choices", facade.feature_target_choices)
