from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"

    def ready(self) -> None:
        # The receivers import models, which exist only once apps are loaded: hence here.
        from profiles import signals

        signals.connect()
