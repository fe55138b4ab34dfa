"""Ids of experiment objects for the permission-matrix and tenant-isolation suites, and sample request bodies."""

from __future__ import annotations

from valueloop.experiments import services
from valueloop.flags import services as flag_services
from valueloop.flags.bootstrap import ensure_environments


def experiment_ids(actor, label: str = "Alpha") -> dict:
    """A draft experiment (with a flag and a metric of its own) and a decided one with its learning."""
    slug = label.lower()
    flag = flag_services.flag_create(actor=actor, key=f"{slug}-exp-flag", description=f"{label} flag {slug}-secret")
    env = {e.key: e for e in ensure_environments(actor.workspace)}["development"]
    feature_id = _a_feature(actor)
    metric = services.metric_create(
        actor=actor, key=f"{slug}-metric", name=f"{label} conversion", event=f"{slug}_purchase"
    )

    def experiment(key: str):
        return services.experiment_create(
            actor=actor,
            key=key,
            name=f"{label} experiment {key}",
            hypothesis=f"{label} hypothesis {slug}-secret",
            feature_id=feature_id,
            flag_id=flag.pk,
            environment_id=env.pk,
            variations=[{"name": "Control", "value": False}, {"name": f"{label} variant", "value": True}],
            metrics=[{"metric_id": metric.pk, "role": "primary"}],
        )

    draft = experiment(f"{slug}-draft")
    decided = experiment(f"{slug}-decided")
    services.experiment_start(actor=actor, experiment_id=decided.pk)
    decision = services.experiment_decide(
        actor=actor, experiment_id=decided.pk, outcome="stop", learning=f"{label} learning {slug}-secret"
    )
    return {
        "experiment_id": draft.pk,
        "metric_id": metric.pk,
        "learning_id": decision.learning.pk,
        "exp_flag_id": flag.pk,
        "exp_environment_id": env.pk,
        "exp_feature_id": feature_id,
    }


def _a_feature(actor) -> int:
    from valueloop.planning.facade import feature_choices

    return feature_choices(actor.workspace)[0][0]


def sample_bodies(ids: dict) -> dict:
    return {
        "experiments_metric_create": {"key": "matrix-metric", "name": "Matrix metric", "event": "matrix_event"},
        "experiments_metric_update": {"name": "Renamed metric"},
        "experiments_metric_delete": None,
        "experiments_design_calculate": {"baseline": 0.1, "mde": 0.05, "daily_traffic": 1000},
        "experiments_experiment_create": {
            "key": "matrix-experiment",
            "name": "Matrix experiment",
            "hypothesis": "Matrix hypothesis",
            "feature_id": ids["exp_feature_id"],
            "flag_id": ids["exp_flag_id"],
            "environment_id": ids["exp_environment_id"],
            "variations": [{"name": "Control", "value": False}, {"name": "On", "value": True}],
        },
        "experiments_experiment_update": {"name": "Renamed experiment"},
        "experiments_experiment_delete": None,
        "experiments_experiment_start": {},
        "experiments_experiment_stop": {},
        "experiments_experiment_decide": {"outcome": "stop", "learning": "Matrix learning"},
    }
