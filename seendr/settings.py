"""Seendr settings: the one place that reads the environment.

Every knob an operator may turn is an environment variable with a safe default for local
development. Production (``DEBUG`` off) refuses to start without a real ``SECRET_KEY``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value in (None, "") else float(value)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"
# Keys that are public (ours, .env.example's, Django's startproject marker) or too weak to sign
# sessions: production refuses them rather than run with a key anyone can look up.
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARS = 5  # Django's own check.W009 thresholds
PLACEHOLDER_SECRET_KEY_MARKERS = ("change-me", "changeme", "django-insecure", "dev-only-insecure")


def weak_secret_key(key: str) -> str | None:
    """Why ``key`` must not sign anything in production, or None when it is fit."""
    lowered = key.lower()
    if any(marker in lowered for marker in PLACEHOLDER_SECRET_KEY_MARKERS):
        return "it is a published placeholder"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"it is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    if len(set(key)) < MIN_SECRET_KEY_UNIQUE_CHARS:
        return f"it has fewer than {MIN_SECRET_KEY_UNIQUE_CHARS} distinct characters"
    return None


SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
elif not DEBUG and (why := weak_secret_key(SECRET_KEY)):
    raise ImproperlyConfigured(
        f"SECRET_KEY is refused when DEBUG is off: {why}. Generate one with "
        "python -c 'import secrets; print(secrets.token_urlsafe(64))'."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
# The port `make run` serves on; the development origins below follow it.
PORT = env_int("PORT", 8000)
# Origins allowed to open the chat WebSocket (scheme://host[:port]).
WEBSOCKET_ALLOWED_ORIGINS = env_list(
    "WEBSOCKET_ALLOWED_ORIGINS",
    f"http://127.0.0.1:{PORT},http://localhost:{PORT}" if DEBUG else "",
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "django_celery_beat",
    "seendr",
    "accounts",
    "profiles",
    "matching",
    "leaderboard",
    "moderation",
    "ops",
]

MIDDLEWARE = [
    # Outermost: every log line of a request carries its id, and the timing covers everything.
    "seendr.request_id.RequestIdMiddleware",
    "seendr.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "seendr.middleware.security_headers",  # CSP, Permissions-Policy, CORP
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware: the language of the cookie or Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "moderation.middleware.banned_sessions",  # a ban signs the session out on its next request
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost, so it is the first to see a view's exception: a lost database is a 503.
    "seendr.middleware_db.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "seendr.urls"
ASGI_APPLICATION = "seendr.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.identity",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seendr"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 3)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis has four jobs, kept apart so each can get its own server and eviction policy.
REDIS_CACHE_URL = env("REDIS_CACHE_URL", "redis://127.0.0.1:6379/0")
REDIS_STATE_URL = env("REDIS_STATE_URL", "redis://127.0.0.1:6379/1")
# The channel layer may shard over several separate servers (a comma-separated list; see
# CHANNEL_LAYERS); the state role may be a Redis Cluster (redis+cluster://host:port,...).
REDIS_CHANNELS_URL = env("REDIS_CHANNELS_URL", "redis://127.0.0.1:6379/2")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "redis://127.0.0.1:6379/3")

# Every Redis key and channel-layer name starts with this, so several deployments (or test
# runs) can share one server without touching each other's data.
SEENDR_KEY_PREFIX = env("SEENDR_KEY_PREFIX", "seendr:")
# Seconds a Redis command may take before we treat Redis as unavailable.
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 2.0)
# Connections one process's asyncio state client may hold (consumers share them).
REDIS_STATE_MAX_CONNECTIONS = env_int("REDIS_STATE_MAX_CONNECTIONS", 64)

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_CACHE_URL,
        "KEY_PREFIX": SEENDR_KEY_PREFIX + "cache",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            # The cache role degrades: a dead cache Redis makes cache calls misses (logged),
            # so sessions (cached_db) and pages fall back to Postgres instead of a 500.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# Sessions live in Redis; the cached_db backend keeps them durable across a cache flush.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 24 * 14)

# channels-redis pub/sub, plus local delivery and coalesced publishes (seendr/channel_layer.py).
CHANNEL_LAYER_BACKEND = env("CHANNEL_LAYER_BACKEND", "seendr.channel_layer.PubSubChannelLayer")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": CHANNEL_LAYER_BACKEND,
        "CONFIG": {
            # channels-redis shards channels and groups over this list by a hash of their name
            # (it does not speak Redis Cluster, channels_redis#420), so every process must list
            # the same servers in the same order; each server gets its own Sentinel.
            "hosts": env_list("REDIS_CHANNELS_URL", REDIS_CHANNELS_URL),
            "prefix": SEENDR_KEY_PREFIX.replace(":", ".") + "asgi",
        },
    }
}

# --- Celery -----------------------------------------------------------------------------

CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
# Above the longest task and the longest countdown, so Redis never redelivers a running task.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "global_keyprefix": SEENDR_KEY_PREFIX + "celery:",
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "seendr")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Auth -------------------------------------------------------------------------------

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/chat/"
LOGOUT_REDIRECT_URL = "/"

# --- Email ------------------------------------------------------------------------------

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(BASE_DIR / ".data" / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Seendr <no-reply@seendr.local>")

# --- Matching pool ----------------------------------------------------------------------

# Widening: only shared interests (and language) at first, then the same language, then anyone.
MATCH_INTEREST_SECONDS = env_float("MATCH_INTEREST_SECONDS", 3.0)
MATCH_ANYONE_SECONDS = env_float("MATCH_ANYONE_SECONDS", 8.0)
# A waiting ticket dies this long after its last heartbeat (the consumer beats every ~10 s).
TICKET_TTL_SECONDS = env_int("TICKET_TTL_SECONDS", 30)
# The current-match keys and the live match record, refreshed by the same heartbeat.
MATCH_CURRENT_TTL_SECONDS = env_int("MATCH_CURRENT_TTL_SECONDS", 60)
# How long an ended match stays readable in Redis (likes and reports right after the call).
MATCH_ENDED_TTL_SECONDS = env_int("MATCH_ENDED_TTL_SECONDS", 1800)
# The same two people are not matched again within this many seconds (last N partners kept).
MATCH_COOLDOWN_SECONDS = env_int("MATCH_COOLDOWN_SECONDS", 600)
MATCH_RECENT_PARTNERS = env_int("MATCH_RECENT_PARTNERS", 5)
# Candidates sampled (SRANDMEMBER) per pool set by one matcher call: bounds its cost.
MATCH_SAMPLE_SIZE = env_int("MATCH_SAMPLE_SIZE", 16)
# Per-minute time-to-match statistics are kept this long.
MATCH_STATS_TTL_SECONDS = env_int("MATCH_STATS_TTL_SECONDS", 7200)
# Pool shards (``seendr.pool_shards``): "" keeps one pool under the {pool} hash tag; e.g.
# "en,es,pt=pt+gl" gives a shard per entry (name=languages, a bare name is its own language) and
# an "other" shard for every other language. See docs/scaling.md, "Pool shards".
MATCH_POOL_SHARDS = env("MATCH_POOL_SHARDS", "")
# How often each web process writes its finished matches to PostgreSQL (one bulk insert).
MATCH_HISTORY_FLUSH_SECONDS = env_float("MATCH_HISTORY_FLUSH_SECONDS", 0.5)

# --- Chat socket (matching/consumers.py) -------------------------------------------------

# Each socket refreshes its pool ticket / live match, its presence and its socket record this often,
# and checks that its partner's socket is still alive.
CHAT_HEARTBEAT_SECONDS = env_float("CHAT_HEARTBEAT_SECONDS", 5.0)
# A waiting socket re-runs the matcher this often once past the widening boundaries.
CHAT_RETRY_SECONDS = env_float("CHAT_RETRY_SECONDS", 2.0)
# The record of which socket an identity holds lives this long without a heartbeat (three missed
# beats); a partner whose record lapsed (its server died) is treated as disconnected, so a call
# with a dead server hears partner_left within this plus one heartbeat (25 s).
CHAT_SOCKET_TTL_SECONDS = env_int("CHAT_SOCKET_TTL_SECONDS", 20)
# Someone counts as online for this long after their last heartbeat.
PRESENCE_WINDOW_SECONDS = env_int("PRESENCE_WINDOW_SECONDS", 60)
# At most one `online` broadcast per this many seconds across all servers.
ONLINE_BROADCAST_SECONDS = env_float("ONLINE_BROADCAST_SECONDS", 2.0)
# Chat sockets one network (an IPv4 address, an IPv6 /64) may hold open per server process.
CHAT_SOCKETS_PER_NETWORK = env_int("CHAT_SOCKETS_PER_NETWORK", 20)
# Bytes the server may hold unsent for one socket whose reader does not read; past it the socket
# is dropped with close code 4408 (seendr.send_buffer). A few seconds of a busy call.
WEBSOCKET_SEND_BUFFER_BYTES = env_int("WEBSOCKET_SEND_BUFFER_BYTES", 1024 * 1024)
# The last chat lines of a match kept as report evidence, and for how long.
CHAT_TRANSCRIPT_LINES = env_int("CHAT_TRANSCRIPT_LINES", 50)
CHAT_TRANSCRIPT_TTL_SECONDS = env_int("CHAT_TRANSCRIPT_TTL_SECONDS", 3600)

# --- Friends and calls ------------------------------------------------------------------

# "Add friend" works during a match and this long after it ended; pending requests expire with it.
FRIEND_REQUEST_WINDOW_SECONDS = env_int("FRIEND_REQUEST_WINDOW_SECONDS", 600)
# A call rings this long before it ends unanswered (call_ended, reason timeout).
CALL_RING_SECONDS = env_float("CALL_RING_SECONDS", 30.0)
# After a decline the caller may not ring the same friend again for this long.
CALL_DECLINED_COOLDOWN_SECONDS = env_int("CALL_DECLINED_COOLDOWN_SECONDS", 60)

# --- WebRTC -----------------------------------------------------------------------------

STUN_URLS = env_list("STUN_URLS", "stun:stun.l.google.com:19302")
TURN_URLS = env_list("TURN_URLS", "")
# Shared with coturn (static-auth-secret) for the TURN REST API credential scheme.
TURN_SECRET = env("TURN_SECRET", "")
TURN_CREDENTIAL_TTL = env_int("TURN_CREDENTIAL_TTL", 3600)

# --- Static, media, i18n ----------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / ".data" / "media")))

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# The languages of the interface. Each has a complete catalog under locale/ (a test checks it);
# the compiled .mo files are built by `make run`/`make test` (manage.py compilemessages).
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
    ("fr", "Français"),
    ("de", "Deutsch"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The switcher's choice lives in this cookie for a year; accounts also keep it on their profile.
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Chat translation (seendr/translation/) ------------------------------------------------

# Which service translates a received chat line on demand: "" (off, the Translate action is
# hidden), "browser" (only the browser's built-in Translator API, where it exists) or
# "libretranslate" (the browser's own first where it exists, else the LibreTranslate server).
TRANSLATION_BACKEND = env("TRANSLATION_BACKEND", "")
LIBRETRANSLATE_URL = env("LIBRETRANSLATE_URL", "")
LIBRETRANSLATE_API_KEY = env("LIBRETRANSLATE_API_KEY", "")
LIBRETRANSLATE_TIMEOUT_SECONDS = env_float("LIBRETRANSLATE_TIMEOUT_SECONDS", 2.0)
# Translations are cached (by a hash of the text, source and target; never the text itself).
TRANSLATION_CACHE_SECONDS = env_int("TRANSLATION_CACHE_SECONDS", 60 * 60 * 24)

# --- Security ---------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # The chat page reads it for its fetch() calls.
CSRF_FAILURE_VIEW = "seendr.csrf.csrf_failure"  # JSON under /api/, the usual page elsewhere
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Keyed hashes (guest IPs) use this pepper; it defaults to a key derived from SECRET_KEY.
IP_HASH_KEY = env("IP_HASH_KEY", "") or SECRET_KEY

# --- Rate limits, abuse --------------------------------------------------------------------

# Named limits "N/period" (units s, m, h, d): N at once, then one more every period/N.
# Read by seendr.ratelimit; a name set to None is not limited. Override any one with the
# environment variable RATE_LIMIT_<NAME>, e.g. RATE_LIMIT_LOGIN_IP=50/5m.
RATE_LIMITS = {
    "login_ip": "20/5m",  # log-in attempts per client IP
    "login_user": "10/5m",  # log-in attempts per user name (whatever IP they come from)
    "signup_ip": "5/1h",  # new accounts per client IP
    "guest_ip": "20/1h",  # new guest identities per client IP
    "otp_attempt": "5/10m",  # e-mail code guesses per account
    "otp_resend": "3/10m",  # new e-mail codes per account (each brings fresh guesses)
    "password_reset_ip": "10/1h",  # reset requests per client IP
    "password_reset_email": "3/1h",  # reset mails per address
    "ws_join": "30/1m",  # join/next per identity
    "ws_leave": "30/1m",  # leave per identity
    "ws_chat": "5/1s",  # chat lines per identity
    "ws_signal": "50/1s",  # signal (offer/answer/ICE) frames per identity
    "ws_signal_bytes": "262144/1s",  # signal bytes per identity (an SDP offer is a few KB)
    "ws_connect": "20/1m",  # chat sockets opened per identity
    "ws_ping": "6/1m",  # pings per identity (the page sends one every 15 s)
    "ws_block": "20/1m",  # blocks per identity (each may write Postgres)
    "ws_other": "10/1m",  # any frame type without a limit of its own
    "report": "10/1h",  # reports per identity
    "like": "60/1m",  # likes per identity
    "friend": "20/1m",  # "add friend" presses per identity
    "call": "6/1m",  # calls placed (rings) per account
    "answer": "30/1m",  # call answers per account
    "friends_api": "120/1m",  # friend list reads and removals per account
    "translate": "30/1m",  # chat lines sent for translation per identity
}
for _name in list(RATE_LIMITS):
    RATE_LIMITS[_name] = env(f"RATE_LIMIT_{_name.upper()}", RATE_LIMITS[_name]) or None
# How many reverse proxies of ours append to X-Forwarded-For (0: trust only REMOTE_ADDR).
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0)
# Reporters within 24 h whose weight suspends an identity pending review: one voice per network,
# an established account weighs 1, a guest or an account younger than AUTO_SUSPEND_ESTABLISHED_DAYS
# 0.5, an account with negative karma 0 (moderation.selectors.reporter_weight_since).
AUTO_SUSPEND_REPORTERS = env_float("AUTO_SUSPEND_REPORTERS", 3)
AUTO_SUSPEND_ESTABLISHED_DAYS = env_int("AUTO_SUSPEND_ESTABLISHED_DAYS", 7)
# An automatic suspension ends by itself after this long unless a moderator confirms it.
AUTO_SUSPEND_HOURS = env_int("AUTO_SUSPEND_HOURS", 24)

# The nudity shield in the viewer's browser (matching/shield.py, static/js/chat/shield.js): the
# partner's video stays blurred until SAFE_CHECKS checks in a row find every watched class of the
# nsfwjs model (Drawing, Hentai, Neutral, Porn, Sexy) below its threshold, and blurs again on a hit.
# NUDITY_SHIELD_WATCHED="Porn=0.5,Hentai=0.6,Sexy=0.8".
NUDITY_SHIELD_WATCHED = {
    name.strip(): float(threshold)
    for name, _, threshold in (
        item.partition("=") for item in env_list("NUDITY_SHIELD_WATCHED", "Porn=0.5,Hentai=0.6,Sexy=0.8")
    )
}
NUDITY_SHIELD_SAFE_CHECKS = env_int("NUDITY_SHIELD_SAFE_CHECKS", 2)
NUDITY_SHIELD_INTERVAL_MS = env_int("NUDITY_SHIELD_INTERVAL_MS", 1500)
# Time boxes: a device that cannot load the model or check a frame in time is told so on screen,
# and the video stays blurred with "Show anyway" (the call itself never waits for the shield).
NUDITY_SHIELD_LOAD_TIMEOUT_MS = env_int("NUDITY_SHIELD_LOAD_TIMEOUT_MS", 30_000)
NUDITY_SHIELD_CHECK_TIMEOUT_MS = env_int("NUDITY_SHIELD_CHECK_TIMEOUT_MS", 5_000)
# "" lets each browser choose (WebGL on a GPU, else the CPU); "webgl" or "cpu" pins one.
NUDITY_SHIELD_BACKEND = env("NUDITY_SHIELD_BACKEND", "")

# --- Operations -------------------------------------------------------------------------

# /metrics: a bearer token and/or peer networks (CIDRs) that may scrape; neither set -> 404.
METRICS_TOKEN = env("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128" if DEBUG else "")
# Staff who get the daily moderation summary mail (comma separated); empty: every active superuser.
OPS_SUMMARY_RECIPIENTS = env_list("OPS_SUMMARY_RECIPIENTS", "")
# Celery workers log through LOGGING above (JSON in production) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# With late acks, a task running when the broker connection drops is redelivered to another
# worker anyway: cancel it here rather than run it twice (Celery 6's default; silences a warning).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Probes and scrapers talk plain HTTP to each replica directly, not through the TLS front.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- Logging ----------------------------------------------------------------------------

LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOG_JSON = env_bool("LOG_JSON", not DEBUG)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(connection_id)s",
        },
        "plain": {
            "format": "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s %(connection_id)s]: %(message)s"
        },
    },
    # request_id / connection_id come from seendr.request_id (X-Request-ID, one id per socket).
    "filters": {"request_context": {"()": "seendr.request_id.RequestContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_JSON else "plain",
            "filters": ["request_context"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}
