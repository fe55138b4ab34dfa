"""The only module other apps may import from events."""
