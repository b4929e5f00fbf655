"""The catalogs are complete: every string the pages show (templates and Python's ``N_``) is translated.

Strings are extracted from the sources with Babel, exactly as ``make messages`` does, so a new
string in a template fails this test until the Chinese catalog has it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from node.core.i18n import LOCALE_DIR, available_languages

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("node/**/templates/*.html", "jinja2"), ("node/**.py", "python")]
OPTIONS = {"node/**/templates/*.html": {"extensions": "jinja2.ext.i18n"}}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")


def source_messages() -> set:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}, options_map=OPTIONS
    ):
        found.add(message if isinstance(message, str) else tuple(message[:2]))
    return {m for m in found if m}


def catalog(code: str):
    with (LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=code)


def test_the_sources_have_page_strings():
    messages = source_messages()
    assert len(messages) > 250
    assert "Latest news" in messages and ("%(num)s vote", "%(num)s votes") in messages


def test_english_and_simplified_chinese_are_shipped():
    assert {"en", "zh_Hans"} <= set(available_languages())


@pytest.mark.parametrize("code", ["zh_Hans"])
def test_no_string_is_missing_from_the_catalog(code):
    translated = catalog(code)
    missing = [m for m in sorted(source_messages(), key=str) if m not in translated]
    untranslated = [
        message.id
        for message in translated
        if message.id
        and (message.fuzzy or not all(message.string if isinstance(message.string, tuple) else [message.string]))
    ]
    assert not missing, f"not in the {code} catalog (run make messages, then translate): {missing}"
    assert not untranslated, f"untranslated or fuzzy in the {code} catalog: {untranslated}"


@pytest.mark.parametrize("code", ["zh_Hans"])
def test_translations_keep_their_placeholders(code):
    wrong = []
    for message in catalog(code):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            if sorted(PLACEHOLDER.findall(string)) != sorted(set(PLACEHOLDER.findall(source))):
                wrong.append((source, string))
    assert not wrong, wrong
