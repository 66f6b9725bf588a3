"""Helpers for the chat-socket tests: real sessions, real channel layer, frame reading.

Sessions are built with the configured SessionStore (so the socket's AuthMiddlewareStack reads
them exactly as it reads a browser's), and sockets are opened either in-process with
WebsocketCommunicator or over TCP against a real Daphne with the ``websockets`` client.
"""

from __future__ import annotations

import asyncio
import json
import time
from importlib import import_module
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.utils.crypto import get_random_string

from accounts import guests
from seendr.identity import GUEST_SESSION_KEY, Identity

ORIGIN = "http://testserver"
DAPHNE_ORIGIN = "http://127.0.0.1:8000"
IGNORED = {"online"}  # pushed at any time; tests that care read it explicitly


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore()


def _cache_only_session(data: dict[str, Any]) -> str:
    """A session the configured cached_db engine finds in its cache, so reading it needs no
    database: tests of guests then run without a (slow, transactional) test database."""
    store = _store()
    for key, value in data.items():
        store[key] = value
    store._session_key = get_random_string(32, VALID_KEY_CHARS)
    store._cache.set(store.cache_key, store._get_session(no_load=True), settings.SESSION_COOKIE_AGE)
    return store.session_key


async def guest_session() -> tuple[Identity, str]:
    """A fresh guest and the ``sessionid`` cookie value of its session."""
    identity = await sync_to_async(guests.create_guest)(ip="127.0.0.1")
    return identity, await sync_to_async(_cache_only_session)({GUEST_SESSION_KEY: identity.id})


async def second_session(identity: Identity) -> str:
    """Another session (a second tab or device) of the same guest."""
    return await sync_to_async(_cache_only_session)({GUEST_SESSION_KEY: identity.id})


@database_sync_to_async
def user_session(username: str) -> tuple[Any, str]:
    """A fresh account and the ``sessionid`` cookie value of a logged-in session."""
    user = get_user_model().objects.create_user(username=username, password="pw-123456-long")
    store = _store()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return user, store.session_key


def headers(session_key: str | None, origin: str | None = ORIGIN) -> list[tuple[bytes, bytes]]:
    out = []
    if origin is not None:
        out.append((b"origin", origin.encode()))
    if session_key is not None:
        out.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return out


def communicator(session_key: str | None, origin: str | None = ORIGIN) -> WebsocketCommunicator:
    from seendr.asgi import application

    return WebsocketCommunicator(application, "/ws/chat/", headers=headers(session_key, origin))


async def recv(comm: WebsocketCommunicator, timeout: float = 3.0, ignore: set[str] = IGNORED) -> dict:
    """The next frame that is not an ``online`` push. Fails on close or timeout."""
    deadline = time.monotonic() + timeout
    while True:
        left = max(0.01, deadline - time.monotonic())
        output = await comm.receive_output(left)
        assert output["type"] == "websocket.send", f"expected a frame, got {output}"
        frame = json.loads(output["text"])
        if frame.get("type") not in ignore:
            return frame


async def expect(comm: WebsocketCommunicator, frame_type: str, timeout: float = 3.0) -> dict:
    frame = await recv(comm, timeout)
    assert frame["type"] == frame_type, f"expected {frame_type}, got {frame}"
    return frame


async def expect_close(comm: WebsocketCommunicator, timeout: float = 3.0) -> int:
    """Skip frames until the app closes the socket; returns the close code."""
    deadline = time.monotonic() + timeout
    while True:
        output = await comm.receive_output(max(0.01, deadline - time.monotonic()))
        if output["type"] == "websocket.close":
            return output.get("code", 1000)


async def open_socket(session_key: str, origin: str = ORIGIN) -> tuple[WebsocketCommunicator, dict]:
    comm = communicator(session_key, origin)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    hello = await expect(comm, "hello", timeout=5)
    return comm, hello


async def send(comm: WebsocketCommunicator, frame: dict) -> None:
    await comm.send_to(text_data=json.dumps(frame))


async def nothing_for(comm: WebsocketCommunicator, seconds: float) -> None:
    """Assert no frame other than ``online`` arrives within ``seconds`` (the app keeps running:
    a receive timeout would cancel it)."""
    await asyncio.sleep(seconds)
    while not comm.output_queue.empty():
        output = comm.output_queue.get_nowait()
        if output["type"] == "websocket.send" and json.loads(output["text"]).get("type") in IGNORED:
            continue
        raise AssertionError(f"unexpected output {output}")


async def matched_pair(interest: str = "chess") -> tuple[Any, ...]:
    """Two guests on their own sockets, matched on a shared interest. Returns
    (a_identity, a_comm, a_matched, b_identity, b_comm, b_matched); ``a`` waited, ``b`` initiated."""
    a, a_key = await guest_session()
    b, b_key = await guest_session()
    a_comm, _ = await open_socket(a_key)
    b_comm, _ = await open_socket(b_key)
    await send(a_comm, {"type": "join", "interests": [interest]})
    await expect(a_comm, "queued")
    await send(b_comm, {"type": "join", "interests": [interest]})
    b_matched = await expect(b_comm, "matched")
    a_matched = await expect(a_comm, "matched")
    return a, a_comm, a_matched, b, b_comm, b_matched


# --- Over TCP against real Daphne ----------------------------------------------------------


async def ws_connect(server, session_key: str, origin: str = DAPHNE_ORIGIN):
    import websockets

    return await websockets.connect(
        f"{server.ws_url}/ws/chat/",
        origin=origin,
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"},
        open_timeout=10,
    )


async def ws_expect(ws, frame_type: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        frame = json.loads(raw)
        if frame.get("type") in IGNORED and frame_type not in IGNORED:
            continue
        assert frame["type"] == frame_type, f"expected {frame_type}, got {frame}"
        return frame


async def ws_send(ws, frame: dict) -> None:
    await ws.send(json.dumps(frame))


async def eventually(check, timeout: float = 10.0, interval: float = 0.05):
    """Await ``check()`` until it returns something truthy (returned), failing after ``timeout``.

    For conditions a background task brings about (a heartbeat, a retry): the test waits for
    the event itself, not for a guess at how long a loaded machine needs.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached within {timeout}s: {check.__name__}"
        await asyncio.sleep(interval)
