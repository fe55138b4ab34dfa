"""views of the themes app (see docs/conventions.md)."""
