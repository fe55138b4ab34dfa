"""One search over every kind of thing in a workspace: a registry each app fills, one full-text index.

Apps register a provider per kind in ``AppConfig.ready``. Most kinds are ``IndexedKind``: a declaration of
the table and the columns whose text is searchable; the database keeps one index of them all
(``core_searchentry``: workspace, kind, object id, title, body; its id is ``kind_code(kind) << 40 | object id``),
full-text indexed by FTS5 on SQLite (``core_search_fts``, external content over that table, with a ``scope`` column
holding the token ``w<workspace id>``) and by a GIN ``to_tsvector`` index on PostgreSQL.
A kind that does not fit the index (members: their names live on the user) registers a ``SearchProvider``
with its own ``search(actor, query, limit)``.

Invariants:
- User text never reaches the engine's query syntax: ``fts5_query`` / ``postgres_query`` rebuild the query from
  quoted terms, so quotes, ``OR``/``NOT``/``NEAR(``, ``*``, ``^``, ``-`` and ``:`` cannot cause a syntax error.
  Words are ANDed, ``"a phrase"`` matches a phrase, ``-word`` excludes, ``OR`` between two words means either;
  the last word may be unfinished (prefix match). Feedback's inbox search uses the same language.
- Every search starts from the actor's workspace (``workspace_id`` on every index row, copied from the row it
  indexes) and only asks the providers whose ``scope`` the actor's role has; another workspace's rows and kinds
  the role may not read never appear.
- The index follows the rows by database triggers, generated from the declarations: insert, update of an indexed
  column and delete keep ``core_searchentry`` in step, whatever wrote the row (a service, ``bulk_create``, a
  raw import). ``ensure_index`` runs after every migrate: it (re)creates missing triggers (a table rebuild on
  SQLite drops them; a changed declaration changes their names) and re-indexes the kinds it repaired.
  ``valueloop search_reindex`` rebuilds everything.
- Snippets and titles are plain text, escaped, with the matched words in ``<mark>``: markdown is rendered and
  its tags stripped before escaping, so neither raw ``**`` nor a user's HTML reaches the page.
"""

# SQL here is assembled from constants and from the apps' declarations (table and column names, quoted; kinds
# checked against [a-z0-9_] at registration); user text is always a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import hashlib
import html
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString, mark_safe

from .permissions import Scope

# --- the query language (shared with feedback's inbox search) -----------------------------------------------

MAX_QUERY_LENGTH = 500
MAX_TERMS = 32
MIN_QUERY_LENGTH = 2
PG_CONFIG = "english"

_TOKEN_RE = re.compile(r'(-?)"([^"]*)"|(\S+)')
_WORD_RE = re.compile(r"\w", re.UNICODE)


def parse_terms(text: str) -> list[tuple[str, str]]:
    """The query as [(kind, term)] with kind in {"and", "or", "not"}; operators become words.

    ``"a phrase"`` stays one term; ``-word`` / ``-"a phrase"`` is "not"; an upper-case ``OR``
    between two terms turns the following term into "or". A term keeps only its letters and
    digits (``*``, ``(``, ``:`` separate words); terms without any are dropped.
    """
    return [(kind, " ".join(re.findall(r"\w+", raw, re.UNICODE))) for kind, raw in _raw_terms(text)]


def _raw_terms(text: str) -> list[tuple[str, str]]:
    terms: list[tuple[str, str]] = []
    pending_or = False
    for match in _TOKEN_RE.finditer((text or "").replace("\x00", " ")[:MAX_QUERY_LENGTH]):
        negate, phrase, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            if bare == "OR":
                pending_or = bool(terms)
                continue
            negate = "-" if bare.startswith("-") else ""
            phrase = bare.lstrip("-")
        if not _WORD_RE.search(phrase or ""):
            continue
        kind = "not" if negate else ("or" if pending_or and terms and terms[-1][0] != "not" else "and")
        pending_or = False
        terms.append((kind, phrase))
        if len(terms) >= MAX_TERMS:
            break
    return terms


STEM_SLACK = 3  # characters a stemmer may take off a word's end ("dunning" -> "dun", "billing" -> "bill")


def stem_candidates(word: str) -> list[str]:
    """Shorter beginnings of an unfinished word that may be the stem of the word being typed.

    The index holds stems (porter; PostgreSQL's english), so "dunn"* misses "dunning", indexed as "dun": the
    typed beginning is longer than the stem. Each of the last ``STEM_SLACK`` shorter beginnings (at least
    three letters) is tried as a whole word, which is what a stem is."""
    if len(word) < 4 or not word.isalpha():
        return []
    return [word[:k] for k in range(max(3, len(word) - STEM_SLACK), len(word))]


