"""``manage.py seed_demo --users N``: realistic demo users with interests, history and likes."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from ops import demo


class Command(BaseCommand):
    help = (
        "Create N demo accounts (usernames demo000001..., one shared password) with profiles, "
        "countries, languages, interests, match history and likes, then rebuild the leaderboards. "
        "Uses PostgreSQL COPY: 100,000 users take seconds, not minutes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", type=int, default=1000, help="how many users (default 1000)")
        parser.add_argument(
            "--matches-per-user",
            type=float,
            default=3.0,
            help="average finished matches per user (default 3)",
        )
        parser.add_argument("--password", default=demo.DEMO_PASSWORD, help="the password of every demo user")
        parser.add_argument("--prefix", default="demo", help="username prefix (default demo)")
        parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatable data")
        parser.add_argument("--no-leaderboards", action="store_true", help="skip the leaderboard rebuild")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG off (accounts with a known password!)"
        )

    def handle(
        self,
        *args,
        users: int,
        matches_per_user: float,
        password: str,
        prefix: str,
        seed: int | None,
        no_leaderboards: bool,
        no_progress: bool,
        **options,
    ) -> None:
        if not settings.DEBUG and not options.get("force"):
            raise CommandError(
                "DEBUG is off: demo accounts share a known password; pass --force if you mean it"
            )
        if users < 1:
            raise CommandError("--users must be at least 1")
        if matches_per_user < 0:
            raise CommandError("--matches-per-user must not be negative")
        if not prefix.isalnum():
            raise CommandError("--prefix must be letters and digits only")
        bars: list[tqdm] = []

        def progress(label: str, total: int, done: int) -> Callable[[int], None]:
            bar = tqdm(
                total=total, initial=done, desc=label, unit=" rows", disable=no_progress, file=self.stderr
            )
            bars.append(bar)

            def update(n: int) -> None:
                bar.update(n)
                if bar.n >= bar.total:
                    bar.close()  # one finished line per phase

            return update

        try:
            summary = demo.seed(
                users=users,
                matches_per_user=matches_per_user,
                password=password,
                prefix=prefix,
                seed_value=seed,
                progress=progress,
            )
        except DatabaseError as exc:
            raise CommandError(f"seeding failed, nothing was written: {exc}") from exc
        finally:
            for bar in bars:
                bar.close()
        if not no_leaderboards:
            call_command(
                "rebuild_leaderboards", no_progress=no_progress, stdout=self.stderr, stderr=self.stderr
            )
        phases = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in summary.phases.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {summary.users} users, {summary.interests_links} interest links, "
                f"{summary.matches} matches, {summary.likes} likes in {summary.seconds:.1f}s ({phases}). "
                f"Password: {password}"
            )
        )
