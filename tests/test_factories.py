"""The test factories keep every row in one workspace: related rows follow the workspace given, and a row of
another workspace passed in is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import (
    AreaFactory,
    ContactFactory,
    CustomerFactory,
    EvidenceFactory,
    FeatureFactory,
    FeedbackItemFactory,
    HighlightFactory,
    PersonaFactory,
    ProblemFactory,
)


def test_factories__related_rows_are_built_in_the_workspace_given(world):
    ws = world.ws_a
    evidence = EvidenceFactory(workspace=ws)
    assert evidence.feedback.workspace_id == ws.pk and evidence.target_type == "problem"
    assert ProblemFactory._meta.model.objects.get(pk=evidence.target_id).workspace_id == ws.pk
    highlight = HighlightFactory(workspace=ws)
    assert highlight.interview.workspace_id == ws.pk
    assert highlight.interview.notes[highlight.start : highlight.end] == highlight.text
    assert AreaFactory(workspace=ws).product.workspace_id == ws.pk


def test_factories__a_row_hung_on_another_follows_its_workspace(world):
    acme = CustomerFactory(workspace=world.ws_b, arr=1200)
    assert (acme.arr, acme.arr_base, acme.arr_currency) == (Decimal("1200"), Decimal("1200"), world.ws_b.currency)
    assert ContactFactory(customer=acme).workspace_id == world.ws_b.pk
    assert FeedbackItemFactory(customer=acme).workspace_id == world.ws_b.pk
    assert FeatureFactory(problem=world.problem_b).workspace_id == world.ws_b.pk


def test_factories__rows_of_another_workspace_are_refused(world):
    acme_b = CustomerFactory(workspace=world.ws_b)
    with pytest.raises(ValueError, match="another workspace"):
        FeedbackItemFactory(workspace=world.ws_a, customer=acme_b)
    with pytest.raises(ValueError, match="another workspace"):
        FeatureFactory(workspace=world.ws_a, problem=world.problem_b)
    with pytest.raises(ValueError, match="another workspace"):
        FeedbackItemFactory(workspace=world.ws_a, personas=[PersonaFactory(workspace=world.ws_b)])
    with pytest.raises(ValueError, match="another workspace"):
        EvidenceFactory(workspace=world.ws_a, feedback=FeedbackItemFactory(workspace=world.ws_b))
