"""Planning services: validation per field, score history, versions, backlog reasons, imports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from valueloop.core.errors import Conflict, Invalid, PermissionDenied
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.planning import services
from valueloop.planning.models import BacklogMove, DeliveryItem, Feature, KanoResponse, ScoreChange


def _feature(world, title, **inputs):
    feature = services.feature_create(actor=world.actor_a, title=title)
    if inputs:
        services.prioritisation_update(actor=world.actor_a, feature_id=feature.pk, **inputs)
    return Feature.objects.get(pk=feature.pk)


def test_prioritisation_update__stores_components_and_derives_cod_and_cd3(world):
    feature = services.prioritisation_update(
        actor=world.actor_a,
        feature_id=world.feature_a.pk,
        cod_increase_revenue="1,200.50",
        cod_increase_revenue_rationale="  Five deals waiting  ",
        cod_reduce_risk=Decimal("300"),
        duration_low="2",
        duration_likely="3",
        duration_high="6",
    )
    assert feature.cod_per_week == Decimal("1500.50")
    assert feature.cd3 == pytest.approx(1500.5 / 3)
    assert feature.cod_increase_revenue_rationale == "Five deals waiting"
    assert feature.cod_protect_revenue is None
    event = AuditEvent.objects.filter(entity_type="feature", entity_id=feature.pk, action="updated").latest("id")
    assert event.changes["duration_likely"] == [None, "3.00"]


def test_prioritisation_update__every_bad_field_is_named_at_once(world):
    with pytest.raises(Invalid) as excinfo:
        services.prioritisation_update(
            actor=world.actor_a,
            feature_id=world.feature_a.pk,
            cod_protect_revenue="-5",
            duration_likely="0",
            rice_impact="4",
            ice_ease="11",
            wsjf_job_size="abc",
        )
    fields = excinfo.value.fields
    assert set(fields) == {"cod_protect_revenue", "duration_likely", "rice_impact", "ice_ease", "wsjf_job_size"}
    assert "must be >= 0" in fields["cod_protect_revenue"]
    assert "Duration likely must be > 0" in fields["duration_likely"]
    assert "3 (massive)" in fields["rice_impact"]
    assert "10" in fields["ice_ease"]
    assert "number" in fields["wsjf_job_size"]
    assert Feature.objects.get(pk=world.feature_a.pk).duration_likely is None  # nothing half-written


def test_prioritisation_update__negative_duration_and_range_order(world):
    with pytest.raises(Invalid) as excinfo:
        services.prioritisation_update(actor=world.actor_a, feature_id=world.feature_a.pk, duration_low="-1")
    assert "duration_low" in excinfo.value.fields
    with pytest.raises(Invalid) as excinfo:
        services.prioritisation_update(
            actor=world.actor_a, feature_id=world.feature_a.pk, duration_low="4", duration_likely="3"
        )
    assert excinfo.value.fields == {"duration_low": "Duration low must be at most likely."}
    with pytest.raises(Invalid) as excinfo:
        services.prioritisation_update(
            actor=world.actor_a, feature_id=world.feature_a.pk, duration_likely="3", duration_high="2"
        )
    assert "duration_high" in excinfo.value.fields


def test_prioritisation_update__fixed_date_needs_a_deadline(world):
    with pytest.raises(Invalid) as excinfo:
        services.prioritisation_update(actor=world.actor_a, feature_id=world.feature_a.pk, urgency="fixed_date")
    assert excinfo.value.fields == {"deadline": "A fixed-date item needs a deadline."}
    deadline = timezone.localdate() + dt.timedelta(weeks=10)
    feature = services.prioritisation_update(
        actor=world.actor_a, feature_id=world.feature_a.pk, urgency="fixed_date", deadline=deadline.isoformat()
    )
    assert feature.deadline == deadline
    with pytest.raises(Invalid) as excinfo:  # clearing the deadline of a fixed-date item is refused too
        services.prioritisation_update(actor=world.actor_a, feature_id=world.feature_a.pk, deadline="")
    assert "deadline" in excinfo.value.fields


def test_prioritisation_update__peak_affected_needs_life_and_unknown_inputs_are_refused(world):
    with pytest.raises(Invalid) as excinfo:
        services.prioritisation_update(
            actor=world.actor_a, feature_id=world.feature_a.pk, urgency="short_life_peak_affected"
        )
    assert "urgency_life_weeks" in excinfo.value.fields
    with pytest.raises(Invalid) as excinfo:
        services.prioritisation_update(actor=world.actor_a, feature_id=world.feature_a.pk, colour="red")
    assert "colour" in excinfo.value.fields


def test_prioritisation_update__team_of_another_workspace_is_refused(world):
    other = services.team_create(actor=world.actor_b, name="Beta squad")
    with pytest.raises(Invalid) as excinfo:
        services.prioritisation_update(actor=world.actor_a, feature_id=world.feature_a.pk, team_id=other.pk)
    assert excinfo.value.fields == {"team_id": "No such team in this workspace."}


def test_prioritisation_update__stale_version_conflicts(world):
    feature = services.prioritisation_update(
        actor=world.actor_a, feature_id=world.feature_a.pk, expected_version=1, duration_likely="2"
    )
    assert feature.version == 2
    with pytest.raises(Conflict):
        services.prioritisation_update(
            actor=world.actor_a, feature_id=world.feature_a.pk, expected_version=1, duration_likely="3"
        )


def test_prioritisation_update__needs_write_scope(world):
    with pytest.raises(PermissionDenied):
        services.prioritisation_update(
            actor=world.actor(Role.CONTRIBUTOR), feature_id=world.feature_a.pk, duration_likely="2"
        )


def test_prioritisation_update__records_score_changes_when_score_or_rank_moves(world):
    first = _feature(world, "First", cod_increase_revenue="1000", duration_likely="1")
    second = _feature(world, "Second", cod_increase_revenue="1000", duration_likely="4")
    change = ScoreChange.objects.filter(feature=second, framework="cd3").latest("id")
    assert (change.old_score, change.old_rank) == (None, None)
    assert (change.new_score, change.new_rank) == (250.0, 2)
    services.prioritisation_update(actor=world.actor(Role.PRODUCT_MANAGER), feature_id=second.pk, duration_likely="0.5")
    change = ScoreChange.objects.filter(feature=second, framework="cd3").latest("id")
    assert (change.old_score, change.new_score, change.old_rank, change.new_rank) == (250.0, 2000.0, 2, 1)
    assert change.changed == {"duration_likely": ["4.00", "0.50"]}
    assert change.actor_label == "product-manager@a.test"
    # a rationale changes no score: no history row
    count = ScoreChange.objects.count()
    services.prioritisation_update(
        actor=world.actor_a, feature_id=first.pk, cod_increase_revenue_rationale="Better words"
    )
    assert ScoreChange.objects.count() == count
    # ICE inputs only move the ICE score
    services.prioritisation_update(
        actor=world.actor_a, feature_id=first.pk, ice_impact="5", ice_confidence="5", ice_ease="5"
    )
    assert set(ScoreChange.objects.filter(feature=first).values_list("framework", flat=True)) >= {"ice", "cd3"}
    assert not ScoreChange.objects.filter(feature=first, framework="rice").exists()


def test_delivery_items__done_stamps_done_at_and_reopen_clears_it(world):
    item = services.delivery_item_create(actor=world.actor_a, feature_id=world.feature_a.pk, title="Scheduler")
    assert item.done_at is None
    item = services.delivery_item_update(actor=world.actor_a, delivery_item_id=item.pk, status="done")
    assert item.done_at is not None
    item = services.delivery_item_update(actor=world.actor_a, delivery_item_id=item.pk, status="doing")
    assert item.done_at is None
    with pytest.raises(Invalid) as excinfo:
        services.delivery_item_create(
            actor=world.actor_a,
            feature_id=world.feature_a.pk,
            title="Future",
            status="done",
            done_at=timezone.now() + dt.timedelta(days=3),
        )
    assert "done_at" in excinfo.value.fields
    with pytest.raises(Invalid) as excinfo:
        services.delivery_item_create(actor=world.actor_a, feature_id=world.feature_a.pk, title=" ", estimate_weeks="0")
    assert set(excinfo.value.fields) == {"title", "estimate_weeks"}
    services.delivery_item_delete(actor=world.actor_a, delivery_item_id=item.pk)
    assert not DeliveryItem.objects.filter(pk=item.pk).exists()


def test_formula_create__bad_expression_points_at_the_token(world):
    with pytest.raises(Invalid) as excinfo:
        services.formula_create(actor=world.actor_a, name="Broken", expression="cost_of_delay / duraton")
    caret = excinfo.value.fields["expression"]
    assert caret.splitlines()[0] == "cost_of_delay / duraton"
    assert caret.splitlines()[1].startswith(" " * 16 + "^^^^^^^")
    assert "did you mean 'duration'" in caret
    services.formula_create(actor=world.actor_a, name="Good", expression="cost_of_delay / duration")
    with pytest.raises(Conflict):
        services.formula_create(actor=world.actor_a, name="good", expression="reach")


def test_throughput__one_entry_per_week_stored_as_monday(world):
    entry = services.throughput_create(actor=world.actor_a, week_start="2026-03-05", finished=4)  # a Thursday
    assert entry.week_start == dt.date(2026, 3, 2)
    with pytest.raises(Conflict) as excinfo:
        services.throughput_create(actor=world.actor_a, week_start="2026-03-02", finished=1)
    assert "week_start" in excinfo.value.fields
    with pytest.raises(Invalid) as excinfo:
        services.throughput_create(actor=world.actor_a, week_start="soon", finished=-1)
    assert set(excinfo.value.fields) == {"week_start", "finished"}


def test_backlog_move__requires_a_reason_and_keeps_it(world):
    a = _feature(world, "A", cod_increase_revenue="1000", duration_likely="1")
    b = _feature(world, "B", cod_increase_revenue="500", duration_likely="1")
    po = world.actor(Role.PRODUCT_OWNER)
    for reason in ("", "   "):
        with pytest.raises(Invalid) as excinfo:
            services.backlog_move(actor=po, feature_id=b.pk, to_position=1, reason=reason)
        assert excinfo.value.fields == {"reason": "A reason is required for a hand move."}
    assert not BacklogMove.objects.exists()
    move = services.backlog_move(actor=po, feature_id=b.pk, to_position=1, reason=" Promised to Acme ")
    assert (move.from_position, move.to_position, move.reason) == (2, 1, "Promised to Acme")
    from valueloop.planning.selectors import backlog_order

    ids, _, _ = backlog_order(actor=po)
    assert ids[:2] == [b.pk, a.pk]
    with pytest.raises(Invalid):  # already there
        services.backlog_move(actor=po, feature_id=b.pk, to_position=1, reason="again")
    with pytest.raises(Invalid):
        services.backlog_reset(actor=po, reason="")
    services.backlog_reset(actor=po, reason="New quarter")
    ids, _, _ = backlog_order(actor=po)
    assert ids[:2] == [a.pk, b.pk]
    assert BacklogMove.objects.filter(feature=None, reason="New quarter").exists()


def test_backlog_move__released_features_are_not_in_the_backlog(world):
    services.feature_update(actor=world.actor_a, feature_id=world.feature_a.pk, status="released")
    with pytest.raises(Invalid) as excinfo:
        services.backlog_move(actor=world.actor_a, feature_id=world.feature_a.pk, to_position=1, reason="x")
    assert "feature_id" in excinfo.value.fields


def test_kano_import__all_or_nothing_with_a_report_per_row(world):
    bad = (
        "feature,respondent,functional,dysfunctional\n"
        f"{world.feature_a.pk},r1,like,dislike\n"
        f"{world.feature_b.pk},r2,like,dislike\n"
        "Alpha feature,r3,maybe,dislike\n"
        f"{world.feature_a.pk},r1,expect,dislike\n"
    )
    with pytest.raises(Invalid) as excinfo:
        services.kano_import(actor=world.actor_a, data=bad)
    fields = excinfo.value.fields
    assert "row 3 feature" in fields  # B's feature is not found in A
    assert "row 4 functional" in fields
    assert "row 5 respondent" in fields  # duplicate of row 2
    assert not KanoResponse.objects.exists()
    good = "feature,respondent,functional,dysfunctional\nAlpha feature,r1,I like it,I dislike it\n"
    report = services.kano_import(actor=world.actor_a, data=good.encode("utf-8-sig"))
    assert report == {"rows": 1, "created": 1, "updated": 0, "dry_run": False}
    report = services.kano_import(actor=world.actor_a, data=good.replace("I like it", "expect"))
    assert report["updated"] == 1 and KanoResponse.objects.get().functional == "must_be"


def test_kano_import__reads_excel_semicolons_and_spaced_headers_through_the_shared_table(world):
    data = "Feature ID;Respondent;Functional;Dysfunctional\n\nAlpha feature;r1;like;dislike\n;;;\nnope;r2;like;x\n"
    with pytest.raises(Invalid) as excinfo:
        services.kano_import(actor=world.actor_a, data=data.encode("cp1252"))
    assert set(excinfo.value.fields) == {"row 5 feature", "row 5 dysfunctional"}  # blank rows keep the numbering
    report = services.kano_import(actor=world.actor_a, data=data.split("nope")[0])
    assert report["created"] == 1 and KanoResponse.objects.get().respondent == "r1"


def test_outcome_update__validates_with_the_engine_range(world):
    with pytest.raises(Invalid) as excinfo:
        services.outcome_update(actor=world.actor_a, problem_id=world.problem_a.pk, importance="12", satisfaction="")
    assert set(excinfo.value.fields) == {"importance", "satisfaction"}
    out = services.outcome_update(
        actor=world.actor_a, problem_id=world.problem_a.pk, importance="8", satisfaction="3", respondents="40"
    )
    assert out["score"] == 13.0 and out["band"] == "high" and out["underserved"]


@pytest.mark.parametrize(
    ("entity_type", "create", "delete", "key", "expected"),
    [
        (
            "team",
            lambda a: services.team_create(actor=a, name="Core", capacity=2),
            services.team_delete,
            "team_id",
            {"name": ["Core", None]},
        ),
        (
            "scoring_formula",
            lambda a: services.formula_create(actor=a, name="Speed", expression="1 / duration"),
            services.formula_delete,
            "formula_id",
            {"expression": ["1 / duration", None]},
        ),
        (
            "throughput",
            lambda a: services.throughput_create(actor=a, week_start="2026-03-04", finished=7),
            services.throughput_delete,
            "throughput_id",
            {"finished": [7, None]},
        ),
    ],
)
def test_delete__is_audited_with_the_last_values(world, entity_type, create, delete, key, expected):
    obj = create(world.actor_a)
    delete(actor=world.actor_a, **{key: obj.pk})
    assert not type(obj).objects.filter(pk=obj.pk).exists()
    event = AuditEvent.objects.get(entity_type=entity_type, entity_id=obj.pk, action="deleted")
    for field, change in expected.items():
        assert event.changes[field] == change
    with pytest.raises(PermissionDenied):
        delete(actor=world.actor(Role.STAKEHOLDER), **{key: create(world.actor_a).pk})