def fts5_query(text: str, *, prefix_last: bool = True, stem_prefix: bool = False) -> str | None:
    """A safe FTS5 MATCH expression for user text, or None when nothing searchable is left.
    ``stem_prefix``: the unfinished last word also matches the stems it may have been cut to."""
    terms = parse_terms(text)
    positives = [(kind, term) for kind, term in terms if kind != "not"]
    if not positives:
        return None
    parts: list[str] = []
    for index, (kind, term) in enumerate(positives):
        quoted = '"' + term.replace('"', '""') + '"'
        last = index == len(positives) - 1
        if prefix_last and last and " " not in term and len(term) >= 3 and not text.rstrip().endswith('"'):
            quoted += "*"  # search-as-you-type: the last word may be unfinished
            stems = stem_candidates(term) if stem_prefix else []
            if stems:
                quoted = "(" + " OR ".join([quoted, *('"' + stem + '"' for stem in stems)]) + ")"
        if kind == "or" and parts:
            parts[-1] = f"({parts[-1]} OR {quoted})"
        else:
            parts.append(quoted)
    expression = " AND ".join(parts)
    for kind, term in terms:
        if kind == "not":
            expression = f"({expression}) NOT " + '"' + term.replace('"', '""') + '"'
    return expression


def postgres_query(text: str, *, prefix_last: bool = True, config: str = PG_CONFIG, stem_prefix: bool = False):
    """The same query as a PostgreSQL ``SearchQuery``: every term through ``phraseto_tsquery``
    (plain text, parsed like the indexed text, never a syntax error), combined with & | !; the
    last word may be unfinished (``word:*``, built only from \\w characters)."""
    from django.contrib.postgres.search import SearchQuery

    raw_terms = _raw_terms(text)
    positives = [(kind, raw) for kind, raw in raw_terms if kind != "not"]
    if not positives:
        return None

    def term_query(raw: str, prefix: bool):
        phrase = SearchQuery(raw, config=config, search_type="phrase")
        if prefix and re.fullmatch(r"\w{3,}", raw, re.UNICODE):
            phrase = phrase | SearchQuery(f"{raw}:*", config=config, search_type="raw")
            for stem in stem_candidates(raw) if stem_prefix else []:
                phrase = phrase | SearchQuery(stem, config=config, search_type="plain")
        return phrase

    query = None
    for index, (kind, raw) in enumerate(positives):
        last = index == len(positives) - 1
        piece = term_query(raw, prefix_last and last and not text.rstrip().endswith('"'))
        if query is None:
            query = piece
        elif kind == "or":
            query = query | piece
        else:
            query = query & piece
    for kind, raw in raw_terms:
        if kind == "not":
            query = query & ~term_query(raw, False)
    return query


def is_sqlite(conn=None) -> bool:
    return (conn or connection).vendor == "sqlite"


def is_postgres(conn=None) -> bool:
    return (conn or connection).vendor == "postgresql"


# --- hits, snippets --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    kind: str
    id: int
    title: SafeString  # escaped plain text, matched words in <mark>
    snippet: SafeString  # the same, around the first match of the body
    url: str
    rank: float
    context: str = ""  # plain text (escaped by the template): where the hit lives, "in interview ...", "at Acme"


@dataclass(frozen=True)
class KindResult:
    kind: str
    label: str
    count: int  # every match the actor may see, not only the hits shown
    hits: list[SearchHit]


def highlight_words(text: str) -> list[str]:
    """The words a result should highlight: every word of the query's positive terms, lower-cased."""
    words: list[str] = []
    for kind, term in parse_terms(text):
        if kind != "not":
            words.extend(w.lower() for w in term.split() if w)
    return sorted(set(words), key=len, reverse=True)


def _words_pattern(words: list[str]) -> re.Pattern | None:
    if not words:
        return None
    # A word matches at a word start and may go on (prefix search, simple plurals and stems: invoice~invoices).
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")\w*", re.IGNORECASE | re.UNICODE)


_MARKUP_LEFTOVERS = re.compile(r"(\*{1,3}|_{2,3}|~~|`+|^#{1,6}\s+|^>\s?)", re.MULTILINE)
_SPACES = re.compile(r"\s+")


