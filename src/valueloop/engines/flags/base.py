"""Shared vocabulary of the flags engine: the JSON and attribute type aliases and the compile-time error.

Invariant: ``_Malformed`` is raised only while a payload, rule or condition is being compiled, never during
evaluation; every place that compiles catches it and drops the offending part (package invariant 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JSON = Any  # a JSON-compatible value: None, bool, int, float, str, list, dict
Attributes = Mapping[str, Any]
BucketRange = tuple[float, float]


class _Malformed(ValueError):
    """Raised while compiling a condition/rule that does not follow the spec's shape."""
