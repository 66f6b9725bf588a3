"""Settings for the test suite: the real services, isolated by database name and key prefix.

Each pytest process gets its own test database and Redis key prefix, so several runs can share
one PostgreSQL and one Redis without seeing each other's data.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("SEENDR_KEY_PREFIX", f"seendrtest{os.getpid()}:")
os.environ.setdefault("LOG_JSON", "0")
# Without configured URLs, tests use Redis databases 12..15 (the app uses 0..3, benchmarks
# 8..11; see scripts/services.py), so a per-test SCAN never walks a developer's keys.
for _name, _db in (
    ("REDIS_CACHE_URL", 12),
    ("REDIS_STATE_URL", 13),
    ("REDIS_CHANNELS_URL", 14),
    ("CELERY_BROKER_URL", 15),
):
    os.environ.setdefault(_name, f"redis://127.0.0.1:6379/{_db}")

from seendr.settings import *  # noqa: E402,F403
from seendr.settings import DATABASES, env_list  # noqa: E402

DATABASES["default"]["TEST"] = {"NAME": f"test_seendr_{os.getpid()}"}

# Argon2 is deliberately slow; tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Child processes (a real Celery worker) may write mail to files a test reads: TEST_EMAIL_BACKEND
# with EMAIL_FILE_PATH from the environment.
EMAIL_BACKEND = os.environ.get("TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
SECURE_SSL_REDIRECT = False
ALLOWED_HOSTS = ["*"]
# A test server on a free port (the browser tests) adds its own origin through the environment.
WEBSOCKET_ALLOWED_ORIGINS = [
    "http://testserver",
    "http://127.0.0.1:8000",
    "http://localhost:8000",
    *env_list("WEBSOCKET_ALLOWED_ORIGINS"),
]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
