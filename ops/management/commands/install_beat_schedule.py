"""Install the periodic tasks (django-celery-beat) of ``ops.services.BEAT_SCHEDULE``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from ops import services
from seendr.celery import app


def registered_tasks() -> set[str]:
    """Task names a worker of this code base knows (every app's tasks module imported)."""
    app.loader.import_default_modules()
    return set(app.tasks)


class Command(BaseCommand):
    help = (
        "Create the Celery beat periodic tasks in the database (idempotent; run on every deploy). "
        "Existing entries keep the edits made in the admin unless --reset."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reset", action="store_true", help="overwrite admin edits with the defaults")

    def handle(self, *args, reset: bool, **options) -> None:
        try:
            result = services.install_beat_schedule(known_tasks=registered_tasks(), reset=reset)
        except DatabaseError as exc:
            raise CommandError(f"could not write the beat schedule: {exc}") from exc
        for name in result.created:
            self.stdout.write(f"created   {name}")
        for name in result.updated:
            self.stdout.write(f"updated   {name}")
        for name in result.disabled:
            self.stderr.write(f"disabled  {name}: no installed app defines its task")
        self.stdout.write(
            self.style.SUCCESS(
                f"Beat schedule: {len(result.created)} created, {len(result.updated)} updated, "
                f"{len(result.unchanged)} unchanged, {len(result.disabled)} disabled."
            )
        )
