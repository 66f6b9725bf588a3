"""What an attacker tried on the chat socket (issue "Safety, second round"): every frame type is
rate limited, and odd Unicode is a field error, never a traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest

from matching import frames
from matching.frames import CLIENT_TYPES
from matching.tests.wsutil import (
    communicator,
    expect,
    expect_close,
    guest_session,
    matched_pair,
    open_socket,
    recv,
    send,
)

# One valid example of every client frame (only the limiter, which runs first, matters here).
EXAMPLES = {
    "join": {"type": "join", "interests": ["chess"]},
    "next": {"type": "next"},
    "leave": {"type": "leave"},
    "signal": {"type": "signal", "data": {"candidate": "x"}},
    "chat": {"type": "chat", "text": "hi"},
    "ping": {"type": "ping"},
    "like": {"type": "like"},
    "report": {"type": "report", "reason": "spam"},
    "block": {"type": "block"},
    "friend": {"type": "friend"},
    "call": {"type": "call", "username": "someone"},
    "answer": {"type": "answer", "call_id": "0" * 32, "accept": True},
}


def test_every_client_frame_type_has_an_example():
    assert set(EXAMPLES) == set(CLIENT_TYPES)


@pytest.mark.parametrize("frame_type", sorted(CLIENT_TYPES))
async def test_every_frame_type_is_rate_limited(frame_type, settings):
    """A flood of any one frame type (``block`` and ``ping`` included) is refused past its
    limit; before, 1,000 ``block`` frames meant 4,005 Postgres commits in 5 s."""
    settings.RATE_LIMITS = {
        name: spec if name == "ws_signal_bytes" else "2/1m" for name, spec in settings.RATE_LIMITS.items()
    }
    _, key = await guest_session()
    comm, _ = await open_socket(key)
    codes = []
    for _ in range(3):
        await send(comm, EXAMPLES[frame_type])
        frame = await recv(comm)
        codes.append(frame.get("code", frame["type"]))
    assert codes[-1] == "rate_limited", codes
    assert "rate_limited" not in codes[:2], codes
    await comm.disconnect()


@pytest.mark.parametrize(
    "raw",
    [
        '{"type":"chat","text":"\\ud800"}',
        '{"type":"chat","text":"ok \\udfff then"}',
        '{"type":"signal","data":{"sdp":"\\ud83d"}}',
        '{"type":"signal","data":{"\\udc00":"key"}}',
        '{"type":"report","reason":"spam","note":"\\ud800"}',
        '{"type":"join","interests":["\\ud800"]}',
    ],
)
async def test_a_lone_surrogate_is_a_bad_field_and_logs_no_traceback(raw, caplog):
    _, a_comm, _, _, b_comm, _ = await matched_pair()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            await a_comm.send_to(text_data=raw)
            frame = await expect(a_comm, "error")
            assert frame["code"] == "bad_field", frame
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text
    # The socket stays open and the match goes on.
    await send(a_comm, {"type": "chat", "text": "still here"})
    assert (await expect(b_comm, "chat"))["text"] == "still here"
    await a_comm.disconnect()
    await b_comm.disconnect()


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"chat","text":"\\ud800"}',  # spelt as a JSON escape
        '{"type":"chat","text":"raw \ud800 here"}',  # held raw
        '{"type":"signal","data":{"k":["a",{"\\udc00":1}]}}',  # deep, in a key
    ],
)
def test_a_lone_surrogate_anywhere_is_refused_by_the_parser(text):
    with pytest.raises(frames.FrameError) as refused:
        frames.parse(text)
    assert refused.value.code == "bad_field"


def test_plain_non_ascii_text_parses():
    frame = frames.parse('{"type":"chat","text":"héllo, café ☕"}')
    assert frame.fields["text"] == "héllo, café ☕"


# --- D1: signal bytes per second, sockets per network and per identity -----------------------


async def test_signal_bytes_per_second_are_capped(settings):
    """50 signal frames a second of 63 KB each was 3 MB/s through the server; bytes count too."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ws_signal_bytes": "200000/1s"}
    _, a_comm, _, _, b_comm, _ = await matched_pair()
    big = {"type": "signal", "data": {"sdp": "x" * 63_000}}
    for _ in range(3):
        await send(a_comm, big)
        assert (await expect(b_comm, "signal"))["data"] == big["data"]
    await send(a_comm, big)
    refused = await expect(a_comm, "error")
    assert refused["code"] == "rate_limited" and refused["retry_after"] >= 1
    # Small ICE candidates still pass once the budget refills.
    await asyncio.sleep(1.0)
    await send(a_comm, {"type": "signal", "data": {"candidate": "c"}})
    assert (await expect(b_comm, "signal"))["data"] == {"candidate": "c"}
    await a_comm.disconnect()
    await b_comm.disconnect()


def from_address(session_key: str, ip: str):
    comm = communicator(session_key)
    comm.scope["client"] = [ip, 50000]
    return comm


async def test_sockets_per_network_are_capped(settings):
    settings.CHAT_SOCKETS_PER_NETWORK = 3
    comms = []
    for _ in range(3):
        _, key = await guest_session()
        comm = from_address(key, "203.0.113.77")
        assert (await comm.connect())[0]
        await expect(comm, "hello")
        comms.append(comm)
    _, key = await guest_session()
    extra = from_address(key, "203.0.113.77")
    await extra.connect()
    refused = await recv(extra)
    assert refused["type"] == "error" and refused["code"] == "too_many_sockets", refused
    assert await expect_close(extra) == 4429
    await extra.disconnect()
    # Another network is not affected, and a freed slot can be taken again.
    _, key = await guest_session()
    other = from_address(key, "203.0.113.78")
    assert (await other.connect())[0]
    await expect(other, "hello")
    await comms.pop().disconnect()
    _, key = await guest_session()
    again = from_address(key, "203.0.113.77")
    assert (await again.connect())[0]
    await expect(again, "hello")
    for comm in [*comms, other, again]:
        await comm.disconnect()


async def test_socket_opens_per_identity_are_capped(settings):
    """One identity holds one socket (the newest wins, 4409); reopening in a loop is refused."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ws_connect": "3/1m"}
    _, key = await guest_session()
    for _ in range(3):
        comm, _ = await open_socket(key)
        await comm.disconnect()
    comm = communicator(key)
    await comm.connect()
    refused = await recv(comm)
    assert refused["type"] == "error" and refused["code"] == "rate_limited" and refused["retry_after"] >= 1
    assert await expect_close(comm) == 4429
    await comm.disconnect()
