"""Planning pages: inline editing over HTMX, the what-if panel, the backlog with reasons."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from tests.charts import assert_every_chart_complete
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.planning import services
from valueloop.planning.models import BacklogMove, DeliveryItem, Feature, ScoreChange

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def pm(world):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    return client


def _feature(world, title, **inputs):
    feature = services.feature_create(actor=world.actor_a, title=title)
    if inputs:
        services.prioritisation_update(actor=world.actor_a, feature_id=feature.pk, **inputs)
    return feature


def _inputs(feature, **changes):
    data = {"version": feature.version, "framework": "cd3", "urgency": "standard"}
    data.update(changes)
    return data


def _whatif(*rows):
    """The what-if panel's formset data: (feature id, Cost of Delay, weeks) per row."""
    data = {"form-TOTAL_FORMS": len(rows), "form-INITIAL_FORMS": len(rows)}
    for k, (feature_id, cod, duration) in enumerate(rows):
        data.update({f"form-{k}-feature_id": feature_id, f"form-{k}-cod": cod, f"form-{k}-duration": duration})
    return data


def test_ranking_page__tabs_ranks_and_unscored_reasons(world, pm):
    _feature(world, "Dunning retries", cod_protect_revenue="6200", duration_likely="3")
    html = pm.get(f"/w/{world.ws_a.slug}/planning/").content.decode()
    assert html.index("Dunning retries") < html.index("Alpha feature")
    assert "Cost of Delay missing" in html and "duration likely missing" in html
    assert "2</strong> open features" in html and "1</strong> without a score" in html
    tab = pm.get(f"/w/{world.ws_a.slug}/planning/?framework=rice", **HTMX)
    assert tab.status_code == 200 and b"<html" not in tab.content and b"Reach" in tab.content
    assert b"reach missing" in tab.content
    broken = pm.get(f"/w/{world.ws_a.slug}/planning/?framework=formula&formula=reach+%2B+*")
    assert broken.status_code == 400 and b"^" in broken.content and b'pre class="caret"' in broken.content


def test_inline_edit__htmx_returns_the_row_partial_and_records_history(world, pm):
    feature = _feature(world, "Dunning retries", cod_protect_revenue="6200", duration_likely="3")
    url = f"/w/{world.ws_a.slug}/planning/rows/{feature.pk}/"
    editor = pm.get(url + "?framework=cd3&edit=1", **HTMX)
    assert editor.status_code == 200
    text = editor.content.decode()
    assert text.strip().startswith('<tr id="feature-row-') and 'class="editing"' in text
    assert 'name="cod_protect_revenue" value="6200"' in text and f'for="r{feature.pk}-duration_likely"' in text
    feature.refresh_from_db()
    response = pm.post(url, _inputs(feature, cod_protect_revenue="6200", duration_likely="1"), **HTMX)
    assert response.status_code == 200
    text = response.content.decode()
    assert text.strip().startswith(f'<tr id="feature-row-{feature.pk}"') and "<html" not in text
    assert "6,200" in text and "Saved — now #1" in text and response["HX-Trigger"] == "planning-ranked"
    assert Feature.objects.get(pk=feature.pk).duration_likely == 1
    assert ScoreChange.objects.filter(feature=feature, framework="cd3", new_score=6200).exists()


def test_inline_edit__bad_inputs_come_back_in_the_editor_with_field_errors(world, pm):
    feature = Feature.objects.get(pk=world.feature_a.pk)
    url = f"/w/{world.ws_a.slug}/planning/rows/{feature.pk}/"
    response = pm.post(url, _inputs(feature, duration_likely="0", urgency="fixed_date", cod_reduce_cost="-1"), **HTMX)
    assert response.status_code == 422
    text = response.content.decode()
    assert 'class="editing"' in text and "Nothing was saved" in text
    assert "A fixed-date item needs a deadline." in text
    assert (
        f'id="r{feature.pk}-duration_likely" type="text" inputmode="decimal" name="duration_likely" value="0"'
        f' autocomplete="off" aria-invalid="true"' in text
    )
    assert Feature.objects.get(pk=feature.pk).version == feature.version
    # Without JavaScript: the whole ranking page with the row open in the editor, status 400.
    page = pm.post(url, _inputs(feature, duration_likely="-2"))
    assert page.status_code == 400 and b"<html" in page.content and b"Duration likely must be &gt; 0" in page.content


