"""deploy/nginx.conf at the edge, run for real (Debian's nginx on a loopback port) in front of a
small upstream that records what reaches it: the client's address cannot be forged through
X-Forwarded-For, and one address holds at most ``limit_conn`` chat sockets across the site."""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seendr.tests.test_compose import NGINX, _block
from seendr.tests.test_media_production import fetch, loopback_nginx


@pytest.fixture(autouse=True)
def _isolated_redis():
    """No application keys here: skip the per-test key sweep."""
    yield


class Upstream:
    """Answers every request with the X-Forwarded-For it received; holds /ws/ requests open
    until released, as a chat socket stays open."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.held = 0
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/ws/"):
                    with upstream._lock:
                        upstream.held += 1
                    upstream.release.wait(30)
                body = (self.headers.get("X-Forwarded-For") or "").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for_held(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.held < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.held} of {count} sockets reached the upstream")
            time.sleep(0.02)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def edge(tmp_path) -> Iterator[tuple[Upstream, int]]:
    upstream = Upstream()
    proc, port = loopback_nginx(tmp_path, tmp_path / "media", upstream_port=upstream.port)
    try:
        yield upstream, port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        upstream.close()


def open_chat_socket(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /ws/chat/ HTTP/1.1\r\nHost: seendr\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n")
    return sock


def test_a_forged_x_forwarded_for_never_reaches_the_app(edge):
    upstream, port = edge
    upstream.release.set()  # the chat socket's location answers at once here
    for path in ("/healthz", "/ws/chat/"):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.read() == b"127.0.0.1", path


def test_one_address_holds_at_most_the_sites_chat_socket_limit(edge):
    upstream, port = edge
    limit = int(re.search(r"limit_conn chat_sockets (\d+);", _block(NGINX, "location /ws/")).group(1))
    held = [open_chat_socket(port) for _ in range(limit)]
    try:
        upstream.wait_for_held(limit)
        refused = open_chat_socket(port)
        with refused:
            assert refused.recv(64).startswith(b"HTTP/1.1 429 ")
        # Plain pages are not chat sockets: they are not counted against the limit.
        assert fetch(f"http://127.0.0.1:{port}/")[0] == 200
        assert upstream.held == limit
    finally:
        for sock in held:
            sock.close()
    # The limit counts open sockets: once they close, the address may open one again.
    upstream.release.set()
    deadline = time.monotonic() + 20
    while True:
        again = open_chat_socket(port)
        with again:
            status = again.recv(64)
        if status.startswith(b"HTTP/1.1 200 ") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status.startswith(b"HTTP/1.1 200 ")