def plain_text(text: str, *, markdown: bool = True) -> str:
    """Markdown rendered to plain text: tags stripped, entities decoded, whitespace collapsed."""
    if markdown and text:
        from .markdown import render_markdown

        text = html.unescape(strip_tags(render_markdown(text)))
        # A snippet window may cut an emphasis in half; what the renderer left as text goes too.
        text = _MARKUP_LEFTOVERS.sub("", text)
    return _SPACES.sub(" ", text or "").strip()


def marked(text: str, words: list[str]) -> SafeString:
    """``text`` escaped, with the matched words wrapped in <mark>."""
    pattern = _words_pattern(words)
    if pattern is None:
        return mark_safe(escape(text))  # noqa: S308 - escaped right here
    pieces: list[str] = []
    cursor = 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[cursor : match.start()]))
        pieces.append("<mark>" + escape(match.group(0)) + "</mark>")
        cursor = match.end()
    pieces.append(escape(text[cursor:]))
    return mark_safe("".join(pieces))  # noqa: S308 - every piece of user text above went through escape()


SNIPPET_CHARS = 220
_WINDOW_CHARS = 700  # raw text rendered around the first match: enough for a snippet after markdown is gone


def snippet(body: str, words: list[str], *, markdown: bool = True, width: int = SNIPPET_CHARS) -> SafeString:
    """A short excerpt of ``body`` around its first matched word, as escaped plain text with <mark>s."""
    body = body or ""
    pattern = _words_pattern(words)
    first = pattern.search(body) if pattern else None
    start = max(0, (first.start() if first else 0) - _WINDOW_CHARS // 3)
    if start:
        space = body.find(" ", start)
        start = space + 1 if 0 <= space < start + 40 else start
    window = body[start : start + _WINDOW_CHARS]
    text = plain_text(window, markdown=markdown)
    match = pattern.search(text) if pattern else None
    lead = max(0, (match.start() if match else 0) - width // 4)
    if lead:
        space = text.find(" ", lead)
        lead = space + 1 if 0 <= space < lead + 30 else lead
    excerpt = text[lead : lead + width]
    if lead + width < len(text):
        cut = excerpt.rfind(" ")
        excerpt = (excerpt[:cut] if cut > width // 2 else excerpt) + " …"
    if start or lead:
        excerpt = "… " + excerpt
    return marked(excerpt, words)


# --- the registry ----------------------------------------------------------------------------------------------

# (actor, ids) -> {id: (url, context)}; ids it omits are dropped (gone, or not the actor's to open)
Describe = Callable[[Any, list[int]], dict[int, tuple[str, str]]]


@dataclass(frozen=True)
class SearchProvider:
    """A kind searched by its own code. ``search(actor, query, limit)`` answers (count, hits)."""

    kind: str
    label: str
    search: Callable[[Any, str, int], tuple[int, list[SearchHit]]]
    scope: Scope = Scope.WORKSPACE_READ
    order: int = 1000


@dataclass(frozen=True)
class IndexedKind:
    """A kind in the shared full-text index, declared by the app that owns the table.

    ``title`` and ``body`` name the row's columns whose text is indexed (joined by spaces); ``hidden_when_set``
    names columns that take the row out of the index while they hold a value (a deleted comment).
    ``url_name`` is reversed with (workspace slug, id); ``describe`` answers the links itself, with a short
    context, when a row's page is another row's (a highlight's interview, a comment's feature).
    ``markdown``: the body is markdown, rendered to plain text for the snippet.
    """

    kind: str
    label: str
    table: str
    title: tuple[str, ...]
    body: tuple[str, ...] = ()
    hidden_when_set: tuple[str, ...] = ()
    url_name: str = ""
    describe: Describe | None = None
    markdown: bool = True
    scope: Scope = Scope.WORKSPACE_READ
    order: int = 1000
    workspace_column: str = "workspace_id"

    def search(self, actor, query: str, limit: int) -> tuple[int, list[SearchHit]]:
        result = _index_search(actor, query, [self], limit).get(self.kind)
        return (result.count, result.hits) if result else (0, [])

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.title + self.body + self.hidden_when_set))

    @property
    def signature(self) -> str:
        """Changes whenever the generated SQL would: trigger names carry it."""
        spec = repr((self.table, self.title, self.body, self.hidden_when_set, self.workspace_column, TRIGGER_VERSION))
        return hashlib.sha256(spec.encode()).hexdigest()[:8]


_PROVIDERS: dict[str, SearchProvider | IndexedKind] = {}


ID_BITS = 40  # an index row's id: kind_code(kind) << ID_BITS | the indexed row's id (ids below 2**40)
OBJECT_MASK = (1 << ID_BITS) - 1
MAX_ROWID = (1 << 63) - 1


def kind_code(kind: str) -> int:
    """A stable number for a kind (20 bits of its CRC-32): the high bits of its index rows' ids, so that a
    kind's rows are one rowid range of the FTS5 table (counted per kind in one pass, ranked per kind by range)."""
    return zlib.crc32(kind.encode()) & 0xFFFFF


def register(provider: SearchProvider | IndexedKind) -> SearchProvider | IndexedKind:
    """Add (or replace) the provider of ``provider.kind``; ``ready`` may run more than once."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", provider.kind):
        raise ValueError(f"search kind {provider.kind!r}: lower-case letters, digits and _ only")
    clash = [
        other.kind
        for other in _PROVIDERS.values()
        if other.kind != provider.kind and kind_code(other.kind) == kind_code(provider.kind)
    ]
    if clash:
        raise ValueError(f"search kind {provider.kind!r} has the code of {clash[0]!r}: choose another name")
    _PROVIDERS[provider.kind] = provider
    return provider


def unregister(kind: str) -> None:
    _PROVIDERS.pop(kind, None)


def providers() -> list[SearchProvider | IndexedKind]:
    return sorted(_PROVIDERS.values(), key=lambda p: (p.order, p.kind))


def indexed_kinds() -> list[IndexedKind]:
    return [p for p in providers() if isinstance(p, IndexedKind)]


def readable_kinds(actor) -> list[str]:
    """The kinds the actor's role may read, in display order."""
    return [p.kind for p in providers() if actor.can(p.scope)]


def search_all(*, actor, query: str, kinds: Iterable[str] | None = None, limit: int = 10) -> list[KindResult]:
    """Every readable kind's matches for ``query`` in the actor's workspace, in display order; kinds
    without a match are left out. Indexed kinds share their queries (one MATCH counts them all); other
    providers run one by one."""
    actor.require(Scope.WORKSPACE_READ)
    wanted = set(kinds) if kinds is not None else None
    chosen = [p for p in providers() if actor.can(p.scope) and (wanted is None or p.kind in wanted)]
    if not chosen or len((query or "").strip()) < MIN_QUERY_LENGTH:
        return []
    indexed = _index_search(actor, query, [p for p in chosen if isinstance(p, IndexedKind)], limit)
    results: list[KindResult] = []
    for provider in chosen:
        if isinstance(provider, IndexedKind):
            found = indexed.get(provider.kind)
        else:
            count, hits = provider.search(actor, query, limit)
            found = KindResult(provider.kind, provider.label, count, hits[:limit]) if count else None
        if found is not None and found.count:
            results.append(found)
    return results


# --- searching the index ---------------------------------------------------------------------------------------

FTS_TABLE = "core_search_fts"
ENTRY_TABLE = "core_searchentry"
PG_VECTOR_SQL = f"to_tsvector('{PG_CONFIG}'::regconfig, {ENTRY_TABLE}.title || ' ' || {ENTRY_TABLE}.body)"
TITLE_WEIGHT = 4.0  # bm25 weight of the title column against the body's 1.0
RANK_WINDOW = 2000  # SQLite: a kind's matches ranked by relevance, newest first (all are counted)


def _ranked_ids(workspace_id: int, query: str, kinds: list[str], limit: int) -> list[tuple[int, str, int, float, int]]:
    """[(entry id, kind, object id, rank, matches of that kind)], the best ``limit`` of every kind."""
    if is_sqlite():
        expression = fts5_query(query, stem_prefix=True)
        if expression is None:
            return []
        # The workspace is a token of the scope column, the kind the high bits of the rowid: one MATCH counts
        # every kind without reading a row, and each kind with matches is ranked within its rowid range.
        match = f'scope : "w{int(workspace_id)}" AND {{title body}} : ({expression})'
        wanted = {kind_code(kind): kind for kind in kinds}
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid >> {ID_BITS}, count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s GROUP BY 1", [match]
            )
            totals = {wanted[code]: count for code, count in cursor.fetchall() if code in wanted}
            scored: list[tuple[int, float]] = []
            # Every MATCH pays for the query's prefix terms again (FTS5 merges the matching terms' lists), so the
            # kinds are ranked in as few passes as possible: each large kind (more than RANK_WINDOW matches, a
            # common word over 100,000 feedback items) by itself, among its newest RANK_WINDOW matches, since
            # bm25 costs a lookup per row; all other kinds together, in the rowid ranges between the large ones.
            large = sorted((kind_code(k) for k, n in totals.items() if n > RANK_WINDOW))
            small = {kind_code(k) for k, n in totals.items() if n <= RANK_WINDOW}
            score_sql = f"-bm25({FTS_TABLE}, {TITLE_WEIGHT}, 1.0, 0.0)"
            rank_sql = f"SELECT rowid, {score_sql} FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
            start = 0
            for low, high in [*((c << ID_BITS, c << ID_BITS | OBJECT_MASK) for c in large), (MAX_ROWID + 1, None)]:
                if any(start <= code << ID_BITS < low for code in small):
                    cursor.execute(f"{rank_sql} AND rowid BETWEEN %s AND %s", [match, start, low - 1])
                    scored.extend(row for row in cursor.fetchall() if row[0] >> ID_BITS in small)
                if high is None:
                    break
                cursor.execute(
                    f"SELECT * FROM ({rank_sql} AND rowid BETWEEN %s AND %s ORDER BY rowid DESC LIMIT {RANK_WINDOW})",
                    [match, low, high],
                )
                scored.extend(cursor.fetchall())
                start = high + 1
        by_kind: dict[str, list[tuple[int, float]]] = {}
        for rowid, score in scored:
            by_kind.setdefault(wanted[rowid >> ID_BITS], []).append((rowid, float(score)))
        rows: list[tuple[int, str, int, float, int]] = []
        for kind, found in by_kind.items():
            found.sort(key=lambda row: (-row[1], -row[0]))
            rows.extend((rowid, kind, rowid & OBJECT_MASK, score, totals[kind]) for rowid, score in found[:limit])
        return rows
    from django.db.models import Count, F, FloatField, Q, Value, Window
    from django.db.models.functions import RowNumber

    from .models import SearchEntry

    entries = SearchEntry.objects.filter(workspace_id=workspace_id, kind__in=kinds)
    if is_postgres():
        from django.contrib.postgres.search import SearchRank, SearchVectorField
        from django.db.models.expressions import RawSQL

        pg_query = postgres_query(query, stem_prefix=True)
        if pg_query is None:
            return []
        vector = RawSQL(PG_VECTOR_SQL, [], output_field=SearchVectorField())  # noqa: S611 - constant SQL
        entries = entries.annotate(_vector=vector).filter(_vector=pg_query).annotate(score=SearchRank(vector, pg_query))
    else:  # other databases: every term as a substring, unranked
        terms = [term for kind, term in parse_terms(query) if kind != "not"]
        if not terms:
            return []
        for term in terms:
            entries = entries.filter(Q(title__icontains=term) | Q(body__icontains=term))
        entries = entries.annotate(score=Value(0.0, output_field=FloatField()))
    rows = (
        entries.annotate(
            position=Window(RowNumber(), partition_by=[F("kind")], order_by=[F("score").desc(), F("id").desc()]),
            total=Window(Count("id"), partition_by=[F("kind")]),
        )
        .filter(position__lte=limit)
        .values_list("id", "kind", "object_id", "score", "total")
    )
    return [(row[0], row[1], row[2], float(row[3]), row[4]) for row in rows]


