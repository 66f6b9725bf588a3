"""``manage.py rebuild_ban_set``: restore the Redis banned set from Postgres (after a flush)."""

from django.core.management.base import BaseCommand

from moderation import services


class Command(BaseCommand):
    help = "Restore the Redis banned set (read by the matcher and the chat socket) from Postgres bans."

    def handle(self, *args, **options) -> None:
        count = services.rebuild_ban_set()
        self.stdout.write(f"banned set rebuilt: {count} active ban(s)")
