"""The nudity shield's server side: the settings and static URLs the chat page hands its script.

Classification happens only in the viewer's browser (static/js/chat/shield.js and its worker):
no video reaches our servers. This module turns the ``NUDITY_SHIELD_*`` settings into the
``shield-config`` JSON of the chat page, so a deployment (or a test) tunes thresholds and
watched classes without touching the script.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static

# The classes of the vendored nsfwjs MobileNetV2 model (nsfw_classes.js).
MODEL_CLASSES = ("Drawing", "Hentai", "Neutral", "Porn", "Sexy")
NSFWJS_DIR = "vendor/nsfwjs/4.4.0"
# Loaded in this order by the worker: the two model scripts set globals the bundle reads.
NSFWJS_SCRIPTS = (
    f"{NSFWJS_DIR}/mobilenet_v2/model.min.js",
    f"{NSFWJS_DIR}/mobilenet_v2/group1-shard1of1.min.js",
    f"{NSFWJS_DIR}/nsfwjs.min.js",
)
WORKER_SCRIPT = "js/chat/shield-worker.js"
# TensorFlow.js backends the bundle carries; "" lets the worker choose (see shield-worker.js).
BACKENDS = ("", "webgl", "cpu")


def watched_classes() -> dict[str, float]:
    watched = dict(settings.NUDITY_SHIELD_WATCHED)
    for name, threshold in watched.items():
        if name not in MODEL_CLASSES:
            known = ", ".join(MODEL_CLASSES)
            raise ImproperlyConfigured(f"NUDITY_SHIELD_WATCHED: {name!r} is not one of {known}")
        if not 0.0 <= threshold <= 1.0:
            raise ImproperlyConfigured(f"NUDITY_SHIELD_WATCHED: the threshold of {name} must be within 0..1")
    if not watched:
        raise ImproperlyConfigured("NUDITY_SHIELD_WATCHED names no class: the shield could never blur")
    return watched


def backend() -> str:
    if settings.NUDITY_SHIELD_BACKEND not in BACKENDS:
        raise ImproperlyConfigured(f"NUDITY_SHIELD_BACKEND must be one of {BACKENDS}")
    return settings.NUDITY_SHIELD_BACKEND


def tuning() -> dict:
    """The settings part of the page config, validated (raises ImproperlyConfigured)."""
    return {
        "watched": watched_classes(),
        "safeChecks": max(1, settings.NUDITY_SHIELD_SAFE_CHECKS),
        "intervalMs": max(250, settings.NUDITY_SHIELD_INTERVAL_MS),
        "loadTimeoutMs": settings.NUDITY_SHIELD_LOAD_TIMEOUT_MS,
        "checkTimeoutMs": settings.NUDITY_SHIELD_CHECK_TIMEOUT_MS,
        "backend": backend(),
    }


def shield_config() -> dict:
    """What ``static/js/chat/shield.js`` reads from the page (static URLs are the hashed ones)."""
    return {
        **tuning(),
        "worker": static(WORKER_SCRIPT),
        "scripts": [static(path) for path in NSFWJS_SCRIPTS],
    }


@checks.register()
def check_shield_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A bad NUDITY_SHIELD_* setting stops ``manage.py check`` (and start-up), not the chat page.
    Static URLs are left out: before collectstatic a hashed one does not exist yet."""
    try:
        tuning()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="matching.E001")]
    return []
