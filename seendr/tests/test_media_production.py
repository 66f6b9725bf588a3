"""Avatars in the production layout (issue "Safety, second round", D8).

With DEBUG off Django serves nothing under /media/ (by design: a Python process should not
stream files); nginx serves the media volume the web replicas write. These tests check the
compose wiring and run the real nginx (Debian's) with deploy/nginx.conf on a loopback port.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from seendr.testing.servers import free_port, wait_for_port
from seendr.tests.test_compose import COMPOSE, NGINX, SERVICES, app_services

NGINX_BIN = shutil.which("nginx") or "/usr/sbin/nginx"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def _isolated_redis():
    """No application keys here: skip the per-test key sweep."""
    yield


def media_mount(service: dict) -> tuple[str, bool]:
    """(path, read_only) where a service mounts the named volume ``media``."""
    for volume in service.get("volumes", []):
        parts = volume.split(":")
        if parts[0] == "media":
            return parts[1], parts[2:] == ["ro"]
    raise AssertionError(f"no media volume in {service.get('volumes')}")


def test_nginx_mounts_the_media_volume_the_web_replicas_write():
    media_root = COMPOSE["x-app"]["environment"]["MEDIA_ROOT"]
    for name in app_services():
        assert media_mount(SERVICES[name]) == (media_root, False), name
    path, read_only = media_mount(SERVICES["nginx"])
    assert read_only, "nginx only reads the media volume"
    aliases = re.findall(r"alias\s+(\S+?)\$1;", NGINX)
    assert aliases and all(alias.rstrip("/") == path.rstrip("/") for alias in aliases), aliases


def test_django_without_debug_serves_no_media(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "avatars").mkdir()
    (tmp_path / "avatars" / "1.png").write_bytes(PNG)
    assert client.get("/media/avatars/1.png").status_code == 404


def loopback_nginx(
    tmp_path: Path, media: Path, upstream_port: int | None = None
) -> tuple[subprocess.Popen, int]:
    """deploy/nginx.conf as is, but on a free loopback port, with the media volume at ``media``
    and every web replica at ``upstream_port`` (by default a port nothing listens on: media
    must not need the app)."""
    port = free_port()
    upstream = f"server 127.0.0.1:{upstream_port or free_port()};"
    conf = NGINX
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
    conf = re.sub(r"server web\d+:8000[^;]*;", upstream, conf)
    path, _ = media_mount(SERVICES["nginx"])
    conf = conf.replace(path.rstrip("/") + "/", str(media) + "/")
    conf = conf.replace("/dev/stdout", str(tmp_path / "access.log")).replace(
        "/dev/stderr", str(tmp_path / "error.log")
    )
    (tmp_path / "nginx.conf").write_text(conf)
    directives = f"daemon off; pid {tmp_path / 'nginx.pid'};" + (" user root;" if os.geteuid() == 0 else "")
    check = subprocess.run(
        [NGINX_BIN, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", directives],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [NGINX_BIN, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", directives],
        stderr=subprocess.PIPE,
    )
    wait_for_port(port, timeout=10)
    return proc, port


def fetch(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), b""


def test_nginx_serves_avatars_from_the_media_volume(tmp_path):
    assert os.path.exists(NGINX_BIN), "nginx is missing: apt-get install nginx (make test installs it)"
    media = tmp_path / "media"
    (media / "avatars" / "2026" / "11").mkdir(parents=True)
    (media / "avatars" / "2026" / "11" / "7.png").write_bytes(PNG)
    (media / "avatars" / "2026" / "11" / "evil.html").write_text("<script>alert(1)</script>")
    (media / "avatars" / "2026" / "11" / "evil.png.html").write_text("<script>alert(1)</script>")
    proc, port = loopback_nginx(tmp_path, media)
    try:
        status, headers, body = fetch(f"http://127.0.0.1:{port}/media/avatars/2026/11/7.png")
        assert status == 200 and body == PNG
        assert headers["Content-Type"] == "image/png"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in headers["Content-Security-Policy"]
        # Only images, only under avatars/, nothing that a browser would run as a page.
        for path in ("avatars/2026/11/evil.html", "avatars/2026/11/evil.png.html", "x.png"):
            assert fetch(f"http://127.0.0.1:{port}/media/{path}")[0] == 404, path
        # A climb out of the volume is normalised away from /media/: the app's upstream gets it.
        status, _, body = fetch(f"http://127.0.0.1:{port}/media/avatars/../../nginx.conf")
        assert status != 200 and b"upstream" not in body
        assert fetch(f"http://127.0.0.1:{port}/media/avatars/2026/11/missing.png")[0] == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)
