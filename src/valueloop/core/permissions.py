"""The one role -> scope table. Every page, endpoint and service checks through it.

Invariants:
- A role's scopes are fixed here and nowhere else; views and endpoints declare the scope
  they need (``requires``), and the permission-matrix test derives expectations from this table.
- Roles are ordered by rank so that a token can never carry more power than its owner's
  current membership (``effective_role``).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    PRODUCT_MANAGER = "product_manager"
    PRODUCT_OWNER = "product_owner"
    CONTRIBUTOR = "contributor"
    STAKEHOLDER = "stakeholder"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Admin",
    Role.PRODUCT_MANAGER: "Product manager",
    Role.PRODUCT_OWNER: "Product owner",
    Role.CONTRIBUTOR: "Contributor",
    Role.STAKEHOLDER: "Stakeholder",
}
ROLE_CHOICES = [(role.value, role.label) for role in Role]

# Higher rank, more power. Used only to cap a token's role by its owner's role.
ROLE_RANK = {
    Role.STAKEHOLDER: 0,
    Role.CONTRIBUTOR: 1,
    Role.PRODUCT_OWNER: 2,
    Role.PRODUCT_MANAGER: 3,
    Role.ADMIN: 4,
}


class Scope(StrEnum):
    WORKSPACE_READ = "workspace.read"  # see the workspace, its members and portfolio
    WORKSPACE_MANAGE = "workspace.manage"  # settings, members, roles, invitations
    PORTFOLIO_WRITE = "portfolio.write"  # create/edit/archive products and areas
    COMMENT_WRITE = "comment.write"  # comment, mention, follow
    VOICE_WRITE = "voice.write"  # the customer's voice: triage/import feedback, interviews, surveys, evidence links
    APPROVE = "approve"  # approve plans (used by later issues)
    AUDIT_READ = "audit.read"  # read the audit log
    EVENTS_WRITE = "events.write"  # send product events (exposures, metric events) by API or upload


_READ = {Scope.WORKSPACE_READ, Scope.COMMENT_WRITE}
# Support, sales and research (contributors) record what customers say; stakeholders only read it.
_VOICE = {Scope.VOICE_WRITE}
# Engineers instrument the product: everyone but stakeholders may send events.
_EVENTS = {Scope.EVENTS_WRITE}

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.PRODUCT_MANAGER: frozenset(
        _READ | _VOICE | _EVENTS | {Scope.PORTFOLIO_WRITE, Scope.APPROVE, Scope.AUDIT_READ}
    ),
    Role.PRODUCT_OWNER: frozenset(_READ | _VOICE | _EVENTS | {Scope.PORTFOLIO_WRITE, Scope.AUDIT_READ}),
    Role.CONTRIBUTOR: frozenset(_READ | _VOICE | _EVENTS),
    Role.STAKEHOLDER: frozenset(_READ | {Scope.APPROVE}),
}


def has_scope(role: str | Role | None, scope: Scope | str) -> bool:
    if role is None:
        return False
    try:
        return Scope(scope) in ROLE_SCOPES[Role(role)]
    except ValueError:
        return False


def effective_role(member_role: str, token_role: str | None) -> Role:
    """The weaker of the member's role and the role a token was issued with."""
    member = Role(member_role)
    if token_role is None:
        return member
    token = Role(token_role)
    return token if ROLE_RANK[token] < ROLE_RANK[member] else member
