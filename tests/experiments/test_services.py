"""Experiment and metric services: validation naming the field, audit, versions, the flag changes that starting,
stopping and shipping make (through the flags services, with production approval), and decisions that become
learnings and evidence."""

from __future__ import annotations

import pytest

from tests.experiments.simulation import send, simulate
from tests.factories import environments, experiment_lab
from valueloop.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.evidence.facade import evidence_panel, evidence_totals
from valueloop.evidence.models import Evidence
from valueloop.experiments import services
from valueloop.experiments.models import Decision, Experiment, Learning
from valueloop.flags.models import FlagRevision, FlagRule, FlagState


def _create(pm, lab, **changes):
    experiment, parts = lab
    data = {
        "key": "second-test",
        "name": "Second",
        "hypothesis": "H",
        "feature_id": experiment.feature_id,
        "flag_id": parts["flag"].pk,
        "environment_id": parts["env"].pk,
        "variations": [{"name": "A", "value": False}, {"name": "B", "value": True}],
        **changes,
    }
    return services.experiment_create(actor=pm, **data)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"weights": [0.5, 0.4]}, "weights", "add up to 0.9"),
        ({"weights": [1.0, 0.0]}, "weights", "between 0 and 1"),
        ({"weights": [0.5]}, "weights", "one weight per variation"),
        ({"condition": {"country": {"$bogus": 1}}}, "condition", ""),
        ({"condition": "{not json"}, "condition", "not valid JSON"),
        ({"variations": [{"name": "A", "value": False}, {"name": "B", "value": "yes"}]}, "variations", "true or false"),
        ({"variations": [{"name": "A", "value": False}]}, "variations", "2 to 20"),
        ({"variations": [{"name": "A", "value": False}, {"name": "a", "value": True}]}, "variations", "two variations"),
        ({"coverage": 0}, "coverage", "more than 0"),
        ({"key": "Bad Key!"}, "key", "lower-case"),
        ({"key": "alpha-test"}, "key", "already exists"),
        ({"feature_id": None}, "feature_id", "feature or the problem"),
        ({"flag_id": 10**9}, "flag_id", "No such flag"),
        ({"environment_id": 10**9}, "environment_id", "No such environment"),
        ({"method": "bayesian", "correction": "holm"}, "correction", "Bayesian"),
        ({"alpha": 0.9}, "alpha", "0.5"),
        ({"planned_days": 0}, "planned_days", "1 to 365"),
        ({"hypothesis": "  "}, "hypothesis", "required"),
        ({"metrics": [{"metric_id": 10**9, "role": "primary"}]}, "metrics", "no metric"),
        ({"hash_attribute": "no spaces allowed"}, "hash_attribute", "attribute"),
    ],
)
def test_experiment_create__bad_input_names_the_field(pm, lab, changes, field, words):
    with pytest.raises(Invalid) as caught:
        _create(pm, lab, **changes)
    assert field in caught.value.fields, caught.value.fields
    assert words.lower() in caught.value.message.lower()
    assert not Experiment.objects.filter(key="second-test").exists()


def test_experiment_create__audited_with_normalised_split(world, pm, lab):
    experiment = _create(pm, lab, weights=[0.25, 0.75], condition='{"country": "DE"}', coverage=0.5)
    assert experiment.weights == [0.25, 0.75] and experiment.condition == {"country": "DE"}
    record = AuditEvent.objects.get(entity_type="experiment", entity_id=experiment.pk, action="created")
    assert record.changes["key"] == [None, "second-test"] and record.actor == pm.user


def test_experiment_create__needs_portfolio_write(world, lab):
    with pytest.raises(PermissionDenied):
        _create(world.actor(Role.CONTRIBUTOR), lab)


def test_experiment_update__stale_version_is_refused(pm, lab):
    experiment, _ = lab
    services.experiment_update(actor=pm, experiment_id=experiment.pk, expected_version=1, name="Renamed")
    with pytest.raises(Conflict):
        services.experiment_update(actor=pm, experiment_id=experiment.pk, expected_version=1, name="Mine")
    experiment.refresh_from_db()
    assert experiment.name == "Renamed" and experiment.version == 2


def test_experiment_update__other_workspace_is_not_found(world, lab):
    experiment, _ = lab
    with pytest.raises(NotFound):
        services.experiment_update(actor=world.actor_b, experiment_id=experiment.pk, name="x")


