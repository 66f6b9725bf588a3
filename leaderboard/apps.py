from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "leaderboard"

    def ready(self) -> None:
        # Receivers connect when their module is imported; ready() is the first moment the
        # models they touch are loaded, so this import cannot sit at the top of the file.
        from leaderboard import signals  # noqa: F401