def _index_search(actor, query: str, kinds: list[IndexedKind], limit: int) -> dict[str, KindResult]:
    if not kinds or len((query or "").strip()) < MIN_QUERY_LENGTH:
        return {}
    from django.urls import reverse

    from .models import SearchEntry

    by_kind = {k.kind: k for k in kinds}
    ranked = _ranked_ids(actor.workspace.pk, query, list(by_kind), max(1, limit))
    texts = {
        entry_id: (title, body)
        for entry_id, title, body in SearchEntry.objects.filter(id__in=[r[0] for r in ranked]).values_list(
            "id", "title", "body"
        )
    }
    words = highlight_words(query)
    grouped: dict[str, list[tuple[int, int, float]]] = {}
    totals: dict[str, int] = {}
    for entry_id, kind, object_id, score, total in ranked:
        grouped.setdefault(kind, []).append((entry_id, object_id, score))
        totals[kind] = total
    results: dict[str, KindResult] = {}
    slug = actor.workspace.slug
    for kind, rows in grouped.items():
        provider = by_kind[kind]
        rows.sort(key=lambda r: (-r[2], -r[0]))
        ids = [object_id for _, object_id, _ in rows]
        if provider.describe is not None:
            described = provider.describe(actor, ids)
        else:
            described = {i: (reverse(provider.url_name, args=[slug, i]), "") for i in ids}
        hits = []
        for entry_id, object_id, score in rows:
            if object_id not in described or entry_id not in texts:
                continue  # the row went away between the two queries, or its page is not the actor's to open
            title, body = texts[entry_id]
            title_text = (
                title.strip() or plain_text(body, markdown=provider.markdown)[:80] or f"{provider.label} {object_id}"
            )
            excerpt = snippet(body, words, markdown=provider.markdown)
            if html.unescape(strip_tags(excerpt)).strip(" …") == title_text.strip():
                excerpt = mark_safe("")  # a body that only repeats the title adds nothing under it
            hits.append(
                SearchHit(
                    kind=kind,
                    id=object_id,
                    title=marked(title_text, words),
                    snippet=excerpt,
                    url=described[object_id][0],
                    rank=score,
                    context=described[object_id][1],
                )
            )
        results[kind] = KindResult(kind, provider.label, totals[kind], hits)
    return results