def test_experiment_update__split_is_fixed_once_running(pm, lab):
    experiment, _ = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    with pytest.raises(Invalid) as caught:
        services.experiment_update(actor=pm, experiment_id=experiment.pk, weights=[0.3, 0.7])
    assert "weights" in caught.value.fields
    services.experiment_update(actor=pm, experiment_id=experiment.pk, name="Still editable", alpha=0.1)


def test_experiment_start__publishes_the_rule_in_development(pm, lab):
    experiment, parts = lab
    experiment = services.experiment_start(actor=pm, experiment_id=experiment.pk)
    assert experiment.status == "running" and experiment.started_at is not None
    rule = FlagRule.objects.get(flag=parts["flag"], environment=parts["env"], kind="experiment")
    assert rule.tracking_key == "alpha-test" and rule.variations == [False, True] and rule.weights == [0.5, 0.5]
    state = FlagState.objects.get(flag=parts["flag"], environment=parts["env"])
    assert state.published.snapshot["rules"][0]["tracking_key"] == "alpha-test"
    assert experiment.flag_result["state"] == "published"
    assert AuditEvent.objects.filter(entity_type="experiment", action="started").exists()


def test_experiment_start__in_production_waits_for_approval(world, pm):
    experiment, parts = experiment_lab(pm, label="prod", environment="production", feature=world.feature_a)
    experiment = services.experiment_start(actor=pm, experiment_id=experiment.pk)
    revision = FlagRevision.objects.get(flag=parts["flag"], environment=parts["env"], state="pending_approval")
    assert experiment.flag_result["state"] == "pending_approval"
    assert experiment.flag_result["revision"] == revision.number
    assert revision.snapshot["rules"][0]["tracking_key"] == "prod-test"
    state = FlagState.objects.get(flag=parts["flag"], environment=parts["env"])
    assert state.published.snapshot["rules"] == []  # nothing served until someone approves


def test_experiment_start__needs_a_primary_metric_and_a_draft(pm, lab):
    experiment, _ = lab
    services.experiment_update(actor=pm, experiment_id=experiment.pk, metrics=[])
    with pytest.raises(Invalid) as caught:
        services.experiment_start(actor=pm, experiment_id=experiment.pk)
    assert "metrics" in caught.value.fields
    assert not FlagRule.objects.filter(kind="experiment").exists()


def test_experiment_stop__disables_the_rule(pm, lab):
    experiment, parts = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    experiment = services.experiment_stop(actor=pm, experiment_id=experiment.pk)
    assert experiment.status == "stopped" and experiment.stopped_at is not None
    assert FlagRule.objects.get(flag=parts["flag"], environment=parts["env"]).enabled is False
    with pytest.raises(Conflict):
        services.experiment_stop(actor=pm, experiment_id=experiment.pk)


def test_experiment_decide__records_learning_and_evidence(world, pm, lab):
    experiment, _ = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    send(world.ws_a, simulate(experiment.key, units=(400, 400), rates=(0.1, 0.2), seed=2))
    decision = services.experiment_decide(
        actor=pm, experiment_id=experiment.pk, outcome="iterate", learning="Copy matters more than layout."
    )
    assert decision.summary["metric"].endswith("checkout conversion") and decision.summary["units"] == [400, 400]
    learning = Learning.objects.get(experiment=experiment)
    assert learning.decision == decision and learning.feature == world.feature_a and learning.problem == world.problem_a
    links = Evidence.objects.filter(learning=learning).order_by("target_type")
    assert [(e.target_type, e.target_id) for e in links] == [
        ("feature", world.feature_a.pk),
        ("problem", world.problem_a.pk),
    ]
    assert all(e.customer_id is None and e.quote == "Copy matters more than layout." for e in links)
    # A learning shows in the panel but adds no account, ARR or customer item.
    totals = evidence_totals(actor=pm, target_type="feature", target_id=world.feature_a.pk)
    assert totals["count"] == 0 and totals["accounts"] == 0 and totals["arr"] == 0
    panel = evidence_panel(actor=pm, target_type="feature", target_id=world.feature_a.pk)["evidence"]
    assert panel["learning_count"] == 1 and panel["learnings"][0].learning_id == learning.pk
    experiment.refresh_from_db()
    assert experiment.status == "decided"
    with pytest.raises(Conflict):
        services.experiment_decide(actor=pm, experiment_id=experiment.pk, outcome="stop", learning="Again")
    assert AuditEvent.objects.filter(entity_type="learning", action="created").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"outcome": "maybe", "learning": "x"}, "outcome"),
        ({"outcome": "ship", "learning": "x"}, "variation"),
        ({"outcome": "ship", "learning": "x", "variation": 5}, "variation"),
        ({"outcome": "stop", "learning": "  "}, "learning"),
        ({"outcome": "stop", "learning": "x", "rollout": True}, "rollout"),
    ],
)
def test_experiment_decide__bad_input_names_the_field(pm, lab, data, field):
    experiment, _ = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    with pytest.raises(Invalid) as caught:
        services.experiment_decide(actor=pm, experiment_id=experiment.pk, **data)
    assert field in caught.value.fields
    assert not Decision.objects.exists() and not Learning.objects.exists()


