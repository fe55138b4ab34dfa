"""Rankings, sequencing, schedules and forecasts through the API."""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone

from tests.conftest import token_client
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.planning import services
from valueloop.planning.models import Feature, ScoreChange


def put(client, url, body):
    return client.put(url, json.dumps(body), content_type="application/json")


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def _feature(world, title, **inputs):
    feature = services.feature_create(actor=world.actor_a, title=title)
    if inputs:
        services.prioritisation_update(actor=world.actor_a, feature_id=feature.pk, **inputs)
    return feature


def test_ranking__unscored_features_are_listed_after_the_scored_with_reasons(world):
    client = token_client(world.actor(Role.STAKEHOLDER))
    _feature(world, "Cheap and quick", cod_increase_revenue="1000", duration_likely="1")
    _feature(world, "Only a cost", cod_reduce_cost="500")
    body = client.get("/api/v1/planning/ranking?framework=cd3").json()
    assert body["count"] == 3 and body["scored"] == 1 and body["unscored"] == 2
    titles = [i["title"] for i in body["items"]]
    assert titles == ["Cheap and quick", "Alpha feature", "Only a cost"]
    problems = {i["title"]: {p["field"]: p["message"] for p in i["problems"]} for i in body["items"]}
    assert problems["Only a cost"] == {"duration_likely": "duration likely missing"}
    assert problems["Alpha feature"]["cod"].startswith("Cost of Delay missing")
    assert body["items"][1]["rank"] is None and body["items"][1]["score"] is None


def test_ranking__framework_switch_and_ice_method_per_workspace(world):
    client = token_client(world.actor_a)
    _feature(
        world,
        "Big bet",
        rice_reach="1000",
        rice_impact="3",
        rice_confidence="50",
        rice_effort="10",
        ice_impact="9",
        ice_confidence="2",
        ice_ease="2",
    )
    _feature(
        world,
        "Small win",
        rice_reach="400",
        rice_impact="1",
        rice_confidence="100",
        rice_effort="1",
        ice_impact="4",
        ice_confidence="4",
        ice_ease="4",
    )
    rice = client.get("/api/v1/planning/ranking?framework=rice").json()
    assert [i["title"] for i in rice["items"][:2]] == ["Small win", "Big bet"]
    assert rice["items"][0]["score"] == 400 and rice["items"][1]["score"] == 150
    ice = client.get("/api/v1/planning/ranking?framework=ice").json()
    assert ice["ice_method"] == "average" and ice["items"][0]["title"] == "Big bet"  # 13/3 > 12/3
    assert put(client, "/api/v1/planning/settings", {"ice_method": "product"}).status_code == 200
    ice = client.get("/api/v1/planning/ranking?framework=ice").json()
    assert ice["ice_method"] == "product" and ice["items"][0]["title"] == "Small win"  # 64 > 36
    assert client.get("/api/v1/planning/ranking?framework=moscow").status_code == 422


def test_ranking__fixed_date_costs_nothing_until_the_latest_start(world):
    today = timezone.localdate()
    _feature(
        world,
        "Regulation",
        urgency="fixed_date",
        deadline=(today + dt.timedelta(weeks=10)).isoformat(),
        cod_reduce_risk="9000",
        duration_likely="4",
    )
    _feature(
        world,
        "Overdue rule",
        urgency="fixed_date",
        deadline=(today + dt.timedelta(weeks=3)).isoformat(),
        cod_reduce_risk="900",
        duration_likely="4",
    )
    body = token_client(world.actor_a).get("/api/v1/planning/ranking").json()
    by_title = {i["title"]: i for i in body["items"]}
    assert by_title["Regulation"]["cost_of_delay_now"] == {"amount": "0.00", "currency": "USD"}
    assert by_title["Regulation"]["score"] == 0
    assert by_title["Overdue rule"]["cost_of_delay_now"] == {"amount": "900.00", "currency": "USD"}
    assert by_title["Overdue rule"]["rank"] == 1
    # A fixed-date item that lost its deadline outside the service is still listed, with the reason.
    Feature.objects.filter(title="Regulation").update(deadline=None)
    body = token_client(world.actor_a).get("/api/v1/planning/ranking").json()
    regulation = next(i for i in body["items"] if i["title"] == "Regulation")
    assert regulation["rank"] is None
    assert {"field": "deadline", "message": "fixed-date item needs a deadline"} in regulation["problems"]


