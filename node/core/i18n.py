"""Languages: the gettext catalogs (Babel), the reader's language, and formatting for it.

Catalogs live in ``node/locale/<code>/LC_MESSAGES/messages.po`` (``en`` and ``zh_Hans``;
English is also the language of the source strings). They are committed as ``.po`` and
compiled in memory when an application starts (:func:`load_languages`), so a fresh clone
needs no build step and a stale ``.mo`` can never be served.

- Templates mark strings with ``{% trans %}`` / ``_()`` (Jinja's i18n extension, newstyle:
  ``_("%(num)s members", num=3)``); Python marks what a page may show with :func:`N_`, which
  (unlike gettext's no-op ``N_``) returns a :class:`Message`: an English ``str`` (JSON answers
  and logs stay English) that remembers its msgid and parameters, so a page shows it
  translated (the ``tr`` filter).
- A message's parameter may be a message itself (``N_("{where} needs its text", where=N_("question
  {number}", number=2))``, a tally's problems :func:`joined`): a page translates both. What is
  stored and shown later (a refused tally's reason) keeps its message beside its English text
  (:func:`message_json`, read back by :func:`message_from_json`).
- Placeholders, one rule: a msgid's placeholders are those of the code that fills it. Python's
  msgids use ``{name}`` (``N_("at least {n} characters", n=10)``, filled by ``str.format``),
  the templates' use ``%(name)s`` (``%(num)s``, filled by Jinja's newstyle gettext), so no
  string is ever formatted by the wrong one; the catalogs flag them ``python-brace-format``
  and ``python-format``, and a translation keeps exactly the placeholders of its msgid.
- The reader's language (:meth:`Languages.negotiate`): the switcher's cookie if it names a
  language we have, else the best match of ``Accept-Language`` (by language subtag, so
  ``zh-CN``, ``zh-SG`` and ``zh`` all get Simplified Chinese), else the node's ``[node] language``.
- Dates, times, numbers and percentages are formatted with Babel for that language, in the
  node's time zone (:class:`Formatter`), following the reader's own variant of it when their
  browser names one (:func:`formatting_locale`: ``en-GB`` gets day-month, ``en-US`` month-day).

Adding a language: ``make messages`` (extracts the strings and updates every catalog), then
``.venv/bin/pybabel init -i node/locale/messages.pot -d node/locale -l fr``, translate
``node/locale/fr/LC_MESSAGES/messages.po``, and run ``tests/unit/test_catalogs.py``.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from federation import jsonio

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
COOKIE = "chapterhouse_lang"


class Message(str):
    """An English message that remembers its msgid and parameters, so a page can show it translated."""

    msgid: str
    params: dict

    def __new__(cls, msgid: str, **params: object) -> Message:
        self = super().__new__(cls, msgid.format(**params) if params else msgid)
        self.msgid, self.params = msgid, params
        return self

    def translated(self, translations: gettext.NullTranslations) -> str:
        """The message in the catalog's language; a parameter that is a Message itself (which
        question, a refusal's reason) is translated too."""
        text = translations.gettext(self.msgid)
        if not self.params:
            return text
        return text.format(
            **{k: v.translated(translations) if isinstance(v, Message) else v for k, v in self.params.items()}
        )


def N_(msgid: str, **params: object) -> Message:
    """Mark ``msgid`` for the catalogs AND make the message: not gettext's ``N_``.

    A gettext reader knows ``N_`` as a marker that returns its argument untouched; this one
    returns a :class:`Message`, the English text with ``{name}`` placeholders already filled
    from ``params`` (``str.format``), which remembers its msgid and params so that a page can
    show it translated later (the ``tr`` filter). It keeps the name because the extraction
    reads it (``pybabel extract -k N_`` in the Makefile: the first argument is the msgid).
    Placeholders: ``{name}`` in Python's msgids, ``%(name)s`` in the templates' (see the
    module docstring); a translation keeps those of its msgid.
    """
    return Message(msgid, **params)


def joined(messages: Iterable[str], separator: str = "; ") -> Message:
    """Several messages as one (a tally's problems), each part translated on a page."""
    parts = {f"part{number}": message for number, message in enumerate(messages)}
    return Message(separator.join("{" + name + "}" for name in parts), **parts)


def _plain(value: object) -> object:
    if isinstance(value, Message):
        return {"msgid": value.msgid, "params": {name: _plain(param) for name, param in value.params.items()}}
    return value if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def message_json(message: str | None) -> str | None:
    """A :class:`Message` as JSON (its msgid and parameters, nested messages too), to store beside its
    English text so that a page can show it translated later; None for anything else."""
    return jsonio.dumps_str(_plain(message)) if isinstance(message, Message) else None


def _message(value: object) -> object:
    if isinstance(value, dict) and isinstance(value.get("msgid"), str) and isinstance(value.get("params"), dict):
        return Message(value["msgid"], **{name: _message(param) for name, param in value["params"].items()})
    return value


def message_from_json(stored: str | None, english: str) -> str:
    """The message :func:`message_json` stored, or ``english`` (the text kept beside it) when there is
    none or it no longer reads (a msgid whose placeholders changed)."""
    if not stored:
        return english
    try:
        found = _message(jsonio.loads(stored))
    except (jsonio.JsonError, KeyError, IndexError, ValueError):
        return english
    return found if isinstance(found, Message) else english


@cache
def available_languages() -> tuple[str, ...]:
    """The languages the node has catalogs for (English always)."""
    found = {path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(found | {SOURCE_LANGUAGE}))


