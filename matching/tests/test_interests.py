"""Interests people type with symbols (c++, c#, .net) are tags of their own, from the profile form
through the chat page's config to the matcher."""

from __future__ import annotations

import json

import pytest

from matching.tests.test_views import _config
from matching.tests.wsutil import expect, guest_session, nothing_for, open_socket, send
from profiles import interests
from profiles.models import Profile
from seendr.testing.factories import make_user


async def test_two_people_who_typed_cpp_meet_on_it_and_see_it_in_common():
    _, a_key = await guest_session()
    _, b_key = await guest_session()
    a_comm, _ = await open_socket(a_key)
    b_comm, _ = await open_socket(b_key)
    await send(a_comm, {"type": "join", "interests": ["C++", "chess"]})
    await expect(a_comm, "queued")
    await send(b_comm, {"type": "join", "interests": ["jazz", " c++ "]})
    b_matched = await expect(b_comm, "matched")
    a_matched = await expect(a_comm, "matched")
    assert a_matched["common_interests"] == b_matched["common_interests"] == ["c++"]
    await a_comm.disconnect()
    await b_comm.disconnect()


async def test_cpp_and_c_do_not_meet_at_the_interest_stage(settings):
    settings.MATCH_INTEREST_SECONDS = 30.0  # stay in the interest stage for the whole test
    _, a_key = await guest_session()
    _, b_key = await guest_session()
    a_comm, _ = await open_socket(a_key)
    b_comm, _ = await open_socket(b_key)
    await send(a_comm, {"type": "join", "interests": ["c++"]})
    await expect(a_comm, "queued")
    await send(b_comm, {"type": "join", "interests": ["c"]})
    await expect(b_comm, "queued")
    await nothing_for(a_comm, 0.3)
    await a_comm.disconnect()
    await b_comm.disconnect()


@pytest.mark.django_db
def test_a_profile_keeps_cpp_and_the_chat_page_offers_it_with_the_served_rules(client):
    user = make_user("coder")
    client.force_login(user)
    form = {
        "display_name": "",
        "bio": "",
        "country": "",
        "languages": "",
        "interests": "C++, c#, .NET, Node.js",
    }
    assert client.post("/profile/", form).status_code == 302
    saved = sorted(i.name for i in Profile.objects.get(user=user).interests.all())
    assert saved == [".net", "c#", "c++", "node.js"]

    config = _config(client.get("/chat/").content.decode())
    assert sorted(config["interests"]) == saved
    assert config["interest"] == interests.rules()
    assert config["limits"] == {
        "chat_text": 1000,
        "report_note": 1000,
        "max_interests": interests.MAX_COUNT,
        "interest_length": interests.MAX_LENGTH,
    }
    json.dumps(config)  # plain data only


@pytest.mark.parametrize(
    ("typed", "tag"),
    [
        ("C++", "c++"),
        ("  c#  ", "c#"),
        (".NET", ".net"),
        ("node.js", "node.js"),
        ("jazz!", "jazz"),
        ("c", "c"),
    ],
)
def test_the_normaliser_keeps_typed_symbols(typed, tag):
    assert interests.normalise(typed) == tag
