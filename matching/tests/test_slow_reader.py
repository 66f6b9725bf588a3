"""A chat socket that never reads, against a real Daphne (issue "Safety, second round", D1).

The victim does the WebSocket handshake over a raw TCP socket with a 4 KiB receive buffer, joins,
and then never reads another byte (it still sends a ``ping`` every second, so sending does not
keep a non-reader alive). Its partner relays 63 KB ``signal`` frames at 40 per second. The
server must drop the victim (close 4408 and an aborted connection; the partner hears
``partner_left``) with its memory bounded: at most ``WEBSOCKET_SEND_BUFFER_BYTES`` (1 MiB) plus one
frame unsent per socket. Before the bound, Daphne buffered everything and grew without end.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time

import psutil
import pytest
from django.conf import settings

from matching.tests.wsutil import DAPHNE_ORIGIN, guest_session, ws_connect, ws_expect, ws_send

pytestmark = [pytest.mark.slow]

ATTACK_SECONDS = 15.0
FRAMES_PER_SECOND = 40
FRAME = json.dumps({"type": "signal", "data": {"sdp": "x" * 63_000}})
# The bound per socket is 1 MiB + one frame; the rest is slack for the interpreter's own churn
# (63 KB frames parsed, relayed through Redis, serialised) while the attack runs. Measured on
# 2 cores: dropped after 1.5 s, +1.8 MiB; without the bound, never dropped and +27.5 MiB in 15 s.
MAX_RSS_GROWTH = 16 * 1024 * 1024


def masked_text_frame(text: str) -> bytes:
    """A client-to-server text frame (RFC 6455: clients mask)."""
    payload = text.encode()
    mask = os.urandom(4)
    head = bytes([0x81])
    if len(payload) < 126:
        head += bytes([0x80 | len(payload)])
    else:
        head += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def non_reader(port: int, session_key: str) -> socket.socket:
    """Handshake, read the 101 answer, and from then on read nothing."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/chat/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {DAPHNE_ORIGIN}\r\nCookie: {settings.SESSION_COOKIE_NAME}={session_key}\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def connection_dropped(sock: socket.socket, timeout: float = 5.0) -> bool:
    """Read what is left: a dropped connection ends (EOF or reset); a live one keeps sending."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(1 << 20):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return False


async def test_a_socket_that_never_reads_is_dropped_with_memory_bounded(daphne_server):
    # The per-identity signal byte cap would slow this flood down; it is tested on its own.
    server = daphne_server(RATE_LIMIT_WS_SIGNAL_BYTES="")
    process = psutil.Process(server.proc.pid)
    _, victim_key = await guest_session()
    _, attacker_key = await guest_session()

    victim = non_reader(server.port, victim_key)
    victim.sendall(masked_text_frame(json.dumps({"type": "join", "interests": ["flood"]})))
    attacker = await ws_connect(server, attacker_key)
    await ws_expect(attacker, "hello")
    await asyncio.sleep(0.3)  # the victim's ticket is in the pool
    await ws_send(attacker, {"type": "join", "interests": ["flood"]})
    await ws_expect(attacker, "matched")

    baseline = process.memory_info().rss
    peak = baseline
    partner_left_after = None
    started = time.monotonic()
    next_ping = started
    reset = False
    while time.monotonic() - started < ATTACK_SECONDS:
        await attacker.send(FRAME)
        if time.monotonic() >= next_ping and not reset:
            try:
                victim.sendall(masked_text_frame('{"type":"ping"}'))
            except (ConnectionResetError, BrokenPipeError):
                reset = True  # dropped already (the point): partner_left is on its way
            next_ping += 1.0
        peak = max(peak, process.memory_info().rss)
        try:
            frame = json.loads(await asyncio.wait_for(attacker.recv(), 1 / FRAMES_PER_SECOND))
        except TimeoutError:
            continue
        if frame["type"] == "partner_left":
            partner_left_after = time.monotonic() - started
            break
    await asyncio.sleep(1.0)
    after = process.memory_info().rss
    dropped = reset or connection_dropped(victim)
    victim.close()
    await attacker.close()

    growth = peak - baseline
    print(
        f"slow reader: dropped={dropped} partner_left_after={partner_left_after} s, "
        f"rss baseline {baseline / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB "
        f"(+{growth / 2**20:.1f}), 1 s after {after / 2**20:.1f} MiB"
    )
    assert partner_left_after is not None, "the partner never heard that the non-reader was dropped"
    assert dropped, "the non-reader's connection is still open"
    assert growth < MAX_RSS_GROWTH, f"server grew {growth / 2**20:.1f} MiB under the attack"
    assert "Traceback" not in server.output(), server.output()
