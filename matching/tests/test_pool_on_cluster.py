"""The pool and the Lua matcher on a real Redis Cluster: the same tests as on one server,
concurrency included. Every key a matcher call touches shares the ``{pool}`` hash tag."""

import pytest

from matching.tests.test_pool import (  # noqa: F401 - collected again here, on the cluster
    test_async_api_round_trip,
    test_banned_candidate_skipped_and_removed_banned_caller_refused,
    test_blocked_either_way_never_matched,
    test_both_sides_ending_at_once_end_it_exactly_once,
    test_end_match_is_symmetric_idempotent_and_keeps_a_short_record,
    test_heartbeat_refreshes_ticket_and_match_ttls,
    test_shared_interest_pairs_at_once_and_records_both_sides,
    test_sweep_stale_removes_ghosts_from_every_pool_set_and_keeps_the_living,
    test_thousand_concurrent_joiners_pair_up_exactly_once,
    test_thousand_concurrent_joiners_with_blocks_never_meet_a_blocked_user,
    test_two_tabs_joining_at_once_are_matched_at_most_once,
    test_widening_reaches_language_then_anyone_on_time,
)

pytestmark = pytest.mark.usefixtures("state_on_cluster")
