"""services of the experiments app (see docs/conventions.md)."""
