"""Environments are created on a workspace's first use of flags: development, staging and production, each
with an SDK key and an (empty) payload; production requires approval for changes by default.

Idempotent and safe under concurrency (a lost race re-reads what the winner created). No audit record: this
is the system setting up defaults, not a person changing something.
"""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction

from .models import ENVIRONMENTS, Environment, SdkKey


def new_sdk_key() -> str:
    return "sdk-" + secrets.token_urlsafe(18)


def ensure_environments(workspace) -> list[Environment]:
    environments = list(Environment.objects.filter(workspace=workspace).order_by("position", "id"))
    if len(environments) >= len(ENVIRONMENTS):
        return environments
    from . import payload

    have = {e.key for e in environments}
    try:
        with transaction.atomic():
            for position, (key, _) in enumerate(ENVIRONMENTS):
                if key in have:
                    continue
                env = Environment.objects.create(
                    workspace=workspace, key=key, position=position, requires_approval=key == "production"
                )
                SdkKey.objects.create(workspace=workspace, environment=env, key=new_sdk_key())
                payload.rebuild(env)
    except IntegrityError:
        pass  # another request created them first
    return list(Environment.objects.filter(workspace=workspace).order_by("position", "id"))
