"""The import framework: every file import (CSV, JSON, Parquet; XLSX and vendor exports later) is read here.

Today it holds ``reading`` (bounded reading: size, rows, string lengths, decoded bytes, JSON depth). The
encoding policy (``encoding``), the table with its column presets (``table``) and the per-row/field problem
report (``problems``) join it as the importers move onto it; importers keep only their fields, matching and
writes.
"""

from .reading import ImportRefused, UploadLimits, human_size

__all__ = ["ImportRefused", "UploadLimits", "human_size"]
