"""No template shows words outside a translation tag.

A small scanner: Django's own lexer splits each template into tags and text; text outside
``{% blocktranslate %}`` is stripped of markup, scripts, styles and comments, and what remains
must hold no words. Attributes people read (``title``, ``placeholder``, ``aria-label``, ``alt``)
must not hold literal words either. The few words that are the same in every language (the
brand, a key cap) are listed here by name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template.base import Lexer, TokenType

from seendr.testing.servers import ROOT

TEMPLATE_DIRS = [ROOT / "templates", *sorted(ROOT.glob("*/templates"))]
# The same in every language: the product's name, the Escape key's cap.
UNTRANSLATED_WORDS = {"Seendr", "Esc"}
# Blocks that fill an attribute nobody reads (a CSS class), not text.
NOT_TEXT_BLOCKS = {"body_class"}
WORD = re.compile(r"[^\W\d_]{2,}")
READ_ATTRIBUTES = re.compile(r"""\b(?:title|placeholder|aria-label|alt)\s*=\s*(["'])(.*?)\1""", re.S)
INVISIBLE = re.compile(r"<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->", re.S | re.I)
MARKUP = re.compile(r"<[^>]*>")
ENTITY = re.compile(r"&[#\w]+;")


@pytest.fixture(autouse=True)
def _isolated_redis():
    """These tests touch no Redis."""
    yield


def templates() -> list[Path]:
    found = []
    for folder in TEMPLATE_DIRS:
        found += [p for p in folder.rglob("*") if p.suffix in {".html", ".txt"} and ".venv" not in p.parts]
    return sorted(found)


def untranslated_text(source: str) -> list[str]:
    """Words of ``source`` that reach a reader without passing through a translation tag."""
    outside = []
    depth = 0  # inside {% blocktranslate %} ... {% endblocktranslate %}
    hidden = False  # inside a block of NOT_TEXT_BLOCKS
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            bits = token.contents.split()
            name = bits[0] if bits else ""
            if name == "block":
                hidden = len(bits) > 1 and bits[1] in NOT_TEXT_BLOCKS
            elif name == "endblock":
                hidden = False
            elif name in ("blocktranslate", "blocktrans"):
                depth += 1
            elif name in ("endblocktranslate", "endblocktrans"):
                depth -= 1
            elif name in ("translate", "trans") and depth == 0:
                outside.append(" ")  # a translated word separates the text around it
            continue
        if token.token_type == TokenType.VAR:
            outside.append(" ")
            continue
        if token.token_type == TokenType.TEXT and depth == 0 and not hidden:
            outside.append(token.contents)
    text = "".join(outside)
    words = []
    for _quote, value in READ_ATTRIBUTES.findall(text):
        words += WORD.findall(value)
    visible = ENTITY.sub(" ", MARKUP.sub(" ", INVISIBLE.sub(" ", text)))
    words += WORD.findall(visible)
    return [word for word in words if word not in UNTRANSLATED_WORDS]


def test_the_scanner_finds_words_outside_translation_tags():
    assert untranslated_text("<p>Hello {{ name }}</p>") == ["Hello"]
    assert untranslated_text('<input placeholder="Say hi">') == ["Say", "hi"]
    assert untranslated_text('<button title="{% translate "Next" %}">→</button>') == []
    assert untranslated_text("{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}") == []
    assert untranslated_text("<script>const a = 'not shown';</script><b>Seendr</b>") == []


def test_there_are_templates_to_scan():
    assert len(templates()) >= 15


@pytest.mark.parametrize("path", templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_template_text_is_translatable(path):
    words = untranslated_text(path.read_text())
    assert not words, f"{path.relative_to(ROOT)}: text outside a translation tag: {words}"


# The page scripts' ways of putting words on screen; a literal with letters there skipped gettext().
SHOWN_LITERALLY = re.compile(
    r"""(?:\.textContent\s*=\s*|\b(?:toast|setStatus|setOverlay|mediaUnavailable|afterModeration)\(\s*"""
    r"""|addChatLine\(\s*"system",\s*)(["'`])([^"'`]*?[^\W\d_]{2}[^"'`]*)\1"""
)


def page_scripts() -> list[Path]:
    return sorted(p for p in (ROOT / "static" / "js").rglob("*.js") if "vendor" not in p.parts)


def test_the_script_scanner_finds_literal_words():
    assert SHOWN_LITERALLY.search('el.textContent = "Nobody here";')
    assert SHOWN_LITERALLY.search('toast("Liked!", "ok")')
    assert not SHOWN_LITERALLY.search('toast(gettext("Liked!"), "ok")')
    assert not SHOWN_LITERALLY.search('el.textContent = "";')


@pytest.mark.parametrize("path", page_scripts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_scripts_show_words_only_through_gettext(path):
    found = [match.group(2) for match in SHOWN_LITERALLY.finditer(path.read_text())]
    assert not found, f"{path.relative_to(ROOT)}: words shown without gettext(): {found}"