# --- keeping the index: triggers ------------------------------------------------------------------------------

TRIGGER_VERSION = 2
TRIGGER_PREFIX = "search_"
FTS_TRIGGERS_SQLITE = {
    "core_search_fts_ai": f"""
        CREATE TRIGGER IF NOT EXISTS core_search_fts_ai AFTER INSERT ON {ENTRY_TABLE} BEGIN
          INSERT INTO {FTS_TABLE}(rowid, title, body, scope) VALUES (new.id, new.title, new.body, new.scope);
        END""",
    "core_search_fts_ad": f"""
        CREATE TRIGGER IF NOT EXISTS core_search_fts_ad AFTER DELETE ON {ENTRY_TABLE} BEGIN
          INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body, scope)
            VALUES ('delete', old.id, old.title, old.body, old.scope);
        END""",
    "core_search_fts_au": f"""
        CREATE TRIGGER IF NOT EXISTS core_search_fts_au AFTER UPDATE ON {ENTRY_TABLE} BEGIN
          INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body, scope)
            VALUES ('delete', old.id, old.title, old.body, old.scope);
          INSERT INTO {FTS_TABLE}(rowid, title, body, scope) VALUES (new.id, new.title, new.body, new.scope);
        END""",
}
FTS_CREATE_SQLITE = f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
    title, body, scope, content='{ENTRY_TABLE}', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"""
GIN_CREATE_POSTGRES = f"CREATE INDEX IF NOT EXISTS core_search_gin ON {ENTRY_TABLE} USING gin ({PG_VECTOR_SQL})"


def _text_sql(columns: tuple[str, ...], row: str, conn) -> str:
    if not columns:
        return "''"
    cast = "::text" if conn.vendor == "postgresql" else ""
    quote = conn.ops.quote_name
    return " || ' ' || ".join(f"coalesce({row}.{quote(c)}{cast}, '')" for c in columns)


def _visible_sql(kind: IndexedKind, row: str, conn) -> str:
    quote = conn.ops.quote_name
    return " AND ".join(f"{row}.{quote(c)} IS NULL" for c in kind.hidden_when_set) or "1 = 1"


def _select_rows_sql(kind: IndexedKind, conn, *, after_id: bool = False) -> str:
    """INSERT ... SELECT of the kind's visible rows (optionally those with id > %s)."""
    quote = conn.ops.quote_name
    where = _visible_sql(kind, "t", conn) + (" AND t.id > %s" if after_id else "")
    values = _entry_values(kind, "t", conn)
    return f"INSERT INTO {ENTRY_TABLE} {_ENTRY_COLUMNS} SELECT {values} FROM {quote(kind.table)} AS t WHERE {where}"


