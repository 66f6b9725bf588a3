"""The friends list on a real Redis Cluster: presence, bans and current matches of the whole list
are read across hash tags, which a single server never exercises."""

import pytest

from matching.tests.test_friends_api import (  # noqa: F401 - collected again here, on the cluster
    test_a_banned_or_deactivated_friend_is_hidden,
    test_the_list_shows_who_is_online_and_in_a_call_online_first,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("state_on_cluster")]
