"""The chat socket's state machine (ChatSession) on a real Redis Cluster: the same tests as on
one server."""

import pytest

from matching.tests.test_session import (  # noqa: F401 - collected again here, on the cluster
    sessions,
    test_join_queues_with_the_stage_and_pool_size_then_both_sides_match_with_cards,
    test_leaving_just_as_the_match_formed_ends_it_for_the_partner,
    test_next_ends_the_match_for_the_partner_and_joins_again,
    test_paired_while_its_retry_runs_takes_up_the_match_once,
)

pytestmark = pytest.mark.usefixtures("state_on_cluster")
