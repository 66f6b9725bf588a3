"""The leaderboard on a real Redis Cluster: the same tests as on one server.

A board's periods and its rebuild's temporary key share the board's hash tag, so the like's
MULTI and the rebuild's swap (a RENAME) stay legal on a Cluster; removal runs one MULTI per
board.
"""

import pytest

from leaderboard.tests.test_rebuild import (  # noqa: F401 - collected again here, on the cluster
    history,
    test_rebuild_recreates_every_board_exactly,
    test_rebuild_replaces_stale_boards_and_drops_empty_ones,
    test_reconcile_repairs_drift_and_logs_it,
    test_swap_drops_members_banned_during_the_build,
)
from leaderboard.tests.test_services import (  # noqa: F401
    test_banned_user_leaves_every_board_and_is_not_readded,
    test_parallel_likes_from_different_matches_all_count,
)

pytestmark = pytest.mark.usefixtures("state_on_cluster")
