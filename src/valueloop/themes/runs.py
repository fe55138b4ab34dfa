"""Background work for themes: embed what customers said, place new items in themes, re-cluster,
and flag emerging themes. Called by the tasks (``tasks.py``), the scheduler and the demo; never by a
page directly (pages queue a task).

Invariants:
- Embedding is incremental: a source is embedded once per backend and text (``text_hash``); an
  edited text or a change of backend embeds again, nothing else does. Items that cannot be
  clustered keep a row with ``skip_reason`` (empty, too short, one word, not English, duplicate...)
  so the pages can say why they are not in a theme. Exact duplicates reuse their original's vector
  and follow its theme; they are left out of the clustering itself.
- New items join the nearest existing theme (``engines.themes.assign`` with its threshold) and the
  theme's centroid moves by a running mean; nothing else is recomputed. Items below the threshold
  wait, unassigned, for the next re-clustering.
- A re-clustering is computed entirely in memory from one ``ThemeState.revision`` and swapped in
  with ONE transaction, only if the revision did not move meanwhile (else it computes again, at most
  ``RECLUSTER_ATTEMPTS`` times). Theme ids and names survive through ``match_clusters``; PM-given
  names, pinned themes (all their items stay), PM-placed items and merged themes are never changed
  by it. Any failure records the run as failed and leaves the previous themes exactly as they were.
- Every run is recorded as a ``ThemeRun`` (kind, trigger, counts, timings, error).
- Theme writes for a workspace are serialised by locking its ``ThemeState`` row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from valueloop.core.money import format_money_compact

from .models import ItemEmbedding, Theme, ThemeAssignment, ThemeRun, ThemeState
from .text import check as text_check

logger = logging.getLogger(__name__)

EMBED_BATCH = 128
RECLUSTER_ATTEMPTS = 3
MIN_ITEMS_FOR_THEMES = 12  # fewer embedded items than this: no clustering yet
RECLUSTER_EVERY = dt.timedelta(hours=24)
RUN_HISTORY = dt.timedelta(days=30)
WINDOW_DAYS = 14
BASELINE_DAYS = 84
KEYPHRASE_CHARS = 1000  # per item, for keyphrases (the distinctive words are early in feedback)


# --- backends and vectors ------------------------------------------------------------------------


def embedding_backend():
    """The lexical backend in tests (fast) or when VALUELOOP_EMBEDDINGS=lexical; else the default
    (the packaged MiniLM model when importable)."""
    from valueloop.engines import embedding

    if getattr(settings, "MODE", "") == "test" or os.environ.get("VALUELOOP_EMBEDDINGS", "").strip() == "lexical":
        return embedding.lexical_backend()
    return embedding.default_backend()


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes | memoryview, dimension: int) -> np.ndarray:
    vector = np.frombuffer(bytes(data), dtype="<f4")
    if vector.size != dimension:
        raise ValueError(f"stored vector has {vector.size} values, expected {dimension}")
    return vector


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        norm = float(np.linalg.norm(matrix))
        return matrix / norm if norm > 1e-9 else matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.where(norms > 1e-9, matrix / np.maximum(norms, 1e-9), matrix).astype(np.float32)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def workspace_tz(workspace) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(getattr(workspace, "timezone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def money_formatter(workspace):
    """The workspace's compact money ("€1.2M" in en, "1,2 Mio. €" in de) for explanations and digests, which are
    written outside a page (so the workspace's currency and locale are passed, not taken from the page)."""
    currency, locale = workspace.currency, workspace.locale

    def fmt(amount: float) -> str:
        return format_money_compact(amount, currency, locale)

    return fmt


# --- bookkeeping ---------------------------------------------------------------------------------


def state_for(workspace, *, lock: bool = False) -> ThemeState:
    state, _ = ThemeState.objects.get_or_create(workspace=workspace)
    if lock:
        state = ThemeState.objects.select_for_update().get(pk=state.pk)
    return state


def bump_revision(workspace) -> int:
    """Called inside every transaction that changes themes or assignments."""
    state = state_for(workspace, lock=True)
    state.revision += 1
    state.save(update_fields=["revision"])
    return state.revision


def _start_run(workspace, kind: str, trigger: str, user, backend_name: str) -> ThemeRun:
    return ThemeRun.objects.create(
        workspace=workspace,
        kind=kind,
        trigger=trigger,
        status="running",
        started_by=user if getattr(user, "pk", None) else None,
        backend=backend_name,
        started_at=timezone.now(),
    )


def _finish_run(run: ThemeRun, status: str, started: float, *, counts: dict | None = None, error: str = "") -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    if counts is not None:
        run.counts = counts
    run.error = error[:4000]
    run.save(update_fields=["status", "finished_at", "duration_ms", "counts", "error"])


# --- sources -------------------------------------------------------------------------------------


@dataclass
class Source:
    kind: str  # feedback | highlight
    id: int
    text: str
    customer_id: int | None
    said_at: dt.datetime
    skip: str = ""  # a reason known before reading the text (no consent, detached)


def _feedback_sources(workspace, ids: Iterable[int] | None = None, *, missing_only: bool) -> list[Source]:
    from valueloop.feedback.facade import FeedbackItem

    query = FeedbackItem.objects.filter(workspace=workspace)
    if ids is not None:
        query = query.filter(pk__in=list(ids))
    if missing_only:
        query = query.exclude(
            pk__in=ItemEmbedding.objects.filter(workspace=workspace, source="feedback").values("feedback_id")
        )
    rows = query.order_by("id").values_list("id", "title", "text", "customer_id", "received_at")
    return [
        Source("feedback", pk, f"{title}. {text}" if title else text, customer_id, received)
        for pk, title, text, customer_id, received in rows.iterator(chunk_size=2000)
    ]


def _highlight_sources(workspace, *, missing_only: bool) -> list[Source]:
    from valueloop.research.facade import Highlight, plain_quote

    query = Highlight.objects.filter(workspace=workspace)
    if missing_only:
        query = query.exclude(
            pk__in=ItemEmbedding.objects.filter(workspace=workspace, source="highlight").values("highlight_id")
        )
    out = []
    for pk, text, detached, consent, customer_id, happened_on in query.order_by("id").values_list(
        "id", "text", "detached", "interview__consent", "interview__customer_id", "interview__happened_on"
    ):
        said_at = dt.datetime(happened_on.year, happened_on.month, happened_on.day, 12, tzinfo=dt.UTC)
        skip = "interview without consent" if not consent else "detached highlight" if detached else ""
        out.append(Source("highlight", pk, plain_quote(text) if not skip else "", customer_id, said_at, skip))
    return out


# --- embedding -----------------------------------------------------------------------------------


@dataclass
class EmbedCounts:
    embedded: int = 0
    skipped: Counter = field(default_factory=Counter)
    duplicates: int = 0
    truncated: int = 0
    unchanged: int = 0
    new_ids: list[int] = field(default_factory=list)  # ItemEmbedding ids embedded (or re-embedded) now

    def as_dict(self) -> dict:
        return {
            "embedded": self.embedded,
            "skipped": dict(self.skipped),
            "duplicates": self.duplicates,
            "truncated": self.truncated,
        }


def _existing_rows(workspace, sources: Sequence[Source]) -> dict[tuple[str, int], ItemEmbedding]:
    fb = [s.id for s in sources if s.kind == "feedback"]
    hl = [s.id for s in sources if s.kind == "highlight"]
    out: dict[tuple[str, int], ItemEmbedding] = {}
    for start in range(0, len(fb), 900):
        for row in ItemEmbedding.objects.filter(workspace=workspace, feedback_id__in=fb[start : start + 900]):
            out[("feedback", row.feedback_id)] = row
    for start in range(0, len(hl), 900):
        for row in ItemEmbedding.objects.filter(workspace=workspace, highlight_id__in=hl[start : start + 900]):
            out[("highlight", row.highlight_id)] = row
    return out


def _originals(workspace, hashes: set[str], backend_name: str) -> dict[str, ItemEmbedding]:
    """The first clusterable row per text hash (duplicates point at it)."""
    out: dict[str, ItemEmbedding] = {}
    listed = sorted(hashes)
    for start in range(0, len(listed), 900):
        for row in (
            ItemEmbedding.objects.filter(
                workspace=workspace, text_hash__in=listed[start : start + 900], skip_reason="", backend=backend_name
            )
            .only("id", "text_hash", "vector", "dimension")
            .order_by("id")
        ):
            out.setdefault(row.text_hash, row)
    return out


def _unchanged(row: ItemEmbedding, digest: str, reason: str, backend_name: str) -> bool:
    if row.text_hash != digest or row.backend != backend_name:
        return False
    if row.skip_reason == reason:
        return True
    return reason == "" and row.skip_reason == "duplicate" and row.duplicate_of_id is not None


def embed_sources(workspace, sources: Sequence[Source], backend, counts: EmbedCounts) -> None:
    """Embed (or re-embed) these sources; rows whose text and backend did not change only get their
    facts (customer, date) refreshed. Vectors are computed outside any transaction; each batch is
    then written in one transaction under the workspace's theme lock."""
    from valueloop.engines import themes as engine

    for start in range(0, len(sources), EMBED_BATCH):
        batch = sources[start : start + EMBED_BATCH]
        existing = _existing_rows(workspace, batch)
        work: list[tuple[Source, str, str, str, bool]] = []  # source, text, digest, reason, truncated
        touched: list[ItemEmbedding] = []  # unchanged rows whose facts changed
        for source in batch:
            if source.skip:
                text, reason, truncated = "", source.skip, False
            else:
                p = engine.prepare(source.text)
                text, truncated = p.text, p.truncated
                reason = p.skip_reason or text_check(p.text) or ""
            digest = text_hash(text)
            row = existing.get((source.kind, source.id))
            if row is not None and _unchanged(row, digest, reason, backend.name):
                counts.unchanged += 1
                if row.customer_id != source.customer_id or row.said_at != source.said_at:
                    row.customer_id, row.said_at = source.customer_id, source.said_at
                    touched.append(row)
                continue
            work.append((source, text, digest, reason, truncated))
        # One vector per distinct clusterable text of the batch.
        wanted = list(dict.fromkeys(digest for _, _, digest, reason, _ in work if not reason))
        known = _originals(workspace, set(wanted), backend.name)
        texts = {digest: text for _, text, digest, reason, _ in work if not reason}
        fresh = [d for d in wanted if d not in known]
        vectors: dict[str, np.ndarray] = {}
        if fresh:
            matrix = np.asarray(backend.embed([texts[d] for d in fresh]), dtype=np.float32)
            if matrix.shape[0] != len(fresh):
                raise ValueError(f"the embedding backend returned {matrix.shape[0]} vectors for {len(fresh)} texts")
            vectors = dict(zip(fresh, matrix, strict=True))
        with transaction.atomic():
            state_for(workspace, lock=True)
            # Another run may have written some of these sources meanwhile: update theirs, never duplicate.
            current = _existing_rows(workspace, [w[0] for w in work])
            firsts: dict[str, ItemEmbedding] = dict(known)
            new_rows: list[ItemEmbedding] = []
            old_rows: list[ItemEmbedding] = []
            now = timezone.now()
            for source, _text, digest, reason, truncated in work:
                row = current.get((source.kind, source.id))
                is_new = row is None
                if row is None:
                    row = ItemEmbedding(
                        workspace=workspace,
                        source=source.kind,
                        feedback_id=source.id if source.kind == "feedback" else None,
                        highlight_id=source.id if source.kind == "highlight" else None,
                    )
                row.customer_id, row.said_at, row.updated_at = source.customer_id, source.said_at, now
                row.text_hash, row.truncated, row.backend = digest, truncated, backend.name
                row.skip_reason, row.duplicate_of, row.vector, row.dimension = reason, None, b"", 0
                counts.truncated += int(truncated)
                if not reason:
                    original = firsts.get(digest)
                    vector = vectors.get(digest)
                    itself = original is not None and (
                        original is row or (original.pk is not None and original.pk == row.pk)
                    )
                    if itself:  # re-checked, and still the original of its text
                        row.vector, row.dimension = bytes(original.vector), original.dimension
                        firsts[digest] = row
                    elif original is not None:
                        row.skip_reason, row.duplicate_of = "duplicate", original
                        row.vector, row.dimension = bytes(original.vector), original.dimension
                        counts.duplicates += 1
                    elif vector is not None and float(np.linalg.norm(vector)) < 1e-6:
                        row.skip_reason = "no usable words"
                    elif vector is not None:
                        row.vector, row.dimension = to_bytes(vector), int(vector.shape[0])
                        counts.embedded += 1
                        firsts[digest] = row
                if row.skip_reason and row.skip_reason != "duplicate":
                    counts.skipped[row.skip_reason] += 1
                (new_rows if is_new else old_rows).append(row)
            # Originals first, so that duplicates can point at them.
            originals_new = [r for r in new_rows if r.skip_reason != "duplicate"]
            ItemEmbedding.objects.bulk_create(originals_new, batch_size=500)
            for row in [*new_rows, *old_rows]:
                if row.duplicate_of is not None:
                    row.duplicate_of_id = row.duplicate_of.pk
            ItemEmbedding.objects.bulk_create([r for r in new_rows if r.skip_reason == "duplicate"], batch_size=500)
            fields = [
                "customer",
                "said_at",
                "text_hash",
                "truncated",
                "duplicate_of",
                "backend",
                "dimension",
                "vector",
                "skip_reason",
                "updated_at",
            ]
            if old_rows:
                ItemEmbedding.objects.bulk_update(old_rows, fields, batch_size=500)
                # An item that can no longer be clustered (consent withdrawn, emptied) leaves its theme.
                gone = [r.pk for r in old_rows if r.skip_reason not in ("", "duplicate")]
                if gone:
                    ThemeAssignment.objects.filter(item_id__in=gone).delete()
            if touched:
                ItemEmbedding.objects.bulk_update(touched, ["customer", "said_at"], batch_size=500)
            counts.new_ids.extend(r.pk for r in [*new_rows, *old_rows] if r.skip_reason in ("", "duplicate"))


def embed_pending(
    workspace,
    backend,
    *,
    feedback_ids: Iterable[int] | None = None,
    full: bool = False,
    only_feedback: Iterable[int] | None = None,
) -> EmbedCounts:
    """Embed every source without a row (feedback items and interview highlights), rows of another
    backend, and the given feedback items (edited: embedded again when their text changed). ``full``
    (re-clusterings) also re-checks every highlight: consent given or withdrawn, notes edited.
    ``only_feedback`` limits the feedback items without a row to those ids; the others wait for the
    worker's next scan (``scheduler``), which embeds and assigns them."""
    counts = EmbedCounts()
    sources = _feedback_sources(workspace, only_feedback, missing_only=True)
    if feedback_ids:
        listed = {s.id for s in sources}
        sources += _feedback_sources(workspace, [i for i in feedback_ids if i not in listed], missing_only=False)
    stale = ItemEmbedding.objects.filter(workspace=workspace).exclude(backend=backend.name)
    stale_fb = list(stale.filter(source="feedback").values_list("feedback_id", flat=True)[:50000])
    if stale_fb:
        sources += _feedback_sources(workspace, stale_fb, missing_only=False)
    if full or stale.filter(source="highlight").exists():
        sources += _highlight_sources(workspace, missing_only=False)
    else:
        sources += _highlight_sources(workspace, missing_only=True)
    embed_sources(workspace, sources, backend, counts)
    return counts


def refresh_facts(workspace) -> None:
    """Copy customer and date from the sources again (an account assigned in bulk, a date fixed)."""
    from valueloop.feedback.facade import FeedbackItem

    source = FeedbackItem.objects.filter(pk=OuterRef("feedback_id"))
    ItemEmbedding.objects.filter(workspace=workspace, source="feedback").update(
        customer_id=Subquery(source.values("customer_id")[:1]),
        said_at=Subquery(source.values("received_at")[:1]),
    )


# --- loading vectors -----------------------------------------------------------------------------


@dataclass
class Corpus:
    ids: list[int]  # ItemEmbedding ids of clusterable items, in matrix order
    matrix: np.ndarray  # (n, d) float32, rows L2-normalised
    theme_of: dict[int, int]  # item id -> current theme id (active themes only)
    placed_by: dict[int, str]
    duplicates: dict[int, int]  # duplicate item id -> original item id


def load_corpus(workspace, backend_name: str) -> Corpus:
    rows = (
        ItemEmbedding.objects.filter(workspace=workspace, backend=backend_name, skip_reason__in=["", "duplicate"])
        .exclude(dimension=0)
        .order_by("id")
        .values_list(
            "id",
            "vector",
            "dimension",
            "skip_reason",
            "duplicate_of_id",
            "assignment__theme_id",
            "assignment__placed_by",
            "assignment__theme__status",
        )
    )
    ids: list[int] = []
    vectors: list[np.ndarray] = []
    theme_of: dict[int, int] = {}
    placed_by: dict[int, str] = {}
    duplicates: dict[int, int] = {}
    dimension = 0
    for pk, vector, dim, reason, duplicate_of, theme_id, placed, status in rows.iterator(chunk_size=2000):
        if theme_id is not None and status == "active":
            theme_of[pk] = theme_id
            placed_by[pk] = placed
        if reason == "duplicate" and duplicate_of is not None:
            duplicates[pk] = duplicate_of
            continue
        if dimension and dim != dimension:
            continue  # a half-finished change of model: the next run embeds it again
        dimension = dim
        ids.append(pk)
        vectors.append(from_bytes(vector, dim))
    matrix = _normalise(np.vstack(vectors)) if vectors else np.zeros((0, dimension or 1), dtype=np.float32)
    return Corpus(ids, matrix, theme_of, placed_by, duplicates)


def _texts_for(item_ids: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    ids = list(item_ids)
    for start in range(0, len(ids), 900):
        for pk, title, text, highlight in ItemEmbedding.objects.filter(pk__in=ids[start : start + 900]).values_list(
            "id", "feedback__title", "feedback__text", "highlight__text"
        ):
            body = f"{title}. {text}" if title else (text or highlight or "")
            out[pk] = body[:KEYPHRASE_CHARS]
    return out


# --- incremental assignment ----------------------------------------------------------------------


def _centroids(workspace, backend_name: str) -> tuple[list[Theme], np.ndarray]:
    active = Theme.objects.filter(workspace=workspace, status="active", backend=backend_name)
    themes = list(active.exclude(centroid=b"").order_by("id"))
    if not themes:
        return [], np.zeros((0, 1), dtype=np.float32)
    dims = {len(bytes(t.centroid)) // 4 for t in themes}
    if len(dims) != 1:
        return [], np.zeros((0, 1), dtype=np.float32)
    dim = dims.pop()
    return themes, np.vstack([from_bytes(t.centroid, dim) for t in themes])


def assign_items(workspace, item_ids: Sequence[int], backend_name: str) -> dict:
    """Place these (just embedded) items in the nearest theme; the rest wait for re-clustering.
    Engine-placed items among them are placed again (their text changed); PM-placed ones stay."""
    from valueloop.engines import themes as engine

    counts = {"assigned": 0, "waiting": 0}
    if not item_ids:
        return counts
    with transaction.atomic():
        state_for(workspace, lock=True)
        themes, centroids = _centroids(workspace, backend_name)
        rows = list(
            ItemEmbedding.objects.filter(workspace=workspace, pk__in=list(item_ids), backend=backend_name)
            .exclude(dimension=0)
            .select_related("assignment")
            .only("id", "vector", "dimension", "skip_reason", "duplicate_of_id", "assignment")
        )
        now = timezone.now()
        movable = []
        for row in rows:
            assignment = getattr(row, "assignment", None)
            if assignment is not None:
                # PM placements stay; an engine placement is redone only against themes of this
                # backend (after a change of model the old placement holds until the re-clustering).
                if assignment.placed_by == "pm" or not themes:
                    continue
                assignment.delete()
            movable.append(row)
        if not movable:
            return counts
        by_original = {}
        originals = [r.duplicate_of_id for r in movable if r.skip_reason == "duplicate" and r.duplicate_of_id]
        if originals:
            by_original = dict(
                ThemeAssignment.objects.filter(item_id__in=originals, theme__status="active").values_list(
                    "item_id", "theme_id"
                )
            )
        index = {t.pk: i for i, t in enumerate(themes)}
        new: list[ThemeAssignment] = []
        sums: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(centroids.shape[1], dtype=np.float64))
        sizes: Counter = Counter()
        plain = [r for r in movable if r.skip_reason == ""]
        if plain and themes:
            matrix = _normalise(np.vstack([from_bytes(r.vector, r.dimension) for r in plain]))
            if matrix.shape[1] == centroids.shape[1]:
                # The cut-off depends on the model: lexical vectors sit much lower than sentence-model ones.
                threshold = engine.assign_threshold(plain[0].backend)
                labels, sims = engine.assign(matrix, centroids, threshold=threshold)
                for row, vector, label, sim in zip(plain, matrix, labels, sims, strict=True):
                    if label < 0:
                        continue
                    theme = themes[int(label)]
                    new.append(
                        ThemeAssignment(
                            workspace=workspace, item=row, theme=theme, similarity=float(sim), assigned_at=now
                        )
                    )
                    sums[theme.pk] += vector
                    sizes[theme.pk] += 1
        for row in movable:
            if row.skip_reason == "duplicate" and row.duplicate_of_id in by_original:
                theme_id = by_original[row.duplicate_of_id]
                new.append(
                    ThemeAssignment(workspace=workspace, item=row, theme_id=theme_id, similarity=1.0, assigned_at=now)
                )
                sizes[theme_id] += 1
        ThemeAssignment.objects.bulk_create(new, batch_size=500)
        counts["assigned"] = len(new)
        counts["waiting"] = len(movable) - len(new)
        if new:
            changed = []
            for theme in Theme.objects.filter(pk__in=list(sizes)).order_by("id"):
                if theme.pk in sums and theme.pk in index:
                    # Running mean: the centroid moves toward the newcomers in proportion to their number.
                    old = centroids[index[theme.pk]].astype(np.float64) * max(theme.size, 1)
                    theme.centroid = to_bytes(_normalise((old + sums[theme.pk]).astype(np.float32)))
                theme.size = theme.size + sizes[theme.pk]
                changed.append(theme)
            Theme.objects.bulk_update(changed, ["centroid", "size"])
            bump_revision(workspace)
    return counts


def process_new_items(
    workspace, *, feedback_ids: Iterable[int] | None = None, trigger: str = "arrival", backend=None, user=None
) -> ThemeRun | None:
    """Embed what is new (or edited) and place it in themes. Records a run only when there was work;
    a failure is recorded and leaves everything as it was."""
    backend = backend or embedding_backend()
    started = time.monotonic()
    run = None
    try:
        counts = embed_pending(workspace, backend, feedback_ids=feedback_ids)
        if not counts.new_ids and not counts.skipped and not counts.duplicates:
            return None
        run = _start_run(workspace, "incremental", trigger, user, backend.name)
        placed = assign_items(workspace, counts.new_ids, backend.name)
        result = {**counts.as_dict(), **placed}
        _finish_run(run, "succeeded", started, counts=result)
        if placed["assigned"]:
            refresh_emerging(workspace)
    except Exception as exc:  # recorded, never raised into the worker loop twice
        logger.exception("themes: incremental run failed for workspace %s", workspace.pk)
        run = run or _start_run(workspace, "incremental", trigger, user, getattr(backend, "name", ""))
        _finish_run(run, "failed", started, error=f"{type(exc).__name__}: {exc}")
        return run
    _maybe_schedule_recluster(workspace)
    return run


def _maybe_schedule_recluster(workspace) -> None:
    """Ask for a re-clustering soon when there are no themes yet, or many items wait unassigned."""
    state = state_for(workspace)
    clusterable = ItemEmbedding.objects.filter(workspace=workspace, skip_reason="").exclude(dimension=0)
    waiting = clusterable.filter(assignment__isnull=True).count()
    assigned = ThemeAssignment.objects.filter(workspace=workspace).count()
    has_themes = Theme.objects.filter(workspace=workspace, status="active").exists()
    soon = timezone.now() + dt.timedelta(minutes=2)
    due = (not has_themes and waiting >= MIN_ITEMS_FOR_THEMES) or waiting > max(50, assigned // 5)
    if due and (state.next_recluster_at is None or state.next_recluster_at > soon):
        ThemeState.objects.filter(pk=state.pk).update(next_recluster_at=soon)


# --- re-clustering -------------------------------------------------------------------------------


@dataclass
class Plan:
    revision: int
    corpus: Corpus
    assignments: dict[int, tuple[int | str, float]]  # item id -> (theme id or "new:<k>", similarity)
    keep: dict[int, dict]  # theme id -> fields to update
    create: dict[str, dict]  # "new:<k>" -> fields of a new theme
    archive: list[int]
    counts: dict


class ThemesChanged(Exception):
    """The themes changed while a re-clustering was computing (it computes again)."""


def plan_recluster(workspace, backend_name: str, *, seed: int = 0) -> Plan:
    """Everything a re-clustering will write, computed in memory; nothing is written here."""
    from valueloop.engines import themes as engine

    revision = state_for(workspace).revision
    corpus = load_corpus(workspace, backend_name)
    active = {t.pk: t for t in Theme.objects.filter(workspace=workspace, status="active").order_by("id")}
    n = len(corpus.ids)
    theme_ids = sorted(active)
    position = {tid: i for i, tid in enumerate(theme_ids)}
    old_labels = np.full(n, -1, dtype=np.int64)
    fixed = np.full(n, -1, dtype=np.int64)
    for i, pk in enumerate(corpus.ids):
        tid = corpus.theme_of.get(pk)
        if tid is None or tid not in position:
            continue
        old_labels[i] = position[tid]
        if corpus.placed_by.get(pk) == "pm" or active[tid].pinned:
            fixed[i] = position[tid]
    if n < MIN_ITEMS_FOR_THEMES and not (fixed >= 0).any():
        labels = np.full(n, -1, dtype=np.int64)
        k = 0
    else:
        clustering = engine.cluster(corpus.matrix, seed=seed, fixed=fixed if (fixed >= 0).any() else None)
        labels, k = np.asarray(clustering.labels, dtype=np.int64), int(clustering.k)
        if labels.shape != (n,):
            raise ValueError(f"the clustering returned {labels.shape} labels for {n} items")
    # New label -> theme: fixed groups first, then the engine's overlap matching, then PM-named themes
    # by their best remaining overlap; whatever is left becomes a new theme.
    owner: dict[int, int] = {}
    claimed: set[int] = set()
    for label in range(k):
        members = fixed[(labels == label) & (fixed >= 0)]
        if members.size:
            tid = theme_ids[int(Counter(members.tolist()).most_common(1)[0][0])]
            if tid not in claimed:
                owner[label], claimed = tid, claimed | {tid}
    for new, old in engine.match_clusters(old_labels, labels).items():
        tid = theme_ids[int(old)]
        if new not in owner and tid not in claimed:
            owner[int(new)], claimed = tid, claimed | {tid}
    for tid in theme_ids:
        theme = active[tid]
        if tid in claimed or not theme.name_set_by_pm:
            continue
        mine = old_labels == position[tid]
        best, best_jaccard = None, 0.2
        for label in range(k):
            if label in owner:
                continue
            theirs = labels == label
            union = int((mine | theirs).sum())
            jaccard = int((mine & theirs).sum()) / union if union else 0.0
            if jaccard >= best_jaccard:
                best, best_jaccard = label, jaccard
        if best is not None:
            owner[best], claimed = tid, claimed | {tid}
    final = np.full(n, -1, dtype=np.int64)  # index into `groups`
    groups: list[int | str] = []
    group_of: dict[int | str, int] = {}

    def group(key: int | str) -> int:
        if key not in group_of:
            group_of[key] = len(groups)
            groups.append(key)
        return group_of[key]

    for label in range(k):
        key = owner.get(label, f"new:{label}")
        final[labels == label] = group(key)
    for i in np.flatnonzero(fixed >= 0):  # PM-placed and pinned items never move
        final[i] = group(theme_ids[int(fixed[i])])
    keys_with_items = {groups[g] for g in np.unique(final[final >= 0]).tolist()}
    centroids = np.zeros((len(groups), corpus.matrix.shape[1]), dtype=np.float32)
    for g in range(len(groups)):
        members = corpus.matrix[final == g]
        if len(members):
            centroids[g] = _normalise(members.sum(axis=0))
    sims = np.zeros(n, dtype=np.float32)
    placed = final >= 0
    if placed.any():
        sims[placed] = np.einsum("ij,ij->i", corpus.matrix[placed], centroids[final[placed]])
    texts = _texts_for([corpus.ids[i] for i in np.flatnonzero(placed)])
    text_list = [texts.get(pk, "") if final[i] >= 0 else "" for i, pk in enumerate(corpus.ids)]
    phrases = engine.keyphrases(text_list, final) if placed.any() else {}
    reps = engine.representatives(corpus.matrix, final, centroids) if placed.any() else {}
    assignments: dict[int, tuple[int | str, float]] = {}
    for i, pk in enumerate(corpus.ids):
        # PM-placed rows are kept as they are; every other placement (pinned themes' items too) is
        # written again, since the swap replaces all engine placements.
        if final[i] >= 0 and corpus.placed_by.get(pk) != "pm":
            assignments[pk] = (groups[int(final[i])], float(sims[i]))
    for duplicate, original in corpus.duplicates.items():
        if corpus.placed_by.get(duplicate) == "pm":
            continue
        if original in assignments:
            assignments[duplicate] = (assignments[original][0], 1.0)
        elif original in corpus.theme_of and corpus.placed_by.get(original) == "pm":
            assignments[duplicate] = (corpus.theme_of[original], 1.0)
    sizes = Counter(key for key, _ in assignments.values())
    for pk, tid in corpus.theme_of.items():
        if corpus.placed_by.get(pk) == "pm" and pk not in assignments:
            sizes[tid] += 1
    keep: dict[int, dict] = {}
    create: dict[str, dict] = {}
    for g, key in enumerate(groups):
        kp = [str(p) for p in phrases.get(g, [])]
        fields = {
            "keyphrases": kp,
            "representatives": [corpus.ids[i] for i in reps.get(g, [])],
            "centroid": to_bytes(centroids[g]),
            "size": sizes.get(key, 0),
            "auto_name": engine.theme_name(kp)[:120],
        }
        if isinstance(key, str):
            if key in keys_with_items:
                create[key] = fields
        else:
            keep[key] = fields
    archive = [tid for tid in theme_ids if tid not in keep and not active[tid].pinned]
    for tid in theme_ids:  # pinned themes without items stay as they are
        if tid not in keep and active[tid].pinned:
            keep[tid] = {"size": 0}
    counts = {
        "items": n + len(corpus.duplicates),
        "clustered": int(placed.sum()),
        "unassigned": int(n - placed.sum()),
        "fixed": int((fixed >= 0).sum()),
        "themes_before": len(active),
        "themes_after": len(keep) + len(create),
        "kept": len([t for t in keep if t in active and keep[t].get("centroid")]),
        "new": len(create),
        "archived": len(archive),
        "k": k,
    }
    return Plan(revision, corpus, assignments, keep, create, archive, counts)


def apply_plan(workspace, plan: Plan, backend_name: str) -> dict:
    """Swap a plan in: ONE transaction; refuses (ThemesChanged) when the revision moved."""
    with transaction.atomic():
        state = state_for(workspace, lock=True)
        if state.revision != plan.revision:
            raise ThemesChanged()
        now = timezone.now()
        themes = {t.pk: t for t in Theme.objects.filter(workspace=workspace, pk__in=list(plan.keep))}
        updated = []
        for tid, fields in plan.keep.items():
            theme = themes.get(tid)
            if theme is None or theme.status != "active":
                raise ThemesChanged()
            if "centroid" in fields:
                theme.keyphrases = fields["keyphrases"]
                theme.representatives = fields["representatives"]
                theme.centroid = fields["centroid"]
                theme.backend = backend_name
                if not theme.name_set_by_pm:
                    theme.name = fields["auto_name"]
            theme.size = fields["size"]
            theme.updated_at = now
            updated.append(theme)
        Theme.objects.bulk_update(
            updated, ["keyphrases", "representatives", "centroid", "backend", "name", "size", "updated_at"]
        )
        created: dict[str, Theme] = {}
        for key, fields in plan.create.items():
            created[key] = Theme(
                workspace=workspace,
                name=fields["auto_name"],
                keyphrases=fields["keyphrases"],
                representatives=fields["representatives"],
                centroid=fields["centroid"],
                backend=backend_name,
                size=fields["size"],
            )
        Theme.objects.bulk_create(list(created.values()))
        if plan.archive:
            Theme.objects.filter(workspace=workspace, pk__in=plan.archive, status="active").update(
                status="archived", size=0, emerging=False, updated_at=now
            )
        ThemeAssignment.objects.filter(workspace=workspace, placed_by="engine").delete()
        ThemeAssignment.objects.bulk_create(
            [
                ThemeAssignment(
                    workspace=workspace,
                    item_id=item_id,
                    theme_id=created[key].pk if isinstance(key, str) else key,
                    similarity=similarity,
                    placed_by="engine",
                    assigned_at=now,
                )
                for item_id, (key, similarity) in plan.assignments.items()
            ],
            batch_size=1000,
        )
        state.revision += 1
        state.last_recluster_at = now
        state.next_recluster_at = now + RECLUSTER_EVERY
        state.save(update_fields=["revision", "last_recluster_at", "next_recluster_at"])
        return {**plan.counts, "created_ids": [t.pk for t in created.values()]}


def recluster(
    workspace,
    *,
    trigger: str = "schedule",
    user=None,
    backend=None,
    seed: int = 0,
    only_feedback: Iterable[int] | None = None,
) -> ThemeRun:
    """Embed what is pending, re-cluster everything embedded, swap the result in. Never raises: a failure
    is recorded on the run and the previous themes stay untouched. ``only_feedback``: see ``embed_pending``
    (the large demo clusters its own items and leaves a bulk load to the worker)."""
    backend = backend or embedding_backend()
    started = time.monotonic()
    run = _start_run(workspace, "recluster", trigger, user, backend.name)
    try:
        refresh_facts(workspace)
        embedded = embed_pending(workspace, backend, full=True, only_feedback=only_feedback)
        for _attempt in range(RECLUSTER_ATTEMPTS):
            plan = plan_recluster(workspace, backend.name, seed=seed)
            try:
                counts = apply_plan(workspace, plan, backend.name)
            except ThemesChanged:
                continue
            break
        else:
            raise RuntimeError("The themes kept changing while this re-clustering ran; it will run again later.")
        counts.pop("created_ids", None)
        _finish_run(run, "succeeded", started, counts={**counts, **embedded.as_dict()})
        # Runs for single arrivals pile up; the history keeps a month of them (re-clusterings stay).
        ThemeRun.objects.filter(
            workspace=workspace, kind="incremental", started_at__lt=timezone.now() - RUN_HISTORY
        ).delete()
    except Exception as exc:
        logger.exception("themes: re-clustering failed for workspace %s", workspace.pk)
        _finish_run(run, "failed", started, error=f"{type(exc).__name__}: {exc}")
        # Try again in an hour rather than a day: the failure may be transient.
        ThemeState.objects.filter(workspace=workspace).update(next_recluster_at=timezone.now() + dt.timedelta(hours=1))
        return run
    try:
        refresh_emerging(workspace)
    except Exception:  # the themes are swapped in; flags are refreshed again by the next run
        logger.exception("themes: emerging refresh failed for workspace %s", workspace.pk)
    return run


# --- emerging themes -----------------------------------------------------------------------------


def mentions_by_theme(workspace, *, today: dt.date, theme_ids: Iterable[int] | None = None) -> dict[int, list]:
    """Mentions (day, account, ARR) of active themes over the window and baseline, in the
    workspace's time zone; archived accounts count as accounts without ARR."""
    from valueloop.engines.emerging import Mention

    tz = workspace_tz(workspace)
    start = dt.datetime.combine(today - dt.timedelta(days=WINDOW_DAYS + BASELINE_DAYS), dt.time(), tzinfo=tz)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    themes = Theme.objects.filter(workspace=workspace, status="active")
    if theme_ids is not None:
        themes = themes.filter(pk__in=list(theme_ids))
    out: dict[int, list] = {pk: [] for pk in themes.values_list("id", flat=True)}
    rows = ThemeAssignment.objects.filter(
        workspace=workspace, theme_id__in=list(out), item__said_at__gte=start, item__said_at__lt=end
    ).values_list(
        "theme_id", "item__said_at", "item__customer_id", "item__customer__arr_base", "item__customer__archived_at"
    )
    for theme_id, said_at, customer_id, arr, archived in rows.iterator(chunk_size=5000):
        amount = 0.0 if (arr is None or archived is not None) else float(arr)
        out[theme_id].append(
            Mention(day=said_at.astimezone(tz).date(), account=str(customer_id) if customer_id else None, arr=amount)
        )
    return out


def detect_emerging(workspace, *, today: dt.date | None = None) -> list:
    from valueloop.engines.emerging import detect

    tz = workspace_tz(workspace)
    today = today or timezone.now().astimezone(tz).date()
    mentions = mentions_by_theme(workspace, today=today)
    return detect(
        mentions,
        today=today,
        window_days=WINDOW_DAYS,
        baseline_days=BASELINE_DAYS,
        money=money_formatter(workspace),
    )


def refresh_emerging(workspace, *, today: dt.date | None = None) -> int:
    """Flag emerging themes (with the engine's explanation); returns how many are emerging."""
    results = detect_emerging(workspace, today=today)
    now = timezone.now()
    themes = {t.pk: t for t in Theme.objects.filter(workspace=workspace, status="active")}
    changed = []
    for result in results:
        theme = themes.get(result.key)
        if theme is None:
            continue
        theme.emerging = result.emerging
        theme.emerging_explanation = result.explanation[:300]
        theme.emerging_stats = {
            "mentions": result.mentions,
            "accounts": result.accounts,
            "arr": round(result.arr, 2),
            "expected_mentions": round(result.expected_mentions, 3),
            "expected_accounts": round(result.expected_accounts, 3),
            "p_value": result.p_value,
            "q_value": result.q_value,
            "growth": round(result.growth, 3) if np.isfinite(result.growth) else None,
            # beyond the contract, when the engine reports them
            "p_mentions": getattr(result, "p_mentions", None),
            "p_accounts": getattr(result, "p_accounts", None),
            "window_days": WINDOW_DAYS,
            "baseline_days": BASELINE_DAYS,
        }
        theme.emerging_checked_at = now
        changed.append(theme)
    with transaction.atomic():
        Theme.objects.bulk_update(
            changed, ["emerging", "emerging_explanation", "emerging_stats", "emerging_checked_at"], batch_size=500
        )
    return sum(1 for t in changed if t.emerging)


def refresh_sizes(workspace, theme_ids: Iterable[int]) -> None:
    ids = list(theme_ids)
    sizes = dict(
        ThemeAssignment.objects.filter(workspace=workspace, theme_id__in=ids)
        .values("theme_id")
        .annotate(n=Count("id"))
        .values_list("theme_id", "n")
    )
    for pk in ids:
        Theme.objects.filter(pk=pk).update(size=sizes.get(pk, 0))


def recompute_centroids(workspace, theme_ids: Iterable[int]) -> None:
    """Mean of the members' vectors (after a person moved items between themes)."""
    for pk in theme_ids:
        rows = ItemEmbedding.objects.filter(workspace=workspace, assignment__theme_id=pk).exclude(dimension=0)
        vectors = [from_bytes(v, d) for v, d in rows.values_list("vector", "dimension").iterator(chunk_size=2000)]
        dims = {v.size for v in vectors}
        if not vectors or len(dims) != 1:
            continue
        centroid = _normalise(np.vstack(vectors).sum(axis=0))
        Theme.objects.filter(pk=pk).update(centroid=to_bytes(centroid), size=len(vectors))
