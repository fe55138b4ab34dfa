"""Survey responses: CSV import (all-or-nothing, idempotent, comments to the inbox), NPS/CSAT summary,
pages and API."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tests.charts import assert_every_chart_complete
from tests.conftest import token_client
from tests.factories import ContactFactory, CustomerFactory
from valueloop.core.errors import PermissionDenied
from valueloop.core.importing import ImportRefused
from valueloop.core.models import AuditEvent
from valueloop.core.permissions import Role
from valueloop.engines.surveys import nps
from valueloop.feedback.models import FeedbackItem
from valueloop.research.models import SurveyResponse
from valueloop.research.selectors import survey_summary
from valueloop.research.services import survey_import, survey_response_create


def _day(days_ago: int) -> str:
    return (timezone.now() - dt.timedelta(days=days_ago)).date().isoformat()


@pytest.fixture
def accounts(world):
    acme = CustomerFactory(
        workspace=world.ws_a,
        name="Acme Corp",
        arr=100000,
        segment="enterprise",
        external_id="CRM-1",
        domain="acme.example",
    )
    bolt = CustomerFactory(workspace=world.ws_a, name="Bolt", arr=20000, segment="smb", domain="bolt.example")
    ana = ContactFactory(workspace=world.ws_a, name="Ana", email="ana@acme.example", customer=acme)
    return {"acme": acme, "bolt": bolt, "ana": ana}


def good_csv() -> bytes:
    rows = [
        "id,kind,score,comment,account,email,date",
        f"r1,nps,10,Love the dunning emails,CRM-1,ana@acme.example,{_day(3)}",
        f"r2,nps,6,Reconciliation is still manual,bolt.example,,{_day(40)}",
        f"r3,nps,8,,acme corp,,{_day(70)}",
        f"r4,csat,5,Support was quick,https://www.bolt.example/home,,{_day(2)}T10:00:00Z",
        f"r5,csat,2,,,nobody@else.example,{_day(1)}",
    ]
    return ("\n".join(rows) + "\n").encode()


def test_survey_import__writes_responses_and_sends_comments_to_the_inbox(world, accounts):
    report = survey_import(actor=world.actor_a, data=good_csv(), filename="responses.csv")
    assert report.ok and report.written and report.created == 5 and report.feedback_created == 3
    assert report.unmatched_emails == 1
    r1 = SurveyResponse.objects.get(external_id="r1")
    assert (r1.kind, r1.score, r1.customer, r1.contact) == ("nps", 10, accounts["acme"], accounts["ana"])
    assert r1.feedback.source == "survey" and r1.feedback.text == "Love the dunning emails"
    assert r1.feedback.customer == accounts["acme"] and r1.feedback.status == "new"
    assert SurveyResponse.objects.get(external_id="r2").customer == accounts["bolt"]  # by domain
    assert SurveyResponse.objects.get(external_id="r3").customer == accounts["acme"]  # by name, any case
    assert SurveyResponse.objects.get(external_id="r3").feedback is None  # no comment, no inbox item
    assert SurveyResponse.objects.get(external_id="r4").customer == accounts["bolt"]  # domain in a URL
    assert AuditEvent.objects.filter(entity_type="survey_import", action="imported").count() == 1


def test_survey_import__announces_the_new_comments_to_themes_at_once(
    world, accounts, django_capture_on_commit_callbacks
):
    """Survey comments are written by the feedback app, which announces them after commit (themes embed them
    then); research once wrote the rows itself and themes saw them only at the next periodic scan."""
    from valueloop.feedback.facade import feedback_changed

    heard: list[dict] = []

    def listener(sender, **kwargs):
        heard.append(kwargs)

    feedback_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            survey_import(actor=world.actor_a, data=good_csv())
        with django_capture_on_commit_callbacks(execute=True):
            survey_import(actor=world.actor_a, data=good_csv())  # nothing new: nothing announced
    finally:
        feedback_changed.disconnect(listener)
    comments = set(FeedbackItem.objects.filter(workspace=world.ws_a, source="survey").values_list("id", flat=True))
    assert len(comments) == 3
    assert [(set(h["ids"]), h["created"], h["workspace_id"]) for h in heard] == [(comments, True, world.ws_a.pk)]


def test_survey_import__is_idempotent_by_response_id(world, accounts):
    survey_import(actor=world.actor_a, data=good_csv())
    again = survey_import(actor=world.actor_a, data=good_csv())
    assert again.ok and again.unchanged == 5 and again.created == 0 and not again.written
    assert SurveyResponse.objects.count() == 5 and FeedbackItem.objects.filter(source="survey").count() == 3


@pytest.mark.parametrize(
    "row, column",
    [
        ("x1,nps,11,Too high,CRM-1,,2026-01-05", "score"),
        ("x1,nps,7.5,Half,CRM-1,,2026-01-05", "score"),
        ("x1,nps,,Empty,CRM-1,,2026-01-05", "score"),
        ("x1,csat,0,Zero is not CSAT,CRM-1,,2026-01-05", "score"),
        ("x1,ces,3,Unknown kind,CRM-1,,2026-01-05", "kind"),
        ("x1,nps,9,Bad date,CRM-1,,05/01/2026", "date"),
        ("x1,nps,9,Future,CRM-1,,2999-01-01", "date"),
        ("x1,nps,9,No such account,Globex,,2026-01-05", "account"),
        ("r1,nps,9,Repeated id,CRM-1,,2026-01-05", "external_id"),
    ],
)
def test_survey_import__one_bad_row_writes_nothing(world, accounts, row, column):
    data = good_csv() + (row + "\n").encode()
    report = survey_import(actor=world.actor_a, data=data)
    assert not report.ok and not report.written
    assert [(p.row, p.field) for p in report.problems] == [(7, column)]
    assert not SurveyResponse.objects.exists() and not FeedbackItem.objects.exists()


def test_survey_import__file_level_problems(world, accounts):
    for data, field in (
        (b"", "file"),
        (b"kind,score,date\n", "file"),
        (b"comment,account\nhello,CRM-1\n", "header"),
    ):
        report = survey_import(actor=world.actor_a, data=data)
        assert not report.ok and report.problems[0].field == field, data[:30]
    # Past a limit the file is refused outright (422 / beside the file field), naming the limit.
    with pytest.raises(ImportRefused) as refused:
        survey_import(actor=world.actor_a, data=b"x" * (5 * 1024 * 1024 + 1))
    assert refused.value.limit == "max_bytes" and "5,242,881 bytes; the limit is 5 MB" in refused.value.message
    assert not SurveyResponse.objects.exists()


def test_survey_import__options_kind_unknown_accounts_semicolons_and_cp1252(world, accounts):
    data = (
        "Score;Comments;Company;Submitted At\n9;Très bien;Globex;2026-01-05\n3;Trop lent;Acme Corp;2026-01-06\n".encode(
            "cp1252"
        )
    )
    refused = survey_import(actor=world.actor_a, data=data)
    assert not refused.ok and refused.problems[0].field == "header"  # no kind column, no kind chosen
    report = survey_import(actor=world.actor_a, data=data, default_kind="nps", allow_unknown_accounts=True)
    assert report.ok and report.created == 2 and report.unknown_accounts == 1
    assert set(FeedbackItem.objects.values_list("text", flat=True)) == {"Très bien", "Trop lent"}
    dry = survey_import(actor=world.actor_a, data=good_csv(), dry_run=True)
    assert dry.ok and not dry.written and SurveyResponse.objects.count() == 2


def test_survey_import__needs_write_scope(world, accounts):
    with pytest.raises(PermissionDenied):
        survey_import(actor=world.actor(Role.STAKEHOLDER), data=good_csv())


def test_survey_summary__nps_with_margin_by_month_and_segment(world, accounts):
    scores = {"acme": [10, 9, 9, 7, 3], "bolt": [6, 5, 9, 10, 8, 2]}
    n = 0
    for key, values in scores.items():
        for i, score in enumerate(values):
            n += 1
            survey_response_create(
                actor=world.actor_a,
                kind="nps",
                score=score,
                customer_id=accounts[key].pk,
                responded_at=timezone.now() - dt.timedelta(days=35 * (i % 2)),
                external_id=f"s{n}",
            )
    survey_response_create(
        actor=world.actor_a, kind="nps", score=0, responded_at=timezone.now() - dt.timedelta(days=800)
    )
    summary = survey_summary(actor=world.actor_a, kind="nps", months=12)
    expected = nps(scores["acme"] + scores["bolt"])
    assert summary.total == 11
    assert summary.overall.score == pytest.approx(expected.score)
    assert summary.overall.margin_of_error == pytest.approx(expected.margin_of_error)
    assert len(summary.months) == 12 and sum(m.n for m in summary.months) == 11
    assert summary.months[-1].n == 6  # i even: this month
    segments = {s.key: s for s in summary.segments}
    assert segments["enterprise"].result.score == pytest.approx(nps(scores["acme"]).score)
    assert segments["smb"].n == 6


def test_surveys_page__score_chart_and_table(world, accounts):
    survey_import(actor=world.actor_a, data=good_csv())
    client = Client()
    client.force_login(world.users[Role.STAKEHOLDER])
    html = client.get(f"/w/{world.ws_a.slug}/research/surveys/").content.decode()
    assert "Net Promoter Score" in html and "± " in html and "<svg" in html and "Show the data as a table" in html
    assert_every_chart_complete(html)
    assert "Love the dunning emails" in html and "Import responses" not in html
    html = client.get(f"/w/{world.ws_a.slug}/research/surveys/?kind=csat&months=3").content.decode()
    assert "50%" in html  # one of two satisfied


def test_survey_import_page__report_with_line_numbers(world, accounts):
    client = Client()
    client.force_login(world.users[Role.PRODUCT_MANAGER])
    url = f"/w/{world.ws_a.slug}/research/surveys/import/"
    assert client.get(url).status_code == 200
    bad = SimpleUploadedFile("bad.csv", b"kind,score,date\nnps,12,2026-01-01\n", content_type="text/csv")
    response = client.post(url, {"file": bad})
    html = response.content.decode()
    assert response.status_code == 400 and "Nothing was imported" in html and "from 0 to 10" in html
    good = SimpleUploadedFile("good.csv", good_csv(), content_type="text/csv")
    response = client.post(url, {"file": good})
    assert response.status_code == 200 and "5</strong> responses added" in response.content.decode()
    assert client.post(url, {}).status_code == 400


def test_survey_api__import_list_summary(world, accounts):
    client = token_client(world.actor(Role.PRODUCT_MANAGER))
    response = client.post(
        "/api/v1/survey-responses/import", json.dumps({"csv": good_csv().decode()}), content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["created"] == 5
    bad = client.post(
        "/api/v1/survey-responses/import",
        json.dumps({"csv": "kind,score,date\nnps,x,2026-01-01\n"}),
        content_type="application/json",
    )
    assert bad.status_code == 200 and bad.json()["problems"][0] == {
        "row": 2,
        "field": "score",
        "message": bad.json()["problems"][0]["message"],
    }
    assert client.get("/api/v1/survey-responses?kind=csat").json()["count"] == 2
    summary = client.get("/api/v1/surveys/summary?kind=nps").json()
    assert summary["overall"]["n"] == 3 and len(summary["months"]) == 12
    one = client.post(
        "/api/v1/survey-responses",
        json.dumps({"kind": "csat", "score": 4, "comment": "Nice"}),
        content_type="application/json",
    )
    assert one.status_code == 201 and one.json()["feedback_id"]
    out_of_range = client.post(
        "/api/v1/survey-responses", json.dumps({"kind": "csat", "score": 9}), content_type="application/json"
    )
    assert out_of_range.status_code == 422
