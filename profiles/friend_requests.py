"""Pending "add friend" requests: Redis state tied to one match and its request window.

Two people become friends only by both asking, during a match between them or within
``FRIEND_REQUEST_WINDOW_SECONDS`` after it. Each ask is recorded in the match's asks hash
(``keys.friend_asks``) by ``lua/friend_ask.lua``, which decides atomically which ask completes the
pair; only that one creates the :class:`~profiles.models.Friendship` row and tells both sides,
so concurrent asks from both sides make one friendship and one pair of notifications. The hash
expires with the window: a one-sided request simply disappears, and nothing about it is ever
shown outside the match's window.

A guest may ask too: the ask is kept (with no account behind it) and indexed under the guest
(``keys.guest_friend_asks``) so that :func:`carry_over`, called when that guest signs up within
the window, moves it to the new account.

The caller (the chat socket, ``matching.friends``) checks that the match exists, that the asker
was in it and that the window is open; this module trusts those ids. Sockets hear about requests
and new friendships through their identity group (``keys.identity_group``), on whichever server
holds them: ``{"type": "friends.added", "friend": {...}}`` and
``{"type": "friends.asked", "match_id": ..., "from": {...}}``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from profiles import cache
from profiles.selectors import are_friends
from profiles.services import befriend
from seendr import keys
from seendr.identity import user_id_from_identity, user_identity_id
from seendr.redis_state import lua, state

log = logging.getLogger(__name__)

MUTUAL, FRIENDS, ASKED, AGAIN, IGNORED = "mutual", "friends", "asked", "again", "ignored"
ALREADY = "already"


@dataclass(frozen=True)
class AskResult:
    """What an ask did: ``mutual`` (this ask made the friendship), ``already`` (friends before this
    match's asks), ``asked`` (a new request), ``again`` (nothing new, including a repeat after
    the pair completed), or ``ignored`` (a block). ``friend_user_id`` is set for mutual/already."""

    status: str
    friend_user_id: int | None = None


def ask(
    *, match_id: str, asker_id: str, asker_user_id: int | None, partner_id: str, expires_at: float
) -> AskResult:
    """Record that ``asker_id`` wants to stay in touch with ``partner_id`` after ``match_id``.

    ``asker_user_id`` is None for a guest (the ask waits for a sign-up). ``expires_at`` (unix
    seconds) is when the request window closes, or a backstop while the match is still live
    (:func:`close_window_at` sets the real end when it ends). A request between people where
    either blocked the other is dropped without a word (``ignored``): the blocked side must not
    learn of the block.
    """
    client = state()
    pipe = client.pipeline(transaction=False)
    pipe.sismember(keys.blocks(asker_id), partner_id)
    pipe.sismember(keys.blocks(partner_id), asker_id)
    if any(pipe.execute()):
        return AskResult(IGNORED)
    partner_user_id = user_id_from_identity(partner_id)
    if (
        asker_user_id is not None
        and partner_user_id is not None
        and are_friends(user_id=asker_user_id, other_user_id=partner_user_id)
    ):
        # Friends already (from an earlier match, or this one a moment ago): the first such ask
        # of the match is confirmed to the asker, any other is nothing new.
        asks = keys.friend_asks(match_id)
        pipe = client.pipeline(transaction=True)
        pipe.hsetnx(asks, "=done", "1")
        pipe.expireat(asks, int(expires_at) + 1)
        first, _ = pipe.execute()
        return AskResult(ALREADY, partner_user_id) if first else AskResult(AGAIN)
    if asker_user_id is None:
        index = keys.guest_friend_asks(asker_id)
        pipe = client.pipeline(transaction=True)
        pipe.hset(index, match_id, partner_id)
        pipe.expireat(index, int(expires_at) + 1)
        pipe.execute()
    account = user_identity_id(asker_user_id) if asker_user_id is not None else ""
    status, _mine, theirs = lua("profiles", "friend_ask").run(
        client, [keys.friend_asks(match_id)], [asker_id, account, partner_id, int(expires_at) + 1]
    )
    if status in (MUTUAL, FRIENDS):
        assert asker_user_id is not None
        friend_user_id = user_id_from_identity(theirs)
        assert friend_user_id is not None
        _complete(status, asker_user_id, friend_user_id, match_id)
        # FRIENDS: another ask of this match completed the pair a moment ago and announced it.
        return AskResult(MUTUAL, friend_user_id) if status == MUTUAL else AskResult(AGAIN)
    if status == ASKED and asker_user_id is not None:
        _announce_request(from_user_id=asker_user_id, to_identity_id=partner_id, match_id=match_id)
    return AskResult(status)


def close_window_at(*, match_id: str, expires_at: float) -> None:
    """The match ended: its pending requests now live until the window closes (if any exist)."""
    state().expireat(keys.friend_asks(match_id), int(expires_at) + 1)


def carry_over(*, guest_id: str, user_id: int) -> list[AskResult]:
    """A guest signed up as ``user_id``: their open requests become the account's.

    Where the partner had asked too, the friendship is made now and both are told; otherwise
    the partner is told of the request (a guest's request is not shown before it has an account
    behind it). Requests whose window closed are gone already. Never raises: a lost request is
    worth a log line, not a failed sign-up.
    """
    results: list[AskResult] = []
    try:
        client = state()
        index = keys.guest_friend_asks(guest_id)
        pending = client.hgetall(index)
        client.delete(index)
        script = lua("profiles", "friend_carry")
        account = user_identity_id(user_id)
        for match_id, partner_id in pending.items():
            reply = script.run(client, [keys.friend_asks(match_id)], [guest_id, account, partner_id])
            if not reply:
                continue
            status, theirs = reply
            if status == ASKED:
                _announce_request(from_user_id=user_id, to_identity_id=partner_id, match_id=match_id)
                results.append(AskResult(ASKED))
                continue
            friend_user_id = user_id_from_identity(theirs)
            if friend_user_id is None:
                continue
            _complete(status, user_id, friend_user_id, match_id)
            results.append(AskResult(status, friend_user_id))
    except Exception:
        log.exception("friend requests of guest %s not carried over to account %s", guest_id, user_id)
    return results


def _complete(status: str, user_id: int, friend_user_id: int, match_id: str) -> None:
    """Both asked: the row (idempotent, so a repeat heals a lost write), and on a new pair the news."""
    _, created = befriend(user_id=user_id, other_user_id=friend_user_id, match_id=match_id)
    if status == MUTUAL or created:
        transaction.on_commit(lambda: announce_friendship(user_id=user_id, other_user_id=friend_user_id))


# --- Telling the sockets -------------------------------------------------------------------


def friend_card(record: dict[str, Any]) -> dict[str, Any]:
    """How a friend is named in frames: ``username``, ``name`` (and the id, for the server)."""
    return {
        "user_id": record["user_id"],
        "username": record["username"],
        "name": record["display_name"] or record["username"],
    }


def _send(identity_id: str, message: dict[str, Any]) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(keys.identity_group(identity_id), message)
    except Exception:  # the friendship stands; the list shows it on the next read
        log.warning("could not tell %s about %s", identity_id, message.get("type"), exc_info=True)


def announce_friendship(*, user_id: int, other_user_id: int) -> None:
    """Both sides' sockets get ``friends.added`` about the other."""
    records = cache.get_many([user_id, other_user_id])
    for me, friend in ((user_id, other_user_id), (other_user_id, user_id)):
        if friend in records:
            _send(user_identity_id(me), {"type": "friends.added", "friend": friend_card(records[friend])})


def _announce_request(*, from_user_id: int, to_identity_id: str, match_id: str) -> None:
    records = cache.get_many([from_user_id])
    if from_user_id in records:
        card = friend_card(records[from_user_id])
        _send(to_identity_id, {"type": "friends.asked", "match_id": match_id, "from": card})
