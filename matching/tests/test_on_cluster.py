"""Presence and the chat socket's heartbeat on a real Redis Cluster: the same tests as on one
server."""

import pytest

from matching.tests.test_presence import (  # noqa: F401 - collected again here, on the cluster
    test_broadcast_takes_one_lock_per_window_and_sends_once,
    test_broadcast_trims_members_older_than_the_window,
    test_counts_api_reports_online_waiting_and_in_call,
    test_heartbeat_keeps_presence_and_socket_record_fresh,
    test_online_counts_recent_heartbeats_only,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("state_on_cluster")]
