"""``manage.py rebuild_leaderboards``: recreate every live leaderboard from Postgres."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from leaderboard import services


class Command(BaseCommand):
    help = "Rebuild the likes and talk-time leaderboards (day, week, all time) from Postgres."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=2000, help="members per pipelined ZADD batch")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, batch_size: int, no_progress: bool, **options) -> None:
        with tqdm(unit=" members", disable=no_progress, file=self.stderr._out, dynamic_ncols=True) as bar:

            def on_batch(label: str, count: int) -> None:
                bar.set_description(label)
                bar.update(count)

            summary = services.rebuild_boards(batch_size=max(1, batch_size), on_batch=on_batch)
        self.stdout.write(
            self.style.SUCCESS(
                f"rebuilt {summary.boards} boards, {summary.members} members in {summary.seconds:.2f}s"
            )
        )
        for label, size in summary.sizes.items():
            self.stdout.write(f"  {label}: {size}", style_func=lambda s: s)
