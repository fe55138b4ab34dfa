"""What other apps may import from accounts."""

from .models import User
from .selectors import token_lookup

__all__ = ["User", "token_lookup"]
