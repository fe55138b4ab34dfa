"""The experiment pages through the Django test client: list, create (errors naming the field), design (HTMX
figures), results (numbers, charts, SRM warning, empty state), the decision form, the learning log, metrics, and the
learning on the feature's evidence panel."""

from __future__ import annotations

import re

from django.test import Client

from tests.charts import assert_every_chart_complete
from tests.conftest import token_client
from tests.experiments.simulation import send, simulate
from valueloop.core.permissions import Role
from valueloop.engines import stats
from valueloop.experiments import services
from valueloop.experiments.models import Experiment, Learning


def _client(world, role=Role.PRODUCT_MANAGER) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


def _base(world) -> str:
    return f"/w/{world.ws_a.slug}/experiments/"


def test_list__shows_experiments_and_links_to_flags(world, lab):
    experiment, _ = lab
    html = _client(world, Role.STAKEHOLDER).get(_base(world)).content.decode()
    assert experiment.name in html and f"/w/{world.ws_a.slug}/flags/" in html
    assert "New experiment" not in html  # stakeholders only read
    html = _client(world).get(_base(world) + "?status=running").content.decode()
    assert experiment.name not in html and "No experiment matches" in html


def _form(lab, **changes) -> dict:
    experiment, parts = lab
    data = {
        "name": "Page test",
        "key": "page-test",
        "hypothesis": "Shorter forms convert better.",
        "feature_id": str(experiment.feature_id),
        "flag_id": str(parts["flag"].pk),
        "environment_id": str(parts["env"].pk),
        "var_name_0": "Control",
        "var_value_0": "false",
        "var_weight_0": "",
        "var_name_1": "Short",
        "var_value_1": "true",
        "var_weight_1": "",
        "var_name_2": "",
        "var_value_2": "",
        "var_weight_2": "",
        "coverage": "80",
        "condition": "",
        "hash_attribute": "id",
        "primary_metric": str(parts["conversion"].pk),
        "guardrail_metrics": [str(parts["errors"].pk)],
        "planned_days": "14",
        "daily_traffic": "2000",
        "method": "frequentist",
        "alpha": "0.05",
        "correction": "none",
        "cuped_days": "0",
        "prior_mean": "0",
        "prior_sd": "0.3",
    }
    data.update(changes)
    return data


def test_create__saves_and_goes_to_the_design(world, lab):
    response = _client(world).post(_base(world) + "new/", _form(lab))
    experiment = Experiment.objects.get(key="page-test")
    assert response.status_code == 302 and response["Location"].endswith(f"/{experiment.pk}/design/")
    assert experiment.coverage == 0.8 and experiment.weights == [0.5, 0.5]
    assert [(link.role, link.metric.key) for link in experiment.metric_links.all()] == [
        ("primary", "alpha-conversion"),
        ("guardrail", "alpha-errors"),
    ]


