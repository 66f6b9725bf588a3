"""Rate limits: one GCRA limiter in Redis, configured by named limits in settings.

``settings.RATE_LIMITS`` maps a scope name to ``"N/period"`` (``"10/5m"``: ten at once, then one
more every 30 seconds; units ``s``, ``m``, ``h``, ``d``, with an optional count such as ``5m``).
A scope set to ``None`` is not limited. An unknown scope is a programming error and raises.

The check is one Lua script (``seendr/lua/ratelimit.lua``), atomic on the server, and the caller
passes the time in, so tests can move the clock. The asyncio checks of one process that arrive
together (frames of many sockets in one event-loop turn) go to Redis as one pipeline
(``seendr.coalesce``); each is still its own script call. Frequent actions of one socket can pay
a limit in leases instead (``seendr.ratelimit_lease``).

Redis down: the limiter FAILS OPEN. A limit protects against abuse; refusing every log-in and
every chat line because a cache server is away would turn a Redis outage into a site outage.
A failure is logged as a warning (``seendr.ratelimit``) and opens a small breaker: for
``BREAKER_SECONDS`` the limiter does not ask Redis again, so a hanging Redis costs one timeout,
not one per request.

Three doors:

* ``check(scope=..., subject=...)`` / ``await acheck(...)`` return a :class:`Decision`;
* ``@rate_limit("scope", key=lambda request: ...)`` on a view answers 429 with ``Retry-After``:
  JSON ``{"error": {"code": "rate_limited", ...}}`` under ``/api/``, a short page elsewhere;
* ``error_frame(decision)`` is the WebSocket ``error`` frame for a refused consumer action.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext, ngettext

from seendr import coalesce, keys
from seendr.coalesce import Coalescer
from seendr.http import json_error
from seendr.identity import from_request
from seendr.metrics import RATE_LIMITED
from seendr.redis_state import CircuitBreaker, astate, lua, state

log = logging.getLogger(__name__)

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d*\.?\d*)\s*([smhd])\s*$")
_SAFE_SUBJECT = re.compile(r"^[A-Za-z0-9._@+:/\-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Limit:
    count: int
    period: float  # seconds

    @property
    def interval(self) -> float:
        return self.period / self.count


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # whole seconds, >= 1 when refused
    remaining: int | None = None


ALLOW = Decision(allowed=True)

# After a Redis failure the limiter stays open this long without asking again: a Redis that
# hangs (rather than refuses) would otherwise cost every request a socket timeout per limit.
BREAKER_SECONDS = 5.0
breaker = CircuitBreaker(seconds=BREAKER_SECONDS)


def _breaker_open() -> bool:
    return breaker.is_open(settings.REDIS_STATE_URL)


def _trip(scope: str, exc: Exception) -> Decision:
    breaker.trip(settings.REDIS_STATE_URL)
    log.warning("rate limit %s: redis unavailable, failing open for %.0fs: %s", scope, BREAKER_SECONDS, exc)
    return ALLOW


@functools.lru_cache(maxsize=256)
def parse(spec: str) -> Limit:
    """``"10/5m"`` -> Limit(count=10, period=300.0). Cached by the spec's text: the hot path
    (a check per WebSocket frame) parsed the same few specs thousands of times a second, and a
    changed setting is a new text, so it is parsed afresh."""
    match = _SPEC.match(spec)
    if not match:
        raise ImproperlyConfigured(f"rate limit {spec!r} is not of the form 'N/period', e.g. '10/5m'")
    count = int(match.group(1))
    amount = float(match.group(2)) if match.group(2) else 1.0
    period = amount * _UNIT_SECONDS[match.group(3)]
    if count < 1 or period <= 0:
        raise ImproperlyConfigured(f"rate limit {spec!r} must allow at least 1 per positive period")
    return Limit(count=count, period=period)


def limit_for(scope: str) -> Limit | None:
    limits = settings.RATE_LIMITS
    if scope not in limits:
        raise ImproperlyConfigured(f"no rate limit named {scope!r} in settings.RATE_LIMITS")
    spec = limits[scope]
    return None if spec is None else parse(spec)


def _subject_key(scope: str, subject: str) -> str:
    # Subjects come from users (user names, e-mail addresses): long or odd ones are hashed so
    # a hostile value can neither bloat the key space nor smuggle separators into it.
    if not _SAFE_SUBJECT.match(subject):
        subject = "h" + hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return keys.rate_limit(scope, subject)


def _args(limit: Limit, now: float | None, cost: int) -> list:
    now_ms = int((time.time() if now is None else now) * 1000)
    return [now_ms, repr(limit.interval * 1000), repr(limit.period * 1000), cost]


def _decision(raw: list) -> Decision:
    allowed, retry_ms, remaining = (int(v) for v in raw)
    if allowed:
        return Decision(allowed=True, retry_after=0, remaining=remaining)
    return Decision(allowed=False, retry_after=max(1, math.ceil(retry_ms / 1000)), remaining=0)


def _counted(scope: str, decision: Decision) -> Decision:
    """Count a refusal in /metrics (``seendr_rate_limited_total{scope}``, per process)."""
    if not decision.allowed:
        RATE_LIMITED.labels(scope=scope).inc()
    return decision


def check(*, scope: str, subject: str, now: float | None = None, cost: int = 1) -> Decision:
    """Count one request of ``subject`` against the limit ``scope``; refuse it when over."""
    limit = limit_for(scope)
    if limit is None:
        return ALLOW
    if _breaker_open():
        return ALLOW
    key = _subject_key(scope, subject)
    try:
        raw = lua("seendr", "ratelimit").run(state(), [key], _args(limit, now, cost))
    except redis.RedisError as exc:
        return _trip(scope, exc)
    return _counted(scope, _decision(raw))


async def acheck(
    *, scope: str, subject: str, now: float | None = None, cost: int = 1, count_refusal: bool = True
) -> Decision:
    """The asyncio twin of :func:`check`, for consumers. ``count_refusal=False`` keeps a refusal
    out of /metrics, for a caller that asks ahead of an action (``seendr.ratelimit_lease``)."""
    limit = limit_for(scope)
    if limit is None:
        return ALLOW
    if _breaker_open():
        return ALLOW
    key = _subject_key(scope, subject)
    try:
        raw = await _checks_of_this_loop().submit((key, _args(limit, now, cost)))
    except redis.RedisError as exc:
        return _trip(scope, exc)
    if raw is None:  # the breaker opened while this check waited for its batch
        return ALLOW
    return _counted(scope, _decision(raw)) if count_refusal else _decision(raw)


# The asyncio checks of one event loop that arrive together (the frames of many sockets in one
# turn) go to Redis as one pipeline: each is still its own atomic script call, in order.
def _checks_of_this_loop() -> Coalescer:
    return coalesce.of_this_loop(_run_checks)


async def _run_checks(calls: list[tuple[str, list]]) -> list:
    """One pipeline of limiter calls; a reply that is an error goes to its own caller. Calls a
    server lacked the script for (a restart) are sent again once it is loaded, and only those:
    a limiter call is not idempotent."""
    if _breaker_open():
        return [None] * len(calls)  # a batch that waited behind a failed one: no second timeout
    client = astate()
    script = lua("seendr", "ratelimit")

    async def send(batch: list[tuple[str, list]]) -> list:
        async with client.pipeline(transaction=False) as pipe:
            for key, args in batch:
                script.queue(pipe, [key], args)
            return await pipe.execute(raise_on_error=False)

    replies = await send(calls)
    missing = [i for i, reply in enumerate(replies) if isinstance(reply, redis.exceptions.NoScriptError)]
    if missing:
        await client.script_load(script.source)
        for i, reply in zip(missing, await send([calls[i] for i in missing]), strict=True):
            replies[i] = reply
    return replies


def reset(*, scope: str, subject: str) -> None:
    """Forget a subject's history (e.g. after a successful log-in, if a caller wants that)."""
    try:
        state().delete(_subject_key(scope, subject))
    except redis.RedisError as exc:
        log.warning("rate limit %s: redis unavailable, reset skipped: %s", scope, exc)


