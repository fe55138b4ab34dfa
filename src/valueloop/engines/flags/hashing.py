"""Hashing and bucketing: FNV-1a 32-bit over UTF-16 code units, bucket ranges, variation choice, namespaces and
query-string overrides; the spec's ``hash``, ``getBucketRange``, ``chooseVariation``, ``inNamespace``,
``getEqualWeights`` and ``getQueryStringOverride``.

Invariants (package invariant 1):

* Bucketing is a pure function of (seed, hash attribute value, hash version): v1 = fnv(value + seed) % 1000 / 1000,
  v2 = fnv(str(fnv(seed + value))) % 10000 / 10000; any other version buckets nobody (None).
* Non-string values are stringified as JavaScript's ``String()`` does before hashing, so a user lands in the same
  bucket here as in every other GrowthBook SDK.
* Weights that do not describe every variation, or do not sum to about 1, are replaced by an even split.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from typing import Any, Final

from .base import BucketRange
from .js import _js_str

_FNV_OFFSET: Final = 0x811C9DC5


_FNV_CHUNK: Final = 24


def _fnv_units(units: Sequence[int], h: int) -> int:
    # The innermost loop of every bucketing decision, so: literal constants, no call per unit, and the 32-bit
    # mask applied once per chunk instead of once per unit. That is exact: XOR with a unit (< 2**16) only touches
    # the low bits, and multiplication commutes with reduction mod 2**32, so the low 32 bits of the unmasked
    # product are the masked hash. Chunking keeps the intermediate integers small (24 bits of growth per unit).
    if len(units) <= _FNV_CHUNK:
        for c in units:
            h = (h ^ c) * 0x01000193
        return h & 0xFFFFFFFF
    for start in range(0, len(units), _FNV_CHUNK):
        for c in units[start : start + _FNV_CHUNK]:
            h = (h ^ c) * 0x01000193
        h &= 0xFFFFFFFF
    return h


def _fnv1a32(s: str, h: int = _FNV_OFFSET) -> int:
    # The reference hashes UTF-16 code units (charCodeAt); for ASCII those are just the bytes.
    if s.isascii():
        return _fnv_units(s.encode("ascii"), h)
    data = s.encode("utf-16-le")
    return _fnv_units(struct.unpack(f"<{len(data) // 2}H", data), h)


class _Hasher:
    """hash(seed, value, version) with the seed prefix pre-hashed (FNV is streaming, v2 hashes seed first)."""

    __slots__ = ("seed", "seed_state", "version")

    def __init__(self, seed: str, version: Any) -> None:
        self.seed = seed
        self.version = version
        self.seed_state = _fnv1a32(seed) if version == 2 else _FNV_OFFSET

    def __call__(self, value: str) -> float | None:
        if self.version == 2:
            inner = _fnv1a32(value, self.seed_state)
            return (_fnv_units(str(inner).encode("ascii"), _FNV_OFFSET) % 10000) / 10000
        if self.version == 1:
            return (_fnv1a32(value + self.seed) % 1000) / 1000
        return None  # unknown hash versions never bucket anyone (the spec's contract)


def hash_value(seed: str, value: str, version: int) -> float | None:
    """Spec ``hash`` (also importable as ``flags.hash``): a float in [0, 1) for versions 1 and 2, else None."""
    return _Hasher(_js_str(seed), version)(_js_str(value))


def _in_range(n: float, r: Sequence[float]) -> bool:
    return r[0] <= n < r[1]


def get_equal_weights(num_variations: int) -> list[float]:
    """Spec ``getEqualWeights``."""
    if num_variations < 1:
        return []
    return [1.0 / num_variations] * num_variations


def _bucket_ranges(num_variations: int, coverage: Any, weights: Any) -> tuple[BucketRange, ...]:
    try:
        cov = min(max(float(coverage), 0.0), 1.0) if coverage is not None else 1.0
    except (TypeError, ValueError):
        cov = 1.0
    equal = get_equal_weights(num_variations)
    w: Sequence[float] = equal
    # Weights that do not describe every variation, or do not sum to ~1, are ignored in favour of an even
    # split: a misconfigured experiment stays a fair experiment instead of silently dropping traffic.
    if (
        isinstance(weights, list | tuple)
        and len(weights) == num_variations
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in weights)
        and 0.99 <= sum(weights) <= 1.01
    ):
        w = [float(x) for x in weights]
    out = []
    cumulative = 0.0
    for wi in w:
        start = cumulative
        cumulative += wi
        out.append((start, start + cov * wi))
    return tuple(out)


def get_bucket_range(num_variations: int, coverage: float, weights: Sequence[float] | None) -> list[list[float]]:
    """Spec ``getBucketRange``: one [start, end) range per variation."""
    return [list(r) for r in _bucket_ranges(num_variations, coverage, weights)]


def choose_variation(n: float, ranges: Sequence[Sequence[float]]) -> int:
    """Spec ``chooseVariation``: index of the range containing n, or -1."""
    for i, r in enumerate(ranges):
        if r[0] <= n < r[1]:
            return i
    return -1


def in_namespace(hash_value: str, namespace: Sequence[Any]) -> bool:
    """Spec ``inNamespace``: namespace is [id, start, end]."""
    n = _Hasher("__" + _js_str(namespace[0]), 1)(_js_str(hash_value))
    return n is not None and namespace[1] <= n < namespace[2]


_JS_PARSE_INT = re.compile(r"\s*([+-]?\d+)")


def get_query_string_override(id: str, url: str, num_variations: int) -> int | None:
    """Spec ``getQueryStringOverride``: ``?<experiment key>=<variation index>`` forces a variation."""
    if not url:
        return None
    parts = url.split("?")
    if len(parts) < 2 or not parts[1]:
        return None
    search = parts[1].split("#", 1)[0]
    for kv in search.split("&"):
        pieces = kv.split("=")
        if pieces[0] != id:
            continue
        # First occurrence wins; parseInt semantics (leading integer) as in the reference.
        m = _JS_PARSE_INT.match(pieces[1]) if len(pieces) > 1 else None
        if m is None:
            return None
        v = int(m.group(1))
        return v if 0 <= v < num_variations else None
    return None
