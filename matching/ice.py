"""ICE servers for ``hello`` and ``matched``: STUN as configured, TURN with short-lived credentials.

TURN credentials follow the "TURN REST API" scheme coturn implements under ``use-auth-secret``:
the username is ``<expiry unix time>:<identity id>`` and the password is
``base64(HMAC-SHA1(static-auth-secret, username))``. coturn recomputes the password from the
username and refuses it once the expiry has passed, so nothing is stored and a leaked credential
dies by itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings


def turn_password(*, secret: str, username: str) -> str:
    """The password coturn expects for ``username`` under ``static-auth-secret=secret``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def turn_credentials(*, secret: str, identity_id: str, expires_at: int) -> tuple[str, str]:
    """(username, credential) valid until ``expires_at`` (unix seconds)."""
    username = f"{int(expires_at)}:{identity_id}"
    return username, turn_password(secret=secret, username=username)


def ice_servers(*, identity_id: str, now: float | None = None) -> list[dict]:
    """RTCIceServer dictionaries for one identity. TURN is omitted without a secret or URLs."""
    servers: list[dict] = []
    if settings.STUN_URLS:
        servers.append({"urls": list(settings.STUN_URLS)})
    if settings.TURN_URLS and settings.TURN_SECRET:
        now = time.time() if now is None else now
        username, credential = turn_credentials(
            secret=settings.TURN_SECRET,
            identity_id=identity_id,
            expires_at=int(now) + settings.TURN_CREDENTIAL_TTL,
        )
        servers.append({"urls": list(settings.TURN_URLS), "username": username, "credential": credential})
    return servers