def test_experiment_decide__ship_rolls_the_flag_out(pm, lab):
    experiment, parts = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    decision = services.experiment_decide(
        actor=pm, experiment_id=experiment.pk, outcome="ship", variation=1, rollout=True, learning="Ship it."
    )
    rule = FlagRule.objects.get(flag=parts["flag"], environment=parts["env"])
    assert rule.kind == "force" and rule.value is True and rule.tracking_key == ""
    state = FlagState.objects.get(flag=parts["flag"], environment=parts["env"])
    assert state.published.snapshot["rules"][0]["value"] is True
    assert decision.rollout_state == "published" and decision.rollout_revision == state.published.number


def test_experiment_decide__ship_to_production_waits_for_approval(world, pm, lab):
    experiment, parts = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    production = environments(world.ws_a)["production"]
    decision = services.experiment_decide(
        actor=pm,
        experiment_id=experiment.pk,
        outcome="ship",
        variation=1,
        rollout=True,
        rollout_environment_id=production.pk,
        learning="Ship it to everyone.",
    )
    pending = FlagRevision.objects.get(flag=parts["flag"], environment=production, state="pending_approval")
    assert decision.rollout_state == "pending_approval" and decision.rollout_revision == pending.number
    assert pending.snapshot["rules"][0]["kind"] == "force" and pending.snapshot["rules"][0]["value"] is True
    served = FlagState.objects.get(flag=parts["flag"], environment=production).published.snapshot
    assert served["rules"] == []  # production serves nothing new until approved
    # The experiment's own rule in development stops serving the variations.
    assert FlagRule.objects.get(flag=parts["flag"], environment=parts["env"]).enabled is False


def test_experiment_decide__rollout_only_to_its_environment_or_production(world, pm, lab):
    experiment, _ = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    staging = environments(world.ws_a)["staging"]
    with pytest.raises(Invalid) as caught:
        services.experiment_decide(
            actor=pm,
            experiment_id=experiment.pk,
            outcome="ship",
            variation=1,
            rollout=True,
            rollout_environment_id=staging.pk,
            learning="x",
        )
    assert "rollout_environment_id" in caught.value.fields


def test_experiment_delete__only_drafts(pm, lab):
    experiment, _ = lab
    other = _create(pm, lab)
    services.experiment_delete(actor=pm, experiment_id=other.pk)
    assert not Experiment.objects.filter(pk=other.pk).exists()
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    with pytest.raises(Conflict):
        services.experiment_delete(actor=pm, experiment_id=experiment.pk)


def test_metric__validation_and_protection_while_in_use(pm, lab):
    experiment, parts = lab
    with pytest.raises(Invalid) as caught:
        services.metric_create(actor=pm, key="ratio", name="Ratio", kind="ratio", event="purchase")
    assert "denominator_event" in caught.value.fields
    with pytest.raises(Invalid) as caught:
        services.metric_create(actor=pm, key="alpha-conversion", name="Dup", event="x")
    assert "key" in caught.value.fields
    with pytest.raises(Invalid) as caught:
        services.metric_create(actor=pm, key="w", name="W", event="x", window_hours=0)
    assert "window_hours" in caught.value.fields
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    with pytest.raises(Conflict):
        services.metric_update(actor=pm, metric_id=parts["conversion"].pk, event="signup")
    metric = services.metric_update(actor=pm, metric_id=parts["conversion"].pk, name="Renamed", expected_version=1)
    assert metric.version == 2
    with pytest.raises(Conflict):
        services.metric_update(actor=pm, metric_id=parts["conversion"].pk, name="Stale", expected_version=1)
    with pytest.raises(Conflict):
        services.metric_delete(actor=pm, metric_id=parts["conversion"].pk)
    spare = services.metric_create(actor=pm, key="spare", name="Spare", event="x")
    services.metric_delete(actor=pm, metric_id=spare.pk)
    assert AuditEvent.objects.filter(entity_type="metric", action="deleted", entity_id=spare.pk).exists()
