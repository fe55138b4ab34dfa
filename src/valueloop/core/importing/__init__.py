"""The import framework: every file import (CSV, JSON, Parquet; XLSX and vendor exports later) is read here.

``reading`` bounds reading (size, rows, string lengths, decoded bytes, JSON depth); ``encoding`` is the one
encoding policy (UTF-8 first, detection otherwise, an explicit choice overrides); ``table`` gives one table from
CSV or JSON records with header normalisation and column mapping presets; ``dates`` parses dates in a chosen
or inferred order and names the ambiguous ones; ``problems`` is the per-row/field problem report (row, field,
message, value; a capped list with true counts); ``idempotency`` splits off rows already imported by external
id. Importers keep only their fields, matching and writes.
"""

from .encoding import Decoded, decode
from .reading import ImportRefused, UploadLimits, human_size

__all__ = ["Decoded", "ImportRefused", "UploadLimits", "decode", "human_size"]