@dataclass(frozen=True)
class Language:
    code: str  # Babel's identifier: "en", "zh_Hans"
    translations: gettext.NullTranslations

    @property
    def tag(self) -> str:
        """BCP 47, for ``<html lang>``, ``hreflang`` and ``contentMap``: "zh-Hans"."""
        return self.code.replace("_", "-")

    @property
    def name(self) -> str:
        """The language's name in itself: "English", "中文 (简体)"."""
        return Locale.parse(self.code).get_display_name(self.code) or self.code

    def gettext(self, message: str) -> str:
        if isinstance(message, Message):
            return message.translated(self.translations)
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)


def compile_catalog(po_path: Path, code: str) -> Translations:
    """A ``.po`` file compiled in memory (fuzzy entries left out, as ``msgfmt`` does)."""
    with po_path.open("rb") as source:
        catalog = read_po(source, locale=code, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def _accepted(header: str) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first (q=0 dropped)."""
    weighted = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(weighted)]


class Languages:
    """The node's languages, loaded once per application."""

    def __init__(self, languages: dict[str, Language], default: str) -> None:
        self.by_code = languages
        self.default = languages[default]

    def get(self, code: str | None) -> Language | None:
        return self.by_code.get(code) if code else None

    def negotiate(self, cookie: str | None, accept_language: str | None) -> Language:
        chosen = self.get(cookie)
        if chosen is not None:
            return chosen
        by_tag = {language.tag.lower(): language for language in self.by_code.values()}
        by_primary = {language.tag.split("-")[0].lower(): language for language in self.by_code.values()}
        for tag in _accepted(accept_language or ""):
            found = by_tag.get(tag) or by_primary.get(tag.split("-")[0])
            if found is not None:
                return found
        return self.default

    def __iter__(self) -> Iterator[Language]:
        return iter(self.by_code.values())


def formatting_locale(language: Language, accept_language: str | None) -> str:
    """The locale dates and numbers follow: the reader's own variant of the page's language when
    their browser names one (``en-GB`` reads 7 December 2026, ``en-US`` December 7, 2026), else the
    language's own conventions."""
    primary = language.code.split("_")[0].lower()
    for tag in _accepted(accept_language or ""):
        if tag.split("-")[0] != primary or "-" not in tag:
            continue
        try:
            found = Locale.parse(tag, sep="-")
        except (ValueError, TypeError):
            continue
        if found.language == primary and (found.script or None) in (None, language_script(language)):
            return str(found)
    return language.code


def language_script(language: Language) -> str | None:
    parts = language.code.split("_")
    return parts[1] if len(parts) > 1 and len(parts[1]) == 4 else None


def load_languages(default: str) -> Languages:
    """Every catalog in ``node/locale`` compiled, English without one falling back to the source strings."""
    languages = {}
    for code in available_languages():
        po_path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
        translations = compile_catalog(po_path, code) if po_path.exists() else gettext.NullTranslations()
        languages[code] = Language(code, translations)
    return Languages(languages, default)


# --- formatting for the reader ---------------------------------------------------------------


def zone(name: str) -> tzinfo:
    return UTC if name == "UTC" else ZoneInfo(name)


def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


@dataclass(frozen=True)
class Formatter:
    """Dates, times and numbers in one reader's language, in the node's time zone."""

    code: str
    tz: tzinfo

    def datetime(self, value) -> str:
        moment = _moment(value)
        if moment is None:
            return str(value or "")
        local = moment.astimezone(self.tz)
        pattern = str(dates.get_datetime_format("medium", locale=self.code))
        return pattern.replace("{1}", dates.format_date(local.date(), "medium", locale=self.code)).replace(
            "{0}", dates.format_time(local, "short", locale=self.code)
        )

    def date(self, value) -> str:
        if isinstance(value, str) and len(value) == 10:
            try:
                return dates.format_date(date.fromisoformat(value), "long", locale=self.code)
            except ValueError:
                return value
        moment = _moment(value)
        if moment is None:
            return str(value or "")
        return dates.format_date(moment.astimezone(self.tz).date(), "long", locale=self.code)

    def span(self, start, end=None) -> str:
        """When something happens, with its weekday: "Sat, 5 Dec 2026, 10:00–17:00" (a range on one
        day says the day once), "Sat, 5 Dec 2026, 10:00 – Sun, 6 Dec 2026, 12:00" across days."""
        first, last = _moment(start), _moment(end)
        if first is None:
            return str(start or "")
        first = first.astimezone(self.tz)
        day = dates.format_skeleton("yMMMEd", first, locale=self.code)
        if last is None:
            return f"{day}, {dates.format_time(first, 'short', locale=self.code)}"
        last = last.astimezone(self.tz)
        if last.date() == first.date():
            times = dates.format_interval(first.time(), last.time(), "Hm", locale=self.code)
            return f"{day}, {times}"
        end_day = dates.format_skeleton("yMMMEd", last, locale=self.code)
        return (
            f"{day}, {dates.format_time(first, 'short', locale=self.code)} – "
            f"{end_day}, {dates.format_time(last, 'short', locale=self.code)}"
        )

    def time(self, value) -> str:
        moment = _moment(value)
        return dates.format_time(moment.astimezone(self.tz), "short", locale=self.code) if moment else ""

    def number(self, value) -> str:
        return numbers.format_decimal(value or 0, locale=self.code)

    def percent(self, value) -> str:
        """``value`` in percent (42.5 -> "42.5%")."""
        return numbers.format_percent((value or 0) / 100, "#,##0.#%", locale=self.code)
