"""Pool shards: which hash tag a part of the live matching pool lives under.

One pool is one Redis Cluster slot, so one Redis core. ``settings.MATCH_POOL_SHARDS`` splits it
by language into shards, each a hash tag of its own (``keys.pool_tag(shard)``):

* ``""`` (the default): one shard, named ``""``, under ``{pool}``: the key layout of one pool;
* ``"en,es,pt=pt+gl"``: a shard per entry (``name=lang+lang``; a bare name is its own language)
  plus ``other`` for every language not listed and for "any language". Shard names are short
  (``[a-z0-9_]{1,8}``) because a match id carries its shard: ``<shard>-<random hex>``.

A caller's language picks its home shard; a caller unmatched at the anyone-boundary, or alone in
its shard, moves along :func:`route` to ``other`` (``matching.shards`` does the moving). Bans and block sets
are read by every shard's matcher, so their writers write to :func:`names` (every shard).
Friends' calls use the :func:`default` shard.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

OTHER = "other"
_NAME = re.compile(r"^[a-z0-9_]{1,8}\Z")
_LANG = re.compile(r"^[a-z]{2}\Z")
MATCH_ID_LENGTH = 32  # the match id columns are 32 characters


@dataclass(frozen=True)
class Layout:
    names: tuple[str, ...]  # every shard, ``other`` (the default) first
    home_of: dict[str, str]  # language -> shard

    @property
    def default(self) -> str:
        return self.names[0]


@lru_cache(maxsize=8)
def parse(spec: str) -> Layout:
    """``"en,es,pt=pt+gl"`` -> the layout; ``""`` -> one shard named ``""``."""
    entries = [e.strip() for e in spec.split(",") if e.strip()]
    if not entries:
        return Layout(names=("",), home_of={})
    names: list[str] = [OTHER]
    home_of: dict[str, str] = {}
    for entry in entries:
        name, _, langs = entry.partition("=")
        name = name.strip().lower()
        langs_ = [lang.strip().lower() for lang in (langs or name).split("+") if lang.strip()]
        if not _NAME.match(name) or name in names:
            raise ImproperlyConfigured(f"MATCH_POOL_SHARDS: bad or repeated shard name {name!r}")
        for lang in langs_:
            if not _LANG.match(lang) or lang in home_of:
                raise ImproperlyConfigured(f"MATCH_POOL_SHARDS: bad or repeated language {lang!r}")
            home_of[lang] = name
        names.append(name)
    return Layout(names=tuple(names), home_of=home_of)


def layout() -> Layout:
    return parse(settings.MATCH_POOL_SHARDS or "")


def names() -> tuple[str, ...]:
    """Every shard: what the ban and block writers, the sweep and the statistics cover."""
    return layout().names


def default() -> str:
    """The shard of keys built without one: ``""`` (``{pool}``) unsharded, else ``other``."""
    return layout().default


def sharded() -> bool:
    return len(layout().names) > 1


def home(lang: str | None) -> str:
    """The shard a caller of this language joins first."""
    lay = layout()
    return lay.home_of.get(lang or "", lay.default)


def route(home_shard: str) -> tuple[str, ...]:
    """The fixed fallback order from a home shard: home, then ``other``, and no further.

    ``other`` is where every ticket unmatched at the anyone stage ends up, so it is the one
    place a pair across languages can form (both sides must be at the anyone stage for that),
    and every route ends there: two lone callers of different languages always meet.
    """
    return (home_shard,) if home_shard == default() else (home_shard, default())


def new_match_id(shard: str) -> str:
    """A fresh match id that names its shard, so a later call by match id finds it."""
    hex_ = uuid.uuid4().hex
    if not shard:
        return hex_
    return f"{shard}-{hex_[: MATCH_ID_LENGTH - len(shard) - 1]}"


def of_match(match_id: str) -> str:
    """The shard a match id was formed in: the one it names, else ``""``, the one pool of an
    unsharded layout. Read from the id alone, not from the setting, so a match formed before
    shards were turned on or off is still found while its record lives."""
    name, dash, _ = match_id.partition("-")
    return name if dash and _NAME.match(name) else ""
