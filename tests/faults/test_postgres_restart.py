"""PostgreSQL goes down (immediate shutdown, like a crash) and comes back.

While it is down, pages and API calls that need it answer 503 — an HTML page or the JSON error
shape, never a 500 or a traceback — and ``/readyz`` says 503. When it is back, the same requests
succeed again without restarting any Seendr process.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.helpers import PASSWORD, create_accounts, log_in
from tests.faults.stack import Browser, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_postgres_restart(stack) -> None:
    server = stack.daphne()
    cached, cold, member = create_accounts(stack, "pgfault", 3)
    stack.redis.client(0).flushdb()  # the cache role only: no profile is cached yet
    signed_in = log_in(server, member)
    visitor = Browser(server.url)
    assert visitor.get(f"/api/profiles/{cached}/").status == 200  # now in the profile cache
    visitor.get("/accounts/login/")  # CSRF cookie

    stack.pg.stop()
    try:
        ready = visitor.get("/readyz")
        assert ready.status == 503, ready.text
        assert "postgres" in ready.json()["down"]

        checks = {
            "log-in": visitor.post("/accounts/login/", {"username": cold, "password": PASSWORD}),
            "profile page": visitor.get(f"/u/{cold}/"),
            "profile API": visitor.get(f"/api/profiles/{cold}/"),
            "own profile page": signed_in.get("/profile/"),
        }
        for name, resp in checks.items():
            assert resp.status == 503, (
                f"{name} answered {resp.status} with PostgreSQL down:\n{resp.text[:600]}"
            )
            assert "Traceback" not in resp.text and "OperationalError" not in resp.text, resp.text[:600]
            assert resp.headers.get("retry-after"), f"{name}: 503 without Retry-After"
        api = checks["profile API"]
        assert api.headers["content-type"].startswith("application/json")
        assert api.json()["error"]["code"]
        assert "text/html" in checks["profile page"].headers["content-type"]
        # What the cache already holds still answers.
        assert visitor.get(f"/api/profiles/{cached}/").status == 200
    finally:
        stack.pg.start()

    restarted_at = time.monotonic()
    wait_until(lambda: visitor.get("/readyz").status == 200, 15, interval=0.2, what="readyz 200 again")
    resp = visitor.get(f"/api/profiles/{cold}/")
    assert resp.status == 200, f"{resp.status} {resp.text[:300]}"
    assert resp.json()["username"] == cold
    assert visitor.get(f"/u/{cold}/").status == 200
    assert signed_in.get("/profile/").status == 200
    fresh = Browser(server.url)
    fresh.get("/accounts/login/")
    resp = fresh.post("/accounts/login/", {"username": cold, "password": PASSWORD})
    assert resp.status == 302, resp.text[:300]
    assert time.monotonic() - restarted_at < 20
    assert server.alive(), "the Daphne process died"
