from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"

    def ready(self) -> None:
        # Receivers connect when their module is imported; ready() is the first moment the
        # models they touch are loaded, so this import cannot sit at the top of the file. The
        # shield module registers its settings check the same way.
        from matching import shield, signals  # noqa: F401
