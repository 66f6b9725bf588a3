"""Pool shards on a real three-master Redis Cluster: the same tests as on one server. Each shard
is one hash tag (one slot); a move between shards is two scripts, each in one slot."""

import pytest

from matching.tests.test_pool_shards import (  # noqa: F401 - collected again here, on the cluster
    sharded,
    test_a_ban_is_written_to_every_shard_and_holds_in_each,
    test_a_block_is_written_to_every_shard_and_holds_after_the_move,
    test_a_lone_caller_crosses_to_the_fallback_shard_and_meets_someone_there,
    test_a_pair_that_met_at_home_does_not_meet_again_after_both_moved,
    test_a_shard_that_lost_its_ban_mirror_is_noticed_and_rebuilt,
    test_a_ticket_paired_just_before_it_moves_takes_up_that_match_and_stays,
    test_at_the_anyone_boundary_a_ticket_leaves_home_keeping_its_wait,
    test_many_joiners_across_shards_at_once_pair_once_and_each_ticket_is_in_one_shard,
    test_same_language_callers_meet_in_their_home_shard,
    test_the_rebuild_commands_restore_every_shard,
    test_the_sweep_and_the_statistics_cover_every_shard,
)
from matching.tests.test_session_shards import (  # noqa: F401 - the sessions of one socket each
    sessions,
    test_a_lone_session_crosses_to_other_and_meets_there,
    test_a_match_at_home_is_ended_beaten_and_left_in_its_own_shard,
)

pytestmark = pytest.mark.usefixtures("state_on_cluster")
