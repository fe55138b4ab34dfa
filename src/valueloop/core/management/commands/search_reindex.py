"""Rebuild the search index from every registered kind's rows (``core.search.rebuild_index``)."""

from django.core.management.base import BaseCommand

from valueloop.core.search import rebuild_index


class Command(BaseCommand):
    help = "Rebuild the full-text search index of every kind (features, feedback, customers, ...) from the rows."

    def handle(self, *args, **options):
        counts = rebuild_index()
        total = sum(counts.values())
        details = ", ".join(f"{kind} {count}" for kind, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Indexed {total} rows ({details})."))
