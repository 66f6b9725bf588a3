"""Which language a chat line is written in, offline (py3langid; its wheel ships the model).

Short lines ("hi", "lol", "ok") carry too little to tell: below ``MIN_CONFIDENCE`` the answer is
None, and the page says nothing rather than something wrong. The candidates are narrowed to the
languages people pick on the chat page, which makes short lines far more reliable.
"""

from __future__ import annotations

import threading

# The chat page's language picker (ISO 639-1), plus the interface languages.
CANDIDATES = (
    "en", "es", "fr", "de", "it", "pt", "nl", "pl", "tr", "ru", "uk", "ar", "hi", "zh", "ja", "ko",
)  # fmt: skip
MIN_CONFIDENCE = 0.85
# Enough of a long line to decide; classifying more only costs time.
MAX_CHARS = 300

_identifier = None
_load_lock = threading.Lock()
_warming: threading.Thread | None = None


def load():
    """Load the model now (the ASGI application does, before it serves)."""
    return _load()


def _load():
    global _identifier
    with _load_lock:
        if _identifier is None:
            from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
            identifier.set_languages(list(CANDIDATES))
            _identifier = identifier
    return _identifier


def language_of(text: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language, or None when it cannot be told with confidence."""
    sample = text.strip()[:MAX_CHARS]
    if sum(ch.isalpha() for ch in sample) < 2:
        return None
    code, confidence = (_identifier or _load()).classify(sample)
    return str(code) if confidence >= MIN_CONFIDENCE else None


def warm() -> None:
    """Load the model in a background thread (once per process) so no caller waits for it."""
    global _warming
    if _identifier is not None or _warming is not None:
        return
    _warming = threading.Thread(target=_load, name="py3langid-load", daemon=True)
    _warming.start()


def language_of_if_ready(text: str) -> str | None:
    """:func:`language_of` for the event loop: None until the model is loaded (~0.7 s, in the
    thread :func:`warm` started). A chat line is never held back waiting for it; once loaded, a
    line takes well under a millisecond, cheaper than a thread hop."""
    if _identifier is None:
        warm()
        return None
    return language_of(text)