# --- HTTP ---------------------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The caller's address. ``X-Forwarded-For`` is believed only for ``TRUSTED_PROXY_HOPS``
    proxies we run ourselves (counted from the right); anything further left is client-made
    and would let an attacker pick a fresh "IP" per request."""
    hops = getattr(settings, "TRUSTED_PROXY_HOPS", 0)
    if hops > 0:
        chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        chain = [part for part in chain if part]
        if len(chain) >= hops:
            return chain[-hops]
    return request.META.get("REMOTE_ADDR") or "unknown"


def ip_subject(request: HttpRequest) -> str:
    """The default ``key`` of :func:`rate_limit`: the client IP, with an IPv6 address widened to
    its /64. One subscriber usually holds a whole /64, so counting single IPv6 addresses would
    hand an attacker 2**64 fresh budgets."""
    from seendr.networks import subject

    return subject(client_ip(request))


def too_many_requests(request: HttpRequest, decision: Decision) -> HttpResponse:
    seconds = max(1, decision.retry_after)
    message = ngettext(
        "Too many requests. Try again in %(seconds)d second.",
        "Too many requests. Try again in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = json_error(429, "rate_limited", message, retry_after=seconds)
    else:
        html = render_to_string("429.html", {"message": message, "retry_after": seconds}, request=request)
        response = HttpResponse(html, status=429)
    response["Retry-After"] = str(seconds)
    return response


def rate_limit(
    scope: str,
    *,
    key: Callable[[HttpRequest], str | None] = ip_subject,
    methods: tuple[str, ...] = ("POST",),
) -> Callable:
    """Limit a view (sync or async) per ``key(request)``; requests of other methods pass free.

    ``key`` may return None to skip the limit for that request (e.g. no user name given).
    Stack the decorator to apply several limits (per IP and per user name).
    """

    def decorator(view: Callable) -> Callable:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args, **kwargs):
                if request.method in methods:
                    subject = key(request)
                    if subject:
                        decision = await acheck(scope=scope, subject=subject)
                        if not decision.allowed:
                            return too_many_requests(request, decision)
                return await view(request, *args, **kwargs)

            return async_wrapper

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method in methods:
                subject = key(request)
                if subject:
                    decision = check(scope=scope, subject=subject)
                    if not decision.allowed:
                        return too_many_requests(request, decision)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def post_field(name: str, *, lower: bool = True) -> Callable[[HttpRequest], str | None]:
    """A ``key`` for :func:`rate_limit`: a submitted form field (e.g. the user name)."""

    def key(request: HttpRequest) -> str | None:
        value = (request.POST.get(name) or "").strip()
        return (value.lower() if lower else value) or None

    return key


def user_key(request: HttpRequest) -> str | None:
    """A ``key`` for :func:`rate_limit`: the signed-in account (None, so no limit, for others)."""
    user = getattr(request, "user", None)
    return f"u{user.pk}" if user is not None and user.is_authenticated else None


def identity_key(request: HttpRequest) -> str | None:
    """A ``key`` for :func:`rate_limit`: the account or guest behind the request, else the IP."""
    identity = from_request(request)
    return identity.id if identity else ip_subject(request)


# --- WebSocket ----------------------------------------------------------------------------


def error_frame(decision: Decision) -> dict:
    """The ``error`` frame a consumer sends when ``acheck`` refused an action."""
    seconds = max(1, decision.retry_after)
    return {
        "type": "error",
        "code": "rate_limited",
        "message": gettext("Slow down: try again in %(seconds)d s.") % {"seconds": seconds},
        "retry_after": seconds,
    }
