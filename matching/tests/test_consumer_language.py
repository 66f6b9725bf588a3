"""The chat socket speaks the page's language: LocaleMiddleware never runs for it, so the
consumer reads the language cookie and Accept-Language itself. Codes never change; the
``message`` texts do, and they are plain strings (a lazy translation cannot be sent as JSON).
"""

from __future__ import annotations

import asyncio
import json

from channels.testing import WebsocketCommunicator
from django.conf import settings

from matching.tests.wsutil import expect, guest_session, headers, matched_pair, send
from seendr.translation import detection

SPANISH = {"bad_json": "el mensaje no es JSON válido", "not_matched": "No estás en una conversación."}


async def open_with(
    session_key: str, *, accept_language: str | None = None, cookie_language: str | None = None
):
    from seendr.asgi import application

    extra = headers(session_key)
    cookies = [f"{settings.SESSION_COOKIE_NAME}={session_key}"]
    if cookie_language:
        cookies.append(f"{settings.LANGUAGE_COOKIE_NAME}={cookie_language}")
    extra = [(name, value) for name, value in extra if name != b"cookie"]
    extra.append((b"cookie", "; ".join(cookies).encode()))
    if accept_language:
        extra.append((b"accept-language", accept_language.encode()))
    comm = WebsocketCommunicator(application, "/ws/chat/", headers=extra)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    await expect(comm, "hello", timeout=5)
    return comm


async def test_errors_follow_accept_language():
    _, key = await guest_session()
    comm = await open_with(key, accept_language="es-MX,es;q=0.9,en;q=0.5")
    await comm.send_to(text_data="{not json")
    frame = await expect(comm, "error")
    assert frame["code"] == "bad_json"
    assert frame["message"] == SPANISH["bad_json"]
    await send(comm, {"type": "chat", "text": "hola"})
    frame = await expect(comm, "error")
    assert (frame["code"], frame["message"]) == ("not_matched", SPANISH["not_matched"])
    await comm.disconnect()


async def test_the_switcher_cookie_beats_accept_language():
    _, key = await guest_session()
    comm = await open_with(key, accept_language="es", cookie_language="de")
    await send(comm, {"type": "chat", "text": "hallo"})
    frame = await expect(comm, "error")
    assert frame["message"] == "Du bist in keinem Gespräch."
    await comm.disconnect()


async def test_placeholders_are_filled_in_the_socket_language():
    _, key = await guest_session()
    comm = await open_with(key, accept_language="fr")
    await send(comm, {"type": "chat", "text": "x" * 1001})
    frame = await expect(comm, "error")
    assert (frame["code"], frame["message"]) == ("bad_field", "text: 1000 caractères au maximum")
    await comm.disconnect()


async def test_without_a_known_language_the_socket_speaks_english():
    _, key = await guest_session()
    comm = await open_with(key, accept_language="ja,ko;q=0.8")
    await send(comm, {"type": "chat", "text": "hi"})
    assert (await expect(comm, "error"))["message"] == "You are not in a match."
    await comm.disconnect()


async def test_two_sockets_in_two_languages_do_not_mix():
    _, es_key = await guest_session()
    _, de_key = await guest_session()
    es = await open_with(es_key, accept_language="es")
    de = await open_with(de_key, accept_language="de")
    for _ in range(3):
        await send(es, {"type": "chat", "text": "hola"})
        await send(de, {"type": "chat", "text": "hallo"})
    for _ in range(3):
        assert (await expect(es, "error"))["message"] == SPANISH["not_matched"]
        assert (await expect(de, "error"))["message"] == "Du bist in keinem Gespräch."
    await es.disconnect()
    await de.disconnect()


async def test_a_received_line_says_which_language_it_is_written_in():
    _, a_comm, _, _, b_comm, _ = await matched_pair()
    await asyncio.to_thread(detection._load)  # the socket started loading it; wait for it here
    await send(a_comm, {"type": "chat", "text": "¿De dónde eres? Yo soy de Madrid."})
    frame = await expect(b_comm, "chat")
    assert frame == {"type": "chat", "text": "¿De dónde eres? Yo soy de Madrid.", "lang": "es"}
    await send(a_comm, {"type": "chat", "text": "ok"})
    assert "lang" not in await expect(b_comm, "chat")  # too short to tell: no guess
    await a_comm.disconnect()
    await b_comm.disconnect()


def test_frames_are_plain_json():
    """The frame text a client receives is JSON with plain strings, in any language."""
    from django.utils import translation

    from matching.frames import FrameError, parse

    with translation.override("pt-br"):
        try:
            parse("[]")
        except FrameError as exc:
            frame = exc.frame()
    assert json.loads(json.dumps(frame)) == frame
    assert frame["message"] == "uma mensagem deve ser um objeto JSON"