def test_inline_edit__without_javascript_saves_and_redirects(world, pm):
    feature = Feature.objects.get(pk=world.feature_a.pk)
    response = pm.post(
        f"/w/{world.ws_a.slug}/planning/rows/{feature.pk}/",
        _inputs(feature, cod_increase_revenue="800", duration_likely="2", framework="wsjf"),
    )
    assert response.status_code == 302 and "framework=wsjf" in response["Location"]
    assert Feature.objects.get(pk=feature.pk).cd3 == 400


def test_inline_edit__read_only_roles_cannot_save(world):
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    feature = Feature.objects.get(pk=world.feature_a.pk)
    url = f"/w/{world.ws_a.slug}/planning/rows/{feature.pk}/"
    assert client.post(url, _inputs(feature, duration_likely="2"), **HTMX).status_code == 403
    editor = client.get(url + "?edit=1", **HTMX).content.decode()
    assert 'class="editing"' not in editor and "data-edit-row" not in editor


def test_whatif_panel__changes_nothing_in_the_database(world, pm):
    slow = _feature(world, "Slow but big", cod_increase_revenue="3000", duration_likely="6")
    _feature(world, "Quick", cod_increase_revenue="1000", duration_likely="1")
    before = (
        AuditEvent.objects.count(),
        ScoreChange.objects.count(),
        list(Feature.objects.values_list("id", "version", "cod_per_week", "duration_likely", "cd3")),
    )
    response = pm.post(
        f"/w/{world.ws_a.slug}/planning/economics/",
        _whatif((slow.pk, "3000", "1")),
        **HTMX,
    )
    assert response.status_code == 200 and b"<html" not in response.content
    text = response.content.decode()
    assert "nothing was saved" in text and "<svg" in text
    whatif_table = text[text.index("Ranking with the what-if") :]  # the chart's data table comes first
    row = whatif_table[whatif_table.index("Slow but big</th>") :]
    assert "<strong>1</strong>" in row[:300]  # what-if rank 1
    after = (
        AuditEvent.objects.count(),
        ScoreChange.objects.count(),
        list(Feature.objects.values_list("id", "version", "cod_per_week", "duration_likely", "cd3")),
    )
    assert after == before
    bad = pm.post(
        f"/w/{world.ws_a.slug}/planning/economics/",
        _whatif((slow.pk, "3000", "0")),
        **HTMX,
    )
    assert bad.status_code == 400 and b"more than 0 weeks" in bad.content


def test_economics_sequence_schedule_forecast_pages_render_charts_and_tables(world, pm):
    _feature(world, "A", cod_increase_revenue="1000", duration_likely="5")
    _feature(world, "B", cod_increase_revenue="4000", duration_likely="1")
    _feature(world, "C", cod_increase_revenue="5000", duration_likely="2")
    ws = world.ws_a.slug
    economics = pm.get(f"/w/{ws}/planning/economics/").content.decode()
    assert 'class="chart"' in economics and "CD3" in economics and "Show the data as a table" in economics
    assert_every_chart_complete(economics)
    sequence = pm.get(f"/w/{ws}/planning/sequence/").content.decode()
    assert "CD3 saves" in sequence and "69,000" in sequence and "27,000" in sequence
    assert_every_chart_complete(sequence)
    schedule = pm.get(f"/w/{ws}/planning/schedule/").content.decode()
    assert "One team" in schedule and "<svg" in schedule
    assert_every_chart_complete(schedule)
    services.throughput_create(actor=world.actor_a, week_start="2026-01-05", finished=4)
    services.throughput_create(actor=world.actor_a, week_start="2026-01-12", finished=2)
    forecast = pm.get(f"/w/{ws}/planning/forecast/?mode=when&items=12&source=manual").content.decode()
    assert "85 % sure" in forecast and "<svg" in forecast
    assert_every_chart_complete(forecast)
    empty = pm.get(f"/w/{ws}/planning/forecast/?mode=how_many&until=2020-01-01&source=manual").content.decode()
    assert "The date is in the past" in empty or "Choose a date from today on" in empty


