"""Session authentication for WebSockets that survives a PostgreSQL outage at the handshake.

Channels' ``AuthMiddleware`` reads the user before the consumer runs; when PostgreSQL is away
that read raises, and the server refuses the handshake with HTTP 500: the browser sees 1006 and
learns nothing. Here the failure is kept for the consumer instead: ``scope["user"]`` raises the
same database error when first used, inside the consumer's connect, which accepts the socket
and closes it with 1011 ("try again later").
"""

from __future__ import annotations

import logging

from channels.auth import AuthMiddleware
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.db import DatabaseError
from django.utils.functional import LazyObject

log = logging.getLogger(__name__)


class UnreadableUser(LazyObject):
    """A scope user that could not be read: any use raises the error that prevented it."""

    def __init__(self, error: DatabaseError) -> None:
        super().__init__()
        self.__dict__["_error"] = error

    def _setup(self) -> None:
        raise self.__dict__["_error"]


class OutageTolerantAuthMiddleware(AuthMiddleware):
    async def resolve_scope(self, scope: dict) -> None:
        try:
            await super().resolve_scope(scope)
        except DatabaseError as exc:
            log.warning("chat socket: session user unreadable at the handshake: %s", exc)
            scope["user"] = UnreadableUser(exc)


def auth_middleware_stack(inner: BaseMiddleware) -> CookieMiddleware:
    """``channels.auth.AuthMiddlewareStack`` with :class:`OutageTolerantAuthMiddleware`."""
    return CookieMiddleware(SessionMiddleware(OutageTolerantAuthMiddleware(inner)))
