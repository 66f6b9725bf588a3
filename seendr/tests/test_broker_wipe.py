"""DESIGN's data rule with tasks in flight: wiping every Redis role, broker included, loses nothing
that matters (docs/deploy.md, "Where the task queue stands").

No worker runs while the work is queued: a match is finished on real sockets, an account signs
up (its verification mail is queued), and three people report one identity (the third report
suspends it). Then every key of this run goes from every Redis role, queued tasks with them.
What must hold, before any worker has run:

* the finished match is a PostgreSQL row (history is written by the server, the queue only
  enriches it);
* the suspension is a PostgreSQL row (decided on the request path), and ``rebuild_ban_set``
  puts it back into the live banned set;

and once a real worker starts, the lost mail costs the user one "send a new code": exactly one
mail arrives (the wiped one is gone for good) and its code verifies the account.
"""

from __future__ import annotations

import asyncio
import re
from io import StringIO

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.tests.test_tasks import _wait_for_mail
from matching import history
from matching.models import Match
from matching.tests.wsutil import expect, matched_pair, send
from moderation import selectors as moderation_selectors
from moderation import services as moderation_services
from moderation.models import Ban
from moderation.tests.helpers import established_identity, user_identity
from seendr.testing.fixtures import delete_prefixed_keys

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _queued_tasks() -> int:
    """Messages waiting in this run's Celery queue on the broker."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        transport = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
        return int(client.llen(f"{transport}{settings.CELERY_TASK_DEFAULT_QUEUE}"))
    finally:
        client.close()


async def _finish_a_match() -> str:
    _, a_comm, a_matched, _, b_comm, _ = await matched_pair("wipe-in-flight")
    await send(a_comm, {"type": "leave"})
    await expect(a_comm, "left")
    await expect(b_comm, "partner_left")
    for comm in (a_comm, b_comm):
        await comm.disconnect()
    return a_matched["match_id"]


def test_wiping_every_role_with_tasks_in_flight_loses_nothing_durable(
    client, celery_worker_process, tmp_path
):
    assert _queued_tasks() == 0
    match_id = asyncio.run(_finish_a_match())

    signed_up = client.post(
        "/accounts/signup/",
        {
            "username": "inflight",
            "email": "inflight@example.com",
            "birth_date": "1990-05-17",
            "password1": "a long password 93",
            "password2": "a long password 93",
        },
    )
    assert signed_up.status_code == 302

    target = user_identity("reported")
    for i in range(settings.AUTO_SUSPEND_REPORTERS):
        assert moderation_services.report(
            match_id=f"wipe{i}",
            reporter=established_identity(f"reporter{i}"),
            reported_id=target.id,
            reason="spam",
            note="",
        )
    assert _queued_tasks() >= 1, "the sign-up mail should be waiting in the broker"

    delete_prefixed_keys()  # every role: cache, state, channels and the broker's queue
    assert _queued_tasks() == 0

    # Durable before any worker ran: the server's own history writer (in this process, beside
    # the in-process sockets) puts the row in PostgreSQL; neither Redis nor the broker holds it.
    assert history.writer.drain()
    assert Match.objects.filter(pk=match_id).exists(), "the finished match is not in PostgreSQL"
    ban = Ban.objects.get(identity_id=target.id)
    assert ban.reason == moderation_services.AUTO_SUSPEND_REASON and ban.until is not None
    call_command("rebuild_ban_set", stdout=StringIO())
    assert moderation_selectors.is_banned(identity_id=target.id)

    # The lost mail: the user asks again and a real worker delivers one working code.
    outbox = tmp_path / "mail"
    celery_worker_process(
        TEST_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", EMAIL_FILE_PATH=str(outbox)
    )
    assert client.post("/accounts/verify/resend/").status_code == 302
    (message,) = _wait_for_mail(outbox, 1)
    assert "To: inflight@example.com" in message
    code = re.search(r"Subject: Your Seendr code: (\d{6})", message).group(1)
    verified = client.post("/accounts/verify/", {"code": code})
    assert verified.status_code == 302 and verified["Location"] == "/chat/"
    assert get_user_model().objects.get(username="inflight").profile.email_verified
