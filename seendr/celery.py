"""The Celery application. Tasks live in each app's ``tasks.py`` and are thin doors into services."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seendr.settings")

app = Celery("seendr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
