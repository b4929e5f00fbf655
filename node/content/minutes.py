"""Minutes of a meeting: a structured record, served as an ``Article``, announced as a ``Note``.

The record (title, meeting date, place, attendees, agenda items, decisions with the vote
that took each one, free notes) is stored as such in the ``minutes`` and
``minutes_decisions`` tables, so it can be queried (which minutes cite this vote?). From it
the node renders:

- the ``Article`` (``postKind: "minutes"``), served at its id: our terms ``meetingDate``,
  ``attendees``, ``agenda`` and ``decisions`` (each a ``Decision`` with ``name`` and ``vote``)
  beside a readable HTML ``content`` made from the structure (Mastodon's allow-list), and
  ``location`` as an AS2 ``Place``;
- its announcement ``Note`` (also ``postKind: "minutes"``, with ``meetingDate``, so that a page
  showing it, a region's home page among them, writes the date for its own reader): title, date,
  place, the number of attendees and decisions, and a link to the Article, delivered to
  followers, because Mastodon shows a Note whole but an Article only as a title and a link.

What the chapter writes around the record (the summary, the headings, the links) is in the
chapter's own language (``[node] language``: :func:`chapter_language`), from the catalogs
(``node.core.i18n.N_``), with the meeting date as that language writes it (Babel, through
``node.core.i18n.Formatter``: "December 7, 2026", "2026年12月7日"), never as an ISO date.

Editing or deleting either object edits or deletes both (see ``node.content.outbound``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from datetime import UTC, date
from functools import cache
from typing import Any

from federation import jsonio
from node.content.events import EventError, parse_place, place_text
from node.core.db import Connection, fetch_all, fetch_one
from node.core.i18n import N_, SOURCE_LANGUAGE, Formatter, Language, load_languages
from node.core.sanitize import clean_html
from node.core.vocabulary import context

POST_KIND = "minutes"
MAX_TEXT = 2000
MAX_ITEMS = 500


class MinutesError(ValueError):
    """What is wrong with proposed minutes, in words for the person who sent them."""


@dataclass(frozen=True)
class Decision:
    text: str
    vote: str | None = None


@dataclass(frozen=True)
class Minutes:
    title: str
    meeting_date: str  # ISO date
    location: dict | None = None  # a Place
    attendees: tuple[str, ...] = ()
    agenda: tuple[str, ...] = ()
    decisions: tuple[Decision, ...] = ()
    notes: str | None = None  # sanitised HTML


# --- reading what was posted ----------------------------------------------------------------


def _text(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise MinutesError(f"{what} must be a non-empty string of at most {MAX_TEXT} characters")
    return value.strip()


def _texts(value, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise MinutesError(f"{what} must be a list of at most {MAX_ITEMS} strings")
    return tuple(_text(item, f"each of {what}") for item in value)


def _url(value, what: str) -> str:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or len(value) > MAX_TEXT:
        raise MinutesError(f"{what} must be an http(s) URL (the Question's id)")
    return value


def _decision(value) -> Decision:
    if isinstance(value, str):
        return Decision(_text(value, "a decision"))
    if not isinstance(value, dict):
        raise MinutesError('each decision is a string or {"text": ..., "vote": <the Question\'s id>}')
    text = value.get("text", value.get("name"))
    vote = value.get("vote")
    return Decision(_text(text, "a decision's text"), None if vote is None else _url(vote, "a decision's vote"))


def _meeting_date(value) -> str:
    try:
        if not isinstance(value, str):
            raise ValueError
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise MinutesError(f"meetingDate must be a date like 2026-11-20, not {value!r}") from None


def _location(value) -> dict | None:
    if value is None:
        return None
    try:
        return parse_place(value)
    except EventError as error:
        raise MinutesError(str(error)) from None


def _title(value) -> str:
    return _text(value, "name (the title)")


def _attendees(value) -> tuple[str, ...]:
    return _texts(value, "attendees")


def _agenda(value) -> tuple[str, ...]:
    return _texts(value, "agenda")


def _decisions(value) -> tuple[Decision, ...]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise MinutesError(f"decisions must be a list of at most {MAX_ITEMS}")
    return tuple(_decision(item) for item in value)


def _notes(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MinutesError("content (the free notes) must be HTML text")
    return clean_html(value) or None


# Each field of the record: (the posted name, its reader, the attribute it sets).
FIELDS = (
    ("name", _title, "title"),
    ("meetingDate", _meeting_date, "meeting_date"),
    ("location", _location, "location"),
    ("attendees", _attendees, "attendees"),
    ("agenda", _agenda, "agenda"),
    ("decisions", _decisions, "decisions"),
    ("content", _notes, "notes"),
)
EDITABLE = tuple(name for name, _, _ in FIELDS)


def parse(obj: dict) -> Minutes:
    """A new record from a posted ``Minutes`` object; name and meetingDate are required."""
    for required in ("name", "meetingDate"):
        if required not in obj:
            raise MinutesError(f"minutes need {required}")
    return changed(Minutes(title="", meeting_date=""), obj)


def changed(current: Minutes, changes: dict) -> Minutes:
    """``current`` with the posted fields that ``changes`` holds read and replaced."""
    values: dict[str, Any] = {attribute: read(changes[name]) for name, read, attribute in FIELDS if name in changes}
    return replace(current, **values)


# --- the documents ------------------------------------------------------------------------


@cache
def chapter_language(code: str) -> Language:
    """The language a chapter writes its minutes in (its ``[node] language``), compiled once."""
    languages = load_languages(SOURCE_LANGUAGE)
    return languages.get(code) or languages.default


@dataclass(frozen=True)
class Writer:
    """The chapter's language and the way it writes dates and numbers."""

    language: Language
    fmt: Formatter

    @classmethod
    def of(cls, code: str) -> Writer:
        language = chapter_language(code)
        return cls(language, Formatter(language.code, UTC))  # a meeting date is a day: no zone

    def say(self, message: str) -> str:
        return self.language.gettext(message)

    def count(self, singular: str, plural: str, n: int) -> str:
        return self.language.ngettext(singular, plural, n).format(num=self.fmt.number(n))