_ENTRY_COLUMNS = "(id, workspace_id, kind, object_id, title, body, scope)"


def _entry_values(kind: IndexedKind, row: str, conn) -> str:
    """The index row of ``row`` (a row of the kind's table, by alias): its id, workspace, texts and scope."""
    quote = conn.ops.quote_name
    workspace = f"{row}.{quote(kind.workspace_column)}"
    return (
        f"{_entry_id_sql(kind, row)}, {workspace}, '{kind.kind}', {row}.id, {_text_sql(kind.title, row, conn)}, "
        f"{_text_sql(kind.body, row, conn)}, 'w' || {workspace}"
    )


def _entry_id_sql(kind: IndexedKind, row: str) -> str:
    return f"({kind_code(kind.kind)} * {1 << ID_BITS} + {row}.id)"


def trigger_names(kind: IndexedKind) -> dict[str, str]:
    base = f"{TRIGGER_PREFIX}{kind.kind}_{kind.signature}"
    return {"insert": f"{base}_ai", "update": f"{base}_au", "delete": f"{base}_ad"}


def _sqlite_triggers(kind: IndexedKind, conn) -> dict[str, str]:
    quote = conn.ops.quote_name
    names = trigger_names(kind)
    table = quote(kind.table)
    insert_new = (
        f"INSERT INTO {ENTRY_TABLE} {_ENTRY_COLUMNS} SELECT {_entry_values(kind, 'new', conn)} "
        f"WHERE {_visible_sql(kind, 'new', conn)};"
    )
    delete_old = f"DELETE FROM {ENTRY_TABLE} WHERE id = {_entry_id_sql(kind, 'old')};"
    watched = ", ".join(quote(c) for c in kind.columns)
    return {
        names[
            "insert"
        ]: f"CREATE TRIGGER IF NOT EXISTS {names['insert']} AFTER INSERT ON {table} BEGIN {insert_new} END",
        names["update"]: (
            f"CREATE TRIGGER IF NOT EXISTS {names['update']} AFTER UPDATE OF {watched} ON {table} "
            f"BEGIN {delete_old} {insert_new} END"
        ),
        names[
            "delete"
        ]: f"CREATE TRIGGER IF NOT EXISTS {names['delete']} AFTER DELETE ON {table} BEGIN {delete_old} END",
    }


