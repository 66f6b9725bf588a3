"""The LibreTranslate service in docker-compose.yml: opt-in, the site's languages, reachable."""

from __future__ import annotations

import pytest
import yaml
from django.conf import settings

from seendr.testing.servers import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICE = COMPOSE["services"]["libretranslate"]


@pytest.fixture(autouse=True)
def _isolated_redis():
    """Reads a file only."""
    yield


def test_it_starts_only_with_its_profile():
    assert SERVICE["profiles"] == ["translate"]
    assert ":latest" not in SERVICE["image"] and ":v" in SERVICE["image"]


def test_it_loads_every_interface_language():
    loaded = set(SERVICE["environment"]["LT_LOAD_ONLY"].split(","))
    assert {code.split("-")[0] for code, _ in settings.LANGUAGES} <= loaded


def test_it_accepts_a_whole_chat_line_and_is_published_on_loopback_only():
    assert int(SERVICE["environment"]["LT_CHAR_LIMIT"]) >= 1000  # a chat line's limit (PROTOCOL.md)
    assert all(port.startswith("127.0.0.1:") for port in SERVICE["ports"])


def test_the_example_environment_points_at_the_service():
    example = (ROOT / ".env.example").read_text()
    assert "LIBRETRANSLATE_URL=http://libretranslate:5000" in example
    assert "TRANSLATION_BACKEND=\n" in example  # off unless someone turns it on
