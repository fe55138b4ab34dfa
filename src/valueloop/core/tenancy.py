"""Who is acting, in which workspace, with which role.

An ``Actor`` is built once per request (page, API call, CLI command) after the membership
has been checked; services receive it and never trust a workspace id from the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import PermissionDenied
from .permissions import Role, Scope, has_scope


@dataclass(frozen=True)
class Actor:
    user: Any  # accounts.User, or None for the system
    workspace: Any  # workspaces.Workspace
    role: Role
    via: str = "web"  # web, api, cli, system

    def can(self, scope: Scope | str) -> bool:
        return has_scope(self.role, scope)

    def require(self, scope: Scope | str) -> None:
        if not self.can(scope):
            raise PermissionDenied(f"Your role ({self.role.label}) does not allow {scope}.")

    @property
    def email(self) -> str:
        return getattr(self.user, "email", "system")
