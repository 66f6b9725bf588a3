"""Helpers for the friends and calls tests: accounts with open chat sockets, friendships."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from matching.tests.wsutil import expect, open_socket, send, user_session
from profiles import services as profile_services


@database_sync_to_async
def make_friends(a: Any, b: Any) -> None:
    profile_services.befriend(user_id=a.pk, other_user_id=b.pk)


async def online_account(username: str) -> tuple[Any, WebsocketCommunicator]:
    """A new account with an open (idle) chat socket."""
    user, key = await user_session(username)
    comm, _ = await open_socket(key)
    return user, comm


async def meet(a: WebsocketCommunicator, b: WebsocketCommunicator, interest: str = "chess") -> dict:
    """Match two idle sockets on a shared interest; returns ``a``'s ``matched`` frame."""
    await send(a, {"type": "join", "interests": [interest]})
    await expect(a, "queued")
    await send(b, {"type": "join", "interests": [interest]})
    await expect(b, "matched")
    return await expect(a, "matched")
