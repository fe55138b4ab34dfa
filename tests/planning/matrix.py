"""Ids of planning objects for the permission-matrix and tenant-isolation suites."""

from __future__ import annotations

from valueloop.planning import services
from valueloop.planning.models import Feature


def planning_ids(actor, label: str = "Alpha") -> dict:
    feature = Feature.objects.filter(workspace=actor.workspace).order_by("id").first()
    formula = services.formula_create(actor=actor, name=f"{label} formula", expression="cost_of_delay / duration")
    entry = services.throughput_create(actor=actor, week_start="2025-01-06", finished=3, note=f"{label} week")
    team = services.team_create(actor=actor, name=f"{label} team")
    item = services.delivery_item_create(actor=actor, feature_id=feature.pk, title=f"{label} delivery item")
    return {"formula_id": formula.pk, "throughput_id": entry.pk, "team_id": team.pk, "delivery_item_id": item.pk}


def sample_bodies(ids: dict) -> dict:
    history = {"source": "given", "history": [2, 3, 1, 4], "trials": 1000, "seed": 1}
    return {
        "planning_prioritisation_update": {"cod_increase_revenue": 1000, "duration_likely": "2"},
        "planning_ranking_whatif": {"changes": [{"feature_id": ids["feature_id"], "duration_likely": 3}]},
        "planning_forecast_when": {"items": 5, **history},
        "planning_forecast_howmany": {"weeks": 4, **history},
        "planning_backlog_move": {"feature_id": ids["feature_id"], "to_position": 2, "reason": "Matrix move"},
        "planning_backlog_reset": {"reason": "Matrix reset"},
        "planning_formula_create": {"name": "Matrix formula", "expression": "cost_of_delay / duration"},
        "planning_formula_update": {"name": "Renamed formula"},
        "planning_formula_delete": None,
        "planning_throughput_create": {"week_start": "2025-06-02", "finished": 3},
        "planning_throughput_update": {"finished": 4},
        "planning_throughput_delete": None,
        "planning_team_create": {"name": "Matrix team", "capacity": 1},
        "planning_team_update": {"capacity": "1.5"},
        "planning_team_delete": None,
        "planning_deliveryitem_create": {"title": "Matrix item", "status": "done"},
        "planning_deliveryitem_update": {"status": "doing"},
        "planning_deliveryitem_delete": None,
        "planning_kano_import": {
            "csv": f"feature,respondent,functional,dysfunctional\n{ids['feature_id']},r1,like,dislike",
            "dry_run": True,
        },
        "planning_outcome_update": {"importance": 8, "satisfaction": 3, "respondents": 20},
        "planning_settings_update": {"ice_method": "product"},
    }
