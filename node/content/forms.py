"""The writing forms of the content: what each kind's form holds, read into what the outbox publishes, and back.

Pure functions, no I/O: ``body_of(kind, form, tz)`` turns a submitted form into the object the
outbox composes (a Note with ``postKind`` news or blog, ``Minutes``, an ``Event``);
``changes_of(kind, form, tz)`` into the fields of an ``Update``; ``values_of(kind, document,
record, tz)`` fills the form again to edit a published object. Plain text becomes HTML
paragraphs (escaped: what people type is never taken as markup); date and time fields are
read in the node's time zone. A form that cannot be used raises :class:`FormError` with a
message for the page.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, tzinfo
from typing import Any

from node.core.clock import iso
from node.core.i18n import N_, Message

KINDS = ("news", "blog", "minutes", "event")
_PARAGRAPHS = re.compile(r"\n\s*\n")
_TAGS = re.compile(r"<[^>]+>")


class FormError(ValueError):
    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message = message


def _text(form, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _lines(form, name: str) -> list[str]:
    return [line.strip() for line in _text(form, name).splitlines() if line.strip()]


def paragraphs(text: str) -> str:
    """Plain text as HTML paragraphs, line breaks kept, everything escaped."""
    return "".join(
        f"<p>{html.escape(part.strip()).replace(chr(10), '<br>')}</p>"
        for part in _PARAGRAPHS.split(text.strip())
        if part.strip()
    )


def plain(markup: str) -> str:
    """HTML back to the plain text of a form: paragraphs apart, tags gone."""
    text = re.sub(r"</p>\s*", "\n\n", markup or "").replace("<br>", "\n")
    return html.unescape(_TAGS.sub("", text)).strip()


def _moment(form, name: str, tz: tzinfo, *, required: bool) -> str | None:
    raw = _text(form, name)
    if not raw:
        if required:
            raise FormError(N_("{field} is needed", field=name))
        return None
    try:
        return iso(datetime.fromisoformat(raw).replace(tzinfo=tz))
    except ValueError:
        raise FormError(N_("{field} must be a date and time, like 2030-05-01T18:00", field=name)) from None


def _local(value: str | None, tz: tzinfo) -> str:
    """An ISO time as a datetime-local field's value, in the node's time zone."""
    if not value:
        return ""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(tz).strftime("%Y-%m-%dT%H:%M")


VOTE_PAGE = re.compile(
    r"^(?P<origin>https?://[^/\s]+)?/(?:polls|surveys|decisions|objects)/(?P<uuid>[0-9a-fA-F-]{8,64})/?$"
)


def vote_id(link: str, base: str = "") -> str:
    """The vote's id from what a secretary pastes: its id, or the address of its page on this site
    (``/polls/<uuid>``, ``/surveys/...``, ``/decisions/...``, with or without the host)."""
    found = VOTE_PAGE.match(link)
    if found is None:
        return link
    return f"{found['origin'] or base}/objects/{found['uuid']}"


def _decisions(form, base: str = "") -> list[dict]:
    """One decision per line: its text, then optionally `|` and the link of the vote that took it."""
    decisions = []
    for line in _lines(form, "decisions"):
        text, _, vote = line.partition("|")
        decisions.append({"text": text.strip(), **({"vote": vote_id(vote.strip(), base)} if vote.strip() else {})})
    return decisions


def _post(kind: str, form) -> dict:
    text = _text(form, "content")
    if not text:
        raise FormError(N_("the text is empty"))
    body = {"type": "Note", "postKind": kind, "content": paragraphs(text)}
    if _text(form, "title"):
        body["name"] = _text(form, "title")
    return body


def _minutes(form, base: str = "") -> dict:
    body: dict[str, Any] = {
        "type": "Minutes",
        "name": _text(form, "title"),
        "meetingDate": _text(form, "meeting_date"),
        "attendees": _lines(form, "attendees"),
        "agenda": _lines(form, "agenda"),
        "decisions": _decisions(form, base),
    }
    if _text(form, "place"):
        body["location"] = {"type": "Place", "name": _text(form, "place")}
    if _text(form, "content"):
        body["content"] = paragraphs(_text(form, "content"))
    return body


def _event(form, tz: tzinfo) -> dict:
    body: dict[str, Any] = {
        "type": "Event",
        "name": _text(form, "title"),
        "startTime": _moment(form, "starts", tz, required=True),
    }
    ends = _moment(form, "ends", tz, required=False)
    if ends:
        body["endTime"] = ends
    if _text(form, "place"):
        body["location"] = {"type": "Place", "name": _text(form, "place")}
    if _text(form, "content"):
        body["content"] = paragraphs(_text(form, "content"))
    return body


def body_of(kind: str, form, tz: tzinfo, base: str = "") -> dict:
    """The object to publish from a submitted form of ``kind`` (``base``: this site, for a vote's page address)."""
    if kind in ("news", "blog"):
        return _post(kind, form)
    if kind == "minutes":
        return _minutes(form, base)
    return _event(form, tz)


def changes_of(kind: str, form, tz: tzinfo, base: str = "") -> dict:
    """The fields an Update changes, from an edit form of ``kind``."""
    body = {k: v for k, v in body_of(kind, form, tz, base).items() if k not in ("type", "postKind")}
    if kind in ("event", "minutes"):
        body.setdefault("endTime" if kind == "event" else "content", None)  # an emptied field removes it
        body.setdefault("location", None)
    if kind in ("news", "blog") and "name" not in body:
        body["name"] = ""
    return body


def values_of(kind: str, document: dict, record, tz: tzinfo) -> dict:
    """A published object as its edit form's values (``record``: the minutes' structure)."""
    if kind == "minutes" and record is not None:
        return {
            "title": record.title,
            "meeting_date": record.meeting_date,
            "place": (record.location or {}).get("name", ""),
            "attendees": "\n".join(record.attendees),
            "agenda": "\n".join(record.agenda),
            "content": plain(record.notes or ""),
            "decisions": "\n".join(d.text + (f" | {d.vote}" if d.vote else "") for d in record.decisions),
        }
    given = document.get("location")
    location = given if isinstance(given, dict) else {}
    return {
        "title": document.get("name") or "",
        "content": plain(document.get("content") or ""),
        "starts": _local(document.get("startTime"), tz),
        "ends": _local(document.get("endTime"), tz),
        "place": location.get("name", ""),
    }
