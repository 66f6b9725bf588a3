"""Bans on a real Redis Cluster: the same tests as on one server. The banned set lives under the
pool's hash tag (the matcher reads it in the same script as the pool)."""

import pytest

from moderation.tests.test_services import (  # noqa: F401 - collected again here, on the cluster
    test_ban_acts_live_after_commit,
    test_prune_drops_only_expired_entries,
    test_rebuild_restores_the_banned_set_after_a_flush,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("state_on_cluster")]
