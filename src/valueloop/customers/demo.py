"""Demo data for customers (see valueloop.demo): idempotent, seeded by context.rng."""


def build(context) -> None:
    return None
