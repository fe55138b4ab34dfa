"""Experiments' page forms: bad input (another workspace's ids, words where numbers go, a metric in two roles) is
answered beside the field with what was typed kept and nothing written; archive, restore and delete of a metric have
their own URLs; another workspace's rows are 404."""

from __future__ import annotations

from tests.experiments.test_pages import _base, _client, _form
from tests.factories import experiment_lab
from tests.page_forms import error_beside
from valueloop.experiments import services
from valueloop.experiments.models import Experiment, Metric


def test_experiment_create_view__another_workspaces_feature_and_flag_are_field_errors(world, lab):
    _, beta = experiment_lab(world.actor_b, label="beta", feature=world.feature_b)
    data = _form(lab, feature_id=str(world.feature_b.pk), flag_id=str(beta["flag"].pk))
    response = _client(world).post(_base(world) + "new/", data)
    assert response.status_code == 400
    assert error_beside(response, "ex-feature") == "No such feature in this workspace; choose one from the list."
    assert error_beside(response, "ex-flag") == "No such flag in this workspace; choose one from the list."
    assert "Beta feature" not in response.content.decode() and "beta-checkout" not in response.content.decode()
    assert 'id="ex-name" name="name" value="Page test"' in response.content.decode()  # what was typed is kept
    assert not Experiment.objects.filter(key="page-test").exists()


def test_experiment_create_view__words_for_numbers_and_a_metric_in_two_roles(world, lab):
    _, parts = lab
    conversion = str(parts["conversion"].pk)
    data = _form(lab, planned_days="two weeks", alpha="1.5.2", guardrail_metrics=[conversion])
    response = _client(world).post(_base(world) + "new/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "<strong>planned_days</strong>: A number, e.g. 4.5." in html
    assert "<strong>alpha</strong>: A number, e.g. 4.5." in html
    assert "<strong>guardrail_metrics</strong>: Already used in another role" in html
    assert 'name="planned_days" value="two weeks"' in html
    assert not Experiment.objects.filter(key="page-test").exists()


def test_experiment_edit_view__a_stale_version_is_refused_and_a_good_edit_saves(world, lab):
    experiment, _ = lab
    url = f"{_base(world)}{experiment.pk}/edit/"
    data = _form(lab, key=experiment.key, name="Renamed", version=str(experiment.version))
    assert _client(world).post(url, data).status_code == 302
    stale = _client(world).post(url, {**data, "name": "Again"})
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    assert Experiment.objects.get(pk=experiment.pk).name == "Renamed"


def test_experiment_decide_view__a_word_for_the_variation_is_a_field_error(world, pm, lab):
    experiment, _ = lab
    services.experiment_start(actor=pm, experiment_id=experiment.pk)
    url = f"{_base(world)}{experiment.pk}/decide/"
    response = _client(world).post(url, {"outcome": "ship", "variation": "the short one", "learning": "Kept"})
    assert response.status_code == 400
    assert "<strong>variation</strong>: Enter a whole number." in response.content.decode()
    assert ">Kept</textarea>" in response.content.decode()
    assert not hasattr(Experiment.objects.get(pk=experiment.pk), "decision")


def test_experiment_design_view__bad_numbers_named_and_nothing_saved(world, lab):
    experiment, _ = lab
    url = f"{_base(world)}{experiment.pk}/design/"
    figures = _client(world).get(url, {"baseline": "ten", "mde": "5"})
    assert figures.status_code == 200 and "<strong>baseline</strong>" in figures.content.decode()
    saved = _client(world).post(url, {"baseline": "10", "mde": "5", "planned_days": "1.5", "version": "1"})
    assert saved.status_code == 400 and "<strong>planned_days</strong>" in saved.content.decode()
    assert Experiment.objects.get(pk=experiment.pk).design in (None, {})


def test_experiment_start_view__refusal_is_a_message_and_other_workspaces_are_not_found(world, lab):
    experiment, _ = lab
    beta_experiment, _ = experiment_lab(world.actor_b, label="beta", feature=world.feature_b)
    started = _client(world).post(f"{_base(world)}{experiment.pk}/start/", {"version": "banana"}, follow=True)
    assert "Enter a whole number." in started.content.decode()
    assert Experiment.objects.get(pk=experiment.pk).status == "draft"
    assert _client(world).post(f"{_base(world)}{beta_experiment.pk}/start/", {}).status_code == 404
    assert Experiment.objects.get(pk=beta_experiment.pk).status == "draft"


def test_metric_views__errors_in_place_and_one_url_per_action(world, lab):
    _, parts = lab
    url = f"{_base(world)}metrics/"
    bad = _client(world).post(url, {"key": "signup", "name": "Signup", "event": "signup", "window_hours": "soon"})
    assert bad.status_code == 400 and "<strong>window_hours</strong>: A number, e.g. 4.5." in bad.content.decode()
    assert 'name="window_hours" value="soon"' in bad.content.decode()
    assert not Metric.objects.filter(key="signup").exists()
    used = parts["conversion"]
    refused = _client(world).post(f"{url}{used.pk}/delete/")
    assert refused.status_code == 400 and Metric.objects.filter(pk=used.pk).exists()
    assert _client(world).post(f"{url}{used.pk}/archive/").status_code == 302
    assert Metric.objects.get(pk=used.pk).archived_at is not None
    assert _client(world).post(f"{url}{used.pk}/restore/").status_code == 302
    assert Metric.objects.get(pk=used.pk).archived_at is None
    _, beta = experiment_lab(world.actor_b, label="beta", feature=world.feature_b)
    for action in ("", "archive/", "restore/", "delete/"):
        assert _client(world).post(f"{url}{beta['errors'].pk}/{action}", {"name": "Mine"}).status_code == 404
    assert Metric.objects.get(pk=beta["errors"].pk).name == "Errors per user"


def test_list_filters__never_fail(world, lab):
    for query in ("?status=gone&q=&page=zz", "metrics/?archived=maybe&page=-1"):
        assert _client(world).get(_base(world) + query).status_code == 200
    assert _client(world).get(f"/w/{world.ws_a.slug}/learnings/?feature=abc&outcome=later").status_code == 200
