"""Redis (the state role) is down: reports and bans still land in Postgres, nothing raises,
and the rebuild restores the banned set once Redis is back."""

from __future__ import annotations

import pytest
from django.test import override_settings

from matching import actions
from moderation import selectors, services
from moderation.models import Ban, Report
from moderation.tests.helpers import user_identity
from profiles.models import Block
from seendr import keys
from seendr.redis_state import state
from seendr.testing.servers import free_port

# Autocommit, as in a request or the consumer: on-commit work runs at once, inside the services.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_down():
    dead = f"redis://127.0.0.1:{free_port()}/1"

    class Outage:
        def __enter__(self):
            state.cache_clear()
            self.override = override_settings(REDIS_STATE_URL=dead, REDIS_SOCKET_TIMEOUT=0.2)
            self.override.enable()

        def __exit__(self, *exc):
            self.override.disable()
            state.cache_clear()

    return Outage()


def test_report_and_ban_survive_a_state_redis_outage(redis_down, caplog):
    alice, bob = user_identity("alice"), user_identity("bob")
    with redis_down:
        assert actions.report_partner(
            match_id="m1", reporter=alice, partner_id=bob.id, reason="spam", note=""
        )
        ban = services.ban(identity_id=bob.id, until=None, reason="spam")
        # The fast check falls back to Postgres.
        assert selectors.is_banned(identity_id=bob.id)
    report = Report.objects.get()
    assert report.evidence["transcript"] == [{"error": "transcript unavailable (redis down)"}]
    assert Block.objects.filter(blocker_identity=alice.id, blocked_identity=bob.id).exists()
    assert Ban.objects.get() == ban
    assert state().zscore(keys.banned(), bob.id) is None  # Redis never heard of it...
    assert services.rebuild_ban_set() == 1  # ...until the rebuild
    assert state().zscore(keys.banned(), bob.id) == selectors.FOREVER_SCORE
    assert "rebuild_ban_set restores it" in caplog.text