def test_ranking__formula_errors_point_at_the_token_and_division_by_zero_names_the_item(world):
    client = token_client(world.actor_a)
    good = _feature(world, "Good", cod_increase_revenue="1000", duration_likely="2", rice_effort="2")
    zero = _feature(world, "Zero effort", cod_increase_revenue="1000", duration_likely="2")
    response = client.get("/api/v1/planning/ranking?framework=formula&formula=cost_of_delay / duraton")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "formula"
    assert error["message"].splitlines()[1] == " " * 16 + "^^^^^^^ unknown field 'duraton' (did you mean 'duration'?)"
    Feature.objects.filter(pk=zero.pk).update(rice_effort=0)  # bypasses the service on purpose
    body = client.get("/api/v1/planning/ranking?framework=formula&formula=cost_of_delay / effort").json()
    assert body["count"] == 3 and body["scored"] == 1
    assert body["items"][0]["feature_id"] == good.pk and body["items"][0]["score"] == 500
    zero_row = next(i for i in body["items"] if i["feature_id"] == zero.pk)
    assert zero_row["rank"] is None
    assert zero_row["problems"][0]["field"] == "formula"
    assert f"division by zero (item {zero.pk})" in zero_row["problems"][0]["message"]
    alpha = next(i for i in body["items"] if i["title"] == "Alpha feature")
    assert "field 'cost_of_delay' has no value" in alpha["problems"][0]["message"]
    formula = services.formula_create(actor=world.actor_a, name="CD3 again", expression="cost_of_delay / duration")
    body = client.get(f"/api/v1/planning/ranking?framework=formula&formula_id={formula.pk}").json()
    assert body["label"] == "CD3 again" and body["items"][0]["score"] == 500


def test_ranking__wsjf_and_opportunity(world):
    client = token_client(world.actor_a)
    _feature(
        world, "W1", wsjf_business_value="10", wsjf_time_criticality="10", wsjf_risk_reduction="10", wsjf_job_size="10"
    )
    _feature(
        world, "W2", wsjf_business_value="20", wsjf_time_criticality="10", wsjf_risk_reduction="10", wsjf_job_size="10"
    )
    body = client.get("/api/v1/planning/ranking?framework=wsjf").json()
    assert [i["title"] for i in body["items"][:2]] == ["W2", "W1"]
    assert body["items"][0]["score"] == 4.0 and body["items"][1]["score"] == 3.0  # (2+1+1)/1, (1+1+1)/1
    services.outcome_update(actor=world.actor_a, problem_id=world.problem_a.pk, importance="8", satisfaction="3")
    body = client.get("/api/v1/planning/ranking?framework=opportunity").json()
    assert body["items"][0]["title"] == "Alpha feature" and body["items"][0]["score"] == 13.0
    w1 = next(i for i in body["items"] if i["title"] == "W1")
    assert w1["problems"] == [{"field": "problem", "message": "not linked to a problem (opportunity)"}]


