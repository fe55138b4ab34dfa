from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "valueloop.experiments"
    label = "experiments"
    verbose_name = "Experiments"

    def ready(self) -> None:
        from valueloop.core.entities import register_entity

        from . import selectors

        register_entity("experiment", selectors.experiment_ref)

        from valueloop.core import search

        search.register(
            search.IndexedKind(
                kind="experiment",
                label="Experiments",
                table="experiments_experiment",
                title=("name", "key"),
                body=("hypothesis",),
                url_name="experiments:experiment_detail",
                order=70,
            )
        )
        search.register(
            search.IndexedKind(
                kind="learning",
                label="Learnings",
                table="experiments_learning",
                title=(),
                body=("text",),
                describe=selectors.learning_search_describe,
                order=75,
            )
        )
