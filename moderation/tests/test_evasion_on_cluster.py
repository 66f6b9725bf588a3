"""The ban mirror's loss and rebuild on a real Redis Cluster: the same tests as on one server.
Its readiness marker shares the pool's hash tag with the sets it vouches for, so one shard's
empty restart loses them together."""

import pytest

from moderation.tests.test_evasion import (  # noqa: F401 - collected again here, on the cluster
    test_a_ban_made_while_the_set_was_lost_does_not_hide_the_others,
    test_a_banned_account_stays_out_after_the_state_redis_lost_the_ban_set,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("state_on_cluster")]
