"""Steps the fault tests share: accounts that log in through the real form, and paired sockets."""

from __future__ import annotations

import asyncio
import json

from tests.faults.stack import Browser, ChatClient, Proc, Stack

PASSWORD = "fault-Test-pass-123"


def create_accounts(stack: Stack, prefix: str, count: int) -> list[str]:
    """``count`` active accounts (profiles come with them); returns their usernames."""
    names = [f"{prefix}{i:03d}" for i in range(count)]
    stack.shell(
        "from django.contrib.auth import get_user_model\n"
        f"names = {json.dumps(names)}\n"
        "User = get_user_model()\n"
        "for n in names:\n"
        f"    User.objects.create_user(username=n, email=n + '@example.com', password={PASSWORD!r})\n"
    )
    return names


def log_in(server: Proc, username: str) -> Browser:
    browser = Browser(server.url)
    browser.get("/accounts/login/")
    resp = browser.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert resp.status in (302, 303), f"log-in of {username} answered {resp.status}: {resp.text[:300]}"
    assert "sessionid" in browser.cookies
    return browser


async def connect_all(clients: list[ChatClient], timeout: float = 20) -> None:
    await asyncio.gather(*(c.connect(timeout) for c in clients))


async def pair_up(a: ChatClient, b: ChatClient, interest: str, timeout: float = 15) -> str:
    """Both join with a private interest; returns the match id both sides were told."""
    await a.send({"type": "join", "interests": [interest]})
    await a.expect("queued", timeout)
    await b.send({"type": "join", "interests": [interest]})
    ma, mb = await asyncio.gather(a.expect("matched", timeout), b.expect("matched", timeout))
    assert ma["match_id"] == mb["match_id"], (ma, mb)
    return ma["match_id"]
