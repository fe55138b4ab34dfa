"""The import framework: every file import (CSV, JSON, Parquet; XLSX and vendor exports later) is read here.

``reading`` bounds reading (size, rows, string lengths, decoded bytes, JSON depth); ``encoding`` is the one
encoding policy (UTF-8 first, detection otherwise, an explicit choice overrides). The table with its column
presets (``table``) joins them as the importers move onto it; ``problems`` is the per-row/field problem report
(row, field, message, value; a capped list with true counts). Importers keep only their fields, matching and
writes.
"""

from .encoding import Decoded, decode
from .reading import ImportRefused, UploadLimits, human_size

__all__ = ["Decoded", "ImportRefused", "UploadLimits", "decode", "human_size"]
