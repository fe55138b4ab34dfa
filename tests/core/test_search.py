"""core.search: the registry, the shared full-text index kept by triggers, the query language and the snippets."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import (
    CommentFactory,
    ContactFactory,
    CustomerFactory,
    ExperimentFactory,
    FeatureFactory,
    FeedbackItemFactory,
    FlagFactory,
    HighlightFactory,
    InterviewFactory,
    LearningFactory,
    ProblemFactory,
    ThemeFactory,
)
from valueloop.core import search
from valueloop.core.models import SearchEntry
from valueloop.core.permissions import Role, Scope, has_scope
from valueloop.workspaces import services as ws_services

WORD = "zanzibar"
# Every kind the issue names, each registered by the app that owns it.
EXPECTED_KINDS = {
    "feature",
    "problem",
    "feedback",
    "customer",
    "contact",
    "interview",
    "highlight",
    "theme",
    "experiment",
    "flag",
    "learning",
    "comment",
    "product",
    "area",
    "member",
}


def one_of_each(world, workspace, actor, word: str = WORD) -> dict[str, int]:
    """A row of every kind in ``workspace`` containing ``word``: {kind: id}."""
    customer = CustomerFactory(workspace=workspace, name=f"{word.title()} Traders")
    interview = InterviewFactory(workspace=workspace, title=f"Call about {word}", notes=f"They love {word}. Yes.")
    experiment = ExperimentFactory(workspace=workspace, name=f"{word.title()} checkout test")
    product = ws_services.product_create(actor=actor, name=f"{word.title()} suite", key=f"Z{workspace.pk}")
    rows = {
        "feature": FeatureFactory(workspace=workspace, title=f"Export to {word}").pk,
        "problem": ProblemFactory(workspace=workspace, title=f"{word.title()} is slow").pk,
        "feedback": FeedbackItemFactory(workspace=workspace, text=f"Please support {word} invoices").pk,
        "customer": customer.pk,
        "contact": ContactFactory(workspace=workspace, customer=customer, name=f"Ana {word.title()}").pk,
        "interview": interview.pk,
        "highlight": HighlightFactory(workspace=workspace, interview=interview, quote=f"They love {word}").pk,
        "theme": ThemeFactory(workspace=workspace, name=f"{word.title()} exports").pk,
        "experiment": experiment.pk,
        "flag": FlagFactory(actor=actor, key=f"{word}-beta", description="Beta").pk,
        "learning": LearningFactory(workspace=workspace, experiment=experiment, text=f"People want {word}").pk,
        "comment": CommentFactory(workspace=workspace, body=f"What about **{word}**?").pk,
        "product": product.pk,
        "area": ws_services.area_create(actor=actor, product_id=product.pk, name=f"{word.title()} area").pk,
    }
    return rows


def found(results) -> dict[str, set[int]]:
    return {group.kind: {hit.id for hit in group.hits} for group in results}


def test_registry__every_kind_of_the_issue_is_registered():
    assert EXPECTED_KINDS <= {p.kind for p in search.providers()}


def test_search_all__finds_every_kind_and_nothing_of_another_workspace(world):
    mine = one_of_each(world, world.ws_a, world.actor_a)
    theirs = one_of_each(world, world.ws_b, world.actor_b)
    results = found(search.search_all(actor=world.actor_a, query=WORD))
    for kind, row_id in mine.items():
        assert row_id in results.get(kind, set()), kind
    for kind, row_id in theirs.items():
        assert row_id not in results.get(kind, set()), kind
    # Counted, linked, highlighted.
    by_kind = {group.kind: group for group in search.search_all(actor=world.actor_a, query=WORD)}
    assert by_kind["feature"].count == 1
    feature_hit = by_kind["feature"].hits[0]
    assert feature_hit.url == f"/w/{world.ws_a.slug}/features/{mine['feature']}/"
    assert "<mark>zanzibar</mark>" in feature_hit.title
    assert by_kind["highlight"].hits[0].url.endswith(f"#highlight-{mine['highlight']}")
    assert by_kind["comment"].hits[0].url.endswith(f"#comment-{mine['comment']}")
    assert by_kind["contact"].hits[0].context == f"at {WORD.title()} Traders"


def test_search_all__members_by_name_in_the_workspace_only(world):
    results = found(search.search_all(actor=world.actor_a, query="Admin"))
    assert results["member"] == {world.member(Role.ADMIN).pk}


def test_index__follows_updates_deletes_and_soft_deletes(world):
    feature = FeatureFactory(workspace=world.ws_a, title="Quarterly reconciliation")
    comment = CommentFactory(workspace=world.ws_a, body="reconciliation is painful")
    assert found(search.search_all(actor=world.actor_a, query="reconciliation")) == {
        "feature": {feature.pk},
        "comment": {comment.pk},
    }
    feature.title = "Monthly close"
    feature.save(update_fields=["title"])
    comment.deleted_at = timezone.now()
    comment.save(update_fields=["deleted_at"])
    assert search.search_all(actor=world.actor_a, query="reconciliation") == []
    assert found(search.search_all(actor=world.actor_a, query="monthly")) == {"feature": {feature.pk}}
    # A bulk write that sends no signal is followed too (database triggers).
    type(feature).objects.filter(pk=feature.pk).update(title="Yearly audit")
    assert found(search.search_all(actor=world.actor_a, query="yearly")) == {"feature": {feature.pk}}
    feature.delete()
    assert search.search_all(actor=world.actor_a, query="yearly") == []
    assert not SearchEntry.objects.filter(kind="feature", object_id=feature.pk).exists()


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '""',
        '"unterminated phrase',
        "*",
        "zan*",
        "NEAR(zanzibar export)",
        "NEAR zanzibar",
        "-",
        "-zanzibar",
        "zanzibar -",
        ":",
        "title:zanzibar",
        "body: zanzibar",
        "zanzibar OR",
        "OR zanzibar",
        "AND NOT",
        "^zanzibar",
        "(zanzibar",
        "zanzibar)",
        "{title body}: x",
        "a" * 600,
        "\x00zanzibar",
        "'; DROP TABLE core_searchentry; --",
    ],
)
def test_search_all__query_syntax_never_errors(world, query):
    FeatureFactory(workspace=world.ws_a, title="Export to zanzibar")
    results = search.search_all(actor=world.actor_a, query=query)
    assert isinstance(results, list)
    assert SearchEntry.objects.filter(kind="feature").exists()


def test_search_all__phrase_exclusion_and_or(world):
    a = FeatureFactory(workspace=world.ws_a, title="Bank feed sync")
    b = FeatureFactory(workspace=world.ws_a, title="Bank statement import")
    c = FeatureFactory(workspace=world.ws_a, title="Feed the bank")

    def ids(query):
        return found(search.search_all(actor=world.actor_a, query=query)).get("feature", set())

    assert ids('"bank feed"') == {a.pk}
    assert ids("bank -statement") == {a.pk, c.pk}
    assert ids("sync OR statement") == {a.pk, b.pk}
    assert ids("statem") == {b.pk}  # the last word may be unfinished


@pytest.mark.parametrize("typed", ["dun", "dunn", "dunni", "dunnin", "dunning", "Dunning retries"])
def test_search_all__finds_a_word_while_it_is_typed_although_the_index_holds_stems(world, typed):
    # "dunning" is indexed as its stem "dun": a plain prefix query for "dunn" would miss it.
    feature = FeatureFactory(workspace=world.ws_a, title="Smart dunning retries")
    found_ids = found(search.search_all(actor=world.actor_a, query=typed)).get("feature", set())
    assert found_ids == {feature.pk}


def test_snippet__markdown_is_rendered_to_plain_text_and_user_html_escaped(world):
    CommentFactory(
        workspace=world.ws_a,
        body="# Heading\n\nWe **really** need [zanzibar](https://example.com) exports, _soon_. <script>x()</script>",
    )
    FeatureFactory(workspace=world.ws_a, title='<img src=x onerror="alert(1)"> zanzibar', description="**bold** ask")
    groups = {g.kind: g for g in search.search_all(actor=world.actor_a, query="zanzibar")}
    comment = groups["comment"].hits[0]
    snippet = str(comment.title) + str(comment.snippet)  # a comment has no title: its text is the title
    assert "**" not in snippet and "_soon_" not in snippet and "](" not in snippet and "# Heading" not in snippet
    assert "<mark>zanzibar</mark>" in snippet and "really" in snippet
    assert "<script>" not in snippet
    title = str(groups["feature"].hits[0].title)
    assert "<img" not in title and "&lt;img" in title and "<mark>zanzibar</mark>" in title


def test_snippet__centres_on_the_match_of_a_long_body():
    body = ("Lorem ipsum dolor sit amet. " * 80) + "The **zanzibar** export broke." + (" Tail text." * 50)
    text = str(search.snippet(body, ["zanzibar"]))
    assert text.startswith("… ") and "<mark>zanzibar</mark>" in text and "**" not in text
    assert len(search.plain_text(text, markdown=False)) < search.SNIPPET_CHARS + 40


@pytest.mark.parametrize("role", list(Role))
def test_readable_kinds__follow_the_permission_table(world, role):
    restricted = search.SearchProvider(
        kind="audit_probe", label="Audit probe", scope=Scope.AUDIT_READ, search=lambda actor, q, limit: (1, [])
    )
    search.register(restricted)
    try:
        actor = world.actor(role)
        readable = set(search.readable_kinds(actor))
        assert readable == {p.kind for p in search.providers() if has_scope(role, p.scope)}
        assert ("audit_probe" in readable) == has_scope(role, Scope.AUDIT_READ)
        probed = [g.kind for g in search.search_all(actor=actor, query="anything")]
        assert ("audit_probe" in probed) == has_scope(role, Scope.AUDIT_READ)
    finally:
        search.unregister("audit_probe")


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'search_%'")
        return {row[0] for row in cursor.fetchall()}


def test_ensure_index__recreates_dropped_triggers_and_indexes_what_they_missed(world):
    # On SQLite a table rebuild (AlterField) drops a table's triggers; ensure_index runs after every migrate.
    kind = next(k for k in search.indexed_kinds() if k.kind == "problem")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            names = set(search.trigger_names(kind).values())
            for name in names:
                cursor.execute(f"DROP TRIGGER {name}")
        else:
            names = {search.trigger_names(kind)["insert"].removesuffix("_ai")}
            for name in names:
                cursor.execute(f"DROP TRIGGER {name} ON {kind.table}")
    assert not names & _triggers()
    missed = ProblemFactory(workspace=world.ws_a, title="Zanzibar missed by the index")
    assert search.search_all(actor=world.actor_a, query="zanzibar") == []
    assert search.ensure_index() == ["problem"]
    assert names <= _triggers()
    assert found(search.search_all(actor=world.actor_a, query="zanzibar")) == {"problem": {missed.pk}}
    assert search.ensure_index() == []  # nothing left to repair


def test_rebuild_index__restores_a_wiped_index(world):
    from django.core.management import call_command

    one_of_each(world, world.ws_a, world.actor_a)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_searchentry")
    assert search.search_all(actor=world.actor_a, query=WORD) == []
    call_command("search_reindex", verbosity=0)
    assert EXPECTED_KINDS - {"member"} <= set(found(search.search_all(actor=world.actor_a, query=WORD)))


def test_bulk_load__feedback_rows_are_indexed_once_by_one_statement(world, monkeypatch):
    from valueloop.feedback import search as feedback_search
    from valueloop.feedback import services as feedback_services
    from valueloop.feedback.importing import Row

    monkeypatch.setattr(feedback_search, "BULK_THRESHOLD", 2)
    rows = [
        Row(
            number=n,
            external_id=f"bulk-{n}",
            title="",
            text=f"Bulk zanzibar request {n}",
            received_at=timezone.now(),
            source="other",
            customer_id=None,
            contact_id=None,
            url="",
            importance="",
            tags=[],
        )
        for n in range(5)
    ]
    feedback_services.feedback_load_rows(actor=world.actor_a, rows=rows, label="bulk test")
    results = search.search_all(actor=world.actor_a, query="zanzibar")
    assert [(g.kind, g.count) for g in results] == [("feedback", 5)]
    kind = next(k for k in search.indexed_kinds() if k.kind == "feedback")
    if connection.vendor == "sqlite":
        assert search.trigger_names(kind)["insert"] in _triggers()  # put back after the load
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'core_search_fts_ai'")
            assert cursor.fetchone() is not None


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the rank window is SQLite's")
def test_search_all__ranks_a_huge_kind_among_its_newest_matches_and_counts_them_all(world, monkeypatch):
    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    features = [FeatureFactory(workspace=world.ws_a, title=f"Zanzibar {n}") for n in range(6)]
    [group] = search.search_all(actor=world.actor_a, query="zanzibar", limit=10)
    assert group.count == 6
    assert {hit.id for hit in group.hits} == {f.pk for f in features[-3:]}


def test_register__refuses_a_kind_whose_code_clashes():
    taken = next(k for k in search.indexed_kinds())
    clashing = next(
        name
        for name in (f"probe_{n}" for n in range(5_000_000))
        if search.kind_code(name) == search.kind_code(taken.kind)
    )
    with pytest.raises(ValueError, match="has the code of"):
        search.register(search.SearchProvider(kind=clashing, label="Probe", search=lambda actor, q, limit: (0, [])))
    assert clashing not in {p.kind for p in search.providers()}


def test_search_all__a_body_that_repeats_the_title_gets_no_snippet(world):
    FeedbackItemFactory(workspace=world.ws_a, title="Zanzibar exports please", text="Zanzibar exports please")
    FeedbackItemFactory(workspace=world.ws_a, title="Zanzibar", text="Zanzibar exports, with totals")
    hits = {str(h.title): str(h.snippet) for h in search.search_all(actor=world.actor_a, query="zanzibar")[0].hits}
    assert hits["<mark>Zanzibar</mark> exports please"] == ""
    assert hits["<mark>Zanzibar</mark>"] == "<mark>Zanzibar</mark> exports, with totals"