def test_prioritisation_api__get_put_and_per_field_errors(world):
    client = token_client(world.actor(Role.PRODUCT_MANAGER))
    url = f"/api/v1/features/{world.feature_a.pk}/prioritisation"
    response = put(
        client,
        url,
        {
            "cod_increase_revenue": 1000,
            "cod_reduce_cost": "250.5",
            "duration_likely": 2,
            "duration_high": 4,
            "version": 1,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["cod_per_week"] == {"amount": "1250.50", "currency": "USD"}
    assert body["cod_reduce_cost"] == {"amount": "250.50", "currency": "USD"} and body["cod_reduce_risk"] is None
    assert body["cd3"] == 625.25 and body["cd3_low"] == 312.625
    assert body["suggestion"]["basis"].startswith("No requesting accounts")
    bad = put(client, url, {"duration_likely": 0, "urgency": "fixed_date", "rice_confidence": 70})
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"duration_likely", "deadline", "rice_confidence"}
    stale = put(client, url, {"duration_likely": 3, "version": 1})
    assert stale.status_code == 409
    assert put(client, url, {"duration_likely": True}).status_code == 422
    assert client.get(f"/api/v1/features/{world.feature_b.pk}/prioritisation").status_code == 404
    history = client.get(f"/api/v1/features/{world.feature_a.pk}/score-history").json()
    assert history["count"] >= 1 and history["items"][0]["framework"] in ("cd3", "cod")


def test_sequence__reproduces_black_swan_farmings_example(world):
    """A $1,000/wk 5 wk, B $4,000/wk 1 wk, C $5,000/wk 2 wk: FIFO $69,000, CD3 $27,000."""
    client = token_client(world.actor(Role.PRODUCT_MANAGER))
    services.feature_update(actor=world.actor_a, feature_id=world.feature_a.pk, status="released")
    for title, cod, weeks in (("A", 1000, 5), ("B", 4000, 1), ("C", 5000, 2)):
        created = post(client, "/api/v1/features", {"title": title})
        assert created.status_code == 201
        response = put(
            client,
            f"/api/v1/features/{created.json()['id']}/prioritisation",
            {"cod_increase_revenue": cod, "duration_likely": weeks},
        )
        assert response.status_code == 200, response.content
    body = client.get("/api/v1/planning/sequence").json()
    assert {s["total_delay_cost"]["currency"] for s in body["strategies"]} == {"USD"}
    costs = {s["strategy"]: s["total_delay_cost"]["amount"] for s in body["strategies"]}
    savings = {s["strategy"]: s["cd3_saving"]["amount"] for s in body["strategies"]}
    assert costs["fifo"] == "69000.00" and costs["cd3"] == "27000.00"
    assert savings["fifo"] == "42000.00" and body["best"] == "cd3"
    assert costs["current"] == "27000.00"  # no hand moves: the backlog is in CD3 order
    assert [i["title"] for i in body["items"]] == ["B", "C", "A"]
    # The product owner puts A first by hand: the current order now costs what FIFO does.
    a = Feature.objects.get(workspace=world.ws_a, title="A")
    moved = post(client, "/api/v1/planning/backlog/moves", {"feature_id": a.pk, "to_position": 1, "reason": "CEO ask"})
    assert moved.status_code == 201, moved.content
    body = client.get("/api/v1/planning/sequence").json()
    current = next(s for s in body["strategies"] if s["strategy"] == "current")
    assert current["total_delay_cost"]["amount"] == "69000.00" and current["cd3_saving"]["amount"] == "42000.00"
    backlog = client.get("/api/v1/planning/backlog").json()
    assert backlog["items"][0]["title"] == "A" and backlog["items"][0]["last_move_reason"] == "CEO ask"
    no_reason = post(client, "/api/v1/planning/backlog/moves", {"feature_id": a.pk, "to_position": 2, "reason": " "})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    other = post(
        client, "/api/v1/planning/backlog/moves", {"feature_id": world.feature_b.pk, "to_position": 1, "reason": "x"}
    )
    assert other.status_code == 404


def test_schedule__cd3_across_team_capacities(world):
    client = token_client(world.actor_a)
    services.feature_update(actor=world.actor_a, feature_id=world.feature_a.pk, status="dropped")
    fast = services.team_create(actor=world.actor_a, name="Fast", capacity="2")
    services.team_create(actor=world.actor_a, name="Normal")
    _feature(world, "B", cod_increase_revenue="4000", duration_likely="1")
    _feature(world, "C", cod_increase_revenue="5000", duration_likely="2", team_id=fast.pk)
    _feature(world, "A", cod_increase_revenue="1000", duration_likely="5")
    body = client.get("/api/v1/planning/schedule").json()
    items = {i["title"]: i for i in body["items"]}
    assert [i["title"] for i in body["items"]] == ["B", "C", "A"]
    assert items["B"]["team"] == "Fast" and items["B"]["end_week"] == 0.5
    assert items["C"]["team"] == "Fast" and (items["C"]["start_week"], items["C"]["end_week"]) == (0.5, 1.5)
    assert items["A"]["team"] == "Normal" and items["A"]["end_week"] == 5
    assert items["A"]["end"] == (timezone.localdate() + dt.timedelta(weeks=5)).isoformat()


def test_forecast_api__when_and_how_many_at_50_85_95(world):
    client = token_client(world.actor(Role.STAKEHOLDER))
    history = [3, 5, 4, 6, 2, 5, 4, 3]
    body = post(
        client, "/api/v1/planning/forecast/when", {"items": 40, "source": "given", "history": history, "seed": 7}
    ).json()
    levels = {lv["confidence"]: lv for lv in body["levels"]}
    assert set(levels) == {50, 85, 95}
    assert levels[50]["weeks"] <= levels[85]["weeks"] <= levels[95]["weeks"]
    assert 8 <= levels[50]["weeks"] <= 12 and sum(body["histogram"]["counts"]) == body["trials"] == 10_000
    assert levels[85]["date"] == (timezone.localdate() + dt.timedelta(weeks=levels[85]["weeks"])).isoformat()
    body = post(
        client, "/api/v1/planning/forecast/how-many", {"weeks": 10, "source": "given", "history": history, "seed": 7}
    ).json()
    items = {lv["confidence"]: lv["items"] for lv in body["levels"]}
    assert items[50] >= items[85] >= items[95] and 30 <= items[50] <= 50
    empty = post(client, "/api/v1/planning/forecast/when", {"items": 5, "source": "manual"})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "history"
    zeros = post(client, "/api/v1/planning/forecast/when", {"items": 5, "source": "given", "history": [0, 0]})
    assert zeros.status_code == 422 and "every week" in zeros.json()["message"]


def test_forecast__throughput_from_delivery_items_done_per_week(world):
    now = timezone.now()
    for days in (8, 9, 15):
        services.delivery_item_create(
            actor=world.actor_a,
            feature_id=world.feature_a.pk,
            title=f"d{days}",
            status="done",
            done_at=now - dt.timedelta(days=days),
        )
    services.delivery_item_create(actor=world.actor_a, feature_id=world.feature_a.pk, title="open")
    from valueloop.planning.selectors import throughput_history

    history = throughput_history(actor=world.actor_a, source="delivery_items", weeks=4)
    assert len(history) == 4 and sum(c for _, c in history) == 3
    assert all(week.weekday() == 0 for week, _ in history)
    body = post(
        token_client(world.actor_a),
        "/api/v1/planning/forecast/when",
        {"items": 1, "source": "delivery_items", "history_weeks": 4, "seed": 1},
    ).json()
    assert body["history"] == [c for _, c in history]


def test_whatif_api__reranks_without_saving(world):
    client = token_client(world.actor(Role.CONTRIBUTOR))
    slow = _feature(world, "Slow", cod_increase_revenue="3000", duration_likely="6")
    _feature(world, "Quick", cod_increase_revenue="1000", duration_likely="1")
    before = (AuditEvent.objects.count(), ScoreChange.objects.count(), Feature.objects.get(pk=slow.pk).version)
    body = post(
        client, "/api/v1/planning/ranking/what-if", {"changes": [{"feature_id": slow.pk, "duration_likely": 1}]}
    ).json()
    row = next(i for i in body["items"] if i["feature_id"] == slow.pk)
    assert (row["rank"], row["whatif_rank"]) == (2, 1) and row["whatif_score"] == 3000
    before_cost, after_cost = body["cd3_total_delay_cost_before"], body["cd3_total_delay_cost_after"]
    # Quick (1000/wk, 1 wk) then Slow (3000/wk, 6 wk) costs 1000 + 3000 * 7; in the what-if Slow goes first.
    assert before_cost == {"amount": "22000.00", "currency": "USD"}
    assert after_cost == {"amount": "5000.00", "currency": "USD"}
    assert (AuditEvent.objects.count(), ScoreChange.objects.count(), Feature.objects.get(pk=slow.pk).version) == before
    assert Feature.objects.get(pk=slow.pk).duration_likely == 6
    other = post(client, "/api/v1/planning/ranking/what-if", {"changes": [{"feature_id": world.feature_b.pk}]})
    assert other.status_code == 404


def test_kano_and_outcome_api(world):
    client = token_client(world.actor_a)
    csv = (
        "feature,respondent,functional,dysfunctional\n"
        + "\n".join(f"{world.feature_a.pk},r{k},expect,dislike" for k in range(3))
        + f"\n{world.feature_a.pk},r9,like,neutral"
    )
    assert post(client, "/api/v1/planning/kano/import", {"csv": csv}).json()["created"] == 4
    body = client.get("/api/v1/planning/kano").json()
    item = body["items"][0]
    assert item["dominant"] == "M" and item["counts"]["M"] == 3 and item["counts"]["A"] == 1
    assert item["better"] == 0.25 and item["worse"] == -0.75
    bad = post(client, "/api/v1/planning/kano/import", {"csv": "feature,respondent\n1,r1"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "row 1 header"
    url = f"/api/v1/problems/{world.problem_a.pk}/outcome"
    assert client.get(url).json()["score"] is None
    assert put(client, url, {"importance": 9, "satisfaction": 2}).json()["band"] == "extreme"
    assert client.get(f"/api/v1/problems/{world.problem_b.pk}/outcome").status_code == 404