def _person(attendee: str) -> str:
    if attendee.startswith(("https://", "http://")):
        return f'<a href="{html.escape(attendee)}">{html.escape(attendee)}</a>'
    return html.escape(attendee)


def _list(writer: Writer, heading: str, items: list[str]) -> str:
    return f"<p><strong>{html.escape(writer.say(heading))}</strong></p><ol>" + "".join(items) + "</ol>"


def render_html(record: Minutes, language: str = SOURCE_LANGUAGE) -> str:
    """The readable full text of the minutes, made from the structure (Mastodon's allow-list), in the
    chapter's language."""
    writer = Writer.of(language)
    when = writer.say(N_("Meeting of {date}", date=writer.fmt.date(record.meeting_date)))
    where = f", {html.escape(place_text(record.location))}" if record.location else ""
    parts = [f"<p><strong>{html.escape(when)}</strong>{where}</p>"]
    if record.attendees:
        people = ", ".join(_person(a) for a in record.attendees)
        parts.append(f"<p><strong>{html.escape(writer.say(N_('Attendees:')))}</strong> {people}</p>")
    if record.agenda:
        parts.append(_list(writer, N_("Agenda"), [f"<li>{html.escape(item)}</li>" for item in record.agenda]))
    if record.decisions:
        items = []
        vote = html.escape(writer.say(N_("the vote")))
        for decision in record.decisions:
            link = f' (<a href="{html.escape(decision.vote)}">{vote}</a>)' if decision.vote else ""
            items.append(f"<li>{html.escape(decision.text)}{link}</li>")
        parts.append(_list(writer, N_("Decisions"), items))
    if record.notes:
        parts.append(record.notes)
    return clean_html("".join(parts))


def summary_text(record: Minutes, language: str = SOURCE_LANGUAGE) -> str:
    """The minutes in one sentence, in the chapter's language, with the date as that language writes it."""
    writer = Writer.of(language)
    said = {
        "date": writer.fmt.date(record.meeting_date),
        "attendees": writer.count("{num} attendee", "{num} attendees", len(record.attendees)),
        "decisions": writer.count("{num} decision", "{num} decisions", len(record.decisions)),
    }
    if record.location:
        return writer.say(
            N_("Meeting of {date} at {place}: {attendees}, {decisions}.", place=place_text(record.location), **said)
        )
    return writer.say(N_("Meeting of {date}: {attendees}, {decisions}.", **said))


def article_document(
    record: Minutes,
    *,
    article_id: str,
    actor_id: str,
    published: str,
    addressing: dict,
    updated: str | None = None,
    language: str = SOURCE_LANGUAGE,
) -> dict:
    document = {
        "@context": context(),
        "id": article_id,
        "type": "Article",
        "postKind": POST_KIND,
        "attributedTo": actor_id,
        "name": record.title,
        "summary": html.escape(summary_text(record, language)),
        "content": render_html(record, language),
        "meetingDate": record.meeting_date,
        "attendees": list(record.attendees),
        "agenda": list(record.agenda),
        "decisions": [
            {"type": "Decision", "name": d.text, **({"vote": d.vote} if d.vote else {})} for d in record.decisions
        ],
        "published": published,
        "url": article_id,
        **addressing,
    }
    if record.location:
        document["location"] = record.location
    if updated:
        document["updated"] = updated
    return document