def _postgres_trigger(kind: IndexedKind, conn) -> tuple[str, list[str]]:
    quote = conn.ops.quote_name
    name = trigger_names(kind)["insert"].removesuffix("_ai")
    watched = ", ".join(quote(c) for c in kind.columns)
    function = f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
          IF TG_OP IN ('UPDATE', 'DELETE') THEN
            DELETE FROM {ENTRY_TABLE} WHERE id = {_entry_id_sql(kind, "OLD")};
          END IF;
          IF TG_OP IN ('INSERT', 'UPDATE') AND ({_visible_sql(kind, "NEW", conn)}) THEN
            INSERT INTO {ENTRY_TABLE} {_ENTRY_COLUMNS} VALUES ({_entry_values(kind, "NEW", conn)});
          END IF;
          RETURN NULL;
        END $body$"""
    trigger = (
        f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OF {watched} OR DELETE ON {quote(kind.table)} "
        f"FOR EACH ROW EXECUTE FUNCTION {name}()"
    )
    return name, [function, trigger]


def _existing_triggers(cursor, conn) -> dict[str, str]:
    """{trigger name: table} of this module's per-kind triggers."""
    if conn.vendor == "sqlite":
        cursor.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search\\_%' ESCAPE '\\'"
        )
    else:
        cursor.execute(
            "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgname LIKE 'search\\_%%'"
        )
    return dict(cursor.fetchall())


def _index_exists(cursor, conn) -> bool:
    if conn.vendor == "sqlite":
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [FTS_TABLE])
    else:
        cursor.execute("SELECT 1 FROM information_schema.tables WHERE table_name = %s", [ENTRY_TABLE])
    return cursor.fetchone() is not None


def ensure_index(conn=None) -> list[str]:
    """Create the missing triggers of every registered kind, drop those of changed or removed declarations,
    and re-index the kinds whose triggers were missing. Answers the re-indexed kinds. A no-op on databases
    without the index (other vendors, or before core's migration)."""
    from django.db import transaction

    conn = conn or connection
    if conn.vendor not in ("sqlite", "postgresql"):
        return []
    repaired: list[str] = []
    with conn.cursor() as cursor:
        if not _index_exists(cursor, conn):
            return []
        if conn.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [ENTRY_TABLE])
            present = {row[0] for row in cursor.fetchall()}
            missing_fts = [name for name in FTS_TRIGGERS_SQLITE if name not in present]
            for name in missing_fts:
                cursor.execute(FTS_TRIGGERS_SQLITE[name])
            if missing_fts:
                cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        existing = _existing_triggers(cursor, conn)
        tables = set(conn.introspection.table_names(cursor))
        expected: set[str] = set()
        for kind in indexed_kinds():
            if kind.table not in tables:
                continue  # the owning app is not migrated yet (migrating app by app)
            # Triggers and re-index in one transaction: a kind never has triggers over a half-built index.
            with transaction.atomic(using=conn.alias):
                if conn.vendor == "sqlite":
                    statements = _sqlite_triggers(kind, conn)
                    expected.update(statements)
                    missing = [name for name in statements if name not in existing]
                    for name in missing:
                        cursor.execute(statements[name])
                else:
                    name, statements_list = _postgres_trigger(kind, conn)
                    expected.add(name)
                    missing = [name] if name not in existing else []
                    if missing:
                        for statement in statements_list:
                            cursor.execute(statement)
                if missing:
                    _reindex_kind(cursor, kind, conn)
                    repaired.append(kind.kind)
        for name, table in existing.items():
            if name not in expected and name.startswith(TRIGGER_PREFIX):
                quote = conn.ops.quote_name
                if conn.vendor == "sqlite":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {quote(name)}")
                else:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {quote(name)} ON {quote(table)}")
                    cursor.execute(f"DROP FUNCTION IF EXISTS {quote(name)}()")
    return repaired


