"""Load the profiles of the most recently active users into the profile cache."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from profiles import cache, selectors


class Command(BaseCommand):
    help = "Warm the profile cache with the most recently active users, in pipelined batches."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=10_000, help="how many users (default 10000)")
        parser.add_argument("--batch-size", type=int, default=500, help="users per query and pipeline")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, limit: int, batch_size: int, no_progress: bool, **options) -> None:
        if limit < 1 or batch_size < 1:
            raise CommandError("--limit and --batch-size must be positive")
        started = time.monotonic()
        cache.reset_circuit()
        user_ids = selectors.recently_active_user_ids(limit=limit)
        done = batches = 0
        with tqdm(total=len(user_ids), unit="profile", disable=no_progress, file=self.stderr) as bar:
            try:
                for size in cache.warm(user_ids, batch_size=batch_size):
                    done += size
                    batches += 1
                    bar.update(size)
            except Exception as exc:
                raise CommandError(f"profile cache unavailable after {done} profiles: {exc}") from exc
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed else 0.0
        self.stdout.write(
            f"Warmed {done} profiles in {batches} batches in {elapsed:.2f}s ({rate:.0f} profiles/s)."
        )
