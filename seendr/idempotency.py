"""``Idempotency-Key`` for POST endpoints that create things (likes, reports).

A client that sends ``Idempotency-Key: <1..128 of A-Z a-z 0-9 . _ : ->`` gets the first answer
(status and body) replayed for 24 hours, with ``Idempotent-Replayed: true``. While the first
request runs, a duplicate gets 409 ``idempotency_in_progress`` (it is never executed twice: the
first request holds a ``SET NX`` "pending" marker). The same key with a different request (other
path or body) gets 422 ``idempotency_key_reused``. A malformed key gets 400.

Keys are scoped per caller (account or guest identity, else the session): one person can never
replay another person's answer by guessing their key.

Answers that say "try again" are not stored: 401/403/409/429 and 5xx, or an exception; the marker
is dropped so a retry runs for real. Without the header the view runs as usual.

A claim that times out is sent once more: the first attempt may have landed, and our own token
in the marker says so. Redis down: the view runs without replay protection (logged). The
endpoints using this are idempotent in Postgres as well (one like per match, one report per
reporter and match), so the worst case is an answer that differs on retry, never a double write.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable

import redis
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _

from seendr import keys
from seendr.http import json_error
from seendr.identity import from_request
from seendr.redis_state import lua, state

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
ANSWER_TTL_SECONDS = 24 * 60 * 60
# A request that holds its marker longer than this is presumed dead; the key frees up.
PENDING_TTL_SECONDS = 60
_VALID_KEY = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_NOT_STORED = {401, 403, 409, 429}


def request_subject(request: HttpRequest) -> str | None:
    """Whose keys these are: the identity (account or guest), else the session, else nobody."""
    identity = from_request(request)
    if identity is not None:
        return identity.id
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    return f"s{session_key}" if session_key else None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.path.encode())
    digest.update(b"\0")
    try:
        digest.update(request.body)
    except RawPostDataException:
        # A form post (multipart) whose stream was parsed already (CSRF reads the token from
        # it): the parsed fields and files stand for the body.
        _digest_form(digest, request)
    return digest.hexdigest()


def _digest_form(digest, request: HttpRequest) -> None:
    for name, values in sorted(request.POST.lists()):
        digest.update(json.dumps([name, values]).encode("utf-8", "surrogatepass"))
    for name, files in sorted(request.FILES.lists()):
        for upload in files:
            digest.update(json.dumps([name, upload.name, upload.size]).encode("utf-8", "surrogatepass"))
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)


def _replay(stored: dict) -> HttpResponse:
    response = HttpResponse(
        stored["body"], status=stored["status"], content_type=stored.get("content_type") or "application/json"
    )
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(scope: str, *, subject: Callable[[HttpRequest], str | None] = request_subject) -> Callable:
    """Decorate a (sync) POST view so an ``Idempotency-Key`` makes it run at most once."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            raw_key = request.headers.get(HEADER)
            if raw_key is None or request.method != "POST":
                return view(request, *args, **kwargs)
            if not _VALID_KEY.match(raw_key):
                return json_error(
                    400,
                    "invalid_idempotency_key",
                    _("Idempotency-Key must be 1 to 128 characters of letters, digits and . _ : -"),
                )
            who = subject(request)
            if who is None:
                return view(request, *args, **kwargs)
            key = keys.idempotency(scope, f"{who}:{raw_key}")
            fingerprint = _fingerprint(request)
            token = secrets.token_hex(8)
            pending = json.dumps({"state": "pending", "token": token, "fp": fingerprint})
            client = state()
            try:
                claimed, existing = _claim(client, key, pending, token)
            except redis.RedisError as exc:
                log.warning("idempotency %s: redis unavailable, running without replay guard: %s", scope, exc)
                return view(request, *args, **kwargs)

            if not claimed:
                if existing is None:  # the first answer expired between our two commands
                    return json_error(409, "idempotency_in_progress", _("Retry this request."))
                stored = json.loads(existing)
                if stored.get("fp") != fingerprint:
                    return json_error(
                        422,
                        "idempotency_key_reused",
                        _("This Idempotency-Key was already used for a different request."),
                    )
                if stored.get("state") != "done":
                    response = json_error(
                        409,
                        "idempotency_in_progress",
                        _("A request with this Idempotency-Key is still running; retry shortly."),
                    )
                    response["Retry-After"] = "1"
                    return response
                return _replay(stored)

            finish = lua("seendr", "idempotency")
            try:
                response = view(request, *args, **kwargs)
            except BaseException:
                _finish(finish, client, key, token, "")
                raise
            keep = (
                not getattr(response, "streaming", False)
                and response.status_code < 500
                and response.status_code not in _NOT_STORED
            )
            if keep:
                answer = json.dumps(
                    {
                        "state": "done",
                        "fp": fingerprint,
                        "status": response.status_code,
                        "content_type": response.get("Content-Type", ""),
                        "body": response.content.decode("utf-8", "replace"),
                    }
                )
                _finish(finish, client, key, token, answer)
            else:
                _finish(finish, client, key, token, "")
            return response

        return wrapper

    return decorator


def _claim(client: redis.Redis, key: str, pending: str, token: str) -> tuple[bool, str | None]:
    """``SET NX`` the pending marker: (claimed, the marker found instead)."""
    try:
        if client.set(key, pending, nx=True, ex=PENDING_TTL_SECONDS):
            return True, None
    except redis.TimeoutError:
        # The outcome is unknown: the SET may have run after the client gave up. Ask once more;
        # finding our own token below means the first attempt claimed the key.
        if client.set(key, pending, nx=True, ex=PENDING_TTL_SECONDS):
            return True, None
    existing = client.get(key)
    if existing is not None and json.loads(existing).get("token") == token:
        return True, None
    return False, existing


def _finish(script, client: redis.Redis, key: str, token: str, answer: str) -> None:
    try:
        script.run(client, [key], [token, answer, ANSWER_TTL_SECONDS])
    except redis.RedisError as exc:
        log.warning("idempotency: could not record the answer for %s: %s", key, exc)
