"""What other apps may import from accounts.

Invariants: ``token_revoke_all`` revokes only the tokens a user holds for the actor's workspace,
each with its own audit row, and requires the actor to manage the workspace.
"""

from .models import User
from .selectors import token_lookup
from .services import token_revoke_all

__all__ = ["User", "token_lookup", "token_revoke_all"]
