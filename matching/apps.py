from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"

    def ready(self) -> None:
        # Receivers connect when their module is imported; ready() is the first moment the
        # models they touch are loaded, so this import cannot sit at the top of the file.
        from matching import signals  # noqa: F401
