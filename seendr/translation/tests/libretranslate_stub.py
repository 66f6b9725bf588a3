"""A small HTTP server on loopback that speaks LibreTranslate's ``POST /translate``.

It answers the way LibreTranslate does: 200 ``{"translatedText", "detectedLanguage"?}``;
400 ``{"error"}`` for a missing field or a language it does not offer; 403 for a wrong API key;
429 and 500 ``{"error"}`` when told to; and it can stall past the client's timeout. Each test sets
its behaviour and reads back the requests it received.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LANGUAGES = {"en", "es", "pt", "fr", "de"}
# A tiny dictionary, enough to tell a real answer from an echo.
WORDS = {("es", "en"): {"hola": "hello", "amigo": "friend"}, ("en", "es"): {"hello": "hola"}}


class LibreTranslateStub:
    def __init__(self) -> None:
        self.mode = "ok"  # ok | 429 | 500 | slow | garbage
        self.api_key = ""  # when set, requests must carry it
        self.delay = 3.0
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
                stub.requests.append(payload if isinstance(payload, dict) else {})
                status, answer, headers = stub.answer(self.path, payload)
                if status is None:
                    return
                raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str, payload: object) -> tuple[int | None, object, dict]:
        if path != "/translate":
            return 404, {"error": "Not Found"}, {}
        if self.mode == "slow":
            time.sleep(self.delay)
        if self.mode == "429":
            return 429, {"error": "Too many request limits violations"}, {"Retry-After": "7"}
        if self.mode == "500":
            return 500, {"error": "Cannot translate text: internal error"}, {}
        if self.mode == "garbage":
            return 200, b"<html>not json</html>", {}
        if not isinstance(payload, dict) or not payload.get("q"):
            return 400, {"error": "Invalid request: missing q parameter"}, {}
        if self.api_key and payload.get("api_key") != self.api_key:
            return 403, {"error": "Invalid API key"}, {}
        source, target = payload.get("source"), payload.get("target")
        if target not in LANGUAGES or (source != "auto" and source not in LANGUAGES):
            return 400, {"error": f"{target} is not supported"}, {}
        detected = "es" if source == "auto" else source
        words = WORDS.get((detected, target))
        if words is None:  # no dictionary for the pair: a recognisable stand-in
            text = f"[{target}] {payload['q']}"
        else:
            text = " ".join(words.get(w.lower(), w) for w in str(payload["q"]).split())
        answer: dict = {"translatedText": text}
        if source == "auto":
            answer["detectedLanguage"] = {"confidence": 90.0, "language": detected}
        return 200, answer, {}

    def __enter__(self) -> LibreTranslateStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
