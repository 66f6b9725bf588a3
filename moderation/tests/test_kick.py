"""A moderator kicks an account out of live chat from the user admin: no ban, sockets closed."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from matching.tests.wsutil import expect, expect_close, guest_session, open_socket, send, user_session
from moderation.models import ActionKind, Ban, ModerationAction
from seendr.identity import user_identity_id

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_FORBIDDEN = 4403


async def test_admin_kick_closes_the_socket_and_tells_the_partner(admin_user):
    user, user_key = await user_session("kicked")
    _partner, partner_key = await guest_session()
    user_comm, _ = await open_socket(user_key)
    partner_comm, _ = await open_socket(partner_key)
    await send(user_comm, {"type": "join", "interests": ["chess"]})
    await expect(user_comm, "queued")
    await send(partner_comm, {"type": "join", "interests": ["chess"]})
    await expect(partner_comm, "matched")
    await expect(user_comm, "matched")

    def kick_through_the_admin():
        client = Client()
        client.force_login(admin_user)
        return client.post(
            "/admin/auth/user/",
            {"action": "kick_from_live_chat", "_selected_action": [str(user.pk)]},
            follow=True,
        )

    response = await sync_to_async(kick_through_the_admin)()

    assert response.status_code == 200
    assert "Kicked 1 user(s) from live chat." in response.content.decode()
    assert await expect_close(user_comm, timeout=5) == CLOSE_FORBIDDEN
    left = await expect(partner_comm, "partner_left", timeout=5)
    assert left["reason"] == "disconnect"
    await partner_comm.disconnect()

    action = await sync_to_async(ModerationAction.objects.get)(kind=ActionKind.KICK)
    assert action.target_identity == user_identity_id(user.pk)
    assert action.moderator_id == admin_user.pk
    assert not await sync_to_async(Ban.objects.exists)()  # a kick is not a ban: they may come back
    again, _ = await open_socket(user_key)
    await again.disconnect()


def test_kick_refuses_something_that_is_not_an_identity(admin_user):
    from moderation.services import kick_live_session

    with pytest.raises(ValueError):
        kick_live_session(identity_id="identity.group", moderator=admin_user)
