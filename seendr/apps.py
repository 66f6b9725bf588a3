from django.apps import AppConfig


class SeendrConfig(AppConfig):
    name = "seendr"
    verbose_name = "Seendr"

    def ready(self) -> None:
        # Connects the Celery signal handlers that carry request ids into tasks, in every process
        # (web and worker) once Django is set up; nothing else imports the module early enough.
        from seendr import request_id  # noqa: F401
