"""The message catalogs are complete, in step with the code, and keep every placeholder.

The catalogs are regenerated from the sources (``makemessages`` in a copy of the project), so
a new user-visible string that nobody translated fails here, as does an entry gettext marked
fuzzy, or a translation that dropped a ``%(name)s``, a ``{name}`` or an HTML tag.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils.translation import to_locale

from seendr.testing.servers import ROOT, server_env

DOMAINS = ("django", "djangojs")
LOCALES = [to_locale(code) for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
SKIPPED_IN_COPY = shutil.ignore_patterns(
    ".git", ".venv", ".data", "node_modules", "vendor", "__pycache__", "*.mo", ".pytest_cache", "bench"
)
PLACEHOLDER = re.compile(r"%\(\w+\)[sdrf]|%[sdrf]|\{\w*\}")
TAG = re.compile(r"<[^>]+>")


@pytest.fixture(autouse=True)
def _isolated_redis():
    """These tests touch no Redis."""
    yield


@pytest.fixture(scope="module")
def fresh_locale(tmp_path_factory) -> Path:
    """locale/ as `make makemessages` would leave it after reading today's sources."""
    copy = tmp_path_factory.mktemp("project") / "seendr"
    shutil.copytree(ROOT, copy, ignore=SKIPPED_IN_COPY)
    ignores = ["--ignore=tests", "--ignore=static/vendor"]
    base = [sys.executable, "manage.py", "makemessages", "--no-obsolete", "--no-location"]
    for domain in DOMAINS:
        subprocess.run(
            [*base, "-d", domain, *(f"--locale={locale}" for locale in LOCALES), *ignores],
            cwd=copy,
            env=server_env(),
            check=True,
            capture_output=True,
        )
    return copy / "locale"


def catalogs(root: Path) -> list[tuple[str, str, Path]]:
    return [
        (locale, domain, root / locale / "LC_MESSAGES" / f"{domain}.po")
        for locale in LOCALES
        for domain in DOMAINS
    ]


def test_every_language_has_both_catalogs():
    for _locale, _domain, path in catalogs(ROOT / "locale"):
        assert path.is_file(), f"missing {path.relative_to(ROOT)}"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_catalog_is_complete_for_the_current_sources(fresh_locale, locale, domain):
    catalog = polib.pofile(str(fresh_locale / locale / "LC_MESSAGES" / f"{domain}.po"))
    untranslated = [entry.msgid for entry in catalog.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalog.fuzzy_entries()]
    assert not untranslated, f"{locale}/{domain}: untranslated (run `make makemessages`, then translate)"
    assert not fuzzy, f"{locale}/{domain}: fuzzy entries {fuzzy}"
    assert len(catalog.translated_entries()) > 0


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_committed_catalog_is_what_makemessages_writes(fresh_locale, locale, domain):
    """No stale entries in the repository and nothing missing: the committed file is current."""
    committed = polib.pofile(str(ROOT / "locale" / locale / "LC_MESSAGES" / f"{domain}.po"))
    fresh = polib.pofile(str(fresh_locale / locale / "LC_MESSAGES" / f"{domain}.po"))
    ids = {(e.msgctxt, e.msgid) for e in committed if not e.obsolete}
    assert ids == {(e.msgctxt, e.msgid) for e in fresh if not e.obsolete}


def _translations(entry: polib.POEntry) -> list[tuple[str, str]]:
    if entry.msgid_plural:
        forms = sorted(entry.msgstr_plural.items())
        return [(entry.msgid if n == 0 else entry.msgid_plural, text) for n, text in forms]
    return [(entry.msgid, entry.msgstr)]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_translations_keep_placeholders_and_markup(locale, domain):
    catalog = polib.pofile(str(ROOT / "locale" / locale / "LC_MESSAGES" / f"{domain}.po"))
    for entry in catalog.translated_entries():
        for source, text in _translations(entry):
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source)), (
                f"{locale}/{domain}: placeholders differ in {entry.msgid!r}"
            )
            assert sorted(TAG.findall(text)) == sorted(TAG.findall(source)), (
                f"{locale}/{domain}: markup differs in {entry.msgid!r}"
            )
            assert text.strip(), f"{locale}/{domain}: empty translation of {entry.msgid!r}"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_msgfmt_accepts_the_catalog(locale, domain):
    """gettext's own checks (format strings, plural forms, header), and its count of gaps."""
    path = ROOT / "locale" / locale / "LC_MESSAGES" / f"{domain}.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
