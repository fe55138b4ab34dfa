"""Valueloop's Python SDK: evaluate feature flags locally, with GrowthBook-compatible results.

    from valueloop.sdk import Client
    client = Client("https://valueloop.example.com", "sdk-…")
    if client.is_on("new-checkout", {"id": user.id, "country": user.country}):
        ...

Standard library only (plus Valueloop's evaluation engine); never raises into your application. An OpenFeature
provider lives in ``valueloop.sdk.openfeature`` (needs the ``openfeature-sdk`` package).
"""

from .client import Client

__all__ = ["Client"]