def test_backlog_page__move_needs_a_reason_which_is_shown(world):
    a = _feature(world, "Aardvark", cod_increase_revenue="1000", duration_likely="1")
    b = _feature(world, "Badger", cod_increase_revenue="500", duration_likely="1")
    client = Client()
    client.force_login(world.users[Role.PRODUCT_OWNER])
    ws = world.ws_a.slug
    html = client.get(f"/w/{ws}/backlog/").content.decode()
    assert html.index("Aardvark") < html.index("Badger") < html.index("Alpha feature")
    refused = client.post(f"/w/{ws}/backlog/move/", {"feature_id": b.pk, "current": 2, "direction": "up", "reason": ""})
    assert refused.status_code == 400 and b"A reason is required" in refused.content
    assert not BacklogMove.objects.exists()
    moved = client.post(
        f"/w/{ws}/backlog/move/",
        {"feature_id": b.pk, "current": 2, "direction": "up", "reason": "Promised to Acme at the QBR"},
        follow=True,
    )
    html = moved.content.decode()
    assert html.index("Badger") < html.index("Aardvark")
    assert "Moved 2 → 1 by Product-Owner" in html and "Promised to Acme at the QBR" in html
    assert "by hand" in html and "CD3 says lower" in html
    moved = client.post(
        f"/w/{ws}/backlog/move/",
        {"feature_id": a.pk, "current": 2, "direction": "to", "to_position": "3", "reason": "Waiting on legal"},
        follow=True,
    )
    assert moved.status_code == 200
    reset = client.post(f"/w/{ws}/backlog/reset/", {"reason": ""})
    assert reset.status_code == 400 and b"A reason is required" in reset.content
    reset = client.post(f"/w/{ws}/backlog/reset/", {"reason": "New quarter"}, follow=True)
    assert b"reset the backlog to CD3 order" in reset.content
    viewer = Client()
    viewer.force_login(world.users[Role.STAKEHOLDER])
    assert b"Move<span" not in viewer.get(f"/w/{ws}/backlog/").content
    assert viewer.post(f"/w/{ws}/backlog/move/", {"feature_id": a.pk, "reason": "x"}).status_code == 403


def test_feature_page__inputs_form_suggestion_and_delivery_items(world, pm):
    ws = world.ws_a.slug
    url = f"/w/{ws}/features/{world.feature_a.pk}/"
    page = pm.get(url).content.decode()
    assert "Cost of Delay and priority" in page and "Delivery items" in page and "No delivery items yet" in page
    response = pm.post(
        url + "inputs/",
        {
            "version": 1,
            "urgency": "standard",
            "cod_reduce_risk": "700",
            "cod_reduce_risk_rationale": "One incident cost 9k",
            "duration_likely": "2",
        },
    )
    assert response.status_code == 302
    page = pm.get(url).content.decode()
    assert "One incident cost 9k" in page and "350" in page
    bad = pm.post(url + "inputs/", {"urgency": "fixed_date", "duration_likely": "2"})
    assert bad.status_code == 400 and b"A fixed-date item needs a deadline." in bad.content
    assert (
        pm.post(url + "items/", {"title": "Retry scheduler", "status": "done", "estimate_weeks": "1.5"}).status_code
        == 302
    )
    item = DeliveryItem.objects.get(title="Retry scheduler")
    assert item.done_at is not None and item.estimate_weeks == 1.5
    bad = pm.post(url + "items/", {"title": "", "estimate_weeks": "x"})
    assert bad.status_code == 400 and b"Enter a number" in bad.content
    assert pm.post(f"{url}items/{item.pk}/delete/").status_code == 302
    assert not DeliveryItem.objects.filter(pk=item.pk).exists()


