from tests.flags.conftest import flags  # noqa: F401  (the flags fixture: workspace A's environments and helpers)
