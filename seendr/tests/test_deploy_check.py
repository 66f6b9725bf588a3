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
    assert weak.returncode != 0 and "security.W009" in weak.stderr + weak.stdout
    debug = deploy_check(DEBUG="1")
    assert debug.returncode != 0 and "security.W018" in debug.stderr + debug.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = deploy_check(SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
