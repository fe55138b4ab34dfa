"""Themes: cluster embedded feedback without being told how many themes there are, then name and track them.

Pure functions over numpy arrays (no Django). Embeddings come from :mod:`valueloop.engines.embedding`; any
backend works as long as rows are L2-normalised (cosine similarity = dot product).

Method (:func:`cluster`)
------------------------
1. **Exact k-nearest-neighbour graph** (cosine; K from :func:`neighbours_for`: ``sqrt(n) / 9.5`` clipped to
   8..12, so 12 from ~13,000 items up), computed in row blocks of a float32 matmul with ``argpartition`` so
   memory stays ``O(block x n)`` (~64 MB at a time whatever n). Identical vectors are collapsed first
   (duplicates would otherwise fill each other's neighbour lists).
2. **Shared-nearest-neighbour weights**: the edge i-j (j among i's K neighbours, symmetrised) weighs the Jaccard
   overlap of the two items' neighbour sets (each item counted in its own set), as in PhenoGraph (Levine et al.
   2015). Items are tied by how much their neighbourhoods agree, not by raw cosine, which in a single-domain
   corpus is high between everything.
3. **Louvain modularity optimisation** (Blondel et al. 2008) at resolution 1: the number of themes is where
   modularity peaks, a property of the data; no k, no distance threshold. Nodes are visited in a seeded random
   order, so a run is deterministic given ``seed``.
4. **Spectral refinement**: per connected component, the leading eigenvectors of the normalised SNN adjacency
   ``D^-1/2 W D^-1/2`` (ARPACK; one per Louvain theme, at most ``SPECTRAL_MAX_DIMS`` = 48), rows L2-normalised,
   then k-means with k and the starting centroids taken from the Louvain themes. The leading eigenvectors keep the
   graph's block structure and drop its noise; k-means there moves the items Louvain's greedy moves left on the
   wrong side of a border. The count of themes still comes from step 3. Kept only if modularity drops by less
   than ``SPECTRAL_MAX_MODULARITY_LOSS`` (a guard against a failed eigen-solve). The cap of 48 bounds the cost at
   100,000 items; on BANKING77 (~100 Louvain themes) 48 to 50 eigenvectors also scored best (0.5 / 0.65 / 0.8 /
   1.0 x k: NMI 0.820 / 0.818 / 0.819 / 0.819 over three seeds, K = 15), a measured choice on one data set.
5. **Boundary clean-up**: a few rounds of weighted majority vote of each item's neighbours (cosine weights), then
   themes smaller than ``MIN_THEME_SIZE`` are dissolved into their nearest theme by centroid.

Why this method, measured on BANKING77 (13,083 texts, 77 intents, all-MiniLM-L6-v2 vectors; NMI / ARI / themes;
``bench/themes.py`` lists everything that was tried). Told k = 77, k-means scores 0.777 / 0.499. Without k:
k-means over-clustering merged by centroid average linkage 0.760 / 0.389 (74); Louvain on a cosine 10-NN graph
0.807 / 0.519 (58); Louvain on the 15-NN SNN graph 0.814 / 0.541 (~99, mean of 5 seeds); with the spectral
refinement and the vote 0.821 / 0.562 (~100); **with K = 12 0.823 / 0.569 (~111 themes; seeds 0, 1, 2:
0.824/0.574, 0.825/0.571, 0.820/0.562)**. Smoothing vectors with their neighbours, PCA whitening, removing top
principal components, pseudo-label LDA, hybrid lexical + model vectors, other resolutions and consensus over
seeds were all no better. Small sets: on 1,500 random texts (~20 per intent) it finds ~38 themes (NMI ~0.78);
on 600 texts of 10 intents ~20 themes (NMI ~0.81; k-means told k = 10: ~0.81): it errs towards splitting,
which a PM undoes with a merge.

Cost: the kNN search is O(n^2 d) flops but blocked (100,000 items: ~1-2 min of matmul on 2 cores); the SNN
graph and Louvain are O(n K); ARPACK on the sparse graph and k-means on at most 48 dimensions grow about
linearly in n (the spectral step is the largest part at 100,000 items).

Invariants
----------
* ``labels`` are ``0..k-1`` or ``-1`` (an item not placed: an all-zero embedding, i.e. a text without usable
  tokens). ``centroids`` are the L2-normalised means of each theme's members.
* ``fixed`` (int per item, ``-1`` = free) pins items the PM placed by hand: all items sharing a fixed value end up
  in one theme, different fixed values in different themes, and the fixed groups come first, in ascending order
  of their fixed value: the i-th smallest fixed value is label ``i``. Free items are clustered as above; a free
  item then joins a fixed group when that group's centroid is closer than its own theme's centroid, and a free
  theme whose centroid is within ``MERGE_FIXED_SIMILARITY`` of a fixed group's centroid is folded into it.
* Everything is deterministic given ``seed``.
* :func:`match_clusters` pairs new themes with old ones one-to-one by Jaccard overlap of their items, so that a
  re-clustering keeps theme ids and the names a PM gave them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = [
    "ASSIGN_THRESHOLD",
    "ASSIGN_THRESHOLDS",
    "K_NEIGHBOURS_MAX",
    "K_NEIGHBOURS_MIN",
    "MAX_CHARS",
    "MERGE_FIXED_SIMILARITY",
    "MIN_THEME_SIZE",
    "Clustering",
    "PreparedText",
    "assign",
    "assign_threshold",
    "cluster",
    "keyphrases",
    "knn",
    "louvain",
    "match_clusters",
    "modularity",
    "neighbours_for",
    "prepare",
    "representatives",
    "split",
    "theme_name",
]

MAX_CHARS = 2000  # the model reads at most 256 word pieces (~1,000 characters); the rest only costs tokenising
# Cosine below which assign() leaves a new item unplaced. Calibrated on BANKING77 clusters: with all-MiniLM-L6-v2
# 99 % of members are at >= 0.46 from their theme's centroid (median 0.81); lexical-v1 vectors are sparser and
# sit lower (5th percentile 0.20, median 0.49). Pass assign_threshold(backend.name) to assign().
ASSIGN_THRESHOLD = 0.45
ASSIGN_THRESHOLDS = {"all-MiniLM-L6-v2": 0.45, "lexical-v1": 0.2}
K_NEIGHBOURS_MIN = 8
K_NEIGHBOURS_MAX = 12
MIN_THEME_SIZE = 3
MERGE_FIXED_SIMILARITY = 0.9
SPECTRAL = True
VOTE = True
SPECTRAL_MAX_DIMS = 48  # eigenvectors: one per Louvain theme, at most this many (cost; see the docstring)
SPECTRAL_TOL = 1e-4
SPECTRAL_MAX_MODULARITY_LOSS = 0.03
_BLOCK_CELLS = 16_000_000  # similarity cells per block in knn(): 64 MB of float32

# Remnants of contractions ("didn't" -> "didn") and greetings: frequent in feedback, never a topic.
_EXTRA_STOP_WORDS = frozenset(
    [
        "aren",
        "couldn",
        "didn",
        "doesn",
        "don",
        "hadn",
        "hasn",
        "haven",
        "im",
        "isn",
        "ll",
        "shouldn",
        "ve",
        "wasn",
        "weren",
        "won",
        "wouldn",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "pls",
    ]
)
_WS = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]{2,}")


# --------------------------------------------------------------------------------------------------------------
# Input preparation
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedText:
    text: str  # whitespace normalised, control characters removed, truncated to MAX_CHARS
    skip_reason: str | None  # "empty" or "too short" (no word of two letters): not clustered
    truncated: bool


def prepare(text: str | None) -> PreparedText:
    """Normalise one feedback text for embedding; say why it cannot be clustered when it cannot."""
    text = "" if text is None else str(text)
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = _WS.sub(" ", text).strip()
    truncated = len(text) > MAX_CHARS
    if truncated:
        cut = text[:MAX_CHARS]
        space = cut.rfind(" ")
        text = cut[:space] if space > MAX_CHARS * 0.8 else cut
    if not text:
        return PreparedText("", "empty", False)
    if not _WORD.search(text):
        return PreparedText(text, "too short", truncated)
    return PreparedText(text, None, truncated)


# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray  # int64 per item, 0..k-1 or -1
    centroids: np.ndarray  # (k, d) float32, L2-normalised
    k: int


def _as_matrix(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :] if x.size else x.reshape(0, 0)
    return x


def _normalise(x: np.ndarray) -> np.ndarray:
    x = _as_matrix(x)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out = np.zeros_like(x)
    ok = norms[:, 0] > 1e-9
    out[ok] = x[ok] / norms[ok]
    return out


def _centroids(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    c = np.zeros((k, x.shape[1]), dtype=np.float64)
    ok = labels >= 0
    np.add.at(c, labels[ok], x[ok])
    return _normalise(c)


def _compact(labels: np.ndarray) -> np.ndarray:
    """Renumber labels >= 0 to 0..k-1 in order of first appearance of the sorted old labels; -1 stays."""
    out = np.full(len(labels), -1, dtype=np.int64)
    ok = labels >= 0
    if ok.any():
        _, inv = np.unique(labels[ok], return_inverse=True)
        out[ok] = inv
    return out


# --------------------------------------------------------------------------------------------------------------
# Graph
# --------------------------------------------------------------------------------------------------------------


def knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine k nearest neighbours of every row (itself excluded): (indices, similarities), best first.

    Rows of ``x`` must be L2-normalised. Blocked so that at most ``_BLOCK_CELLS`` similarities exist at once.
    """
    n = len(x)
    k = min(k, n - 1)
    idx_out = np.zeros((n, max(k, 0)), dtype=np.int64)
    sim_out = np.zeros((n, max(k, 0)), dtype=np.float32)
    if k <= 0:
        return idx_out, sim_out
    block = max(1, min(n, _BLOCK_CELLS // max(n, 1)))
    for start in range(0, n, block):
        stop = min(n, start + block)
        sims = x[start:stop] @ x.T
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        part_sims = np.take_along_axis(sims, part, axis=1)
        # Sort best first; ties broken by index for determinism.
        order = np.lexsort((part, -part_sims), axis=1)
        idx_out[start:stop] = np.take_along_axis(part, order, axis=1)
        sim_out[start:stop] = np.take_along_axis(part_sims, order, axis=1)
    return idx_out, sim_out


def _snn_graph(idx: np.ndarray) -> sparse.csr_matrix:
    """Symmetric graph on kNN edges weighted by the Jaccard overlap of the two neighbour sets (self included)."""
    n, k = idx.shape
    rows = np.repeat(np.arange(n), k)
    cols = idx.ravel()
    member = sparse.csr_matrix(
        (
            np.ones(n * (k + 1), dtype=np.float32),
            (np.repeat(np.arange(n), k + 1), np.hstack([np.arange(n)[:, None], idx]).ravel()),
        ),
        shape=(n, n),
    )
    shared = np.asarray(member[rows].multiply(member[cols]).sum(axis=1), dtype=np.float64).ravel()
    jaccard = shared / (2 * (k + 1) - shared)
    graph = sparse.csr_matrix((jaccard, (rows, cols)), shape=(n, n))
    graph = graph.maximum(graph.T).tocsr()
    graph.eliminate_zeros()
    return graph


def _local_moving(
    indptr: list[int],
    indices: list[int],
    weights: list[float],
    degree: list[float],
    total_weight: float,
    order: list[int],
    community: list[int],
    community_degree: list[float],
    resolution: float,
    max_sweeps: int = 50,
) -> bool:
    """Louvain phase 1: move single nodes to the neighbouring community with the best modularity gain.

    Plain Python over lists: a node has ~20 neighbours, where a dict beats numpy's per-call overhead 3-4 times.
    """
    moved_any = False
    for _ in range(max_sweeps):
        moved = 0
        for i in order:
            ci = community[i]
            ki = degree[i]
            links: dict[int, float] = {}
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                if j != i:
                    c = community[j]
                    links[c] = links.get(c, 0.0) + weights[p]
            if not links:
                continue
            community_degree[ci] -= ki
            factor = resolution * ki / total_weight
            best, best_gain = ci, links.get(ci, 0.0) - factor * community_degree[ci]
            for c, w in links.items():
                gain = w - factor * community_degree[c]
                if gain > best_gain + 1e-12 or (gain > best_gain - 1e-12 and c < best and best != ci):
                    best, best_gain = c, gain
            community_degree[best] += ki
            if best != ci:
                community[i] = best
                moved += 1
        if not moved:
            break
        moved_any = True
    return moved_any


def louvain(graph: sparse.spmatrix, *, seed: int = 0, resolution: float = 1.0, max_levels: int = 20) -> np.ndarray:
    """Louvain modularity communities of a symmetric weighted graph: labels 0..k-1 (deterministic per seed)."""
    a = sparse.csr_matrix(graph, dtype=np.float64)
    n0 = a.shape[0]
    labels = np.arange(n0)
    if n0 == 0:
        return labels.astype(np.int64)
    rng = np.random.default_rng(seed)
    for _ in range(max_levels):
        n = a.shape[0]
        degree = np.asarray(a.sum(axis=1)).ravel()
        total = float(degree.sum())
        if total <= 0:
            break
        community = list(range(n))
        community_degree = degree.tolist()
        moved = _local_moving(
            a.indptr.tolist(),
            a.indices.tolist(),
            a.data.tolist(),
            degree.tolist(),
            total,
            rng.permutation(n).tolist(),
            community,
            community_degree,
            resolution,
        )
        uniq, comm = np.unique(np.asarray(community), return_inverse=True)
        if not moved or len(uniq) == n:
            break
        labels = comm[labels]
        member = sparse.csr_matrix((np.ones(n), (np.arange(n), comm)), shape=(n, len(uniq)))
        a = (member.T @ a @ member).tocsr()
    return _compact(labels)


def _vote(idx: np.ndarray, sims: np.ndarray, labels: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Each item takes the label with the largest summed cosine among itself (weight 1) and its neighbours."""
    n, k = idx.shape
    if k == 0:
        return labels
    w = np.maximum(sims, 0.0).astype(np.float64)
    for _ in range(rounds):
        kk = int(labels.max()) + 1
        score = sparse.csr_matrix(
            (
                np.concatenate([w.ravel(), np.ones(n)]),
                (
                    np.concatenate([np.repeat(np.arange(n), k), np.arange(n)]),
                    np.concatenate([labels[idx].ravel(), labels]),
                ),
            ),
            shape=(n, kk),
        )
        new = np.asarray(score.argmax(axis=1)).ravel()
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def modularity(graph: sparse.spmatrix, labels: np.ndarray, *, resolution: float = 1.0) -> float:
    """Newman-Girvan modularity of a partition of a symmetric weighted graph."""
    a = sparse.coo_matrix(graph)
    total = float(a.data.sum())
    if total <= 0:
        return 0.0
    inside = float(a.data[labels[a.row] == labels[a.col]].sum())
    degree = np.asarray(sparse.csr_matrix(graph).sum(axis=1)).ravel()
    per_label = np.bincount(labels, weights=degree)
    return inside / total - resolution * float((per_label**2).sum()) / total**2


def _spectral_refine(graph: sparse.csr_matrix, labels: np.ndarray, seed: int) -> np.ndarray:
    """Re-partition in the graph's leading spectral embedding with k-means started from the Louvain themes.

    The top eigenvectors of the normalised adjacency ``D^-1/2 W D^-1/2`` carry the graph's block structure and
    leave out its noise; k-means there (k = the number of Louvain themes, started from their centroids, so k and
    the starting point both come from Louvain) moves items that modularity's greedy moves left on the wrong side.
    Done per connected component (Lanczos finds one vector per repeated eigenvalue, and a disconnected graph
    repeats the eigenvalue 1), and kept only when modularity drops by less than ``SPECTRAL_MAX_MODULARITY_LOSS``
    (a guard against a bad eigen-solve: on BANKING77 the refinement costs ~0.01 of modularity and wins 0.006 NMI
    and 0.02 ARI).
    """
    from scipy.sparse.csgraph import connected_components
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh
    from sklearn.cluster import KMeans

    refined = labels.copy()
    _, component = connected_components(graph, directed=False)
    rng = np.random.default_rng(seed)
    for comp in np.unique(component):
        members = np.flatnonzero(component == comp)
        local = _compact(labels[members])
        k = int(local.max()) + 1
        dims = min(SPECTRAL_MAX_DIMS, k)
        if k < 3 or len(members) < 4 * dims:
            continue
        sub = graph[members][:, members]
        degree = np.asarray(sub.sum(axis=1)).ravel()
        scale = sparse.diags(1.0 / np.sqrt(np.maximum(degree, 1e-12)))
        try:
            _, vectors = eigsh(
                (scale @ sub @ scale).tocsr(),
                k=dims,
                which="LA",
                tol=SPECTRAL_TOL,
                v0=rng.standard_normal(len(members)),
            )
        except (ArpackNoConvergence, ArpackError):
            continue
        u = _normalise(vectors.astype(np.float32))
        km = KMeans(n_clusters=k, init=_centroids(u, local, k), n_init=1, max_iter=100, random_state=seed).fit(u)
        # k-means labels follow the starting centroids, i.e. the component's sorted original labels.
        original = np.unique(labels[members])
        refined[members] = original[km.labels_]
    refined = _compact(refined)
    if modularity(graph, refined) < modularity(graph, labels) - SPECTRAL_MAX_MODULARITY_LOSS:
        return labels
    return refined


def _dissolve_small(x: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    sizes = np.bincount(labels)
    small = sizes < min_size
    if not small.any() or small.all():
        return _compact(labels)
    cent = _centroids(x, labels, len(sizes))
    keep = np.flatnonzero(~small)
    move = np.flatnonzero(small[labels])
    labels = labels.copy()
    labels[move] = keep[np.argmax(x[move] @ cent[keep].T, axis=1)]
    return _compact(labels)


def neighbours_for(n: int) -> int:
    """Neighbours per item in the graph: ``round(sqrt(n) / 9.5)`` clipped to ``K_NEIGHBOURS_MIN..K_NEIGHBOURS_MAX``.

    A neighbourhood must stay inside one theme for the shared-neighbour weights to mean anything, so it grows
    with the data but slowly. Measured on BANKING77 (NMI, mean of seeds 0-2 on all 13,083 texts; seed 0 on random
    subsets): all texts K = 12 / 14 / 15: 0.823 / 0.820 / 0.821 (ARI 0.569 / 0.558 / 0.562); 4,000 texts K = 5 /
    8 / 10 / 15: 0.801 / 0.798 / 0.800 / 0.787; 1,500 texts (~20 a label) K = 5 / 8 / 15: 0.795 / 0.778 / 0.760
    (51 / 38 / 30 themes). Larger neighbourhoods merge small themes; 600 texts of only 10 intents (60 each)
    preferred K = 15 (0.845 against 0.807 at 8), so the floor of 8 is a compromise that errs towards splitting,
    which a PM undoes with a merge.
    """
    return int(min(K_NEIGHBOURS_MAX, max(K_NEIGHBOURS_MIN, round(np.sqrt(max(n, 1)) / 9.5))))


def _cluster_free(x: np.ndarray, seed: int) -> np.ndarray:
    """Labels 0..k-1 for L2-normalised rows (no zero rows)."""
    n = len(x)
    if n <= 2:
        return np.zeros(n, dtype=np.int64)
    # Collapse identical vectors: duplicates would fill each other's neighbour lists.
    uniq, inverse = np.unique(x, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    if len(uniq) <= 2:
        return _compact(inverse)
    idx, sims = knn(uniq, neighbours_for(len(uniq)))
    graph = _snn_graph(idx)
    labels = louvain(graph, seed=seed)
    if SPECTRAL:
        labels = _spectral_refine(graph, labels, seed)
    if VOTE:
        labels = _vote(idx, sims, labels)
    labels = labels[inverse]
    min_size = min(MIN_THEME_SIZE, max(1, n // 20))
    return _dissolve_small(x, _compact(labels), min_size)


def cluster(embeddings: np.ndarray, *, seed: int = 0, fixed: np.ndarray | None = None) -> Clustering:
    """Themes of the items, their number found from the data (see the module docstring)."""
    x = _normalise(embeddings)
    n = len(x)
    dim = x.shape[1] if x.ndim == 2 else 0
    if n == 0:
        return Clustering(np.zeros(0, dtype=np.int64), np.zeros((0, dim), np.float32), 0)
    usable = np.linalg.norm(x, axis=1) > 0.5
    fixed_arr = np.full(n, -1, dtype=np.int64) if fixed is None else np.asarray(fixed, dtype=np.int64).ravel()
    if len(fixed_arr) != n:
        raise ValueError(f"fixed has {len(fixed_arr)} values for {n} items")
    labels = np.full(n, -1, dtype=np.int64)
    groups = np.unique(fixed_arr[fixed_arr >= 0])
    n_fixed = len(groups)
    if n_fixed:
        labels[fixed_arr >= 0] = np.searchsorted(groups, fixed_arr[fixed_arr >= 0])
    free = np.flatnonzero((fixed_arr < 0) & usable)
    if len(free):
        labels[free] = _cluster_free(x[free], seed) + n_fixed
        if n_fixed:
            labels = _join_fixed(x, labels, free, n_fixed)
    k = int(labels.max()) + 1 if (labels >= 0).any() else 0
    return Clustering(labels, _centroids(x, labels, k), k)


def _join_fixed(x: np.ndarray, labels: np.ndarray, free: np.ndarray, n_fixed: int) -> np.ndarray:
    k = int(labels.max()) + 1
    cent = _centroids(x, labels, k)
    # A free theme that is (nearly) a pinned group is folded into it.
    fixed_sims = cent[n_fixed:] @ cent[:n_fixed].T
    fold = np.flatnonzero(fixed_sims.max(axis=1) >= MERGE_FIXED_SIMILARITY)
    remap = np.arange(k)
    remap[fold + n_fixed] = np.argmax(fixed_sims[fold], axis=1)
    labels = labels.copy()
    labels[labels >= 0] = remap[labels[labels >= 0]]
    # A free item joins a pinned group whose centroid is nearer than its own theme's.
    own = np.einsum("ij,ij->i", x[free], cent[labels[free]])
    to_fixed = x[free] @ cent[:n_fixed].T
    best = np.argmax(to_fixed, axis=1)
    join = to_fixed[np.arange(len(free)), best] > own
    labels[free[join]] = best[join]
    # Renumber free themes after the fixed groups (some may have emptied).
    rest = labels >= n_fixed
    labels[rest] = _compact(labels[rest]) + n_fixed
    return labels


# --------------------------------------------------------------------------------------------------------------
# Incremental use, edits
# --------------------------------------------------------------------------------------------------------------


def assign_threshold(backend_name: str) -> float:
    """The default assignment threshold for vectors of the named embedding backend."""
    return ASSIGN_THRESHOLDS.get(backend_name, ASSIGN_THRESHOLD)


def assign(
    embeddings: np.ndarray, centroids: np.ndarray, *, threshold: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest theme of each new item by cosine to the centroids; -1 when the similarity is below ``threshold``
    (default ``ASSIGN_THRESHOLD``) or the item has no usable embedding."""
    x = _normalise(embeddings)
    c = _normalise(centroids)
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    if len(c) == 0 or c.shape[1] != x.shape[1]:
        return np.full(len(x), -1, dtype=np.int64), np.zeros(len(x), dtype=np.float32)
    sims = x @ c.T
    labels = np.argmax(sims, axis=1).astype(np.int64)
    best = sims[np.arange(len(x)), labels].astype(np.float32)
    thr = ASSIGN_THRESHOLD if threshold is None else float(threshold)
    labels[(best < thr) | (np.linalg.norm(x, axis=1) < 0.5)] = -1
    return labels, best


def split(embeddings: np.ndarray, *, parts: int = 2, seed: int = 0) -> np.ndarray:
    """Split one theme's items into ``parts`` groups (spherical k-means, k-means++ seeding): labels 0..parts-1.

    Fewer distinct items than ``parts`` give fewer groups; zero rows go with group 0.
    """
    from sklearn.cluster import KMeans

    x = _normalise(embeddings)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    distinct = len(np.unique(x, axis=0))
    parts = max(1, min(int(parts), distinct))
    if parts == 1:
        return np.zeros(n, dtype=np.int64)
    km = KMeans(n_clusters=parts, n_init=4, random_state=seed).fit(x)
    # Largest group first, so the result does not depend on k-means' arbitrary numbering.
    sizes = np.bincount(km.labels_, minlength=parts)
    rank = np.empty(parts, dtype=np.int64)
    rank[np.lexsort((np.arange(parts), -sizes))] = np.arange(parts)
    return rank[km.labels_]


def match_clusters(old_labels: np.ndarray, new_labels: np.ndarray, *, min_overlap: float = 0.5) -> dict[int, int]:
    """new label -> old label for pairs with Jaccard overlap >= ``min_overlap``, one-to-one, best pairs first.

    Both arrays label the same items (in the same order); -1 means not placed and is ignored.
    """
    old = np.asarray(old_labels, dtype=np.int64).ravel()
    new = np.asarray(new_labels, dtype=np.int64).ravel()
    if len(old) != len(new):
        raise ValueError("old_labels and new_labels must label the same items")
    both = (old >= 0) & (new >= 0)
    if not both.any():
        return {}
    size_old = np.bincount(old[old >= 0])
    size_new = np.bincount(new[new >= 0])
    pairs, counts = np.unique(np.stack([new[both], old[both]], axis=1), axis=0, return_counts=True)
    jaccard = counts / (size_new[pairs[:, 0]] + size_old[pairs[:, 1]] - counts)
    order = np.lexsort((pairs[:, 1], pairs[:, 0], -jaccard))
    out: dict[int, int] = {}
    used: set[int] = set()
    for i in order:
        if jaccard[i] < min_overlap:
            break
        nw, o = int(pairs[i, 0]), int(pairs[i, 1])
        if nw in out or o in used:
            continue
        out[nw] = o
        used.add(o)
    return out


# --------------------------------------------------------------------------------------------------------------
# Names and quotes
# --------------------------------------------------------------------------------------------------------------


def keyphrases(texts: Sequence[str], labels: np.ndarray, *, top: int = 5) -> dict[int, list[str]]:
    """Distinctive words and two-word phrases of each theme by class-based TF-IDF (Grootendorst, BERTopic).

    All texts of a theme form one document; a term's weight is its frequency in the theme (normalised by the
    theme's length) times ``log(1 + A / f)``, with ``A`` the average number of words per theme and ``f`` the
    term's frequency over all themes. English stop words and numbers are left out; a phrase is skipped when it
    overlaps one already chosen (a bigram is kept over its own words when it scores as well).
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    labels = np.asarray(labels, dtype=np.int64).ravel()
    if len(labels) != len(texts):
        raise ValueError("texts and labels must have the same length")
    classes = [int(c) for c in np.unique(labels) if c >= 0]
    if not classes:
        return {}
    docs = [" ".join(str(t) for t, lab in zip(texts, labels, strict=True) if lab == c) for c in classes]
    vectorizer = CountVectorizer(
        ngram_range=(1, 2),
        stop_words=sorted(ENGLISH_STOP_WORDS | _EXTRA_STOP_WORDS),
        token_pattern=r"(?u)\b[^\W\d_]{2,}\b",
        lowercase=True,
    )
    try:
        counts = vectorizer.fit_transform(docs).astype(np.float64).tocsr()
    except ValueError:  # no term at all
        return {c: [] for c in classes}
    vocab = vectorizer.get_feature_names_out()
    unigrams = counts[:, [i for i, t in enumerate(vocab) if " " not in t]]
    words_per_class = np.asarray(unigrams.sum(axis=1)).ravel()
    tf = sparse.diags(1.0 / np.maximum(words_per_class, 1.0)) @ counts
    freq = np.asarray(counts.sum(axis=0)).ravel()
    avg = max(float(words_per_class.mean()), 1.0)
    idf = np.log(1.0 + avg / np.maximum(freq, 1.0))
    scores = (tf @ sparse.diags(idf)).tocsr()
    class_sizes = np.bincount(labels[labels >= 0])
    out: dict[int, list[str]] = {}
    for row, c in enumerate(classes):
        start, stop = scores.indptr[row], scores.indptr[row + 1]
        cols = scores.indices[start:stop]
        vals = scores.data[start:stop]
        order = np.lexsort((cols, -vals))
        picked: list[str] = []
        for j in order:
            term = str(vocab[cols[j]])
            if len(picked) >= top:
                break
            # A bigram must occur at least twice to speak for a theme of more than one text.
            if " " in term and class_sizes[c] > 1 and counts[row, cols[j]] < 2:
                continue
            words = set(term.split())
            if " " in term and len(words) == 1:  # "cancelled cancelled"
                continue
            clash = [p for p in picked if words & set(p.split())]
            if clash:
                # Prefer the phrase: replace a lone word it contains (scores are sorted, so it scored lower).
                if " " in term and all(" " not in p and p in words for p in clash):
                    picked = [p for p in picked if p not in clash]
                    picked.append(term)
                continue
            picked.append(term)
        out[c] = picked
    return out


def theme_name(phrases: Sequence[str], *, max_length: int = 60) -> str:
    """A short readable name from keyphrases: the top one or two, e.g. "Card arrival / delivery"."""
    phrases = [" ".join(str(p).split()) for p in phrases if p and str(p).strip()]
    if not phrases:
        return "Untitled theme"
    parts = [phrases[0]]
    for p in phrases[1:3]:
        if len(" / ".join([*parts, p])) <= max_length and len(parts) < 2:
            parts.append(p)
    name = " / ".join(parts)
    if len(name) > max_length:
        name = name[: max_length - 1].rstrip() + "…"
    return name[:1].upper() + name[1:]


def representatives(
    embeddings: np.ndarray, labels: np.ndarray, centroids: np.ndarray, *, top: int = 3
) -> dict[int, list[int]]:
    """Indices of the items nearest each theme's centroid (the most representative quotes), best first."""
    x = _normalise(embeddings)
    c = _normalise(centroids)
    labels = np.asarray(labels, dtype=np.int64).ravel()
    out: dict[int, list[int]] = {}
    for lab in np.unique(labels):
        if lab < 0 or lab >= len(c):
            continue
        idx = np.flatnonzero(labels == lab)
        sims = x[idx] @ c[lab]
        out[int(lab)] = [int(i) for i in idx[np.lexsort((idx, -sims))[:top]]]
    return out