def _reindex_kind(cursor, kind: IndexedKind, conn) -> None:
    cursor.execute(f"DELETE FROM {ENTRY_TABLE} WHERE kind = %s", [kind.kind])
    cursor.execute(_select_rows_sql(kind, conn))


def rebuild_index(conn=None) -> dict[str, int]:
    """Re-index every registered kind from its rows (the ``search_reindex`` command): {kind: rows indexed}."""
    from django.db import transaction

    conn = conn or connection
    ensure_index(conn)
    counts: dict[str, int] = {}
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        if not _index_exists(cursor, conn):
            return counts
        registered = [k.kind for k in indexed_kinds()]
        marks = ", ".join(["%s"] * len(registered)) or "''"
        cursor.execute(f"DELETE FROM {ENTRY_TABLE} WHERE kind NOT IN ({marks})", registered)
        for kind in indexed_kinds():
            _reindex_kind(cursor, kind, conn)
            cursor.execute(f"SELECT count(*) FROM {ENTRY_TABLE} WHERE kind = %s", [kind.kind])
            counts[kind.kind] = cursor.fetchone()[0]
        if conn.vendor == "sqlite":
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
    return counts


class bulk_indexing:
    """Around a large insert into ``table``: on SQLite the per-row insert triggers of its kinds (and the FTS
    one) are dropped and the new rows indexed by one INSERT ... SELECT afterwards, several times faster for
    100,000 rows. Must run inside the writing transaction, which holds SQLite's write lock: no other connection
    writes while the triggers are away, and a rollback restores them. ``after_id``: every row inserted inside
    has a larger id."""

    def __init__(self, *, table: str, after_id: int, enabled: bool = True, conn=None):
        self.conn = conn or connection
        self.after_id = after_id
        self.kinds = [k for k in indexed_kinds() if k.table == table]
        self.active = False
        if enabled and self.conn.vendor == "sqlite" and self.kinds:
            with self.conn.cursor() as cursor:
                existing = _existing_triggers(cursor, self.conn)
            self.active = all(trigger_names(k)["insert"] in existing for k in self.kinds)

    def __enter__(self):
        if self.active:
            with self.conn.cursor() as cursor:
                for kind in self.kinds:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {trigger_names(kind)['insert']}")
                cursor.execute("DROP TRIGGER IF EXISTS core_search_fts_ai")
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self.active:
            return False
        with self.conn.cursor() as cursor:
            if exc_type is None:
                for kind in self.kinds:
                    cursor.execute(_select_rows_sql(kind, self.conn, after_id=True), [self.after_id])
                    cursor.execute(
                        f"INSERT INTO {FTS_TABLE}(rowid, title, body, scope) SELECT id, title, body, scope "
                        f"FROM {ENTRY_TABLE} WHERE id > %s AND id <= %s ORDER BY id",
                        [
                            (kind_code(kind.kind) << ID_BITS) + self.after_id,
                            (kind_code(kind.kind) << ID_BITS) | OBJECT_MASK,
                        ],
                    )
            cursor.execute(FTS_TRIGGERS_SQLITE["core_search_fts_ai"])
            for kind in self.kinds:
                cursor.execute(_sqlite_triggers(kind, self.conn)[trigger_names(kind)["insert"]])
        return False


def optimize_index(conn=None) -> None:
    """Merge FTS5 segments after a large import (cheap insurance for query speed)."""
    conn = conn or connection
    if conn.vendor == "sqlite":
        with conn.cursor() as cursor:
            if _index_exists(cursor, conn):
                cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
