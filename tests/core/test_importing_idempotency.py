"""core.importing.idempotency: rows already imported (by external id) are split off, in the file's order."""

from __future__ import annotations

from tests.factories import FeedbackItemFactory
from valueloop.core.importing.idempotency import existing_keys, split_already_imported
from valueloop.feedback.models import FeedbackItem


def test_split_already_imported__keeps_order_and_treats_rows_without_an_id_as_new():
    rows = [("zendesk", "1"), ("zendesk", ""), ("csv", "1"), ("zendesk", "2")]
    fresh, already = split_already_imported(rows, lambda row: row, {("zendesk", "1"), ("zendesk", "")})
    assert fresh == [("zendesk", ""), ("csv", "1"), ("zendesk", "2")]
    assert already == [("zendesk", "1")]


def test_existing_keys__reads_the_stored_keys_skipping_empty_ids(world):
    FeedbackItemFactory(workspace=world.ws_a, source="zendesk", external_id="T-1")
    FeedbackItemFactory(workspace=world.ws_a, source="zendesk", external_id="")
    FeedbackItemFactory(workspace=world.ws_b, source="zendesk", external_id="T-2")
    stored = existing_keys(FeedbackItem.objects.filter(workspace=world.ws_a), ("source", "external_id"))
    assert stored == {("zendesk", "T-1")}