def test_create__weights_not_adding_up_name_the_field(world, lab):
    response = _client(world).post(_base(world) + "new/", _form(lab, var_weight_0="50", var_weight_1="40"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "<strong>weights</strong>" in html and "add up to 0.9" in html
    assert 'id="var-weight-0" name="var_weight_0" value="50"' in html  # what was typed stays
    response = _client(world).post(_base(world) + "new/", _form(lab, condition="{broken"))
    assert response.status_code == 400 and "not valid JSON" in response.content.decode()
    response = _client(world).post(_base(world) + "new/", _form(lab, var_value_1="maybe"))
    assert response.status_code == 400 and "true or false" in response.content.decode()
    assert not Experiment.objects.filter(key="page-test").exists()


def test_create__forbidden_for_stakeholders(world, lab):
    assert _client(world, Role.STAKEHOLDER).post(_base(world) + "new/", _form(lab)).status_code == 403


def test_design__figures_update_with_htmx_and_bad_input_names_the_field(world, lab):
    experiment, _ = lab
    url = f"{_base(world)}{experiment.pk}/design/"
    client = _client(world)
    response = client.get(
        url,
        {
            "kind": "binomial",
            "baseline": "10",
            "mde": "5",
            "relative": "relative",
            "alpha": "0.05",
            "power": "0.8",
            "daily_traffic": "5000",
            "coverage": "100",
            "weights": "50/50",
            "planned_days": "14",
        },
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    expected = stats.sample_size("binomial", baseline=0.1, mde=0.05, daily_units=5000)
    assert response.status_code == 200 and "<html" not in html and 'id="figures"' in html
    assert f'data-testid="n-per-variation">{expected.n_per_variation:,}<' in html
    assert f'data-testid="expected-days">{expected.days} days<' in html
    reachable = stats.minimum_detectable_effect("binomial", baseline=0.1, n_per_variation=5000 * 0.5 * 14)
    assert f">{reachable.relative * 100:+.1f}%<" in html
    html = client.get(url, {"baseline": "150", "mde": "5"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<strong>baseline</strong>" in html and "between 0 and 1" in html
    html = client.get(url, {"baseline": "10", "mde": "5", "weights": "60/30"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<strong>weights</strong>" in html and "0.9" in html


def test_design__saving_keeps_the_plan(world, lab):
    experiment, _ = lab
    url = f"{_base(world)}{experiment.pk}/design/"
    data = {
        "kind": "binomial",
        "baseline": "10",
        "mde": "5",
        "relative": "relative",
        "alpha": "0.05",
        "power": "0.8",
        "daily_traffic": "5000",
        "coverage": "100",
        "weights": "50/50",
        "planned_days": "30",
        "version": str(experiment.version),
    }
    assert _client(world).post(url, data).status_code == 302
    experiment.refresh_from_db()
    assert experiment.design["n_per_variation"] == stats.sample_size("binomial", baseline=0.1, mde=0.05).n_per_variation
    assert experiment.planned_days == 30 and experiment.daily_traffic == 5000


def test_results__empty_state_says_how_to_send_exposures(world, pm, lab):
    experiment, _ = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    html = _client(world).get(f"{_base(world)}{experiment.pk}/results/").content.decode()
    assert "No exposures yet" in html and "experiment_viewed" in html and "By upload" in html


def test_results__numbers_charts_srm_and_decision_to_learning_log(world, pm, lab):
    experiment, _ = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    send(world.ws_a, simulate(experiment.key, units=(1000, 850), rates=(0.1, 0.16), seed=3))
    client = _client(world)
    url = f"{_base(world)}{experiment.pk}/results/"
    html = client.get(url).content.decode()
    assert 'data-testid="srm-warning">One page got 8.1% fewer users than the 50/50 split plans' in html
    assert html.count("<svg") >= 2 and "Show the data as a table" in html
    assert_every_chart_complete(html, at_least=2)  # the effects and the timeline
    assert "1,850" in html and "Record the decision" in html
    stakeholder = _client(world, Role.STAKEHOLDER).get(url).content.decode()
    assert "Record the decision" not in stakeholder and "No decision yet" in stakeholder
    response = client.post(f"{_base(world)}{experiment.pk}/decide/", {"outcome": "ship", "learning": "x"})
    assert response.status_code == 400 and "<strong>variation</strong>" in response.content.decode()
    response = client.post(
        f"{_base(world)}{experiment.pk}/decide/",
        {"outcome": "ship", "variation": "1", "learning": "One page lifts conversion; fix the assignment bug."},
    )
    assert response.status_code == 302
    learning = Learning.objects.get(experiment=experiment)
    html = client.get(url).content.decode()
    assert 'data-testid="learning-text">One page lifts conversion' in html
    log = client.get(f"/w/{world.ws_a.slug}/learnings/?q=assignment").content.decode()
    assert learning.text in log and experiment.name in log
    assert "No learning matches" in client.get(f"/w/{world.ws_a.slug}/learnings/?q=nothing-like-it").content.decode()
    feature = client.get(f"/w/{world.ws_a.slug}/features/{world.feature_a.pk}/").content.decode()
    assert "What experiments taught" in feature and "One page lifts conversion" in feature
    problem = client.get(f"/w/{world.ws_a.slug}/problems/{world.problem_a.pk}/").content.decode()
    assert "One page lifts conversion" in problem
    evidence = client.get(f"/w/{world.ws_a.slug}/evidence/feature/{world.feature_a.pk}/?source=experiment")
    assert "Learning from an experiment" in evidence.content.decode()


def test_results__open_with_a_plain_summary_and_explain_alpha(world, pm, lab):
    experiment, _ = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    send(world.ws_a, simulate(experiment.key, units=(1000, 1000), rates=(0.1, 0.16), seed=3))
    html = _client(world).get(f"{_base(world)}{experiment.pk}/results/").content.decode()
    summary = html.split('data-testid="summary">', 1)[1].split("</p>", 1)[0]
    assert "One page raised" in summary and "%" in summary and "enough evidence to ship One page" in summary
    assert '<abbr title="α (alpha) is the false-positive rate the test accepts' in html
    api = token_client(pm).get(f"/api/v1/experiments/{experiment.pk}/results").json()
    assert api["summary"] == summary.replace("<strong>In short:</strong> ", "")


def test_detail__start_and_stop_buttons(world, lab):
    experiment, _ = lab
    client = _client(world)
    html = client.get(f"{_base(world)}{experiment.pk}/").content.decode()
    assert "Start experiment" in html and experiment.hypothesis.split(" (")[0] in html
    response = client.post(f"{_base(world)}{experiment.pk}/start/", {"version": str(experiment.version)})
    assert response.status_code == 302
    experiment.refresh_from_db()
    assert experiment.status == "running"
    html = client.get(f"{_base(world)}{experiment.pk}/", follow=True).content.decode()
    assert "Stop experiment" in html
    response = client.post(f"{_base(world)}{experiment.pk}/start/", {}, follow=True)
    assert "running, so it cannot be started" in response.content.decode()


def test_edit__running_experiment_keeps_its_split(world, pm, lab):
    experiment, _ = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    experiment.refresh_from_db()
    client = _client(world)
    html = client.get(f"{_base(world)}{experiment.pk}/edit/").content.decode()
    assert "fixed" in html and "readonly" in html
    data = _form(lab, name="Renamed while running", version=str(experiment.version), var_weight_0="10")
    response = client.post(f"{_base(world)}{experiment.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    experiment.refresh_from_db()
    assert experiment.name == "Renamed while running" and experiment.weights == [0.5, 0.5]


def test_metrics__create_and_errors(world):
    client = _client(world)
    url = f"/w/{world.ws_a.slug}/experiments/metrics/"
    response = client.post(url, {"key": "signup", "name": "Signup", "kind": "ratio", "event": "signup"})
    assert response.status_code == 400 and "<strong>denominator_event</strong>" in response.content.decode()
    response = client.post(url, {"key": "signup", "name": "Signup", "kind": "binomial", "event": "signup"})
    assert response.status_code == 302
    html = client.get(url).content.decode()
    assert re.search(r">Signup</a>", html)


def _shown_number(text: str) -> float:
    """A number as the results page shows it: "+1.23 pp", "-4.5%", "+0.0041", "1,234"."""
    return float(text.replace(",", "").replace("pp", "").replace("%", "").strip())


def _shown_p(text: str) -> float:
    text = text.strip()
    return float(text[1:]) / 2 if text.startswith("<") else float(text)  # "< 0.05": some value below 0.05


ROW = re.compile(
    r'data-testid="abs-change">[^<]*<br><span class="ci"[^>]*>(?P<abs_low>[^<]+) to (?P<abs_high>[^<]+)</span>.*?'
    r'data-testid="rel-change"><strong>[^<]*</strong><br><span class="ci"[^>]*>(?P<rel_low>[^<]+) to '
    r"(?P<rel_high>[^<]+)</span>.*?"
    r'data-testid="p-value">(?P<p>[^<]+?) <span class="ci">\(raw (?P<raw>[^)]+)\)</span>.*?'
    r'data-testid="verdict"><span class="st v-\w+">(?P<verdict>[^<]+)</span>',
    re.S,
)


def test_results__every_row_s_shown_interval_p_value_and_verdict_agree_and_the_adjustment_is_named(world, pm, lab):
    experiment, _ = lab
    services.experiment_update(actor=pm, experiment_id=experiment.pk, correction="holm")
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    # Seeded so that Holm decides: one metric significant after adjustment, one not even raw, and the guardrail
    # significant raw (p = 0.038) but not after adjustment (0.077) -- the demo's "Approvals per approver" case.
    send(world.ws_a, simulate(experiment.key, units=(700, 700), rates=(0.10, 0.145), error_rates=(0.2, 0.26), seed=21))
    html = _client(world).get(f"{_base(world)}{experiment.pk}/results/").content.decode()
    assert 'data-testid="adjustment">intervals adjusted for 3 comparisons, Holm</span>' in html
    assert "adjusted for 3 comparisons (Holm)</span>: each excludes zero exactly when the adjusted p-value" in html
    rows = [match.groupdict() for match in ROW.finditer(html)]
    assert len(rows) == 3
    for row in rows:
        abs_out = _shown_number(row["abs_low"]) > 0 or _shown_number(row["abs_high"]) < 0
        rel_out = _shown_number(row["rel_low"]) > 0 or _shown_number(row["rel_high"]) < 0
        decided = row["verdict"] != "No clear difference"
        assert abs_out == rel_out == decided == (_shown_p(row["p"]) < 0.05), row
    assert [(_shown_p(r["raw"]) < 0.05, r["verdict"]) for r in rows] == [
        (True, "Better"),
        (False, "No clear difference"),
        (True, "No clear difference"),  # raw p below 0.05, but the Holm-adjusted interval includes zero
    ]
    # Holm tests conversion first (at 0.05/3), then the guardrail (0.05/2) and stops: revenue keeps step 2's level.
    assert html.count('title="98.33% interval"') == 2 and html.count('title="97.5% interval"') == 4