def announcement_document(
    record: Minutes,
    *,
    note_id: str,
    article_id: str,
    actor_id: str,
    published: str,
    addressing: dict,
    updated: str | None = None,
    language: str = SOURCE_LANGUAGE,
) -> dict:
    """The Note that tells followers about the minutes and links to their full text, in the chapter's
    language; it carries ``meetingDate`` too, for a page that writes the date for its own reader."""
    writer = Writer.of(language)
    content = (
        f"<p><strong>{html.escape(writer.say(N_('Minutes: {title}', title=record.title)))}</strong></p>"
        f"<p>{html.escape(summary_text(record, language))}</p>"
        f'<p><a href="{html.escape(article_id)}">{html.escape(writer.say(N_("Read the full minutes")))}</a></p>'
    )
    document = {
        "@context": context(),
        "id": note_id,
        "type": "Note",
        "postKind": POST_KIND,
        "attributedTo": actor_id,
        "content": clean_html(content),
        "meetingDate": record.meeting_date,
        "published": published,
        "url": article_id,
        **addressing,
    }
    if updated:
        document["updated"] = updated
    return document


# --- the store ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredMinutes:
    article_id: str
    note_id: str
    author: str
    record: Minutes


async def insert(conn: Connection, *, article_id: str, note_id: str, author: str, record: Minutes, now: float) -> None:
    await conn.execute(
        "INSERT INTO minutes (article_id, note_id, author, title, meeting_date, location, attendees, agenda, notes,"
        " published) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            article_id,
            note_id,
            author,
            record.title,
            record.meeting_date,
            jsonio.dumps_str(record.location) if record.location else None,
            jsonio.dumps_str(list(record.attendees)),
            jsonio.dumps_str(list(record.agenda)),
            record.notes,
            now,
        ),
    )
    await _insert_decisions(conn, article_id, record.decisions)


async def _insert_decisions(conn: Connection, article_id: str, decisions: tuple[Decision, ...]) -> None:
    await conn.executemany(
        "INSERT INTO minutes_decisions (article_id, position, text, vote) VALUES (?, ?, ?, ?)",
        [(article_id, position, d.text, d.vote) for position, d in enumerate(decisions)],
    )


async def replace_record(conn: Connection, article_id: str, record: Minutes, *, now: float) -> None:
    await conn.execute(
        "UPDATE minutes SET title = ?, meeting_date = ?, location = ?, attendees = ?, agenda = ?, notes = ?,"
        " updated = ? WHERE article_id = ?",
        (
            record.title,
            record.meeting_date,
            jsonio.dumps_str(record.location) if record.location else None,
            jsonio.dumps_str(list(record.attendees)),
            jsonio.dumps_str(list(record.agenda)),
            record.notes,
            now,
            article_id,
        ),
    )
    await conn.execute("DELETE FROM minutes_decisions WHERE article_id = ?", (article_id,))
    await _insert_decisions(conn, article_id, record.decisions)


async def delete(conn: Connection, article_id: str) -> None:
    """The minutes were deleted: the structure goes; the objects stay as Tombstones."""
    await conn.execute("DELETE FROM minutes_decisions WHERE article_id = ?", (article_id,))
    await conn.execute("DELETE FROM minutes WHERE article_id = ?", (article_id,))


async def get(conn: Connection, object_id: str) -> StoredMinutes | None:
    """The minutes whose Article or announcement Note has this id."""
    row = await fetch_one(conn, "SELECT * FROM minutes WHERE article_id = ? OR note_id = ?", (object_id, object_id))
    if row is None:
        return None
    decisions = await fetch_all(
        conn, "SELECT text, vote FROM minutes_decisions WHERE article_id = ? ORDER BY position", (row["article_id"],)
    )
    record = Minutes(
        title=row["title"],
        meeting_date=row["meeting_date"],
        location=jsonio.loads(row["location"]) if row["location"] else None,
        attendees=tuple(jsonio.loads(row["attendees"])),
        agenda=tuple(jsonio.loads(row["agenda"])),
        decisions=tuple(Decision(d["text"], d["vote"]) for d in decisions),
        notes=row["notes"],
    )
    return StoredMinutes(row["article_id"], row["note_id"], row["author"], record)


async def citing_vote(conn: Connection, vote: str) -> list[str]:
    """The Articles of the minutes whose decisions cite this vote."""
    rows = await fetch_all(conn, "SELECT DISTINCT article_id FROM minutes_decisions WHERE vote = ?", (vote,))
    return [row["article_id"] for row in rows]
