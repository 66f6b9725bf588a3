"""``manage.py check --deploy`` with production settings (a real subprocess, a clean env)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from seendr.testing.servers import ROOT

pytestmark = pytest.mark.slow


def deploy_check(**overrides: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    env.update(
        DJANGO_SETTINGS_MODULE="seendr.settings",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="seendr.example",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check():
    result = deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_check_does_catch_a_weak_key_and_debug():
    """The same command fails on the classic mistakes, so the test above can fail."""
    weak = deploy_check(SECRET_KEY="short")
    assert weak.returncode != 0 and "SECRET_KEY is refused" in weak.stderr
    debug = deploy_check(DEBUG="1")
    assert debug.returncode != 0 and "security.W018" in debug.stderr + debug.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = deploy_check(SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    "key",
    [
        "change-me-to-50-random-characters",  # the .env.example placeholder
        "django-insecure-" + "x" * 50,  # startproject's marker
        "dev-only-insecure-key-never-use-in-production-0123456789abcdef",  # our own DEBUG default
        secrets.token_urlsafe(20),  # random but short
        "a" * 60,  # long but one repeated character
    ],
)
def test_production_refuses_a_placeholder_or_short_secret_key(key):
    result = deploy_check(SECRET_KEY=key)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "ImproperlyConfigured" in result.stderr


def test_development_allows_the_origins_of_its_own_port():
    """``PORT=8123 make run`` serves the page on :8123; its own socket must be allowed."""
    code = "from django.conf import settings; print(','.join(settings.WEBSOCKET_ALLOWED_ORIGINS))"
    env = {k: v for k, v in os.environ.items() if k not in {"WEBSOCKET_ALLOWED_ORIGINS", "SECRET_KEY"}}
    env.update(DJANGO_SETTINGS_MODULE="seendr.settings", DEBUG="1", PORT="8123")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.strip().split(",")) == {"http://127.0.0.1:8123", "http://localhost:8123"}
