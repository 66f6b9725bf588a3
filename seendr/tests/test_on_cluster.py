"""Rate limits and idempotency on a real Redis Cluster: the same tests as on one server.

A bucket or an idempotency record is one key touched alone by its script, so it needs no hash
tag and the keys spread over the shards.
"""

import pytest

from seendr.tests.test_idempotency import (  # noqa: F401 - collected again here, on the cluster
    test_concurrent_duplicates_run_once_and_the_rest_get_409,
    test_first_answer_is_replayed_for_24_hours,
)
from seendr.tests.test_ratelimit import (  # noqa: F401
    test_allows_the_burst_then_refuses_with_whole_seconds_then_recovers,
    test_async_twin_shares_the_budget,
    test_concurrent_callers_never_get_more_than_the_limit,
    test_key_has_a_ttl_and_is_built_by_the_key_module,
)

pytestmark = pytest.mark.usefixtures("state_on_cluster")
