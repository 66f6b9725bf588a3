"""The one interest normaliser: how a typed interest becomes a tag, for profiles, the matcher and
(served as :func:`rules` in the chat page's config) the browser.

A tag is lower-case, with runs of whitespace collapsed to one space. It keeps letters and digits
of any script and the few symbols people type in tag names, so ``c++``, ``c#``, ``.net`` and
``node.js`` stay themselves (and distinct from ``c``, ``net`` or ``node js``); any other
character counts as a space. At most :data:`MAX_LENGTH` characters; at most :data:`MAX_COUNT`
tags per person or per join.
"""

from __future__ import annotations

MAX_LENGTH = 40
MAX_COUNT = 10
# Kept beside letters and digits: plus (c++), hash (c#), dot (.net, node.js), hyphen (hip-hop).
# The chat page builds its own filter from this string.
SYMBOLS = "+#.-"


def _kept(ch: str) -> bool:
    return ch.isalnum() or ch in SYMBOLS


def normalise(value: str) -> str:
    """One typed interest -> its tag ("" when nothing is left)."""
    text = "".join(ch if _kept(ch) else " " for ch in value.lower())
    return " ".join(text.split())[:MAX_LENGTH].strip()


def is_clean(value: str) -> bool:
    """True when ``value`` holds only what a tag may hold (forms refuse rather than silently drop)."""
    return all(_kept(ch) or ch.isspace() for ch in value)


def normalise_many(raw: object) -> tuple[str, ...]:
    """Untrusted input (a list of str, or one comma separated str) -> at most MAX_COUNT tags.

    Never raises: junk is dropped. Order is kept, duplicates removed.
    """
    if isinstance(raw, str):
        items: list[object] = list(raw.split(","))
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        return ()
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            continue
        tag = normalise(item)
        if tag and tag not in out:
            out.append(tag)
        if len(out) >= MAX_COUNT:
            break
    return tuple(out)


def rules() -> dict:
    """What the chat page needs to normalise exactly as the server does."""
    return {"symbols": SYMBOLS, "max_length": MAX_LENGTH, "max_count": MAX_COUNT}
