"""``manage.py sweep_pool``: the beat job that removes ghosts from the matching pool, on demand."""

from __future__ import annotations

import time

import redis
from django.core.management.base import BaseCommand, CommandError

from matching import services
from matching.types import MatchingError


class Command(BaseCommand):
    help = "Drop pool members whose ticket expired and live matches whose heartbeat lapsed (as beat does)."

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        try:
            summary = services.sweep_pool(now=time.time())
        except (redis.RedisError, MatchingError) as exc:
            raise CommandError(f"sweep failed: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Swept {summary['sets']} pool sets, checked {summary['members']} members: removed "
                f"{summary['removed']} ghosts and {summary['live_expired']} lapsed matches "
                f"in {time.perf_counter() - started:.2f}s."
            )
        )
