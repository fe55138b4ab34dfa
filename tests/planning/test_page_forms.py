"""Planning's page forms: bad input (blank, the wrong type, another workspace's id) is answered with the error
beside the field and nothing written; never a 500. One view per form: each form posts to its own URL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from tests.page_forms import error_beside
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.planning import services
from valueloop.planning.models import BacklogMove, DeliveryItem, Feature, PlanningSettings, ScoringFormula, Team


@pytest.fixture
def pm(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    return client


@pytest.fixture
def audit_unchanged():
    """Asserts, at the end of the test, that no write was audited (nothing half-written)."""
    before = AuditEvent.objects.count()
    yield
    assert AuditEvent.objects.count() == before


def test_feature_list_view__bad_input_is_shown_beside_each_field(world, pm, audit_unchanged):
    url = f"/w/{world.ws_a.slug}/features/"
    blank = pm.post(url, {"title": "  "})
    assert blank.status_code == 400 and error_beside(blank, "nf-title") == "This field is required."
    wrong_type = pm.post(url, {"title": "Retries", "product_id": "abc"})
    assert wrong_type.status_code == 400
    assert error_beside(wrong_type, "nf-product_id") == "No such product in this workspace; choose one from the list."
    other = pm.post(url, {"title": "Retries", "problem_id": world.problem_b.pk, "area_id": world.area_b.pk})
    assert other.status_code == 400 and "Beta" not in other.content.decode()
    assert error_beside(other, "nf-problem_id") == "No such problem in this workspace; choose one from the list."
    assert error_beside(other, "nf-area_id") == "No such area in this workspace; choose one from the list."
    assert other.content.decode().count('value="Retries"') == 1  # what was typed is kept
    assert not Feature.objects.filter(title="Retries").exists()


def test_feature_list_view__problem_in_the_query_preselects_it(world, pm):
    html = pm.get(f"/w/{world.ws_a.slug}/features/?problem={world.problem_a.pk}").content.decode()
    assert f'<option value="{world.problem_a.pk}" selected>Alpha problem</option>' in html
    assert pm.get(f"/w/{world.ws_a.slug}/features/?problem=x&status=shipped&page=zz").status_code == 200


def test_feature_detail_view__field_errors_in_place_and_a_stale_edit_is_refused(world, pm):
    feature = world.feature_a
    url = f"/w/{world.ws_a.slug}/features/{feature.pk}/"
    data = {"title": "Renamed", "status": "planned", "version": feature.version}
    bad = pm.post(url, {**data, "status": "shipped", "area_id": world.area_b.pk})
    assert bad.status_code == 400
    assert "Select a valid choice" in error_beside(bad, "ef-status")
    assert error_beside(bad, "ef-area_id").startswith("No such area")
    assert pm.post(url, data).status_code == 302
    stale = pm.post(url, {**data, "title": "Again"})  # the version the page showed is gone
    assert stale.status_code == 400 and "was changed by someone else" in stale.content.decode()
    assert Feature.objects.get(pk=feature.pk).title == "Renamed"


def test_feature_inputs_view__bad_inputs_beside_their_fields(world, pm):
    team_b = services.team_create(actor=world.actor_b, name="Beta team")
    url = f"/w/{world.ws_a.slug}/features/{world.feature_a.pk}/inputs/"
    response = pm.post(
        url, {"urgency": "someday", "cod_increase_revenue": "lots", "deadline": "31/12/2026", "team_id": team_b.pk}
    )
    assert response.status_code == 400
    not_an_amount = "'lots' is not an amount; enter e.g. 12500 or 12,500.50."
    assert error_beside(response, "fd-cod_increase_revenue") == not_an_amount
    assert "Select a valid choice" in error_beside(response, "fd-urgency")
    assert error_beside(response, "fd-deadline") == "Enter a date as YYYY-MM-DD, e.g. 2026-03-31."
    assert error_beside(response, "fd-team_id").startswith("No such team in this workspace")
    assert 'value="lots"' in response.content.decode()  # the posted value is shown back
    assert Feature.objects.get(pk=world.feature_a.pk).version == world.feature_a.version


def test_feature_inputs_view__only_the_inputs_posted_change(world, pm):
    url = f"/w/{world.ws_a.slug}/features/{world.feature_a.pk}/inputs/"
    assert pm.post(url, {"cod_reduce_risk": "700", "duration_likely": "2", "urgency": "standard"}).status_code == 302
    assert pm.post(url, {"duration_likely": "1,5"}).status_code == 302  # a decimal comma, as people type it
    feature = Feature.objects.get(pk=world.feature_a.pk)
    assert feature.cod_reduce_risk == 700 and float(feature.duration_likely) == 1.5


def test_delivery_item_views__one_url_per_form_with_errors_in_place(world, pm):
    ws, feature = world.ws_a.slug, world.feature_a
    base = f"/w/{ws}/features/{feature.pk}/items/"
    created = pm.post(base, {"title": "Scheduler", "status": "doing", "estimate_weeks": "2"})
    assert created.status_code == 302 and created["Location"].endswith(f"/features/{feature.pk}/#items-h")
    item = DeliveryItem.objects.get(title="Scheduler")
    bad = pm.post(base, {"title": "", "estimate_weeks": "soon"})
    assert bad.status_code == 400
    assert error_beside(bad, "ni-title") == "This field is required."
    assert error_beside(bad, "ni-estimate_weeks") == "Enter a number, e.g. 1250 or 2.5."
    update = f"{base}{item.pk}/"
    bad = pm.post(update, {"title": "Scheduler", "status": "doing", "done_on": "yesterday", "version": item.version})
    assert bad.status_code == 400
    assert error_beside(bad, f"it-done_on-{item.pk}") == "Enter a date as YYYY-MM-DD, e.g. 2026-03-31."
    wrong = pm.post(update, {"title": "Scheduler", "status": "todo", "done_on": "2026-01-05", "version": item.version})
    assert wrong.status_code == 400 and error_beside(wrong, f"it-done_on-{item.pk}") == "Mark the item done first."
    # Another workspace's item, or an item of another feature, is not found under this feature.
    beta_item = services.delivery_item_create(actor=world.actor_b, feature_id=world.feature_b.pk, title="Beta item")
    assert pm.post(f"{base}{beta_item.pk}/", {"title": "Mine"}).status_code == 404
    assert pm.post(f"{base}{beta_item.pk}/delete/").status_code == 404
    other = services.feature_create(actor=world.actor_a, title="Other")
    assert pm.post(f"/w/{ws}/features/{other.pk}/items/{item.pk}/delete/").status_code == 404
    assert DeliveryItem.objects.filter(pk=item.pk).exists() and DeliveryItem.objects.filter(pk=beta_item.pk).exists()


def test_schedule_views__team_forms_show_errors_in_place(world, pm):
    ws = world.ws_a.slug
    bad = pm.post(f"/w/{ws}/planning/schedule/", {"name": "", "capacity": "fast"})
    assert bad.status_code == 400
    assert error_beside(bad, "nt-name") == "This field is required."
    assert error_beside(bad, "nt-capacity") == "Enter a number, e.g. 1250 or 2.5."
    assert pm.post(f"/w/{ws}/planning/schedule/", {"name": "Core", "capacity": "1"}).status_code == 302
    team = Team.objects.get(workspace=world.ws_a, name="Core")
    bad = pm.post(f"/w/{ws}/planning/teams/{team.pk}/", {"name": "Core", "capacity": "99", "version": team.version})
    assert bad.status_code == 400 and "from 0.1 to 10" in error_beside(bad, f"tcapacity-{team.pk}")
    beta = services.team_create(actor=world.actor_b, name="Beta team")
    assert pm.post(f"/w/{ws}/planning/teams/{beta.pk}/", {"name": "Mine", "capacity": "1"}).status_code == 404
    assert pm.post(f"/w/{ws}/planning/teams/{beta.pk}/delete/").status_code == 404
    assert pm.post(f"/w/{ws}/planning/teams/{team.pk}/delete/").status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists() and Team.objects.filter(pk=beta.pk).exists()


def test_forecast_view__question_and_week_forms_show_errors_in_place(world, pm):
    ws = world.ws_a.slug
    question = pm.get(f"/w/{ws}/planning/forecast/?mode=when&items=lots&source=manual")
    assert question.status_code == 200
    assert error_beside(question, "fc-items") == "Enter a whole number of items (0 to 100,000)."
    unused = pm.get(f"/w/{ws}/planning/forecast/?mode=when&items=3&until=whenever&source=manual")
    assert b"fc-until_error" not in unused.content  # the other question's field is not read
    bad = pm.post(f"/w/{ws}/planning/forecast/", {"week_start": "soon", "finished": "many"})
    assert bad.status_code == 400
    assert error_beside(bad, "te-week_start") == "Enter a date as YYYY-MM-DD, e.g. 2026-03-31."
    assert error_beside(bad, "te-finished") == "Enter a whole number."
    entry = services.throughput_create(actor=world.actor_b, week_start="2026-01-05", finished=2)
    assert pm.post(f"/w/{ws}/planning/forecast/weeks/{entry.pk}/delete/").status_code == 404


def test_formula_views__errors_beside_the_fields_of_the_form_that_failed(world, pm):
    ws = world.ws_a.slug
    formula = services.formula_create(actor=world.actor_a, name="Reach", expression="reach")
    blank = pm.post(f"/w/{ws}/planning/formulas/{formula.pk}/", {"name": "", "expression": "reach", "version": 1})
    assert blank.status_code == 400 and error_beside(blank, f"fname-{formula.pk}") == "Name: This field is required."
    bad = pm.post(f"/w/{ws}/planning/formulas/{formula.pk}/", {"name": "R", "expression": "reach +", "version": 1})
    assert bad.status_code == 400
    assert f'<pre class="caret" id="fexpression-{formula.pk}_error">' in bad.content.decode()
    assert "^" in error_beside(bad, f"fexpression-{formula.pk}")  # the caret under the bad spot
    assert ScoringFormula.objects.get(pk=formula.pk).expression == "reach"
    beta = services.formula_create(actor=world.actor_b, name="Beta", expression="reach")
    assert pm.post(f"/w/{ws}/planning/formulas/{beta.pk}/", {"name": "x", "expression": "reach"}).status_code == 404
    assert pm.post(f"/w/{ws}/planning/formulas/{beta.pk}/delete/").status_code == 404
    assert pm.post(f"/w/{ws}/planning/formulas/{formula.pk}/delete/").status_code == 302
    assert not ScoringFormula.objects.filter(pk=formula.pk).exists()


def test_backlog_views__bad_moves_and_resets_are_shown_in_place(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_OWNER])
    ws, feature = world.ws_a.slug, world.feature_a
    spaces = client.post(f"/w/{ws}/backlog/move/", {"feature_id": feature.pk, "direction": "down", "reason": "   "})
    assert spaces.status_code == 400 and "A reason is required for a hand move." in spaces.content.decode()
    assert f'id="mv-reason-{feature.pk}" name="reason"' in spaces.content.decode()
    assert error_beside(spaces, f"mv-reason-{feature.pk}") == "A reason is required for a hand move."
    typed = client.post(
        f"/w/{ws}/backlog/move/", {"feature_id": feature.pk, "direction": "to", "to_position": "top", "reason": "x"}
    )
    assert typed.status_code == 400 and error_beside(typed, f"mv-to-{feature.pk}") == "Enter a whole number."
    missing = client.post(f"/w/{ws}/backlog/move/", {"feature_id": feature.pk, "direction": "to", "reason": "x"})
    assert missing.status_code == 400 and "Enter the position to move it to" in missing.content.decode()
    beta = client.post(
        f"/w/{ws}/backlog/move/", {"feature_id": world.feature_b.pk, "direction": "up", "reason": "x", "current": 2}
    )
    assert beta.status_code == 404
    reset = client.post(f"/w/{ws}/backlog/reset/", {"reason": " \n "})
    assert (
        reset.status_code == 400
        and error_beside(reset, "reset-reason") == "A reason is required to go back to CD3 order."
    )
    assert not BacklogMove.objects.exists()


def test_kano_view__no_file_is_an_error_beside_the_file_field(world, pm):
    response = pm.post(f"/w/{world.ws_a.slug}/planning/kano/", {"dry_run": "1"})
    assert response.status_code == 400 and error_beside(response, "ki-file") == "Choose a CSV file or paste the rows."


def test_opportunities_view__bad_scores_in_place_and_another_workspaces_problem_refused(world, pm, audit_unchanged):
    ws = world.ws_a.slug
    bad = pm.post(
        f"/w/{ws}/planning/opportunities/",
        {"problem_id": world.problem_a.pk, "importance": "high", "satisfaction": "3"},
    )
    assert bad.status_code == 400
    assert error_beside(bad, f"oi-{world.problem_a.pk}") == "Enter a number, e.g. 1250 or 2.5."
    other = pm.post(
        f"/w/{ws}/planning/opportunities/", {"problem_id": world.problem_b.pk, "importance": "8", "satisfaction": "3"}
    )
    assert other.status_code == 400 and "No such problem in this workspace" in other.content.decode()


def test_economics_view__what_if_errors_name_the_feature_and_other_workspaces_are_refused(world, pm):
    feature = services.feature_create(actor=world.actor_a, title="Quick")
    services.prioritisation_update(
        actor=world.actor_a, feature_id=feature.pk, cod_reduce_cost="100", duration_likely="1"
    )
    url = f"/w/{world.ws_a.slug}/planning/economics/"
    page = pm.get(url).content.decode()
    assert 'name="form-0-cod"' in page and 'aria-label="Cost of Delay per week of Quick"' in page

    def whatif(feature_id, cod, duration):
        return {
            "form-TOTAL_FORMS": 1,
            "form-INITIAL_FORMS": 1,
            "form-0-feature_id": feature_id,
            "form-0-cod": cod,
            "form-0-duration": duration,
        }

    bad = pm.post(url, whatif(feature.pk, "-5", "x"))
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "Quick, Cost of Delay" in html and "must not be negative" in html and "Quick, Weeks" in html
    assert error_beside(bad, "id_form-0-cod") == "Cost of Delay must not be negative."
    other = pm.post(url, whatif(world.feature_b.pk, "5", "1"))
    assert other.status_code == 400 and "No such feature in the panel in this workspace" in other.content.decode()
    assert pm.post(url, {"cod": "5"}).status_code == 400  # no formset management data: an error, not a 500


def test_settings_view__a_bad_choice_is_refused_with_a_message(world, pm):
    response = pm.post(f"/w/{world.ws_a.slug}/planning/settings/", {"default_framework": "astrology"}, follow=True)
    assert "Select a valid choice" in response.content.decode()
    assert not PlanningSettings.objects.filter(workspace=world.ws_a, default_framework="astrology").exists()
    saved = pm.post(f"/w/{world.ws_a.slug}/planning/settings/", {"ice_method": "product", "back": "forecast"})
    assert saved.status_code == 302 and saved["Location"].endswith("/planning/forecast/")
    assert PlanningSettings.objects.get(workspace=world.ws_a).ice_method == "product"


def test_write_forms__read_only_roles_get_403_before_any_validation(world):
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    ws = world.ws_a.slug
    for url in (
        f"/w/{ws}/features/",
        f"/w/{ws}/features/{world.feature_a.pk}/",
        f"/w/{ws}/planning/formulas/",
        f"/w/{ws}/planning/schedule/",
        f"/w/{ws}/planning/forecast/",
        f"/w/{ws}/planning/opportunities/",
        f"/w/{ws}/planning/kano/",
    ):
        assert client.post(url, {"title": ""}).status_code == 403, url


def test_feature_inputs_view__money_reads_as_the_workspace_writes_it(world, pm):
    """In a German workspace "12.500,50 €" is 12,500.50 (the number reader took it for 12.5005); an amount in another
    currency is refused beside its field, not converted."""
    from valueloop.workspaces.services import workspace_update

    workspace_update(actor=world.actor_a, currency="EUR", locale="de")
    url = f"/w/{world.ws_a.slug}/features/{world.feature_a.pk}/inputs/"
    assert pm.post(url, {"cod_increase_revenue": "12.500,50 €", "duration_likely": "1,5"}).status_code == 302
    feature = Feature.objects.get(pk=world.feature_a.pk)
    assert feature.cod_increase_revenue == Decimal("12500.50") and feature.duration_likely == Decimal("1.5")
    refused = pm.post(url, {"cod_reduce_cost": "£300"})
    assert refused.status_code == 400
    assert error_beside(refused, "fd-cod_reduce_cost") == "The amount is in GBP, but this field is in EUR."
