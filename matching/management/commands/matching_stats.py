"""``manage.py matching_stats``: the live pool and presence, right now."""

from __future__ import annotations

import json
import time

import redis
from django.core.management.base import BaseCommand, CommandError

from matching import presence, stats
from matching.types import MatchingError


class Command(BaseCommand):
    help = (
        "Show who is online, waiting and in a call, matches in the last minute and hour, and time to match."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="one JSON object instead of text")

    def handle(self, *args, json: bool = False, **options) -> None:
        now = time.time()
        try:
            counts = presence.counts(now=now)
            series = stats.matches_series(now=now, minutes=60)
            waits = stats.recent_waits(now=now, seconds=60)
            hour_waits = stats.recent_waits(now=now, seconds=3600)
        except (redis.RedisError, MatchingError) as exc:
            raise CommandError(f"the state Redis did not answer: {exc}") from exc
        result = {
            **counts,
            "matches_last_minute": stats.rolling_last_minute(series, now=now),
            "matches_last_hour": sum(n for _, n in series),
            "median_wait_seconds_last_minute": stats.median(waits),
            "median_wait_seconds_last_hour": stats.median(hour_waits),
        }
        if json:
            self.stdout.write(_dumps(result))
            return
        for label, key in (
            ("online", "online"),
            ("waiting", "waiting"),
            ("in call", "in_call"),
            ("matches, last minute", "matches_last_minute"),
            ("matches, last hour", "matches_last_hour"),
        ):
            self.stdout.write(f"{label:<28}{result[key]}")
        for label, key in (
            ("median wait, last minute", "median_wait_seconds_last_minute"),
            ("median wait, last hour", "median_wait_seconds_last_hour"),
        ):
            value = result[key]
            self.stdout.write(f"{label:<28}{'-' if value is None else f'{value:.1f} s'}")
        self.stdout.write(
            f"{result['online']} online, {result['waiting']} waiting, {result['in_call']} in call, "
            f"{result['matches_last_hour']} matches in the last hour."
        )


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True)
