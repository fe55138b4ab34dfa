"""services of the events app (see docs/conventions.md)."""
