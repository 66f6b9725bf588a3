"""SEENDR_EMBEDDED's Redis is ours or none (issue "Safety, second round", D13).

It used to reuse whatever listened on its port (6390), so two apps could share one Redis and mix
their queues. Real servers here: a stranger's Redis holds the port; ours must go elsewhere.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis

from seendr.testing.servers import ROOT, free_port, redis_server_binary, wait_for_port

sys.path.insert(0, str(ROOT / "scripts"))
import services


@pytest.fixture(autouse=True)
def _isolated_redis():
    """Only servers of this test's own: skip the per-test key sweep of the shared Redis."""
    yield


@pytest.fixture
def servers():
    started: list[subprocess.Popen] = []

    def start(port: int, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        started.append(
            subprocess.Popen(
                [
                    redis_server_binary(),
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--dir",
                    str(directory),
                ],
                stdout=subprocess.DEVNULL,
            )
        )
        wait_for_port(port)

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


def dir_of(url: str) -> Path:
    with redis.Redis.from_url(url, decode_responses=True) as client:
        return Path(client.config_get("dir")["dir"]).resolve()


def test_another_apps_redis_on_the_port_is_not_reused(servers, tmp_path):
    port = free_port()
    servers(port, tmp_path / "someone-else")
    with redis.Redis(port=port) as stranger:
        stranger.set("their-queue", "their job")
    ours = tmp_path / "ours"
    url = services.embedded_redis_url(binary=redis_server_binary(), redis_dir=ours, preferred_port=port)
    try:
        assert url != f"redis://127.0.0.1:{port}", "reused a stranger's Redis"
        assert dir_of(url) == ours.resolve()
        with redis.Redis.from_url(url) as client:
            assert client.get("their-queue") is None
        # Asked again, our own server is found and reused (the port we took is noted).
        assert (
            services.embedded_redis_url(binary=redis_server_binary(), redis_dir=ours, preferred_port=port)
            == url
        )
    finally:
        with redis.Redis.from_url(url) as client:
            client.shutdown(nosave=True)


def test_our_own_redis_on_the_port_is_reused(servers, tmp_path):
    port = free_port()
    ours = tmp_path / "ours"
    servers(port, ours)
    url = services.embedded_redis_url(binary=redis_server_binary(), redis_dir=ours, preferred_port=port)
    assert url == f"redis://127.0.0.1:{port}"
