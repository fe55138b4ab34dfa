"""People's edits (rename, pin, merge, split, move) and how re-clusterings keep them; theme -> problem."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import FeedbackItemFactory, ThemeFactory
from valueloop.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from valueloop.core.permissions import Role
from valueloop.evidence.models import Evidence
from valueloop.themes import runs, services
from valueloop.themes.models import ItemEmbedding, Theme, ThemeAssignment


def _items_of(theme) -> set[int]:
    return set(ThemeAssignment.objects.filter(theme=theme).values_list("item_id", flat=True))


def test_rename__survives_reclustering_and_empty_name_restores_the_automatic_one(themed):
    theme = themed.theme_with("webhook")
    renamed = services.theme_rename(
        actor=themed.pm, theme_id=theme.pk, name="  Webhook   reliability ", expected_version=1
    )
    assert renamed.name == "Webhook reliability" and renamed.name_set_by_pm and renamed.version == 2
    assert runs.recluster(themed.ws, trigger="manual").status == "succeeded"
    theme.refresh_from_db()
    assert theme.status == "active" and theme.name == "Webhook reliability"
    back = services.theme_rename(actor=themed.pm, theme_id=theme.pk, name="")
    assert not back.name_set_by_pm and back.name != "Webhook reliability"


def test_rename__a_stale_version_is_refused(themed):
    theme = themed.themes()[0]
    services.theme_rename(actor=themed.pm, theme_id=theme.pk, name="First", expected_version=theme.version)
    with pytest.raises(Conflict):
        services.theme_rename(actor=themed.pm, theme_id=theme.pk, name="Second", expected_version=theme.version)


def test_rename__too_long_names_the_field(themed):
    with pytest.raises(Invalid) as exc:
        services.theme_rename(actor=themed.pm, theme_id=themed.themes()[0].pk, name="x" * 121)
    assert "name" in exc.value.fields


def test_writes__need_portfolio_write_and_the_workspace(themed, world):
    theme = themed.themes()[0]
    for role in (Role.CONTRIBUTOR, Role.STAKEHOLDER):
        with pytest.raises(PermissionDenied):
            services.theme_rename(actor=world.actor(role), theme_id=theme.pk, name="Nope")
    with pytest.raises(NotFound):
        services.theme_rename(actor=world.actor_b, theme_id=theme.pk, name="Nope")


def test_pin__keeps_every_item_through_reclustering_even_with_new_data(themed):
    theme = themed.theme_with("dunning")
    members = _items_of(theme)
    services.theme_pin(actor=themed.pm, theme_id=theme.pk, pinned=True)
    from tests.themes.corpus import make_items

    make_items(themed.ws, 6, customers=themed.customers, seed=9)
    assert runs.recluster(themed.ws, trigger="manual").status == "succeeded"
    theme.refresh_from_db()
    assert theme.status == "active" and theme.pinned
    assert members <= _items_of(theme)


def test_merge__stays_merged_through_reclustering(themed):
    a = themed.theme_with("webhook")
    b = themed.theme_with("dunning")
    moved = _items_of(a)
    target = services.theme_merge(actor=themed.pm, theme_id=a.pk, into_id=b.pk, expected_version=a.version)
    a.refresh_from_db()
    assert a.status == "merged" and a.merged_into_id == b.pk and target.pk == b.pk
    assert moved <= _items_of(b)
    assert target.size == len(_items_of(b))
    assert runs.recluster(themed.ws, trigger="manual").status == "succeeded"
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == "merged" and not _items_of(a)
    assert b.status == "active" and moved <= _items_of(b)
    assert set(ThemeAssignment.objects.filter(item_id__in=moved).values_list("placed_by", flat=True)) == {"pm"}


def test_merge__refuses_itself_and_inactive_themes(themed):
    a, b = themed.themes()[:2]
    with pytest.raises(Invalid):
        services.theme_merge(actor=themed.pm, theme_id=a.pk, into_id=a.pk)
    services.theme_merge(actor=themed.pm, theme_id=a.pk, into_id=b.pk)
    with pytest.raises(Invalid):
        services.theme_merge(actor=themed.pm, theme_id=b.pk, into_id=a.pk)  # a is merged now


def test_move__a_pm_placed_item_stays_through_reclustering(themed):
    source = themed.theme_with("dunning")
    target = themed.theme_with("receipt")
    item_id = next(iter(_items_of(source)))
    assignment = services.item_move(actor=themed.pm, item_id=item_id, theme_id=target.pk)
    assert assignment.theme_id == target.pk and assignment.placed_by == "pm"
    assert runs.recluster(themed.ws, trigger="manual").status == "succeeded"
    assert ThemeAssignment.objects.get(item_id=item_id).theme_id == target.pk


def test_move__skipped_items_and_foreign_themes_are_refused(themed, world):
    FeedbackItemFactory(workspace=themed.ws, text="ok")
    runs.process_new_items(themed.ws)
    skipped = ItemEmbedding.objects.get(workspace=themed.ws, skip_reason="one word")
    with pytest.raises(Invalid):
        services.item_move(actor=themed.pm, item_id=skipped.pk, theme_id=themed.themes()[0].pk)
    some_item = next(iter(_items_of(themed.themes()[0])))
    b_theme = ThemeFactory(workspace=world.ws_b, name="Beta theme", keyphrases=[])
    with pytest.raises(Invalid):
        services.item_move(actor=themed.pm, item_id=some_item, theme_id=b_theme.pk)
    with pytest.raises(NotFound):
        services.item_move(actor=world.actor_b, item_id=some_item, theme_id=b_theme.pk)


def test_split__preview_then_apply_and_the_split_survives_reclustering(themed):
    theme = max(themed.themes(), key=lambda t: t.size)
    before = _items_of(theme)
    theme_count = Theme.objects.filter(workspace=themed.ws).count()
    preview = services.theme_split_preview(actor=themed.pm, theme_id=theme.pk)
    assert len(preview.parts) == 2 and all(p.size for p in preview.parts)
    assert preview.parts[0].size >= preview.parts[1].size
    assert all(p.name and p.keyphrases for p in preview.parts)
    # The preview changes nothing.
    assert _items_of(theme) == before and Theme.objects.filter(workspace=themed.ws).count() == theme_count
    kept, new = services.theme_split(actor=themed.pm, theme_id=theme.pk, token=preview.token)
    assert kept.pk == theme.pk and new.pk != theme.pk
    kept_items, new_items = _items_of(kept), _items_of(new)
    assert kept_items | new_items == before and not kept_items & new_items
    assert new_items >= set(preview.parts[1].item_ids)
    assert runs.recluster(themed.ws, trigger="manual").status == "succeeded"
    assert _items_of(kept) >= kept_items and _items_of(new) >= new_items


def test_split__a_stale_preview_is_refused(themed):
    theme = max(themed.themes(), key=lambda t: t.size)
    preview = services.theme_split_preview(actor=themed.pm, theme_id=theme.pk)
    services.theme_rename(actor=themed.pm, theme_id=theme.pk, name="Renamed meanwhile")
    with pytest.raises(Conflict):
        services.theme_split(actor=themed.pm, theme_id=theme.pk, token=preview.token)
    with pytest.raises(Conflict):
        services.theme_split(actor=themed.pm, theme_id=theme.pk, token="forged")


def test_split__a_tiny_theme_cannot_be_split(themed):
    theme = min(themed.themes(), key=lambda t: t.size)
    ThemeAssignment.objects.filter(theme=theme).exclude(
        pk=ThemeAssignment.objects.filter(theme=theme).first().pk
    ).delete()
    with pytest.raises(Invalid):
        services.theme_split_preview(actor=themed.pm, theme_id=theme.pk)


def test_create_problem__carries_every_item_as_evidence_and_its_arr(themed):
    from valueloop.evidence.facade import evidence_totals

    theme = themed.theme_with("dunning")
    feedback_ids = set(ThemeAssignment.objects.filter(theme=theme).values_list("item__feedback_id", flat=True))
    customers = set(
        ThemeAssignment.objects.filter(theme=theme)
        .exclude(item__customer=None)
        .values_list("item__customer", flat=True)
    )
    link = services.theme_create_problem(actor=themed.pm, theme_id=theme.pk)
    assert link.created and link.linked == len(feedback_ids)
    assert link.problem.title == theme.name
    evidence = Evidence.objects.filter(target_type="problem", target_id=link.problem.pk)
    assert set(evidence.values_list("feedback_id", flat=True)) == feedback_ids
    totals = evidence_totals(actor=themed.pm, target_type="problem", target_id=link.problem.pk)
    expected_arr = sum(c.arr_base for c in themed.customers if c.pk in customers)
    assert totals["accounts"] == len(customers) and totals["arr"] == expected_arr and expected_arr > Decimal(0)
    theme.refresh_from_db()
    assert theme.problem_id == link.problem.pk
    with pytest.raises(Conflict):
        services.theme_create_problem(actor=themed.pm, theme_id=theme.pk)


def test_create_problem__is_all_or_nothing(themed, monkeypatch):
    from valueloop.discovery.models import Problem
    from valueloop.evidence import facade as evidence

    theme = themed.theme_with("receipt")
    problems = Problem.objects.count()

    def broken(**kwargs):
        raise RuntimeError("evidence store down")

    monkeypatch.setattr(evidence, "evidence_link_feedback_many", broken)
    with pytest.raises(RuntimeError):
        services.theme_create_problem(actor=themed.pm, theme_id=theme.pk)
    assert Problem.objects.count() == problems
    assert not Evidence.objects.filter(target_type="problem").exclude(target_id=themed.world.problem_a.pk).exists()
    theme.refresh_from_db()
    assert theme.problem_id is None


def test_link_problem__links_items_to_an_existing_problem_once(themed, world):
    theme = themed.theme_with("export")
    first = services.theme_link_problem(actor=themed.pm, theme_id=theme.pk, problem_id=world.problem_a.pk)
    assert not first.created and first.linked == theme.size
    again = services.theme_link_problem(actor=themed.pm, theme_id=theme.pk, problem_id=world.problem_a.pk)
    assert again.linked == 0 and again.already == theme.size
    with pytest.raises(Invalid):
        services.theme_link_problem(actor=themed.pm, theme_id=theme.pk, problem_id=world.problem_b.pk)


def test_recluster_request__queues_a_run_and_refuses_a_second_while_running(themed, django_capture_on_commit_callbacks):
    from valueloop.themes.models import ThemeRun

    done = ThemeRun.objects.filter(kind="recluster", trigger="manual", status="succeeded")
    before = done.count()
    with django_capture_on_commit_callbacks(execute=True):
        services.recluster_request(actor=themed.pm)
    assert done.count() == before + 1
    assert done.first().started_by == themed.pm.user
    ThemeRun.objects.create(workspace=themed.ws, kind="recluster", status="running", started_at=timezone.now())
    with pytest.raises(Conflict):
        services.recluster_request(actor=themed.pm)
