"""Signals other apps listen to, so workspaces never imports the apps built on top of it."""

from django.dispatch import Signal

# Sent inside the transaction that changed the currency; kwargs: actor (with the updated workspace).
workspace_currency_changed = Signal()