def test_score_history_page__explains_the_move(world, pm):
    feature = _feature(world, "Dunning retries", cod_protect_revenue="6200", duration_likely="3")
    services.prioritisation_update(actor=world.actor(Role.PRODUCT_MANAGER), feature_id=feature.pk, duration_likely="2")
    html = pm.get(f"/w/{world.ws_a.slug}/planning/history/{feature.pk}/").content.decode()
    assert "duration_likely: 3.00 → 2.00" in html and "Product-Manager" in html
    ranking = pm.get(f"/w/{world.ws_a.slug}/planning/?framework=cd3").content.decode()
    assert f"/planning/history/{feature.pk}/" in ranking


def test_kano_formulas_and_opportunities_pages(world, pm):
    ws = world.ws_a.slug
    upload = pm.post(
        f"/w/{ws}/planning/kano/",
        {"csv": "feature,respondent,functional,dysfunctional\nAlpha feature,r1,like,sometimes"},
    )
    assert upload.status_code == 400 and b"row 2" in upload.content and b"Nothing was imported" in upload.content
    from django.core.files.uploadedfile import SimpleUploadedFile

    good = SimpleUploadedFile(
        "kano.csv", b"feature,respondent,functional,dysfunctional\nAlpha feature,r1,expect,dislike\n"
    )
    assert pm.post(f"/w/{ws}/planning/kano/", {"file": good}).status_code == 302
    assert b"Must-be" in pm.get(f"/w/{ws}/planning/kano/").content
    bad = pm.post(f"/w/{ws}/planning/formulas/", {"name": "Broken", "expression": "reach / efort"})
    assert bad.status_code == 400 and b"did you mean &#x27;effort&#x27;" in bad.content
    assert pm.post(f"/w/{ws}/planning/formulas/", {"name": "Reach", "expression": "reach"}).status_code == 302
    assert b"Reach" in pm.get(f"/w/{ws}/planning/").content  # a tab
    saved = pm.post(
        f"/w/{ws}/planning/opportunities/",
        {"problem_id": world.problem_a.pk, "importance": "8", "satisfaction": "3", "respondents": "12"},
    )
    assert saved.status_code == 302
    assert b"underserved" in pm.get(f"/w/{ws}/planning/opportunities/").content
    bad = pm.post(
        f"/w/{ws}/planning/opportunities/", {"problem_id": world.problem_a.pk, "importance": "11", "satisfaction": "3"}
    )
    assert bad.status_code == 400


def test_cod_suggestion__from_the_requesting_accounts_arr(world, pm, monkeypatch):
    import valueloop.evidence.facade as evidence

    monkeypatch.setattr(
        evidence, "evidence_panel", lambda **kw: {"evidence": {"arr": 520_000, "accounts": 4, "count": 6}}
    )
    from valueloop.planning.selectors import cod_suggestion

    suggestion = cod_suggestion(actor=world.actor_a, feature_id=world.feature_a.pk)
    assert suggestion["protect_revenue"] == Decimal("1000.00") and suggestion["accounts"] == 4
    assert "If 10% of that is at risk" in suggestion["basis"]


def test_sequence_page__says_when_an_order_beats_cd3(world, pm):
    import datetime as dt

    from django.utils import timezone

    deadline = (timezone.localdate() + dt.timedelta(weeks=4)).isoformat()
    _feature(
        world,
        "Regulation",
        urgency="fixed_date",
        deadline=deadline,
        fixed_date_penalty="50000",
        cod_reduce_risk="5000",
        duration_likely="3",
    )
    _feature(world, "Quick win", cod_increase_revenue="1000", duration_likely="2")
    html = pm.get(f"/w/{world.ws_a.slug}/planning/sequence/").content.decode()
    assert "cost less than today" in html or "costs less than today" in html
    assert "latest start" in html
