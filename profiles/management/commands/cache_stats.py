"""Show (or reset) the hit and miss counters of the profile cache."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from profiles import cache


class Command(BaseCommand):
    help = "Show the profile cache's hit/miss counters kept in Redis."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reset", action="store_true", help="zero the counters after showing them")

    def handle(self, *args, reset: bool, **options) -> None:
        cache.reset_circuit()
        try:
            stats = cache.stats()
        except Exception as exc:
            raise CommandError(f"profile cache unavailable: {exc}") from exc
        reads = stats["hits"] + stats["misses"] + stats["negative_hits"]
        ratio = (stats["hits"] + stats["negative_hits"]) / reads if reads else 0.0
        width = max(len(name) for name in stats)
        for name, value in stats.items():
            self.stdout.write(f"{name:<{width}}  {value}")
        self.stdout.write(f"{'hit_ratio':<{width}}  {ratio:.2%} of {reads} reads")
        if reset:
            cache.reset_stats()
            self.stdout.write("Counters reset.")
