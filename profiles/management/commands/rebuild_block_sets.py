"""Re-create the matcher's block sets in Redis from Postgres (after a Redis flush)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from profiles import services


class Command(BaseCommand):
    help = "Mirror every account's blocks from Postgres into the state Redis."

    def handle(self, *args, **options) -> None:
        count = services.rebuild_block_sets()
        self.stdout.write(f"Mirrored {count} blocks into Redis.")
