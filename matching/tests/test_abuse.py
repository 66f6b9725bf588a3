"""What an attacker tried on the chat socket (issue "Safety, second round"): every frame type is
rate limited, and odd Unicode is a field error, never a traceback."""

from __future__ import annotations

import logging

import pytest

from matching.frames import CLIENT_TYPES
from matching.tests.wsutil import expect, guest_session, matched_pair, open_socket, recv, send

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
}


def test_every_client_frame_type_has_an_example():
    assert set(EXAMPLES) == set(CLIENT_TYPES)


@pytest.mark.parametrize("frame_type", sorted(CLIENT_TYPES))
async def test_every_frame_type_is_rate_limited(frame_type, settings):
    """A flood of any one frame type (``block`` and ``ping`` included) is refused past its
    limit; before, 1,000 ``block`` frames meant 4,005 Postgres commits in 5 s."""
    settings.RATE_LIMITS = {name: "2/1m" for name in settings.RATE_LIMITS}
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
