"""Every named limit end to end: refused at the configured point, allowed again after the wait.

WebSocket limits go through the real consumer (in-process communicator, real Redis layer);
HTTP limits through the real views and middleware. Windows are tiny so the tests are quick.
"""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings
from django.test import override_settings

from matching.tests.wsutil import expect, matched_pair, nothing_for, recv, send


def limits(**extra: str) -> dict:
    return {**settings.RATE_LIMITS, **extra}


# --- WebSocket ----------------------------------------------------------------------------

ws = pytest.mark.django_db(transaction=True)


async def refused(comm) -> dict:
    frame = await recv(comm)
    assert frame["type"] == "error" and frame["code"] == "rate_limited", frame
    assert isinstance(frame["retry_after"], int) and frame["retry_after"] >= 1
    return frame


@ws
@override_settings(RATE_LIMITS=limits(ws_chat="2/1s"))
async def test_chat_lines_per_second():
    _, a, _, _, b, _ = await matched_pair()
    for text in ("one", "two"):
        await send(a, {"type": "chat", "text": text})
        assert (await expect(b, "chat"))["text"] == text
    await send(a, {"type": "chat", "text": "three"})
    assert (await refused(a))["retry_after"] == 1
    await nothing_for(b, 0.2)  # the refused line never reached the partner
    await asyncio.sleep(0.55)  # one line back every 0.5 s
    await send(a, {"type": "chat", "text": "four"})
    assert (await expect(b, "chat"))["text"] == "four"
    await a.disconnect()
    await b.disconnect()


@ws
@override_settings(RATE_LIMITS=limits(ws_signal="3/1s"))
async def test_signal_frames_per_second():
    _, a, _, _, b, _ = await matched_pair()
    for i in range(3):
        await send(a, {"type": "signal", "data": {"candidate": i}})
        assert (await expect(b, "signal"))["data"] == {"candidate": i}
    await send(a, {"type": "signal", "data": {"candidate": 3}})
    await refused(a)
    await asyncio.sleep(0.4)
    await send(a, {"type": "signal", "data": {"candidate": 4}})
    assert (await expect(b, "signal"))["data"] == {"candidate": 4}
    await a.disconnect()
    await b.disconnect()


@ws
@override_settings(RATE_LIMITS=limits(ws_join="2/2s"))
async def test_join_and_next_per_identity():
    _, a, _, _, b, _ = await matched_pair()  # the pair's joins spent one token each
    await send(a, {"type": "next"})
    await expect(a, "queued")
    await send(a, {"type": "next"})
    frame = await refused(a)
    assert frame["retry_after"] == 1
    await asyncio.sleep(1.05)
    await send(a, {"type": "next"})
    await expect(a, "queued")
    await a.disconnect()
    await b.disconnect()


@ws
@override_settings(RATE_LIMITS=limits(report="1/1h"))
async def test_reports_over_the_socket():
    _, a, _, _, b, _ = await matched_pair()
    await send(a, {"type": "report", "reason": "spam"})
    await expect(a, "reported")
    await send(a, {"type": "report", "reason": "spam"})
    assert (await refused(a))["retry_after"] == 3600
    await a.disconnect()
    await b.disconnect()
